#pragma once
#include <string>
#include <vector>

namespace nmfx_report {

struct Options {
  std::vector<std::string> dirs;     ///< results folders
  std::vector<std::string> by;       ///< grouping keys of the flat records (default dataset, solver, loss, rank)
  std::vector<std::string> metrics;  ///< final values to aggregate (default: relative_error or loss)
  std::vector<double> targets;       ///< E(t) targets for time-to-target (default 1e-2, 1e-4)
  std::string csv;                   ///< write <csv>_final.csv and <csv>_targets.csv when not empty
  int top_words = 10;                ///< words shown per topic for text data
  std::string json_out;              ///< write the report as JSON to this file ("-": stdout, instead of Markdown)
  std::string claims;                ///< claims file to check (experiments/<study>.claims.yaml); empty: none
  bool check = false;                ///< exit 1 when a claim's verdict differs from the one it expects
  bool quick = false;                ///< claims of a --quick reproduction: skip `quick: skip`, use `expect_quick`
};

int run(const Options& options);

}  // namespace nmfx_report
