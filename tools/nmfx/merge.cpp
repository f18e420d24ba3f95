// nmfx merge: the results folders of shards of one grid become one folder, as if one run had
// written it. The folders must hold the same spec.yaml; a cell present twice keeps its ok result.
#include "merge.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <nmfx/host/runner.hpp>

namespace nmfx_merge {
namespace fs = std::filesystem;
using nmfx::json;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int run(const Options& options) {
  std::string spec_text, spec_from;
  std::map<std::string, json> results;    // by id
  std::map<std::string, fs::path> files;  // name -> source of the .npy files
  for (const auto& dir : options.dirs) {
    if (!fs::is_directory(dir)) throw nmfx::Error("merge: " + dir + " is not a folder");
    const fs::path spec = fs::path(dir) / "spec.yaml";
    if (!fs::exists(spec)) throw nmfx::Error("merge: " + dir + " holds no spec.yaml (not an nmfx results folder)");
    const std::string text = read_text(spec);
    if (spec_from.empty()) {
      spec_text = text;
      spec_from = dir;
    } else if (text != spec_text) {
      std::cerr << "nmfx merge: " << dir << "/spec.yaml differs from " << spec_from
                << "/spec.yaml: these are not shards of one grid\n";
      return 2;
    }
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.find(".tmp") != std::string::npos) continue;
      if (e.path().extension() == ".npy") {
        files.emplace(name, e.path());
        continue;
      }
      if (e.path().extension() != ".json") continue;
      json r;
      try {
        r = json::parse(read_text(e.path()));
      } catch (const std::exception&) {
        std::cerr << "nmfx merge: warning: " << e.path().string() << " is not JSON; left out\n";
        continue;
      }
      if (!r.is_object() || !r.contains("id") || !r.contains("status")) continue;
      const std::string id = r["id"];
      auto it = results.find(id);
      if (it == results.end() || (it->second["status"] != "ok" && r["status"] == "ok")) results[id] = std::move(r);
    }
  }
  fs::create_directories(options.output);
  const fs::path out = options.output;
  nmfx::write_file_atomic((out / "spec.yaml").string(), spec_text);
  for (const auto& [name, from] : files) {
    std::error_code ec;
    if (!fs::exists(out / name) || !fs::equivalent(from, out / name, ec))
      fs::copy_file(from, out / name, fs::copy_options::overwrite_existing);
  }
  std::string summary;
  std::map<std::string, int> statuses;
  for (const auto& [id, r] : results) {
    nmfx::write_file_atomic((out / (id + ".json")).string(), r.dump(1));
    summary += nmfx::flat_record(r).dump() + "\n";
    ++statuses[r["status"].get<std::string>()];
  }
  nmfx::write_file_atomic((out / "summary.jsonl").string(), summary);
  std::cout << "merged " << results.size() << " results from " << options.dirs.size() << " folders into "
            << options.output << " (";
  bool first = true;
  for (const auto& [s, n] : statuses) {
    std::cout << (first ? "" : ", ") << n << " " << s;
    first = false;
  }
  std::cout << ")\n";
  return 0;
}

}  // namespace nmfx_merge
