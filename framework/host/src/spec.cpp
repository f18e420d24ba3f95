// The spec is read with yaml-cpp, whose nodes carry their line, so every error can name the line.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include <yaml-cpp/yaml.h>

#include <nmfx/host/grid.hpp>
#include <nmfx/host/init.hpp>
#include <nmfx/host/spec.hpp>

namespace fs = std::filesystem;

namespace nmfx {

SpecError::SpecError(const std::string& file, int line, const std::string& key, const std::string& what)
    : Error(file + ":" + std::to_string(line) + ": " + (key.empty() ? "" : key + ": ") + what) {}
SpecError::~SpecError() = default;

int Spec::line_of(const std::string& key) const {
  auto it = lines.find(key);
  return it == lines.end() ? 1 : it->second;
}

namespace {

const std::vector<std::string> kTopKeys = {
    "name",         "description",  "datasets", "solvers",     "losses",   "ranks",    "seeds",        "repeats",
    "init",         "stopping",     "metrics",  "checkpoints", "threads",  "output",   "plugin_paths", "regularization",
    "init_scaling", "save_factors", "jobs",     "limits",      "analyses", "restarts", "distribute"};
const std::vector<std::string> kRestartsKeys = {"runs", "iterations"};
const std::vector<std::string> kLimitKeys = {"wall_s", "memory_gb"};
const std::vector<std::string> kStoppingKeys = {"max_iter", "max_time_s", "tol", "pg_tol", "target", "connectivity"};
const std::vector<std::string> kConnectivityKeys = {"every", "unchanged"};
const std::vector<std::string> kRegularizationKeys = {"alpha_W", "alpha_H", "l1_ratio"};
const std::vector<std::string> kInitKeys = {"method", "distribution", "scale", "W", "H"};
const std::vector<std::string> kCheckpointKeys = {"every", "log"};
const std::vector<std::string> kPluginKeys = {"name", "params"};

class Reader {
 public:
  explicit Reader(Spec& spec) : spec_(spec) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& what) const {
    throw SpecError(spec_.file, line(node), key, what);
  }
  static int line(const YAML::Node& node) { return node.Mark().line >= 0 ? node.Mark().line + 1 : 1; }

  // A YAML scalar as JSON: quoted scalars stay strings; plain ones follow the YAML 1.2 core schema.
  static json scalar(const YAML::Node& node) {
    const std::string& s = node.Scalar();
    if (node.Tag() == "!") return s;
    static const std::regex integer(R"([-+]?[0-9]+)");
    static const std::regex real(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (s == "null" || s == "~" || s.empty()) return nullptr;
    if (std::regex_match(s, integer)) {
      try {
        return std::stoll(s);
      } catch (...) {
        return std::stod(s);
      }
    }
    if (std::regex_match(s, real)) return std::stod(s);
    if (s == ".inf" || s == "+.inf") return HUGE_VAL;
    return s;
  }

  void check_keys(const YAML::Node& map, const std::string& prefix, const std::vector<std::string>& allowed) {
    for (const auto& kv : map) {
      const std::string k = kv.first.as<std::string>();
      const std::string key = prefix.empty() ? k : prefix + "." + k;
      spec_.lines[key] = line(kv.first);
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        const std::string near = nearest(k, allowed);
        fail(kv.first, key, "unknown key" + (near.empty() ? "" : "; did you mean '" + near + "'?"));
      }
    }
  }

  // A scalar, or a non-empty list of scalars (a grid axis).
  json value_or_axis(const YAML::Node& node, const std::string& key) {
    spec_.lines.emplace(key, line(node));
    if (node.IsScalar()) return scalar(node);
    if (node.IsSequence()) {
      if (node.size() == 0) fail(node, key, "an empty list gives an empty grid");
      json out = json::array();
      for (const auto& item : node) {
        if (!item.IsScalar()) fail(item, key, "a grid axis is a list of plain values");
        out.push_back(scalar(item));
      }
      return out;
    }
    fail(node, key, "expected a value or a list of values");
  }

