// nmfx report: turns a results folder into the tables of the NMF papers.
//  - final metrics aggregated over seeds (mean ± sd, n), grouped by any grid axes;
//  - Gillis & Glineur's normalised error E(t) = (e(t) - e_min) / (e(0) - e_min) (seed 000 eq. 25),
//    e_min the smallest error over all runs of the report with the same dataset and rank, and the
//    time and iterations each group needs to reach E <= a target;
//  - the rho table of seed 000 Table 1, when runs carry the rho metric;
//  - top words per topic for text data, when the runs saved their factors;
//  - the claims of a paper checked against the results (--claims), one row per claim;
//  - the same as JSON (--json) for tools/plot.py: the runs, which parameters vary, the groups and
//    each run's E(t), so that loading, grouping and E(t) exist only here.
#include "report.hpp"

#include "analyze.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include <nmfx/host/grid.hpp>
#include <nmfx/host/registry.hpp>
#include <nmfx/npy.hpp>
#include <nmfx/host/runner.hpp>

namespace fs = std::filesystem;
using nmfx::json;

namespace nmfx_report {
namespace {

struct Run {
  json result;  ///< the whole result file
  json flat;    ///< its flat record
  std::string dir;
};

std::vector<Run> load(const std::vector<std::string>& dirs) {
  std::vector<Run> runs;
  for (const auto& dir : dirs) {
    // The runs summary.jsonl lists (the grid's last run in this folder), or every result file.
    const std::vector<fs::path> files = nmfx::result_files(dir);
    for (const auto& f : files) {
      std::ifstream in(f);
      json r;
      try {
        r = json::parse(in);
      } catch (const std::exception& e) {
        throw nmfx::Error(f.string() + ": not JSON (" + e.what() + ")");
      }
      if (!r.is_object() || !r.contains("schema_version")) continue;  // not a result file
      if (r["schema_version"] != nmfx::kResultsSchemaVersion)
        throw nmfx::Error(f.string() + ": results schema " + r["schema_version"].dump() + ", this nmfx reads " +
                          std::to_string(nmfx::kResultsSchemaVersion));
      runs.push_back({r, nmfx::flat_record(r), dir});
    }
  }
  return runs;
}

std::string text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

struct Stat {
  double mean = NAN, sd = NAN;
  std::size_t n = 0;
};

Stat stat(const std::vector<double>& v) {
  Stat s;
  s.n = v.size();
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  double sq = 0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(sq / static_cast<double>(v.size() - 1)) : 0.0;  // sample sd
  return s;
}

std::string format(const Stat& s, bool scientific = true) {
  if (s.n == 0) return "-";
  std::ostringstream os;
  if (scientific) {
    os << std::scientific << std::setprecision(3) << s.mean << " ± " << std::setprecision(1) << s.sd;
  } else {
    os << std::fixed << std::setprecision(s.mean < 10 ? 3 : 1) << s.mean << " ± " << s.sd;
  }
  return os.str();
}

// A markdown table, and the same rows as CSV when asked.
void table(const std::vector<std::vector<std::string>>& rows, std::ostream& md, const std::string& csv_path) {
  auto width = [](const std::string& s) {
    std::size_t w = 0;
    for (unsigned char c : s) w += (c & 0xC0) != 0x80;
    return w;
  };
  std::vector<std::size_t> w(rows[0].size(), 3);
  for (const auto& r : rows)
    for (std::size_t j = 0; j < r.size(); ++j) w[j] = std::max(w[j], width(r[j]));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    md << "|";
    for (std::size_t j = 0; j < rows[i].size(); ++j)
      md << " " << rows[i][j] << std::string(w[j] - width(rows[i][j]), ' ') << " |";
    md << "\n";
    if (i == 0) {
      md << "|";
      for (std::size_t j = 0; j < w.size(); ++j) md << std::string(w[j] + 2, '-') << "|";
      md << "\n";
    }
  }
  md << "\n";
  if (csv_path.empty()) return;
  std::ostringstream csv;
  for (const auto& r : rows) {
    for (std::size_t j = 0; j < r.size(); ++j) {
      std::string cell = r[j];
      const bool quote = cell.find_first_of(",\"\n") != std::string::npos;
      if (quote) {
        std::string q = "\"";
        for (char c : cell) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        cell = q + "\"";
      }
      csv << (j ? "," : "") << cell;
    }
    csv << "\n";
  }
  nmfx::write_file_atomic(csv_path, csv.str());
}

std::string group_key(const json& flat, const std::vector<std::string>& keys) {
  std::string k;
  for (const auto& key : keys) k += text(flat.value(key, json())) + "\x1f";
  return k;
}

// The cell parameters of a run as flat keys (rank, seed, dataset, dataset.<param>, solver, ...,
// init.<key>, init_scaling, the regularization weights): what may vary across a grid.
json cell_keys(const Run& r) {
  const json& c = r.result["cell"];
  json k = {{"rank", c["rank"]}, {"seed", c["seed"]}};
  for (const char* part : {"dataset", "solver", "loss"}) {
    k[part] = c[part]["name"];
    for (auto it = c[part]["params"].begin(); it != c[part]["params"].end(); ++it)
      k[std::string(part) + "." + it.key()] = *it;
  }
  if (c.contains("init"))
    for (auto it = c["init"].begin(); it != c["init"].end(); ++it) k["init." + it.key()] = *it;
  if (c.contains("init_scaling")) k["init_scaling"] = c["init_scaling"];
  if (c.contains("regularization"))
    for (auto it = c["regularization"].begin(); it != c["regularization"].end(); ++it) k[it.key()] = *it;
  return k;
}

// Which cell parameters take more than one value across the runs (a key absent from some runs
// counts as one more value). The one definition behind the groups, the labels and the figures.
std::vector<std::string> varying_keys(const std::vector<Run>& runs) {
  std::map<std::string, std::set<std::string>> values;
  for (const auto& r : runs) {
    const json k = cell_keys(r);
    for (auto it = k.begin(); it != k.end(); ++it) values[it.key()].insert(it->dump());
  }
  for (const auto& r : runs) {
    const json k = cell_keys(r);
    for (auto& [key, v] : values)
      if (!k.contains(key)) v.insert("(absent)");
  }
  std::vector<std::string> out;
  for (const auto& [key, v] : values)
    if (v.size() > 1) out.push_back(key);
  return out;
}

// The keys of `by` that are plugin names get their varying parameters appended, so that
// mu(eps=1e-10) and mu(eps=1e-16) are two groups unless the user groups them on purpose.
std::vector<std::string> effective_keys(const std::vector<Run>& runs, const std::vector<std::string>& by) {
  const std::vector<std::string> varying = varying_keys(runs);
  std::vector<std::string> keys;
  for (const auto& key : by) {
    keys.push_back(key);
    if (key != "dataset" && key != "solver" && key != "loss") continue;
    for (const auto& k : varying)
      if (k.rfind(key + ".", 0) == 0 && std::find(by.begin(), by.end(), k) == by.end()) keys.push_back(k);
  }
  return keys;
}

std::vector<std::string> header_of(const std::vector<std::string>& keys) { return keys; }

void final_table(const std::vector<Run>& runs, const Options& o, const std::vector<std::string>& keys,
                 const std::vector<std::string>& metrics, std::ostream& md) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Run*>> groups;
  for (const auto& r : runs) {
    const std::string k = group_key(r.flat, keys);
    if (!groups.count(k)) order.push_back(k);
    groups[k].push_back(&r);
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = header_of(keys);
  header.push_back("n");
  for (const auto& m : metrics) header.push_back(m + " (mean ± sd)");
  header.push_back("iterations");
  header.push_back("seconds (mean ± sd)");
  rows.push_back(header);
  for (const auto& k : order) {
    const auto& g = groups[k];
    std::vector<std::string> row;
    for (const auto& key : keys) row.push_back(text(g.front()->flat.value(key, json())));
    std::size_t ok = 0, failed = 0, skipped = 0;
    for (const Run* r : g) {
      const std::string s = r->flat["status"];
      ok += s == "ok";
      failed += s == "failed";
      skipped += s == "skipped";
    }
    std::string n = std::to_string(ok);
    if (failed) n += " (" + std::to_string(failed) + " failed)";
    if (skipped) n += " (" + std::to_string(skipped) + " skipped)";
    row.push_back(n);
    auto collect = [&](const std::string& m) {
      std::vector<double> v;
      for (const Run* r : g)
        if (r->flat["status"] == "ok" && r->flat.contains(m) && r->flat[m].is_number()) v.push_back(r->flat[m]);
      return v;
    };
    for (const auto& m : metrics) row.push_back(format(stat(collect(m))));
    const Stat it = stat(collect("iterations"));
    row.push_back(it.n ? std::to_string(static_cast<long>(std::llround(it.mean))) : "-");
    row.push_back(format(stat(collect("solver_seconds")), false));
    rows.push_back(row);
  }
  md << "## Final values\n\nMean ± sample standard deviation over the runs of each group (n: runs that finished "
        "ok).\n\n";
  table(rows, md, o.csv.empty() ? "" : o.csv + "_final.csv");
}

// Seed 000 eq. 25: E(t) = (e(t) - e_min) / (e(0) - e_min), e = ||X - WH||_F, which is
// proportional to relative_error for a fixed dataset; e_min over every run of the same problem
// (dataset with its parameters, and rank) in the report. The table, --json (hence the figures) and
// the claims all take E from here.
std::string problem_of(const Run& r) {
  return r.result["cell"]["dataset"].dump() + "|" + r.result["cell"]["rank"].dump();
}

struct NormalisedErrors {
  std::map<std::string, double> e_min;          ///< per problem_of
  std::map<const Run*, std::vector<double>> E;  ///< per usable run, aligned with its trace
};

NormalisedErrors normalised_errors(const std::vector<Run>& runs) {
  NormalisedErrors out;
  auto value = [](const json& v) { return v.is_number() ? v.get<double>() : NAN; };
  std::vector<const Run*> usable;
  for (const auto& r : runs)
    if (r.flat["status"] == "ok" && r.result["trace"].contains("relative_error") &&
        !r.result["trace"]["relative_error"].empty())
      usable.push_back(&r);
  for (const Run* r : usable) {
    double m = INFINITY;
    for (const auto& v : r->result["trace"]["relative_error"])
      if (v.is_number()) m = std::min(m, v.get<double>());
    auto it = out.e_min.find(problem_of(*r));
    out.e_min[problem_of(*r)] = it == out.e_min.end() ? m : std::min(it->second, m);
  }
  for (const Run* r : usable) {
    const auto& e = r->result["trace"]["relative_error"];
    const double lo = out.e_min[problem_of(*r)], e0 = value(e[0]);
    std::vector<double> E;
    for (const auto& v : e) E.push_back(e0 > lo ? (value(v) - lo) / (e0 - lo) : 0.0);
    out.E[r] = std::move(E);
  }
  return out;
}

void normalised_error(const std::vector<Run>& runs, const Options& o, const std::vector<std::string>& keys,
                      std::ostream& md) {
  const NormalisedErrors ne = normalised_errors(runs);
  std::vector<const Run*> usable;
  for (const auto& r : runs)
    if (ne.E.count(&r)) usable.push_back(&r);
  if (usable.empty()) return;
  std::vector<std::string> gkeys;
  for (const auto& k : keys)
    if (k != "seed") gkeys.push_back(k);
  if (std::find(gkeys.begin(), gkeys.end(), "rank") == gkeys.end()) gkeys.push_back("rank");
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Run*>> groups;
  for (const Run* r : usable) {
    const std::string k = group_key(r->flat, gkeys);
    if (!groups.count(k)) order.push_back(k);
    groups[k].push_back(r);
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = gkeys;
  header.push_back("n");
  for (double t : o.targets) {
    std::ostringstream ts;
    ts << std::setprecision(3) << t;
    header.push_back("reached E ≤ " + ts.str());
    header.push_back("seconds to E ≤ " + ts.str());
    header.push_back("iterations to E ≤ " + ts.str());
  }
  header.push_back("final E (mean ± sd)");
  rows.push_back(header);
  for (const auto& k : order) {
    const auto& g = groups[k];
    std::vector<std::string> row;
    for (const auto& key : gkeys) row.push_back(text(g.front()->flat.value(key, json())));
    row.push_back(std::to_string(g.size()));
    for (double target : o.targets) {
      std::vector<double> secs, its;
      for (const Run* r : g) {
        const auto& tr = r->result["trace"];
        const auto& E = ne.E.at(r);
        for (std::size_t i = 0; i < E.size(); ++i) {
          if (E[i] <= target) {  // the first checkpoint at or below the target
            secs.push_back(tr["solver_seconds"][i]);
            its.push_back(tr["iteration"][i]);
            break;
          }
        }
      }
      row.push_back(std::to_string(secs.size()) + "/" + std::to_string(g.size()));
      row.push_back(format(stat(secs), false));
      row.push_back(format(stat(its), false));
    }
    std::vector<double> finals;
    for (const Run* r : g) finals.push_back(ne.E.at(r).back());
    row.push_back(format(stat(finals)));
    rows.push_back(row);
  }
  md << "## Normalised error E(t) (Gillis & Glineur, seed 000 eq. 25)\n\n"
     << "E(t) = (e(t) − e_min) / (e(0) − e_min) with e = ‖X − WH‖_F; e_min is the smallest error of any run in this "
        "report on the same dataset and rank. Time and iterations are those of the first checkpoint at or below the "
        "target (solver seconds only), mean ± sd over the runs that reached it.\n\n";
  table(rows, md, o.csv.empty() ? "" : o.csv + "_targets.csv");
}

void rho_table(const std::vector<Run>& runs, std::ostream& md) {
  std::set<std::string> seen;
  std::vector<std::vector<std::string>> rows = {{"method", "M", "N", "L", "P = nnz(X)", "ρ_W", "ρ_H"}};
  for (const auto& r : runs) {
    const json& f = r.result["final"];
    if (!f.contains("rho_W_mu")) continue;
    const std::string key = text(r.result["data"]["rows"]) + "x" + text(r.result["data"]["cols"]) + ":" +
                            text(r.result["cell"]["rank"]) + ":" + text(r.result["data"]["nnz"]);
    if (!seen.insert(key).second) continue;
    for (const char* method : {"mu", "hals"}) {
      rows.push_back(
          {method == std::string("mu") ? "MU" : "HALS", text(r.result["data"]["rows"]), text(r.result["data"]["cols"]),
           text(r.result["cell"]["rank"]), text(r.result["data"]["nnz"]),
           std::to_string(static_cast<long long>(std::floor(f[std::string("rho_W_") + method].get<double>()))),
           std::to_string(static_cast<long long>(std::floor(f[std::string("rho_H_") + method].get<double>())))});
    }
  }
  if (rows.size() == 1) return;
  md << "## ρ (Gillis & Glineur, seed 000 eqs 18-21 and Table 1; integer parts)\n\n";
  table(rows, md, "");
}

void topics(const std::vector<Run>& runs, int top, std::ostream& md) {
  std::set<std::string> shown;
  bool header = false;
  for (const auto& r : runs) {
    const json& info = r.result.contains("data") ? r.result["data"]["info"] : json();
    if (!info.is_object() || !info.contains("vocabulary") || !r.result.contains("factors")) continue;
    // One run per (dataset, solver, loss, rank): the first seed's.
    const std::string key = group_key(r.flat, {"dataset", "solver", "loss", "rank"});
    if (!shown.insert(key).second) continue;
    const nmfx::Matrix W = nmfx::read_npy((fs::path(r.dir) / r.result["factors"]["W"].get<std::string>()).string());
    const auto& vocabulary = info["vocabulary"];
    if (W.shape(0) != vocabulary.size()) continue;  // transposed data: rows are documents
    if (!header) {
      md << "## Topics (columns of W, top words)\n\n";
      header = true;
    }
    md << "### " << text(r.flat["dataset"]) << " · " << text(r.flat["solver"]) << " · " << text(r.flat["loss"])
       << " · rank " << text(r.flat["rank"]) << " · seed " << text(r.flat["seed"]) << "\n\n";
    for (std::size_t a = 0; a < W.shape(1); ++a) {
      std::vector<std::size_t> idx(W.shape(0));
      for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(top), idx.size());
      std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(k), idx.end(),
                        [&](std::size_t x, std::size_t y) { return W(x, a) > W(y, a); });
      md << "- topic " << a + 1 << ":";
      for (std::size_t i = 0; i < k; ++i) md << " " << vocabulary[idx[i]].get<std::string>();
      md << "\n";
    }
    md << "\n";
  }
}

