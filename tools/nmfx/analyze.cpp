// nmfx analyze: groups the runs of a results folder into surveys (runs equal in everything but
// rank, seed and held-out fold) and groups (one rank of a survey), hands each group to analysis
// plugins (consensus, cross_validation, stability, elbow, ...) and each survey's per-rank results
// back to them to choose a rank. Writes <results>/analysis.json; `nmfx report` prints its table.
#include "analyze.hpp"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include <nmfx/npy.hpp>
#include <nmfx/host/registry.hpp>
#include <nmfx/host/runner.hpp>

namespace fs = std::filesystem;
using nmfx::json;

namespace nmfx_analyze {
namespace {

// The results of one folder, without their traces (a survey can hold thousands of runs).
std::vector<json> load_results(const std::string& dir) {
  const std::vector<fs::path> files = nmfx::result_files(dir);
  std::vector<json> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    json r;
    try {
      r = json::parse(in);
    } catch (const std::exception& e) {
      throw nmfx::Error(f.string() + ": not JSON (" + e.what() + ")");
    }
    if (!r.is_object() || !r.contains("schema_version") || r.value("status", "") != "ok") continue;
    r.erase("trace");
    r.erase("environment");
    out.push_back(std::move(r));
  }
  if (out.empty()) throw nmfx::Error(dir + ": no successful runs");
  return out;
}

// What a survey shares: the cell without rank, seed and held-out fold.
json survey_key(const json& cell) {
  json key = cell;
  key.erase("rank");
  key.erase("seed");
  if (key.contains("dataset") && key["dataset"].contains("params")) key["dataset"]["params"].erase("holdout_fold");
  return key;
}

// "key=value" (value as JSON if it parses, else a string) into params[analysis][key].
std::map<std::string, json> parse_params(const std::vector<std::string>& given) {
  std::map<std::string, json> out;
  for (const auto& kv : given) {
    const auto dot = kv.find('.'), eq = kv.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot > eq || dot == 0 || eq == dot + 1)
      throw nmfx::Error("analyze: --param '" + kv +
                        "': expected analysis.key=value, e.g. consensus.cophenetic_samples=2000");
    const std::string text = kv.substr(eq + 1);
    json v;
    try {
      v = json::parse(text);
    } catch (...) {
      v = text;
    }
    out[kv.substr(0, dot)][kv.substr(dot + 1, eq - dot - 1)] = v;
  }
  return out;
}

std::string describe_survey(const json& key) {
  std::ostringstream os;
  os << "dataset " << key["dataset"]["name"].get<std::string>();
  if (key["dataset"]["params"].contains("path"))
    os << " (" << fs::path(key["dataset"]["params"]["path"].get<std::string>()).filename().string() << ")";
  os << ", solver " << key["solver"]["name"].get<std::string>() << ", loss " << key["loss"]["name"].get<std::string>();
  return os.str();
}

}  // namespace

int run(const Options& options, std::ostream& out) {
  nmfx::Registry registry;
  registry.scan(nmfx::plugin_dirs(options.plugin_paths));
  for (const auto& p : registry.problems()) std::cerr << "nmfx: warning: " << p << "\n";
  std::vector<std::string> names = options.analyses;
  const bool explicit_names = !names.empty();
  if (names.empty()) names = registry.names(nmfx::PluginKind::analysis);
  if (names.empty()) throw nmfx::Error("analyze: no analysis plugins found (see nmfx list analysis)");
  const auto given = parse_params(options.params);
  std::map<std::string, json> resolved;
  for (const auto& name : names) {
    const auto* p = registry.require(nmfx::PluginKind::analysis, name);
    try {
      resolved[name] = nmfx::resolve_params(p->descriptor->params, given.count(name) ? given.at(name) : json::object());
    } catch (const std::exception& e) {
      throw nmfx::Error("analyze: --param: " + std::string(e.what()) + " of analysis '" + name + "'");
    }
  }
  for (const auto& [name, _] : given)
    if (!resolved.count(name)) throw nmfx::Error("analyze: --param names analysis '" + name + "', which is not run");

  int failures = 0;
  for (const auto& dir : options.dirs) {
    const auto results = load_results(dir);
    // Surveys in order of first appearance; ranks ascending within each.
    std::vector<json> keys;
    std::vector<std::map<std::size_t, std::vector<const json*>>> surveys;
    for (const auto& r : results) {
      const json key = survey_key(r["cell"]);
      auto it = std::find(keys.begin(), keys.end(), key);
      if (it == keys.end()) {
        keys.push_back(key);
        surveys.emplace_back();
        it = keys.end() - 1;
      }
      surveys[static_cast<std::size_t>(it - keys.begin())][r["cell"]["rank"].get<std::size_t>()].push_back(&r);
    }
    json doc = {{"results", fs::absolute(dir).lexically_normal().string()}, {"surveys", json::array()}};
    for (std::size_t s = 0; s < surveys.size(); ++s) {
      json survey = {{"key", keys[s]},
                     {"label", describe_survey(keys[s])},
                     {"ranks", json::array()},
                     {"runs_per_rank", json::object()},
                     {"analyses", json::object()}};
      for (const auto& [rank, runs] : surveys[s]) {
        survey["ranks"].push_back(rank);
        survey["runs_per_rank"][std::to_string(rank)] = runs.size();
      }
      for (const auto& name : names) {
        auto analysis = registry.create<nmfx::Analysis>(name, resolved[name]);
        json entry = {{"params", resolved[name]},
                      {"version", registry.require(nmfx::PluginKind::analysis, name)->descriptor->version}};
        std::vector<nmfx::RankResult> per_rank;
        try {
          for (const auto& [rank, runs] : surveys[s]) {
            nmfx::RunGroup g;
            g.rank = rank;
            g.key = keys[s];
            for (const json* r : runs) g.runs.push_back(*r);
            g.output_dir = dir;
            g.file_prefix = "analysis_s" + std::to_string(s) + "_k" + std::to_string(rank) + "_" + name + "_";
            g.factor = [&g, &dir](std::size_t i, const std::string& which) {
              const json& r = g.runs.at(i);
              if (!r.contains("factors") || !r["factors"].contains(which))
                throw nmfx::Error("run " + r["id"].get<std::string>() + " saved no factor " + which +
                                  "; run the spec with save_factors: true");
              return nmfx::read_npy((fs::path(dir) / r["factors"][which].get<std::string>()).string());
            };
            per_rank.push_back({rank, analysis->analyze(g)});
          }
          std::string why;
          const std::size_t chosen = analysis->choose(per_rank, why);
          entry["chosen"] = chosen ? json(chosen) : json(nullptr);
          entry["why"] = why;
          entry["per_rank"] = json::array();
          for (const auto& r : per_rank) entry["per_rank"].push_back({{"rank", r.rank}, {"result", r.result}});
        } catch (const std::exception& e) {
          entry["skipped"] = e.what();
          if (explicit_names) {
            out << dir << ": survey " << s + 1 << ": " << name << ": " << e.what() << "\n";
            ++failures;
          }
        }
        survey["analyses"][name] = entry;
      }
      doc["surveys"].push_back(survey);
    }
    const fs::path file = fs::path(dir) / "analysis.json";
    std::ofstream(file.string() + ".tmp") << doc.dump(1) << "\n";
    fs::rename(file.string() + ".tmp", file);
    out << rank_selection_table(doc) << "written: " << file.string() << "\n";
  }
  return failures ? 1 : 0;
}

}  // namespace nmfx_analyze
