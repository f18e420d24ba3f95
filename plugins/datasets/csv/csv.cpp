// X from a dense numeric CSV or TSV file (optionally gzipped): one file row per row of X, header
// lines dropped by skip_rows, label columns by drop_columns. The parsing is in csv_reader.cpp; this
// file declares the parameters and applies the common dataset options (transpose, scale).
#include <nmfx/plugin.hpp>
#include <nmfx_common/file_dataset.hpp>

#include "csv_reader.hpp"

namespace {

class Csv final : public nmfx_common::FileDataset<csv::Options> {
 public:
  explicit Csv(const nmfx::Params& p) : FileDataset("csv", p, options_of(p), csv::parse_file, csv::read_shape) {}

 private:
  static csv::Options options_of(const nmfx::Params& p) {
    csv::Options o;
    o.delimiter = p.str("delimiter");
    o.skip_rows = static_cast<std::size_t>(p.integer("skip_rows"));
    o.drop_columns = p.str("drop_columns");
    o.clip_negative = p.str("negative") == "clip";
    return o;
  }
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