  // `nested`: keys whose values the caller reads itself (left out here).
  json map_of_axes(const YAML::Node& node, const std::string& key, const std::vector<std::string>& allowed,
                   const std::vector<std::string>& nested = {}) {
    if (!node.IsMap()) fail(node, key, "expected a mapping");
    check_keys(node, key, allowed);
    json out = json::object();
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>();
      if (std::find(nested.begin(), nested.end(), k) != nested.end()) continue;
      out[k] = value_or_axis(kv.second, key + "." + k);
    }
    return out;
  }

  PluginRef plugin(const YAML::Node& node, const std::string& key) {
    PluginRef ref;
    ref.key = key;
    ref.line = line(node);
    spec_.lines[key] = ref.line;
    if (node.IsScalar()) {
      ref.name = node.Scalar();
    } else if (node.IsMap()) {
      check_keys(node, key, kPluginKeys);
      if (!node["name"] || !node["name"].IsScalar()) fail(node, key, "needs a 'name'");
      ref.name = node["name"].Scalar();
      if (const auto params = node["params"]) {
        if (!params.IsMap()) fail(params, key + ".params", "expected a mapping of parameter: value");
        for (const auto& kv : params) {
          const std::string k = kv.first.as<std::string>();
          ref.param_lines[k] = line(kv.first);
          ref.params[k] = value_or_axis(kv.second, key + ".params." + k);
        }
      }
    } else {
      fail(node, key, "expected a plugin name or {name: ..., params: {...}}");
    }
    if (ref.name.empty()) fail(node, key, "empty plugin name");
    return ref;
  }

  std::vector<PluginRef> plugins(const YAML::Node& node, const std::string& key) {
    std::vector<PluginRef> out;
    if (node.IsSequence()) {
      if (node.size() == 0) fail(node, key, "an empty list gives an empty grid");
      for (std::size_t i = 0; i < node.size(); ++i) out.push_back(plugin(node[i], key + "[" + std::to_string(i) + "]"));
    } else {
      out.push_back(plugin(node, key));
    }
    return out;
  }

  long long integer(const YAML::Node& node, const std::string& key, long long min) {
    const json v = node.IsScalar() ? scalar(node) : json();
    if (!v.is_number_integer()) fail(node, key, "expected an integer");
    if (v.get<long long>() < min) fail(node, key, "must be at least " + std::to_string(min));
    return v.get<long long>();
  }

  std::vector<long long> integers(const YAML::Node& node, const std::string& key, long long min) {
    std::vector<long long> out;
    if (node.IsSequence()) {
      if (node.size() == 0) fail(node, key, "an empty list gives an empty grid");
      for (const auto& item : node) out.push_back(integer(item, key, min));
    } else {
      out.push_back(integer(node, key, min));
    }
    return out;
  }

  std::string string(const YAML::Node& node, const std::string& key) {
    if (!node.IsScalar()) fail(node, key, "expected a string");
    return node.Scalar();
  }

 private:
  Spec& spec_;
};

// Each value an axis may take, checked like a plugin parameter.
void check_axis(const Spec& spec, const json& object, const std::string& prefix, const ParamSpec& schema) {
  if (!object.contains(schema.name)) return;
  const json& v = object.at(schema.name);
  for (const json& one : v.is_array() ? v : json::array({v})) {
    try {
      resolve_params({schema}, json::object({{schema.name, one}}));
    } catch (const ParamError& e) {
      const std::string key = prefix.empty() ? schema.name : prefix + "." + schema.name;
      throw SpecError(spec.file, spec.line_of(key), key, e.what());
    }
  }
}

}  // namespace

