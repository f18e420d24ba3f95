// A test metric that returns a column of the name it is given (by default "loss", which the runner
// writes itself), to check that the trace refuses a reserved or already written column.
#include <nmfx/plugin.hpp>

namespace {

class ReservedMetric final : public nmfx::Metric {
 public:
  explicit ReservedMetric(const nmfx::Params& p) : column_(p.str("column")) {}
  nmfx::Values evaluate(const nmfx::MetricContext&) override { return {{column_, 1.0}}; }

 private:
  std::string column_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, ReservedMetric>("reserved_column", "0.0.1",
                                                        "test metric returning a column of a chosen name");
  d.params = {nmfx::param_string("column", "loss", "name of the column it returns")};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse, nmfx::DataKind::observed};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
