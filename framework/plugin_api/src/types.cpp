#include <cmath>
#include <tuple>

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
Analysis::~Analysis() = default;

const char* to_string(DataKind kind) {
  switch (kind) {
    case DataKind::dense:
      return "dense";
    case DataKind::sparse:
      return "sparse";
    case DataKind::observed:
      return "observed";
  }
  return "?";
}

const char* to_string(PluginKind kind) {
  switch (kind) {
    case PluginKind::dataset:
      return "dataset";
    case PluginKind::loss:
      return "loss";
    case PluginKind::solver:
      return "solver";
    case PluginKind::metric:
      return "metric";
    case PluginKind::analysis:
      return "analysis";
  }
  return "?";
}

}  // namespace nmfx

namespace nmfx {

SparseMatrix SparseMatrix::transposed() const {
  SparseMatrix t;
  t.rows = cols;
  t.cols = rows;
  t.indptr.assign(cols + 1, 0);
  for (std::uint32_t j : indices) ++t.indptr[j + 1];
  for (std::size_t j = 0; j < cols; ++j) t.indptr[j + 1] += t.indptr[j];
  t.indices.resize(nnz());
  t.values.resize(nnz());
  std::vector<std::size_t> next(t.indptr.begin(), t.indptr.end() - 1);
  for (std::size_t i = 0; i < rows; ++i)  // rows in order, so each transposed row stays sorted
    for (std::size_t k = indptr[i]; k < indptr[i + 1]; ++k) {
      const std::size_t at = next[indices[k]]++;
      t.indices[at] = static_cast<std::uint32_t>(i);
      t.values[at] = values[k];
    }
  return t;
}

double Penalty::value(const Matrix& W, const Matrix& H) const {
  double total = 0;
  for (const auto& [A, l1, l2] : {std::tuple{&W, l1_W, l2_W}, std::tuple{&H, l1_H, l2_H}}) {
    if (l1 == 0 && l2 == 0) continue;
    double abs_sum = 0, sq_sum = 0;
    for (double v : *A) {
      abs_sum += std::abs(v);
      sq_sum += v * v;
    }
    total += l1 * abs_sum + 0.5 * l2 * sq_sum;
  }
  return total;
}

}  // namespace nmfx