Spec parse_spec(const std::string& file) {
  Spec spec;
  spec.file = file;
  spec.dir = fs::absolute(fs::path(file)).parent_path().string();
  if (!fs::is_regular_file(file)) throw SpecError(file, 1, "", "no such spec file");
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    throw SpecError(file, e.mark.line >= 0 ? e.mark.line + 1 : 1, "", "not valid YAML: " + e.msg);
  }
  Reader r(spec);
  if (!root.IsMap()) r.fail(root, "", "a spec is a mapping of keys (name, datasets, solvers, ...)");
  r.check_keys(root, "", kTopKeys);

  spec.name = root["name"] ? r.string(root["name"], "name") : fs::path(file).stem().string();
  if (!std::regex_match(spec.name, std::regex(R"([A-Za-z0-9_.-]+)")))
    r.fail(root["name"], "name", "use letters, digits, '_', '-' and '.' only: it names the output folder");
  if (root["description"]) spec.description = r.string(root["description"], "description");

  for (const char* required : {"datasets", "solvers", "ranks"})
    if (!root[required]) r.fail(root, required, "is required");
  spec.datasets = r.plugins(root["datasets"], "datasets");
  spec.solvers = r.plugins(root["solvers"], "solvers");
  if (root["losses"]) {
    spec.losses = r.plugins(root["losses"], "losses");
  } else {
    spec.losses.push_back(PluginRef{"frobenius", json::object(), "losses", 1, {}});
  }
  if (root["metrics"]) {
    spec.metrics = r.plugins(root["metrics"], "metrics");
  } else {
    spec.metrics.push_back(PluginRef{"relative_error", json::object(), "metrics", 1, {}});
  }
  spec.ranks = r.integers(root["ranks"], "ranks", 1);
  // analyses: run on the results after the grid, as `nmfx analyze` does; not part of any cell.
  if (root["analyses"]) spec.analyses = r.plugins(root["analyses"], "analyses");

  if (root["seeds"] && root["repeats"]) r.fail(root["repeats"], "repeats", "give either seeds or repeats, not both");
  if (root["seeds"]) {
    spec.seeds = r.integers(root["seeds"], "seeds", 0);
  } else if (root["repeats"]) {
    const long long n = r.integer(root["repeats"], "repeats", 1);
    for (long long s = 0; s < n; ++s) spec.seeds.push_back(s);
  } else {
    spec.seeds = {0};
  }

  // init: "random" | "file" | {method, distribution, scale, W, H}
  spec.init = json{{"method", "random"}, {"distribution", "uniform"}, {"scale", "auto"}};
  if (const auto init = root["init"]) {
    spec.lines["init"] = Reader::line(init);
    if (init.IsScalar()) {
      spec.init["method"] = init.Scalar();
      spec.lines["init.method"] = Reader::line(init);
    } else {
      spec.init.update(r.map_of_axes(init, "init", kInitKeys));
    }
  }
  // Keys that mean nothing for the chosen method stay out of the cell (and of its hash).
  if (!spec.init["method"].is_array() && spec.init["method"] != "random") {
    spec.init.erase("distribution");
    spec.init.erase("scale");
  }

  if (const auto scaling = root["init_scaling"]) spec.init_scaling = r.value_or_axis(scaling, "init_scaling");
  check_axis(spec, json{{"init_scaling", spec.init_scaling}}, "",
             param_choice("init_scaling", "none", {"none", "optimal"}, ""));

  spec.stopping = json{{"max_iter", 200}, {"max_time_s", 0.0}, {"tol", 0.0}, {"pg_tol", 0.0}};
  if (const auto stopping = root["stopping"]) {
    spec.stopping.update(r.map_of_axes(stopping, "stopping", kStoppingKeys, {"target", "connectivity"}));
    // target: {column: value, ...}: stop when a trace column is <= its value. Present in the cell
    // only when given, so that the ids of cells without it do not change.
    if (const auto target = stopping["target"]) {
      if (!target.IsMap() || target.size() == 0)
        r.fail(target, "stopping.target", "expected a mapping of trace column: value, e.g. {relative_error: 1e-3}");
      json t = json::object();
      for (const auto& kv : target) {
        const std::string column = kv.first.as<std::string>();
        const std::string key = "stopping.target." + column;
        spec.lines[key] = Reader::line(kv.first);
        const json v = kv.second.IsScalar() ? Reader::scalar(kv.second) : json();
        if (!v.is_number() || !std::isfinite(v.get<double>()))
          r.fail(kv.second, key,
                 "expected a finite number (the value at which the run stops), got " +
                     (v.is_null() ? std::string("a list or mapping") : v.dump()));
        t[column] = v.get<double>();
      }
      spec.stopping["target"] = t;
    }
    // connectivity: {every, unchanged}, R NMF's brunet defaults; present in the cell only when given.
    if (const auto connectivity = stopping["connectivity"]) {
      const std::string key = "stopping.connectivity";
      spec.lines[key] = Reader::line(connectivity);
      if (!connectivity.IsMap())
        r.fail(connectivity, key, "expected {every: iterations between checks, unchanged: checks}, e.g. {}");
      r.check_keys(connectivity, key, kConnectivityKeys);
      json c = {{"every", 10}, {"unchanged", 41}};
      for (const auto& kv : connectivity) {
        const std::string k = kv.first.as<std::string>();
        c[k] = r.integer(kv.second, key + "." + k, 1);
      }
      spec.stopping["connectivity"] = c;
    }
  }
  check_axis(spec, spec.stopping, "stopping", param_int("max_iter", 200, "", 0));
  check_axis(spec, spec.stopping, "stopping", param_real("max_time_s", 0, "", 0));
  check_axis(spec, spec.stopping, "stopping", param_real("tol", 0, "", 0, 1));
  check_axis(spec, spec.stopping, "stopping", param_real("pg_tol", 0, "", 0, 1));

  // restarts: n or {runs: n, iterations: k}: the best of n short runs, then the cell runs from it.
  // In the cell only when given, so that the ids of cells without it do not change.
  if (const auto restarts = root["restarts"]) {
    spec.lines["restarts"] = Reader::line(restarts);
    json v = {{"runs", 10}, {"iterations", 20}};
    if (restarts.IsScalar()) {
      v["runs"] = r.integer(restarts, "restarts", 1);
    } else if (restarts.IsMap()) {
      r.check_keys(restarts, "restarts", kRestartsKeys);
      for (const auto& kv : restarts) {
        const std::string k = kv.first.as<std::string>();
        v[k] = r.integer(kv.second, "restarts." + k, k == "runs" ? 1 : 0);
      }
    } else {
      r.fail(restarts, "restarts", "expected a number of runs or {runs: n, iterations: k}");
    }
    spec.restarts = v;
  }

  spec.regularization = json{{"alpha_W", 0.0}, {"alpha_H", "same"}, {"l1_ratio", 0.0}};
  if (const auto reg = root["regularization"])
    spec.regularization.update(r.map_of_axes(reg, "regularization", kRegularizationKeys));
  check_axis(spec, spec.regularization, "regularization", param_real("alpha_W", 0, "", 0));
  check_axis(spec, spec.regularization, "regularization", param_real("l1_ratio", 0, "", 0, 1));
  for (const json& v : spec.regularization["alpha_H"].is_array() ? spec.regularization["alpha_H"]
                                                                 : json::array({spec.regularization["alpha_H"]}))
    if (!(v == "same" || (v.is_number() && v.get<double>() >= 0)))
      throw SpecError(spec.file, spec.line_of("regularization.alpha_H"), "regularization.alpha_H",
                      "must be a number >= 0 or 'same' (as alpha_W), got " + v.dump());

  spec.checkpoints = json{{"every", 10}};
  if (const auto cp = root["checkpoints"]) {
    spec.lines["checkpoints"] = Reader::line(cp);
    if (cp.IsScalar()) {
      spec.checkpoints = json{{"every", r.integer(cp, "checkpoints", 1)}};
    } else {
      if (!cp.IsMap() || cp.size() != 1) r.fail(cp, "checkpoints", "expected {every: k} or {log: n}");
      r.check_keys(cp, "checkpoints", kCheckpointKeys);
      const std::string k = cp.begin()->first.as<std::string>();
      spec.checkpoints = json{{k, r.integer(cp.begin()->second, "checkpoints." + k, k == "log" ? 2 : 1)}};
    }
  }

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  spec.threads = root["threads"] ? static_cast<int>(r.integer(root["threads"], "threads", 1)) : static_cast<int>(cores);
  spec.output = root["output"] ? r.string(root["output"], "output") : "runs/" + spec.name;
  if (root["jobs"]) spec.jobs = static_cast<int>(r.integer(root["jobs"], "jobs", 1));
  if (const auto limits = root["limits"]) {
    spec.lines["limits"] = Reader::line(limits);
    if (!limits.IsMap()) r.fail(limits, "limits", "expected {wall_s: seconds, memory_gb: GB}");
    r.check_keys(limits, "limits", kLimitKeys);
    for (const auto& kv : limits) {
      const std::string k = kv.first.as<std::string>();
      const json v = kv.second.IsScalar() ? Reader::scalar(kv.second) : json();
      if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
        r.fail(kv.second, "limits." + k,
               "expected a number > 0, got " + (v.is_null() ? std::string("nothing") : v.dump()));
      (k == "wall_s" ? spec.limits_wall_s : spec.limits_memory_gb) = v.get<double>();
    }
  }
  if (const auto dist = root["distribute"]) {
    // distribute: {grid: auto} or {grid: [pr, pc]}: under mpirun, every cell on all processes.
    spec.lines["distribute"] = Reader::line(dist);
    if (!dist.IsMap()) r.fail(dist, "distribute", "expected {grid: auto} or {grid: [pr, pc]}");
    r.check_keys(dist, "distribute", {"grid"});
    const auto grid = dist["grid"];
    json g = "auto";
    if (grid) {
      spec.lines["distribute.grid"] = Reader::line(grid);
      if (grid.IsScalar() && grid.as<std::string>() == "auto") {
        g = "auto";
      } else if (grid.IsSequence() && grid.size() == 2) {
        g = json::array({r.integer(grid[0], "distribute.grid", 1), r.integer(grid[1], "distribute.grid", 1)});
      } else {
        r.fail(grid, "distribute.grid", "expected auto or [pr, pc] (processes per grid row and column)");
      }
    }
    spec.distribute = json{{"grid", g}};
  }
  if (const auto save = root["save_factors"]) {
    const json v = save.IsScalar() ? Reader::scalar(save) : json();
    if (!v.is_boolean()) r.fail(save, "save_factors", "expected true or false");
    spec.save_factors = v.get<bool>();
  }
  if (const auto paths = root["plugin_paths"]) {
    spec.lines["plugin_paths"] = Reader::line(paths);
    auto add = [&](const YAML::Node& p) {
      const std::string s = r.string(p, "plugin_paths");
      spec.plugin_paths.push_back(fs::path(s).is_absolute() ? s : (fs::path(spec.dir) / s).string());
    };
    if (paths.IsSequence()) {
      for (const auto& p : paths) add(p);
    } else {
      add(paths);
    }
  }
  return spec;
}

