#pragma once
/// @file analyze.hpp
/// `nmfx analyze`: runs analysis plugins on groups of runs (every seed and held-out fold of one
/// rank) of a results folder, chooses a rank per survey, and writes <results>/analysis.json.
#include <ostream>
#include <string>
#include <vector>

#include <nmfx/types.hpp>

namespace nmfx_analyze {

struct Options {
  std::vector<std::string> dirs;      ///< results folders
  std::vector<std::string> analyses;  ///< analysis plugins to run (default: every one found that applies)
  std::vector<std::string> params;    ///< "analysis.key=value"
  std::vector<std::string> plugin_paths;
};

int run(const Options& options, std::ostream& out);

/// The rank-selection table of one results folder's analysis.json (one row per rank, a column per
/// criterion, the chosen rank of each criterion marked with *), or "" when it has none.
std::string rank_selection_report(const std::string& dir);

/// `nmfx report`'s section: the table of every folder that has an analysis.json.
void rank_selection_section(const std::vector<std::string>& dirs, std::ostream& md);

/// The table for an analysis.json already read.
std::string rank_selection_table(const nmfx::json& analysis);

}  // namespace nmfx_analyze
