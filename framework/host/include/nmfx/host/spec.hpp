#pragma once
/// @file spec.hpp
/// The YAML experiment spec: parsed and checked completely before anything runs.
#include <map>
#include <string>
#include <vector>

#include <nmfx/host/registry.hpp>

namespace nmfx {

/// A spec error: "<file>:<line>: <key>: <what>", and exit status 2.
class SpecError : public Error {
 public:
  SpecError(const std::string& file, int line, const std::string& key, const std::string& what);
  ~SpecError() override;
};

/// A plugin named in a spec, with its parameters as written (a list is a grid axis).
struct PluginRef {
  std::string name;
  json params = json::object();
  std::string key;  ///< where it stands in the spec, e.g. "solvers[1]"
  int line = 0;
  std::map<std::string, int> param_lines;
};

struct Spec {
  std::string file;  ///< as given on the command line
  std::string dir;   ///< its folder: relative paths in the spec are resolved against it
  std::string name;
  std::string description;
  std::vector<PluginRef> datasets, solvers, losses, metrics;
  std::vector<PluginRef> analyses;  ///< analysis plugins run on the results after the grid (not in the cells)
  std::vector<long long> ranks;
  std::vector<long long> seeds;
  json init;                   ///< {"method": ..., ...}; values may be lists (axes)
  json init_scaling = "none";  ///< "none" | "optimal" (or a list)
  json stopping;               ///< {"max_iter", "max_time_s", "tol", "pg_tol"}; values may be lists (axes)
  json regularization;         ///< {"alpha_W", "alpha_H", "l1_ratio"}; values may be lists (axes)
  json checkpoints;            ///< {"every": k} or {"log": n}
  json restarts;               ///< {"runs", "iterations"}, or null: no restarts (restarts.hpp)
  int threads = 1;
  int jobs = 0;                 ///< cells at once; 0: chosen by the scheduler
  double limits_wall_s = 0;     ///< limits.wall_s: seconds a cell may take (0: no limit)
  double limits_memory_gb = 0;  ///< limits.memory_gb per cell (0: 80% of RAM shared by the jobs)
  std::string output;
  bool save_factors = false;              ///< write W and H of each run as <id>.W.npy and <id>.H.npy
  json distribute;                        ///< null, or {"grid": "auto" | [pr, pc]}: cells over all MPI processes
  std::vector<std::string> plugin_paths;  ///< resolved against dir
  std::map<std::string, int> lines;       ///< line of every top-level and nested key, for errors
  int line_of(const std::string& key) const;
};

/// Reads and checks the spec's structure and types (not yet its plugins). Throws SpecError.
Spec parse_spec(const std::string& file);

/// Checks every plugin name, every parameter value of every grid axis, and every solver-loss pair
/// against the registry. Throws SpecError naming the line and key.
void validate_spec(const Spec& spec, const Registry& registry);

}  // namespace nmfx