namespace {

std::string kind_list(const std::vector<DataKind>& kinds) {
  std::string all;
  for (const DataKind k : kinds) all += (all.empty() ? "" : ", ") + std::string(to_string(k));
  return all.empty() ? "none" : all;
}

bool accepts_any(const std::vector<DataKind>& accepted, const std::vector<DataKind>& produced) {
  for (const DataKind k : produced)
    if (std::find(accepted.begin(), accepted.end(), k) != accepted.end()) return true;
  return false;
}

// Every dataset must be able to meet every solver and loss of the grid on some kind of data (dense,
// sparse, observed), and every metric must accept the data of at least one dataset: a combination
// that cannot run is refused here, before anything runs, rather than found cell by cell.
void check_data_kinds(const Spec& spec, const Registry& registry) {
  auto kinds_of = [&](PluginKind kind, const std::string& name) -> const std::vector<DataKind>& {
    return registry.require(kind, name)->descriptor->data_kinds;
  };
  for (const auto& d : spec.datasets) {
    const auto& produced = kinds_of(PluginKind::dataset, d.name);
    for (const auto& s : spec.solvers) {
      const auto& accepted = kinds_of(PluginKind::solver, s.name);
      if (!accepts_any(accepted, produced))
        throw SpecError(spec.file, s.line, s.key,
                        "solver '" + s.name + "' accepts " + kind_list(accepted) + " data, but dataset '" + d.name +
                            "' (" + d.key + ") produces " + kind_list(produced));
    }
    for (const auto& l : spec.losses) {
      const auto& accepted = kinds_of(PluginKind::loss, l.name);
      if (!accepts_any(accepted, produced))
        throw SpecError(spec.file, l.line, l.key,
                        "loss '" + l.name + "' accepts " + kind_list(accepted) + " data, but dataset '" + d.name +
                            "' (" + d.key + ") produces " + kind_list(produced));
    }
  }
  for (const auto& m : spec.metrics) {
    if (m.key == "metrics") continue;  // the default metric, not written in the spec: left out where it cannot run
    const auto& accepted = kinds_of(PluginKind::metric, m.name);
    bool any = false;
    std::vector<DataKind> produced;
    for (const auto& d : spec.datasets) {
      const auto& k = kinds_of(PluginKind::dataset, d.name);
      produced.insert(produced.end(), k.begin(), k.end());
      any = any || accepts_any(accepted, k);
    }
    if (!any)
      throw SpecError(spec.file, m.line, m.key,
                      "metric '" + m.name + "' accepts " + kind_list(accepted) +
                          " data, but no dataset of this spec produces it (they produce " + kind_list(produced) + ")");
  }
}

}  // namespace