void pictures(const std::vector<std::string>& dirs, std::ostream& md) {
  std::vector<std::string> found;
  for (const auto& dir : dirs) {
    const fs::path figures = fs::path(dir) / "figures";
    if (!fs::is_directory(figures)) continue;
    for (const auto& e : fs::directory_iterator(figures))
      if (e.path().extension() == ".png" || e.path().extension() == ".svg") found.push_back(e.path().string());
  }
  if (found.empty()) return;
  std::sort(found.begin(), found.end());
  md << "## Figures\n\n";
  for (const auto& f : found) md << "- " << f << "\n";
  md << "\n";
}

// ---------------------------------------------------------------- labels, titles, --json

// A run's label within its problem: the solver with those of its parameters that vary among the
// runs of that solver, then every other varying parameter except the problem's own (dataset, rank)
// and the seed, e.g. "accel_mu(alpha=1)" or "mu · kl".
std::string label_of(const json& k, const std::vector<json>& all_keys, const std::vector<std::string>& varying) {
  std::string solver_args, rest;
  for (const auto& key : varying) {
    if (key == "rank" || key == "seed" || key == "solver" || key == "dataset" || key.rfind("dataset.", 0) == 0)
      continue;
    const bool plugin_param = key.rfind("solver.", 0) == 0 || key.rfind("loss.", 0) == 0;
    if (plugin_param) {
      // Only when the run has it and it varies among the runs of the same plugin.
      const std::string part = key.substr(0, key.find('.'));
      if (!k.contains(key)) continue;
      std::set<std::string> values;
      for (const auto& ok : all_keys)
        if (ok[part] == k[part]) values.insert(ok.contains(key) ? ok[key].dump() : "");
      if (values.size() < 2) continue;
    }
    const std::string v = k.contains(key) ? text(k[key]) : "-";
    if (key.rfind("solver.", 0) == 0)
      solver_args += (solver_args.empty() ? "" : ",") + key.substr(7) + "=" + v;
    else if (key == "loss")
      rest += " · " + v;
    else
      rest += " · " + key + "=" + v;
  }
  return text(k["solver"]) + (solver_args.empty() ? "" : "(" + solver_args + ")") + rest;
}

