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
};

int run(const Options& options);

}  // namespace nmfx_report