void validate_spec(const Spec& spec, const Registry& registry) {
  auto check_plugin = [&](const PluginRef& ref, PluginKind kind, bool axes_allowed) {
    const LoadedPlugin* p = registry.find(kind, ref.name);
    if (!p) {
      const auto names = registry.names(kind);
      const std::string near = nearest(ref.name, names);
      std::string all;
      for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
      throw SpecError(spec.file, ref.line, ref.key,
                      std::string("unknown ") + to_string(kind) + " '" + ref.name + "'" +
                          (near.empty() ? "" : "; did you mean '" + near + "'?") +
                          " (available: " + (all.empty() ? "none" : all) + ")");
    }
    for (auto it = ref.params.begin(); it != ref.params.end(); ++it)
      if (it->is_array() && !axes_allowed)
        throw SpecError(spec.file, ref.param_lines.at(it.key()), ref.key + ".params." + it.key(),
                        std::string("a ") + to_string(kind) + "'s parameter cannot be a grid axis");
    for (const json& one : expand_lists(ref.params)) {
      try {
        resolve_params(p->descriptor->params, one);
      } catch (const ParamError& e) {
        std::vector<std::string> names;
        for (const auto& s : p->descriptor->params) names.push_back(s.name);
        const bool unknown =
            ref.params.contains(e.key) == false || std::find(names.begin(), names.end(), e.key) == names.end();
        const std::string near = unknown ? nearest(e.key, names) : "";
        auto line = ref.param_lines.find(e.key);
        throw SpecError(spec.file, line == ref.param_lines.end() ? ref.line : line->second,
                        ref.key + ".params" + (e.key.empty() ? "" : "." + e.key),
                        std::string(e.what()) + " of " + to_string(kind) + " '" + ref.name + "'" +
                            (near.empty() ? "" : "; did you mean '" + near + "'?"));
      }
    }
    return p;
  };
  for (const auto& d : spec.datasets) check_plugin(d, PluginKind::dataset, true);
  for (const auto& l : spec.losses) check_plugin(l, PluginKind::loss, true);
  for (const auto& m : spec.metrics) check_plugin(m, PluginKind::metric, false);
  for (const auto& a : spec.analyses) check_plugin(a, PluginKind::analysis, false);
  bool any_penalty = false;
  for (const char* k : {"alpha_W", "alpha_H"}) {
    const json& v = spec.regularization[k];
    for (const json& one : v.is_array() ? v : json::array({v}))
      any_penalty = any_penalty || (one.is_number() && one != 0);
  }
  for (const auto& s : spec.solvers) {
    const LoadedPlugin* p = check_plugin(s, PluginKind::solver, true);
    if (any_penalty && !p->descriptor->penalties)
      throw SpecError(spec.file, spec.line_of("regularization"), "regularization",
                      "solver '" + s.name + "' (" + s.key +
                          ") cannot honour L1/L2 penalties; set alpha_W and alpha_H to 0 "
                          "or use a solver that can");
    const auto& losses = p->descriptor->losses;
    for (const auto& l : spec.losses) {
      if (std::find(losses.begin(), losses.end(), "*") != losses.end() ||
          std::find(losses.begin(), losses.end(), l.name) != losses.end())
        continue;
      std::string all;
      for (const auto& n : losses) all += (all.empty() ? "" : ", ") + n;
      throw SpecError(spec.file, l.line, l.key,
                      "solver '" + s.name + "' (" + s.key + ") does not support loss '" + l.name +
                          "'; it supports: " + (all.empty() ? "none" : all));
    }
  }

  // init
  check_axis(spec, spec.init, "init", param_choice("method", "random", kInitMethods, ""));
  check_axis(spec, spec.init, "init", param_choice("distribution", "uniform", {"uniform", "halfnormal"}, ""));
  check_axis(spec, spec.init, "init", param_choice("scale", "auto", {"auto", "none"}, ""));
  const json methods = spec.init["method"].is_array() ? spec.init["method"] : json::array({spec.init["method"]});
  for (const auto& m : methods) {
    if (m != "file") continue;
    for (const char* k : {"W", "H"}) {
      const std::string key = std::string("init.") + k;
      if (!spec.init.contains(k) || !spec.init[k].is_string())
        throw SpecError(spec.file, spec.line_of("init"), key, "init method 'file' needs W and H: paths to .npy files");
      const fs::path path = fs::path(spec.dir) / spec.init[k].get<std::string>();
      if (!fs::is_regular_file(path))
        throw SpecError(spec.file, spec.line_of(key), key, "no such file: " + path.string());
    }
  }
  if (!spec.distribute.is_null()) {
    // Every plugin of a distributed cell must say it can be; and the start must be drawable by blocks.
    auto require = [&](const PluginRef& ref, PluginKind kind) {
      if (!registry.require(kind, ref.name)->descriptor->distributed)
        throw SpecError(spec.file, ref.line, ref.key,
                        std::string(to_string(kind)) + " '" + ref.name +
                            "' cannot run distributed (its descriptor does not say distributed); "
                            "remove `distribute` or choose another");
    };
    for (const auto& d : spec.datasets) require(d, PluginKind::dataset);
    for (const auto& s : spec.solvers) require(s, PluginKind::solver);
    for (const auto& l : spec.losses) require(l, PluginKind::loss);
    for (const auto& m : spec.metrics) require(m, PluginKind::metric);
    for (const auto& m : methods)
      if (m != "random" && m != "file")
        throw SpecError(spec.file, spec.line_of("init"), "init.method",
                        "init method '" + m.get<std::string>() +
                            "' needs all of X on one process; distributed cells start from random or file");
    for (const json& v : spec.init_scaling.is_array() ? spec.init_scaling : json::array({spec.init_scaling}))
      if (v != "none")
        throw SpecError(spec.file, spec.line_of("init_scaling"), "init_scaling",
                        "init_scaling must be none for distributed cells");
  }
  // Last: every plugin is known by now.
  check_data_kinds(spec, registry);
}

}  // namespace nmfx
