#include <nmfx/params.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx/types.hpp>

namespace nmfx {

// Out-of-line virtual destructors: the interfaces' vtables and typeinfo live in libnmfx, not in
// whichever plugin happened to be loaded first.
Error::Error(const std::string& what) : std::runtime_error(what) {}
Error::~Error() = default;
ParamError::~ParamError() = default;
Dataset::~Dataset() = default;
Loss::~Loss() = default;
Solver::~Solver() = default;
Metric::~Metric() = default;

const char* to_string(DataKind kind) {
  switch (kind) {
    case DataKind::dense: return "dense";
  }
  return "?";
}

const char* to_string(PluginKind kind) {
  switch (kind) {
    case PluginKind::dataset: return "dataset";
    case PluginKind::loss: return "loss";
    case PluginKind::solver: return "solver";
    case PluginKind::metric: return "metric";
  }
  return "?";
}

}  // namespace nmfx
