// X from a Matrix Market file (.mtx, optionally gzipped), the format of the SuiteSparse Matrix
// Collection: coordinate files give a sparse X (CSR), array files a dense one. The parsing is in
// mtx_reader.cpp; this file declares the parameters and applies the common dataset options.
#include <nmfx/plugin.hpp>
#include <nmfx_common/file_dataset.hpp>

#include "mtx_reader.hpp"

namespace {

class Mtx final : public nmfx_common::FileDataset<mtx::Options> {
 public:
  explicit Mtx(const nmfx::Params& p) : FileDataset("mtx", p, options_of(p), mtx::parse_file, mtx::read_shape) {}

 private:
  static mtx::Options options_of(const nmfx::Params& p) {
    mtx::Options o;
    o.dense = p.boolean("dense");
    o.clip_negative = p.str("negative") == "clip";
    return o;
  }
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Dataset, Mtx>(
      "mtx", "1.1.0", "X from a Matrix Market file (coordinate: sparse, array: dense), as SuiteSparse ships them");
  d.params = {
      nmfx::param_path("path", "the .mtx file (optionally gzipped) holding X"),
      nmfx::param_bool("dense", false, "return a coordinate file as a dense X (array files are always dense)"),
      nmfx::param_choice("negative", "error", {"error", "clip"},
                         "negative entries: refuse the file, or clip them to 0 (counted in info)"),
  };
  for (auto& p : nmfx::common_dataset_params()) d.params.push_back(p);
  d.data_kinds = {nmfx::DataKind::sparse, nmfx::DataKind::dense};  // coordinate files (unless dense: true); array files
  d.distributed = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
