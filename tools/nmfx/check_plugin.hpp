#pragma once
// nmfx check-plugin: a conformance suite for any plugin (dataset, loss, solver, metric), run on the
// plugin's own library through the same host API as `nmfx run`. One line per property, with the
// reason; see docs/plugins.md ("Testing a plugin").
#include <iosfwd>
#include <string>
#include <vector>

namespace nmfx_check {

struct Options {
  std::vector<std::string> targets;  ///< plugin libraries (a path to a .so) or plugin names
  std::string kind;                  ///< with a name: dataset, loss, solver or metric (when a name is ambiguous)
  std::vector<std::string> params;   ///< "key=value": parameters of the plugin under test
  bool all = false;                  ///< check every plugin found (built-in, NMFX_PLUGIN_PATH)
  bool isolate = true;               ///< run each property in a child process, so a crash fails only it
  double timeout_s = 120;            ///< per property, when isolated
};

/// Runs the suite and prints the results to `out`. Returns 0 when no property failed, 1 otherwise.
/// Bad arguments (no such file or plugin, a malformed --param) throw nmfx::Error (exit status 2).
int run(const Options& options, std::ostream& out);

}  // namespace nmfx_check
