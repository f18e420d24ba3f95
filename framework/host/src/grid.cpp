#include <cstdint>
#include <cstdio>
#include <set>

#include <nmfx/host/grid.hpp>

namespace nmfx {

std::vector<json> expand_lists(const json& object) {
  std::vector<json> out{json::object()};
  for (auto it = object.begin(); it != object.end(); ++it) {
    const json values = it->is_array() ? *it : json::array({*it});
    std::vector<json> next;
    for (const auto& partial : out)
      for (const auto& v : values) {
        json p = partial;
        p[it.key()] = v;
        next.push_back(std::move(p));
      }
    out = std::move(next);
  }
  return out;
}

std::string stable_hash(const json& value) {
  // nlohmann::json keeps object keys sorted, so dump() is canonical.
  // FNV-1a's loop, but with 1469598103934665603 as offset: one digit short of FNV's basis
  // (14695981039346656037). Kept as it is, since every cell id, and so every results file name
  // and --resume, depends on it.
  const std::string text = value.dump();
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string label(const json& plugin, const std::vector<std::string>& shown) {
  std::string out = plugin.at("name").get<std::string>();
  std::string args;
  for (const auto& k : shown) {
    if (!plugin.at("params").contains(k)) continue;
    const json& v = plugin.at("params").at(k);
    args += (args.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return args.empty() ? out : out + "(" + args + ")";
}

namespace {

// Every (name, resolved params) a list of plugin references expands to.
std::vector<json> expand_plugins(const std::vector<PluginRef>& refs, PluginKind kind, const Registry& registry) {
  std::vector<json> out;
  for (const auto& ref : refs) {
    const auto& schema = registry.require(kind, ref.name)->descriptor->params;
    for (const auto& one : expand_lists(ref.params))
      out.push_back(json{{"name", ref.name}, {"params", resolve_params(schema, one)}});
  }
  return out;
}

}  // namespace

std::vector<Cell> expand_grid(const Spec& spec, const Registry& registry) {
  const auto datasets = expand_plugins(spec.datasets, PluginKind::dataset, registry);
  const auto solvers = expand_plugins(spec.solvers, PluginKind::solver, registry);
  const auto losses = expand_plugins(spec.losses, PluginKind::loss, registry);
  const auto metrics = expand_plugins(spec.metrics, PluginKind::metric, registry);
  const auto inits = expand_lists(spec.init);
  const auto stoppings = expand_lists(spec.stopping);
  const auto scalings = spec.init_scaling.is_array()
                            ? std::vector<json>(spec.init_scaling.begin(), spec.init_scaling.end())
                            : std::vector<json>{spec.init_scaling};
  std::vector<json> regularizations;
  for (json r : expand_lists(spec.regularization)) {
    if (r["alpha_H"] == "same") r["alpha_H"] = r["alpha_W"];
    r["alpha_W"] = r["alpha_W"].get<double>();
    r["alpha_H"] = r["alpha_H"].get<double>();
    r["l1_ratio"] = r["l1_ratio"].get<double>();
    regularizations.push_back(r);
  }

  std::vector<Cell> cells;
  std::set<std::string> ids;
  for (const auto& dataset : datasets)
    for (const auto rank : spec.ranks)
      for (const auto& loss : losses)
        for (const auto& solver : solvers)
          for (const auto& regularization : regularizations)
            for (const auto& init : inits)
              for (const auto& scaling : scalings)
                for (const auto& stopping : stoppings)
                  for (const auto seed : spec.seeds) {
                    json p = {{"dataset", dataset},
                              {"solver", solver},
                              {"loss", loss},
                              {"rank", rank},
                              {"seed", seed},
                              {"init", init},
                              {"init_scaling", scaling},
                              {"regularization", regularization},
                              {"stopping", stopping},
                              {"checkpoints", spec.checkpoints},
                              {"metrics", metrics},
                              {"threads", spec.threads}};
                    if (!spec.restarts.is_null()) p["restarts"] = spec.restarts;
                    Cell cell{p, stable_hash(p)};
                    if (ids.insert(cell.id).second) cells.push_back(std::move(cell));  // a repeated entry runs once
                  }
  return cells;
}

}  // namespace nmfx