// The data by its description: the dataset's `title` (info.title) when it has one, else the
// plugin's name and the shape.
std::string title_of(const Run& r) {
  const json& d = r.result.contains("data") ? r.result["data"] : json::object();
  if (d.contains("info") && d["info"].is_object() && d["info"].contains("title") && d["info"]["title"].is_string() &&
      !d["info"]["title"].get<std::string>().empty())
    return d["info"]["title"].get<std::string>();
  std::string t = text(r.result["cell"]["dataset"]["name"]);
  if (d.contains("rows")) t += " (" + text(d["rows"]) + " × " + text(d["cols"]) + ")";
  return t;
}

json report_json(const std::vector<Run>& runs, const std::vector<std::string>& dirs) {
  const NormalisedErrors ne = normalised_errors(runs);
  const std::vector<std::string> varying = varying_keys(runs);
  json out = {{"format", "nmfx-report/1"}, {"dirs", dirs}, {"varying", varying}};
  // Problems: runs comparable on one E(t) scale.
  std::vector<std::string> problem_order;
  std::map<std::string, std::size_t> problem_index;
  json problems = json::array(), groups = json::array(), rows = json::array();
  std::map<std::pair<std::size_t, std::string>, std::size_t> group_index;
  std::vector<json> all_keys;
  for (const auto& r : runs) all_keys.push_back(cell_keys(r));
  for (std::size_t ri = 0; ri < runs.size(); ++ri) {
    const Run& r = runs[ri];
    const std::string p = problem_of(r);
    if (!problem_index.count(p)) {
      problem_index[p] = problems.size();
      const auto em = ne.e_min.find(p);
      problems.push_back({{"dataset", r.result["cell"]["dataset"]},
                          {"rank", r.result["cell"]["rank"]},
                          {"title", title_of(r)},
                          {"e_min", em == ne.e_min.end() ? json() : json(em->second)}});
    }
    const std::size_t pi = problem_index[p];
    const std::string label = label_of(all_keys[ri], all_keys, varying);
    if (!group_index.count({pi, label})) {
      group_index[{pi, label}] = groups.size();
      groups.push_back({{"problem", pi}, {"label", label}, {"runs", json::array()}});
    }
    groups[group_index[{pi, label}]]["runs"].push_back(r.result["id"]);
    json row = {{"id", r.result["id"]},   {"dir", r.dir},
                {"file", r.flat["file"]}, {"status", r.flat["status"]},
                {"problem", pi},          {"group", group_index[{pi, label}]},
                {"label", label},         {"title", title_of(r)},
                {"flat", r.flat}};
    for (const char* part : {"cell", "data", "final", "trace", "factors"})
      if (r.result.contains(part)) row[part] = r.result[part];
    const auto e = ne.E.find(&r);
    if (e != ne.E.end()) {
      json E = json::array();
      for (double v : e->second) E.push_back(std::isfinite(v) ? json(v) : json());
      row["E"] = E;
    }
    rows.push_back(std::move(row));
  }
  out["problems"] = problems;
  out["groups"] = groups;
  out["runs"] = rows;
  return out;
}

