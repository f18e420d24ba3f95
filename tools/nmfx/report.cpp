// nmfx report: turns a results folder into the tables of the NMF papers.
//  - final metrics aggregated over seeds (mean ± sd, n), grouped by any grid axes;
//  - Gillis & Glineur's normalised error E(t) = (e(t) - e_min) / (e(0) - e_min) (seed 000 eq. 25),
//    e_min the smallest error over all runs of the report with the same dataset and rank, and the
//    time and iterations each group needs to reach E <= a target;
//  - the rho table of seed 000 Table 1, when runs carry the rho metric;
//  - top words per topic for text data, when the runs saved their factors.
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

#include <nmfx/host/grid.hpp>
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
    if (!fs::is_directory(dir)) throw nmfx::Error(dir + ": not a results folder");
    // The runs summary.jsonl lists (the grid's last run in this folder), or every result file.
    std::vector<fs::path> files;
    std::ifstream summary(fs::path(dir) / "summary.jsonl");
    if (summary) {
      for (std::string line; std::getline(summary, line);)
        if (!line.empty()) files.push_back(fs::path(dir) / json::parse(line)["file"].get<std::string>());
    } else {
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".json") files.push_back(e.path());
      std::sort(files.begin(), files.end());
    }
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
    for (std::size_t j = 0; j < rows[i].size(); ++j) md << " " << rows[i][j] << std::string(w[j] - width(rows[i][j]), ' ') << " |";
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

// The keys of `by` that are plugin names get their varying parameters appended, so that
// mu(eps=1e-10) and mu(eps=1e-16) are two groups unless the user groups them on purpose.
std::vector<std::string> effective_keys(const std::vector<Run>& runs, const std::vector<std::string>& by) {
  std::vector<std::string> keys;
  for (const auto& key : by) {
    keys.push_back(key);
    if (key != "dataset" && key != "solver" && key != "loss") continue;
    std::map<std::string, std::set<std::string>> values;
    for (const auto& r : runs)
      for (auto it = r.flat.begin(); it != r.flat.end(); ++it)
        if (it.key().rfind(key + ".", 0) == 0) values[it.key()].insert(it->dump());
    for (const auto& [k, v] : values)
      if (v.size() > 1 && std::find(by.begin(), by.end(), k) == by.end()) keys.push_back(k);
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
  md << "## Final values\n\nMean ± sample standard deviation over the runs of each group (n: runs that finished ok).\n\n";
  table(rows, md, o.csv.empty() ? "" : o.csv + "_final.csv");
}

// Seed 000 eq. 25: E(t) = (e(t) - e_min) / (e(0) - e_min), e = ||X - WH||_F, which is
// proportional to relative_error for a fixed dataset; e_min over every run of the same dataset
// and rank in the report.
void normalised_error(const std::vector<Run>& runs, const Options& o, const std::vector<std::string>& keys,
                      std::ostream& md) {
  std::vector<const Run*> usable;
  for (const auto& r : runs)
    if (r.flat["status"] == "ok" && r.result["trace"].contains("relative_error")) usable.push_back(&r);
  if (usable.empty()) return;
  // e_min per (dataset with its parameters, rank).
  auto problem_of = [](const Run& r) { return r.result["cell"]["dataset"].dump() + "|" + r.result["cell"]["rank"].dump(); };
  std::map<std::string, double> e_min;
  for (const Run* r : usable) {
    double m = INFINITY;
    for (const auto& v : r->result["trace"]["relative_error"])
      if (v.is_number()) m = std::min(m, v.get<double>());
    auto it = e_min.find(problem_of(*r));
    e_min[problem_of(*r)] = it == e_min.end() ? m : std::min(it->second, m);
  }
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
        const double emin = e_min[problem_of(*r)];
        const double e0 = tr["relative_error"][0];
        for (std::size_t i = 0; i < tr["relative_error"].size(); ++i) {
          const double e = tr["relative_error"][i];
          const double E = e0 > emin ? (e - emin) / (e0 - emin) : 0.0;
          if (E <= target) {  // the first checkpoint at or below the target
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
    for (const Run* r : g) {
      const auto& tr = r->result["trace"];
      const double emin = e_min[problem_of(*r)], e0 = tr["relative_error"][0], e = tr["relative_error"].back();
      finals.push_back(e0 > emin ? (e - emin) / (e0 - emin) : 0.0);
    }
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
      rows.push_back({method == std::string("mu") ? "MU" : "HALS", text(r.result["data"]["rows"]),
                      text(r.result["data"]["cols"]), text(r.result["cell"]["rank"]), text(r.result["data"]["nnz"]),
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

}  // namespace

int run(const Options& o) {
  const auto runs = load(o.dirs);
  if (runs.empty()) throw nmfx::Error("no result files in " + json(o.dirs).dump());
  const auto keys = effective_keys(runs, o.by);
  std::vector<std::string> metrics = o.metrics;
  if (metrics.empty()) {
    const bool re = std::any_of(runs.begin(), runs.end(), [](const Run& r) { return r.flat.contains("relative_error"); });
    metrics = {re ? "relative_error" : "loss"};
  }
  std::ostringstream md;
  md << "# nmfx report: " << runs.size() << " runs from";
  for (const auto& d : o.dirs) md << " " << d;
  md << "\n\n";
  final_table(runs, o, keys, metrics, md);
  normalised_error(runs, o, keys, md);
  rho_table(runs, md);
  topics(runs, o.top_words, md);
  pictures(o.dirs, md);
  nmfx_analyze::rank_selection_section(o.dirs, md);
  std::cout << md.str();
  return 0;
}

}  // namespace nmfx_report
