// The rank-selection table of `nmfx analyze` and `nmfx report`: one row per rank, the values of
// every analysis that ran, and each analysis's chosen rank marked with *.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "analyze.hpp"

namespace fs = std::filesystem;
using nmfx::json;

namespace nmfx_analyze {

std::string rank_selection_table(const json& doc) {
  std::ostringstream os;
  std::size_t number = 0;
  for (const auto& survey : doc["surveys"]) {
    ++number;
    os << "Rank selection, survey " << number << ": " << survey["label"].get<std::string>() << "\n";
    // Columns: (analysis, value name), in the order the analyses and their values come.
    std::vector<std::pair<std::string, std::string>> columns;
    std::set<std::pair<std::string, std::string>> criterion;  // the value each analysis chooses by: its first
    for (auto a = survey["analyses"].begin(); a != survey["analyses"].end(); ++a) {
      if (!a->contains("per_rank") || (*a)["per_rank"].empty()) continue;
      for (auto v = (*a)["per_rank"][0]["result"]["values"].begin(); v != (*a)["per_rank"][0]["result"]["values"].end();
           ++v) {
        if (v == (*a)["per_rank"][0]["result"]["values"].begin()) criterion.insert({a.key(), v.key()});
        columns.push_back({a.key(), v.key()});
      }
    }
    os << std::setw(6) << "rank" << std::setw(6) << "runs";
    for (const auto& c : columns) os << std::setw(std::max<int>(13, static_cast<int>(c.second.size()) + 3)) << c.second;
    os << "\n";
    for (const auto& rank_json : survey["ranks"]) {
      const std::size_t rank = rank_json;
      os << std::setw(6) << rank << std::setw(6) << survey["runs_per_rank"][std::to_string(rank)].get<std::size_t>();
      for (const auto& [name, value] : columns) {
        const json& a = survey["analyses"][name];
        std::string cell = "-";
        for (const auto& r : a["per_rank"])
          if (r["rank"] == rank_json && r["result"]["values"].contains(value)) {
            const json& v = r["result"]["values"][value];
            std::ostringstream c;
            if (v.is_number())
              c << std::setprecision(4) << std::fixed << v.get<double>();
            else
              c << "NA";
            cell = c.str();
          }
        const bool chosen = a.contains("chosen") && a["chosen"] == rank_json && criterion.count({name, value});
        cell += chosen ? "*" : " ";
        os << std::setw(std::max<int>(13, static_cast<int>(value.size()) + 3)) << cell;
      }
      os << "\n";
    }
    for (auto a = survey["analyses"].begin(); a != survey["analyses"].end(); ++a) {
      os << "  " << a.key() << ": ";
      if (a->contains("skipped"))
        os << "not applicable (" << (*a)["skipped"].get<std::string>() << ")";
      else if ((*a)["chosen"].is_null())
        os << "no rank chosen (" << (*a)["why"].get<std::string>() << ")";
      else
        os << "rank " << (*a)["chosen"] << " (" << (*a)["why"].get<std::string>() << ")";
      os << "\n";
    }
    os << "\n";
  }
  return os.str();
}

std::string rank_selection_report(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "analysis.json");
  if (!in) return "";
  try {
    return rank_selection_table(json::parse(in));
  } catch (const std::exception& e) {
    return dir + "/analysis.json: unreadable (" + e.what() + ")\n";
  }
}

void rank_selection_section(const std::vector<std::string>& dirs, std::ostream& md) {
  for (const auto& dir : dirs) {
    const std::string table = rank_selection_report(dir);
    if (table.empty()) continue;
    md << "## Rank selection (" << dir << "/analysis.json, from nmfx analyze)\n\n```\n" << table << "```\n\n";
  }
}

}  // namespace nmfx_analyze