// ---------------------------------------------------------------- claims

// YAML to JSON for the claims file: plain scalars that read as numbers or booleans become them.
json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    json o = json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    json a = json::array();
    for (const auto& v : n) a.push_back(yaml_to_json(v));
    return a;
  }
  if (n.IsNull() || !n.IsDefined()) return json();
  const std::string s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s == "true") return true;
  if (s == "false") return false;
  try {
    std::size_t used = 0;
    const long long i = std::stoll(s, &used);
    if (used == s.size()) return i;
  } catch (...) {
  }
  try {
    std::size_t used = 0;
    const double d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (...) {
  }
  return s;
}

std::string num(double v, int precision = 3) {
  if (std::isinf(v)) return v > 0 ? "never" : "-inf";
  if (std::isnan(v)) return "-";
  std::ostringstream os;
  os << std::setprecision(precision) << v;
  return os.str();
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (std::isinf(v[n / 2]) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? NAN : s / static_cast<double>(v.size());
}

struct ClaimError : nmfx::Error {
  using nmfx::Error::Error;
};

struct Verdict {
  std::string measured;
  bool holds = false;
  std::string reason;  ///< why it does not hold
};

class ClaimChecker {
 public:
  ClaimChecker(const std::vector<Run>& runs, std::string file)
      : runs_(runs), ne_(normalised_errors(runs)), file_(std::move(file)) {}

  Verdict check(const json& c) {
    const std::string kind = field(c, "kind").get<std::string>();
    if (kind == "median_E_below") return median_E_below(c);
    if (kind == "time_to_E") return time_to_E(c);
    if (kind == "equals") return equals(c);
    if (kind == "never_increases") return never_increases(c);
    if (kind == "monotone_in_rank") return monotone_in_rank(c);
    if (kind == "elbow_at") return elbow_at(c);
    if (kind == "compare") return compare(c);
    throw ClaimError(file_ + ": claim '" + text(c.value("id", json())) + "': unknown kind '" + kind +
                     "' (median_E_below, time_to_E, equals, never_increases, monotone_in_rank, elbow_at, compare)");
  }

 private:
  const std::vector<Run>& runs_;
  NormalisedErrors ne_;
  std::string file_;

  const json& field(const json& c, const std::string& key) const {
    if (!c.contains(key))
      throw ClaimError(file_ + ": claim '" + text(c.value("id", json())) + "': missing key '" + key + "'");
    return c[key];
  }

  // The ok runs whose flat record matches every key of `where` (numbers compare as numbers).
  std::vector<const Run*> select(const json& where) const {
    std::vector<const Run*> out;
    for (const auto& r : runs_) {
      if (r.flat["status"] != "ok") continue;
      bool match = true;
      for (auto it = where.begin(); it != where.end() && match; ++it) {
        if (!r.flat.contains(it.key())) {
          match = false;
          break;
        }
        const json& v = r.flat[it.key()];
        match = (v.is_number() && it->is_number()) ? v.get<double>() == it->get<double>() : text(v) == text(*it);
      }
      if (match) out.push_back(&r);
    }
    return out;
  }

  static std::string describe(const json& where) {
    std::string s;
    for (auto it = where.begin(); it != where.end(); ++it) s += (s.empty() ? "" : ",") + text(*it);
    return s.empty() ? "all runs" : s;
  }

  static std::string axis_column(const json& c) {
    const std::string axis = c.value("axis", std::string("seconds"));
    if (axis == "seconds") return "solver_seconds";
    if (axis == "iterations") return "iteration";
    throw ClaimError("claim '" + text(c.value("id", json())) + "': axis must be seconds or iterations, not '" + axis +
                     "'");
  }

  std::vector<const Run*> with_E(const std::vector<const Run*>& v) const {
    std::vector<const Run*> out;
    for (const Run* r : v)
      if (ne_.E.count(r)) out.push_back(r);
    return out;
  }

  // The median over a group's runs of E at x: each run's value at its last checkpoint at or before
  // x; NaN unless every run has a point there (x within [first, last] checkpoint of every run).
  double median_E_at(const std::vector<const Run*>& g, const std::string& col, double x) const {
    std::vector<double> v;
    for (const Run* r : g) {
      const auto& xs = r->result["trace"][col];
      if (xs.empty() || x < xs[0].get<double>() || x > xs.back().get<double>()) return NAN;
      std::size_t i = 0;
      while (i + 1 < xs.size() && xs[i + 1].get<double>() <= x) ++i;
      v.push_back(ne_.E.at(r)[i]);
    }
    return median(v);
  }

  // "The median E(t) of A is below that of B at every time after t0" (seed 000 Fig. 4-5).
  Verdict median_E_below(const json& c) {
    const auto a = with_E(select(field(c, "a"))), b = with_E(select(field(c, "b")));
    const std::string col = axis_column(c), unit = col == "iteration" ? "" : " s";
    const double after = field(c, "after").get<double>();
    Verdict v;
    if (a.empty() || b.empty()) {
      v.reason = "no runs with relative_error match " + (a.empty() ? describe(c["a"]) : describe(c["b"]));
      return v;
    }
    double until = INFINITY;
    for (const Run* r : a) until = std::min(until, r->result["trace"][col].back().get<double>());
    for (const Run* r : b) until = std::min(until, r->result["trace"][col].back().get<double>());
    if (c.contains("until")) until = std::min(until, c["until"].get<double>());
    // Compared at the checkpoints of either group after t0, where something is measured.
    std::vector<double> grid;
    for (const auto* g : {&a, &b})
      for (const Run* r : *g)
        for (const auto& x : r->result["trace"][col])
          if (x.get<double>() > after && x.get<double>() <= until) grid.push_back(x.get<double>());
    std::sort(grid.begin(), grid.end());
    grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
    double worst = -INFINITY, worst_x = NAN;
    std::size_t points = 0;
    for (double x : grid) {
      if (x > until) break;
      const double ma = median_E_at(a, col, x), mb = median_E_at(b, col, x);
      // Not measured yet: neither median has left E(0) = 1.
      if (std::isnan(ma) || std::isnan(mb) || (ma == 1.0 && mb == 1.0)) continue;
      ++points;
      const double ratio = mb > 0 ? ma / mb : (ma > 0 ? INFINITY : 1.0);
      if (ratio > worst) {
        worst = ratio;
        worst_x = x;
      }
    }
    if (points == 0) {
      v.reason =
          "no point in [" + num(after) + ", " + num(until) + "]" + unit + " where every run of both has a checkpoint";
      v.measured = "-";
      return v;
    }
    v.measured = "largest median E ratio " + describe(c["a"]) + "/" + describe(c["b"]) + " = " + num(worst) + " (at " +
                 num(worst_x) + unit + ") over " + std::to_string(points) + " points in [" + num(after) + ", " +
                 num(until) + "]" + unit;
    v.holds = worst < 1.0;
    if (!v.holds) v.reason = "at " + num(worst_x) + unit + " the median E of " + describe(c["a"]) + " is not below";
    return v;
  }

  // The median over runs of the first checkpoint with E <= target (infinite when never reached).
  std::pair<double, std::size_t> time_to(const std::vector<const Run*>& g, const std::string& col,
                                         double target) const {
    std::vector<double> t;
    std::size_t reached = 0;
    for (const Run* r : g) {
      const auto& E = ne_.E.at(r);
      double first = INFINITY;
      for (std::size_t i = 0; i < E.size(); ++i)
        if (E[i] <= target) {
          first = r->result["trace"][col][i].get<double>();
          ++reached;
          break;
        }
      t.push_back(first);
    }
    return {median(t), reached};
  }

  // "A reaches E = target in fewer seconds than B".
  Verdict time_to_E(const json& c) {
    const auto a = with_E(select(field(c, "a"))), b = with_E(select(field(c, "b")));
    const std::string col = axis_column(c), unit = col == "iteration" ? " iterations" : " s";
    const double target = field(c, "target").get<double>();
    Verdict v;
    if (a.empty() || b.empty()) {
      v.reason = "no runs with relative_error match " + (a.empty() ? describe(c["a"]) : describe(c["b"]));
      return v;
    }
    const auto [ta, na] = time_to(a, col, target);
    const auto [tb, nb] = time_to(b, col, target);
    v.measured = "median to E ≤ " + num(target) + ": " + describe(c["a"]) + " " + num(ta) +
                 (std::isinf(ta) ? "" : unit) + " (" + std::to_string(na) + "/" + std::to_string(a.size()) +
                 " reached), " + describe(c["b"]) + " " + num(tb) + (std::isinf(tb) ? "" : unit) + " (" +
                 std::to_string(nb) + "/" + std::to_string(b.size()) + " reached)";
    v.holds = ta < tb;
    if (!v.holds)
      v.reason = std::isinf(ta) ? describe(c["a"]) + " does not reach the target in most runs"
                                : describe(c["a"]) + " is not faster";
    return v;
  }

  // "Table 1 values exactly": each entry's metric, in every run it selects, equals its value
  // (after `round: floor` for a table of integer parts; within rel_tol when given).
  Verdict equals(const json& c) {
    const std::string round = c.value("round", std::string("none"));
    const double rel_tol = c.value("rel_tol", 0.0);
    std::size_t checked = 0, equal = 0;
    std::string mismatches, values;
    for (const auto& e : field(c, "entries")) {
      const std::string metric = field(e, "metric").get<std::string>();
      const double want = field(e, "value").get<double>();
      const auto g = select(e.value("where", json::object()));
      if (g.empty()) {
        mismatches += (mismatches.empty() ? "" : "; ") + std::string("no run matches ") +
                      describe(e.value("where", json::object()));
        ++checked;
        continue;
      }
      for (const Run* r : g) {
        ++checked;
        const json& f = r->result["final"];
        double got = f.contains(metric) && f[metric].is_number() ? f[metric].get<double>() : NAN;
        if (round == "floor") got = std::floor(got);
        if (round == "nearest") got = std::round(got);
        const bool ok = rel_tol > 0 ? std::fabs(got - want) <= rel_tol * std::fabs(want) : got == want;
        values += (values.empty() ? "" : ", ") + metric + " = " + num(got, 6);
        if (ok)
          ++equal;
        else
          mismatches += (mismatches.empty() ? "" : "; ") + metric + " at " +
                        describe(e.value("where", json::object())) + ": " + num(got, 6) + " ≠ " + num(want, 6);
      }
    }
    Verdict v;
    v.measured = std::to_string(equal) + "/" + std::to_string(checked) + " values equal" +
                 (rel_tol > 0 ? " within " + num(100 * rel_tol) + "%" : "") + " (" + values + ")" +
                 (mismatches.empty() ? "" : "; " + mismatches);
    v.holds = checked > 0 && equal == checked;
    if (!v.holds) v.reason = checked == 0 ? "no entries" : "values differ";
    return v;
  }

  // "The loss never increases": the largest relative increase between consecutive checkpoints of
  // a trace column, over every selected run, is at most rel_tol (rounding).
  Verdict never_increases(const json& c) {
    const std::string metric = c.value("metric", std::string("loss"));
    const double rel_tol = c.value("rel_tol", 0.0);
    const auto g = select(c.value("where", json::object()));
    double worst = -INFINITY;
    std::string worst_run;
    std::size_t runs = 0;
    for (const Run* r : g) {
      const auto& tr = r->result["trace"];
      if (!tr.contains(metric)) continue;
      ++runs;
      for (std::size_t i = 1; i < tr[metric].size(); ++i) {
        if (!tr[metric][i].is_number() || !tr[metric][i - 1].is_number()) continue;
        const double prev = tr[metric][i - 1], cur = tr[metric][i];
        const double inc = (cur - prev) / std::max(std::fabs(prev), 1e-300);
        if (inc > worst) {
          worst = inc;
          worst_run = text(r->flat["id"]) + " at iteration " + text(tr["iteration"][i]);
        }
      }
    }
    Verdict v;
    if (runs == 0) {
      v.reason = "no run of " + describe(c.value("where", json::object())) + " records " + metric;
      return v;
    }
    v.measured = "largest relative increase of " + metric + " between checkpoints: " + num(worst) + " (" +
                 std::to_string(runs) + " runs)";
    v.holds = worst <= rel_tol;
    if (!v.holds) v.reason = metric + " increases by " + num(worst) + " in " + worst_run;
    return v;
  }

  // Mean final metric per rank over the selected runs, ranks ascending.
  std::pair<std::vector<double>, std::vector<double>> by_rank(const json& c) const {
    const std::string metric = field(c, "metric").get<std::string>();
    std::map<double, std::vector<double>> per;
    for (const Run* r : select(c.value("where", json::object()))) {
      const json& f = r->result["final"];
      if (f.contains(metric) && f[metric].is_number())
        per[r->result["cell"]["rank"].get<double>()].push_back(f[metric]);
    }
    std::vector<double> ranks, means;
    for (const auto& [k, v] : per) {
      ranks.push_back(k);
      means.push_back(mean(v));
    }
    return {ranks, means};
  }

  static std::string series(const std::vector<double>& ranks, const std::vector<double>& m) {
    std::string s;
    for (std::size_t i = 0; i < ranks.size(); ++i) s += (i ? ", " : "") + num(ranks[i]) + ": " + num(m[i]);
    return s;
  }

  // "The sparsity of H grows with the rank" (direction increasing), "the error decreases with the
  // rank" (decreasing); with diminishing: true, the change per unit of rank also shrinks in size.
  Verdict monotone_in_rank(const json& c) {
    const auto [ranks, m] = by_rank(c);
    const bool up = c.value("direction", std::string("increasing")) == "increasing";
    const bool diminishing = c.value("diminishing", false);
    Verdict v;
    v.measured = field(c, "metric").get<std::string>() + " by rank (mean over seeds): " + series(ranks, m);
    if (ranks.size() < 2) {
      v.reason = "fewer than two ranks";
      return v;
    }
    v.holds = true;
    double last_slope = INFINITY;
    for (std::size_t i = 1; i < ranks.size() && v.holds; ++i) {
      const double d = m[i] - m[i - 1];
      if (up ? !(d > 0) : !(d < 0)) {
        v.holds = false;
        v.reason = "not " + std::string(up ? "increasing" : "decreasing") + " from rank " + num(ranks[i - 1]) + " to " +
                   num(ranks[i]);
      }
      const double slope = std::fabs(d) / (ranks[i] - ranks[i - 1]);
      if (v.holds && diminishing && slope > last_slope) {
        v.holds = false;
        v.reason = "the change per unit of rank grows from rank " + num(ranks[i - 1]) + " to " + num(ranks[i]);
      }
      last_slope = slope;
    }
    return v;
  }

  // "The knee point appears at rank r": the `elbow` analysis plugin (nmfx's one Kneedle, Satopää et
  // al. 2011) on the mean curve by rank.
  Verdict elbow_at(const json& c) {
    const auto [ranks, m] = by_rank(c);
    const double want = field(c, "rank").get<double>();
    Verdict v;
    if (ranks.size() < 3) {
      v.reason = "fewer than three ranks";
      return v;
    }
    nmfx::Registry registry;
    registry.scan(nmfx::plugin_dirs());
    const auto elbow = registry.create<nmfx::Analysis>("elbow", json{{"metric", field(c, "metric")}});
    std::vector<nmfx::RankResult> per_rank;
    for (std::size_t i = 0; i < ranks.size(); ++i)
      per_rank.push_back({static_cast<std::size_t>(ranks[i]), json{{"values", {{"error", m[i]}}}}});
    std::string why;
    const std::size_t knee = elbow->choose(per_rank, why);
    const std::string range = num(ranks.front()) + ".." + num(ranks.back());
    v.measured = knee ? "elbow (Kneedle) at rank " + num(static_cast<double>(knee)) + " of " + range
                      : "no interior elbow over ranks " + range;
    v.holds = knee != 0 && static_cast<double>(knee) == want;
    if (!v.holds) v.reason = "the elbow is not at rank " + num(want);
    return v;
  }

  // A's metric against B's (mean over seeds), at iteration (pass) k or at the end:
  // relation below (A < B) or within (|A - B| <= percent % of |B|).
  Verdict compare(const json& c) {
    const std::string metric = field(c, "metric").get<std::string>();
    const bool at = c.contains("at_iteration");
    const double k = at ? c["at_iteration"].get<double>() : 0;
    auto values = [&](const std::vector<const Run*>& g) {
      std::vector<double> v;
      for (const Run* r : g) {
        if (!at) {
          const json& f = r->result["final"];
          if (f.contains(metric) && f[metric].is_number()) v.push_back(f[metric]);
          continue;
        }
        const auto& tr = r->result["trace"];
        if (!tr.contains(metric)) continue;
        for (std::size_t i = 0; i < tr["iteration"].size(); ++i)
          if (tr["iteration"][i].get<double>() == k && tr[metric][i].is_number()) v.push_back(tr[metric][i]);
      }
      return v;
    };
    const auto va = values(select(field(c, "a"))), vb = values(select(field(c, "b")));
    Verdict v;
    if (va.empty() || vb.empty()) {
      v.reason = "no value of " + metric + (at ? " at iteration " + num(k) : "") + " for " +
                 (va.empty() ? describe(c["a"]) : describe(c["b"]));
      return v;
    }
    const double ma = mean(va), mb = mean(vb);
    const std::string relation = c.value("relation", std::string("below"));
    const double diff = 100 * (ma - mb) / std::fabs(mb);
    v.measured = metric + (at ? " at iteration " + num(k) : "") + ": " + describe(c["a"]) + " " + num(ma, 4) + ", " +
                 describe(c["b"]) + " " + num(mb, 4) + " (" + (diff >= 0 ? "+" : "") + num(diff, 3) + "%)";
    if (relation == "below") {
      v.holds = ma < mb;
      if (!v.holds) v.reason = describe(c["a"]) + " is not below";
    } else if (relation == "within") {
      const double p = field(c, "percent").get<double>();
      v.holds = std::fabs(diff) <= p;
      if (!v.holds) v.reason = "differs by more than " + num(p) + "%";
    } else {
      throw ClaimError(file_ + ": claim '" + text(c.value("id", json())) + "': relation must be below or within");
    }
    return v;
  }
};

// Checks every claim of the file; returns the rows (one per claim) as JSON.
json check_claims(const std::vector<Run>& runs, const std::string& file, bool quick) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    throw nmfx::Error(file + ": " + e.what());
  }
  const json doc = yaml_to_json(root);
  if (!doc.is_object() || !doc.contains("claims") || !doc["claims"].is_array())
    throw nmfx::Error(file + ": no 'claims' list");
  ClaimChecker checker(runs, file);
  json rows = json::array();
  for (const auto& c : doc["claims"]) {
    const std::string id = text(c.value("id", json()));
    for (const char* key : {"id", "source", "paper", "kind"})
      if (!c.contains(key)) throw nmfx::Error(file + ": claim '" + id + "': missing key '" + key + "'");
    json row = {{"id", id}, {"source", c["source"]}, {"paper", c["paper"]}, {"kind", c["kind"]}};
    std::string expect = c.value("expect", std::string("holds"));
    if (quick && c.contains("expect_quick")) expect = c["expect_quick"].get<std::string>();
    if (expect != "holds" && expect != "fails")
      throw nmfx::Error(file + ": claim '" + id + "': expect must be holds or fails, not '" + expect + "'");
    row["expect"] = expect;
    if (c.contains("why")) row["why"] = c["why"];
    if (quick && c.value("quick", std::string("run")) == "skip") {
      row["verdict"] = "skipped";
      row["measured"] = "-";
      row["reason"] = "not checked in the quick mode" + (c.contains("why_quick") ? ": " + text(c["why_quick"]) : "");
      row["as_expected"] = true;
      rows.push_back(row);
      continue;
    }
    const Verdict v = checker.check(c);
    row["verdict"] = v.holds ? "holds" : "does not hold";
    row["measured"] = v.measured;
    row["reason"] = v.reason;
    row["as_expected"] = v.holds == (expect == "holds");
    rows.push_back(row);
  }
  return rows;
}

