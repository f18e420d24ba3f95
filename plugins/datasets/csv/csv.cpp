// X from a dense numeric CSV or TSV file (optionally gzipped): one file row per row of X, header
// lines dropped by skip_rows, label columns by drop_columns. The parsing is in csv_reader.cpp; this
// file declares the parameters and applies the common dataset options (transpose, scale).
#include <tuple>

#include <nmfx/dataset_util.hpp>
#include <nmfx/plugin.hpp>

#include "csv_reader.hpp"

namespace {

class Csv final : public nmfx::Dataset {
 public:
  explicit Csv(const nmfx::Params& p) : params_(p), path_(p.str("path")) {
    options_.delimiter = p.str("delimiter");
    options_.skip_rows = static_cast<std::size_t>(p.integer("skip_rows"));
    options_.drop_columns = p.str("drop_columns");
    options_.clip_negative = p.str("negative") == "clip";
  }

  nmfx::Data load() override {
    nmfx::Data data = csv::parse_file(path_, options_);
    nmfx::apply_common_options(data, params_);
    data.info["shape"] = {data.rows(), data.cols()};
    return data;
  }

  // One pass over the file that parses and checks every field and keeps none.
  std::pair<std::size_t, std::size_t> shape() override {
    const auto [M, N] = csv::read_shape(path_, options_);
    return nmfx::shape_after_options(params_, M, N);
  }

  // One pass over the file keeping only the values inside the block (of the stored matrix: the
  // swapped block under transpose, transposed back by apply_common_options).
  nmfx::Data load_block(const nmfx::Range& rows, const nmfx::Range& cols) override {
    csv::Options options = options_;
    options.block = true;
    std::tie(options.rows, options.cols) = nmfx::stored_block("csv", params_, rows, cols);
    nmfx::Data data = csv::parse_file(path_, options);
    nmfx::apply_common_options(data, params_);
    data.info["shape"] = {data.rows(), data.cols()};
    data.info["block"] = {{"rows", {rows.begin, rows.end}}, {"cols", {cols.begin, cols.end}}};
    return data;
  }

 private:
  nmfx::Params params_;
  std::string path_;
  csv::Options options_;
};

nmfx::PluginDescriptor describe() {
  auto d =
      nmfx::describe<nmfx::Dataset, Csv>("csv", "1.1.0", "X from a dense numeric CSV or TSV file (optionally gzipped)");
  d.params = {
      nmfx::param_path("path", "the .csv, .tsv or .txt file (optionally gzipped); each line a row of X"),
      nmfx::param_choice(
          "delimiter", "auto", {"auto", "comma", "tab", "semicolon", "space"},
          "field separator; auto: tab, comma or semicolon if the first data line holds one, else spaces"),
      nmfx::param_int("skip_rows", 0, "lines dropped from the top of the file before parsing (header lines)", 0),
      nmfx::param_string("drop_columns", "",
                         "columns to drop (labels): 0-based indices or start:stop slices, comma-separated; "
                         "negative counts from the end, e.g. '0', '-1', '0,3', ':2'"),
      nmfx::param_choice("negative", "error", {"error", "clip"},
                         "negative entries: refuse the file, or clip them to 0 (counted in info)"),
  };
  for (auto& p : nmfx::common_dataset_params()) d.params.push_back(p);
  d.data_kinds = {nmfx::DataKind::dense};
  d.distributed = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
