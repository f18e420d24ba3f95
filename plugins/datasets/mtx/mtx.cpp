// X from a Matrix Market file (.mtx, optionally gzipped), the format of the SuiteSparse Matrix
// Collection: coordinate files give a sparse X (CSR), array files a dense one. The parsing is in
// mtx_reader.cpp; this file declares the parameters and applies the common dataset options.
#include <tuple>

#include <nmfx/dataset_util.hpp>
#include <nmfx/plugin.hpp>

#include "mtx_reader.hpp"

namespace {

class Mtx final : public nmfx::Dataset {
 public:
  explicit Mtx(const nmfx::Params& p) : params_(p), path_(p.str("path")) {
    options_.dense = p.boolean("dense");
    options_.clip_negative = p.str("negative") == "clip";
  }

  nmfx::Data load() override {
    nmfx::Data data = mtx::parse_file(path_, options_);
    nmfx::apply_common_options(data, params_);
    data.info["shape"] = {data.rows(), data.cols()};
    return data;
  }

  std::pair<std::size_t, std::size_t> shape() override {
    const auto [M, N] = mtx::read_shape(path_, options_);
    return nmfx::shape_after_options(params_, M, N);
  }

  // One pass over the file keeping only the entries inside the block (of the stored matrix: the
  // swapped block under transpose, transposed back by apply_common_options).
  nmfx::Data load_block(const nmfx::Range& rows, const nmfx::Range& cols) override {
    mtx::Options options = options_;
    options.block = true;
    std::tie(options.rows, options.cols) = nmfx::stored_block("mtx", params_, rows, cols);
    nmfx::Data data = mtx::parse_file(path_, options);
    nmfx::apply_common_options(data, params_);
    data.info["shape"] = {data.rows(), data.cols()};
    data.info["block"] = {{"rows", {rows.begin, rows.end}}, {"cols", {cols.begin, cols.end}}};
    return data;
  }

 private:
  nmfx::Params params_;
  std::string path_;
  mtx::Options options_;
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