void claims_table(const json& rows, std::ostream& md) {
  std::vector<std::vector<std::string>> t = {{"claim", "source", "paper's words", "nmfx measured", "verdict"}};
  for (const auto& r : rows) {
    std::string verdict = r["verdict"].get<std::string>();
    if (!r["reason"].get<std::string>().empty()) verdict += ": " + r["reason"].get<std::string>();
    if (r["verdict"] == "does not hold" && r.contains("why")) verdict += " (" + r["why"].get<std::string>() + ")";
    if (!r["as_expected"].get<bool>()) verdict += " **(expected: " + r["expect"].get<std::string>() + ")**";
    t.push_back({r["id"], r["source"], "“" + r["paper"].get<std::string>() + "”", r["measured"], verdict});
  }
  md << "## Claims\n\n";
  table(t, md, "");
}

}  // namespace

int run(const Options& o) {
  const auto runs = load(o.dirs);
  if (runs.empty()) throw nmfx::Error("no result files in " + json(o.dirs).dump());
  const json claims = o.claims.empty() ? json() : check_claims(runs, o.claims, o.quick);
  const bool all_as_expected = claims.is_null() || std::all_of(claims.begin(), claims.end(), [](const json& r) {
                                 return r["as_expected"].get<bool>();
                               });
  if (!o.json_out.empty()) {
    json out = report_json(runs, o.dirs);
    if (!claims.is_null()) out["claims"] = claims;
    if (o.json_out == "-") {
      std::cout << out.dump() << "\n";
      return o.check && !all_as_expected ? 1 : 0;
    }
    nmfx::write_file_atomic(o.json_out, out.dump());
  }
  const auto keys = effective_keys(runs, o.by);
  std::vector<std::string> metrics = o.metrics;
  if (metrics.empty()) {
    const bool re =
        std::any_of(runs.begin(), runs.end(), [](const Run& r) { return r.flat.contains("relative_error"); });
    metrics = {re ? "relative_error" : "loss"};
  }
  std::ostringstream md;
  md << "# nmfx report: " << runs.size() << " runs from";
  for (const auto& d : o.dirs) md << " " << d;
  md << "\n\n";
  if (!claims.is_null()) claims_table(claims, md);
  final_table(runs, o, keys, metrics, md);
  normalised_error(runs, o, keys, md);
  rho_table(runs, md);
  topics(runs, o.top_words, md);
  pictures(o.dirs, md);
  nmfx_analyze::rank_selection_section(o.dirs, md);
  std::cout << md.str();
  return o.check && !all_as_expected ? 1 : 0;
}

}  // namespace nmfx_report
