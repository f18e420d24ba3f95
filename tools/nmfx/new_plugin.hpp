#pragma once
// nmfx new-plugin: writes a ready plugin folder (CMakeLists.txt using the nmfx package, a source file
// with a small working algorithm, a README template, a spec to try it, and a ctest running
// nmfx check-plugin on the built library).
#include <iosfwd>
#include <string>

namespace nmfx_new_plugin {

struct Options {
  std::string kind;  ///< dataset, loss, solver or metric
  std::string name;  ///< a C identifier: the plugin's name, its target and its file names
  std::string dir = ".";
};

/// Writes <dir>/<name>/ and prints what it wrote and what to do next. Bad arguments (kind, name, an
/// existing folder) throw nmfx::Error (exit status 2).
int run(const Options& options, std::ostream& out);

}  // namespace nmfx_new_plugin
