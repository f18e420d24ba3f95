#pragma once
/// @file registry.hpp
/// Plugin discovery and loading. Every object a plugin creates holds its library, so nothing made
/// by a plugin can outlive the code it runs (Boost.DLL tutorial 8).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include <nmfx/plugin.hpp>

namespace nmfx {

struct LoadedPlugin {
  std::string path;
  const PluginDescriptor* descriptor = nullptr;  ///< lives in the library, valid while it is loaded
  std::shared_ptr<boost::dll::shared_library> library;
};

class Registry {
 public:
  /// Loads every plugin library (*.so) in `dirs`, in order; a name already found is kept and the
  /// later one reported as shadowed. A library built for another ABI is refused, with a message
  /// naming the file and both versions, and so is any library whose descriptor is malformed.
  void scan(const std::vector<std::string>& dirs);

  const LoadedPlugin* find(PluginKind kind, const std::string& name) const;
  std::vector<const LoadedPlugin*> list() const;
  std::vector<std::string> names(PluginKind kind) const;
  /// One line per library that was refused or shadowed.
  const std::vector<std::string>& problems() const { return problems_; }

  /// Creates an instance of plugin `name`. `params` are resolved against the plugin's schema first
  /// (defaults filled in, values checked), so no caller needs to. The returned pointer owns a
  /// reference to the library. Throws nmfx::Error if there is no such plugin, ParamError if a
  /// parameter is unknown or invalid.
  template <class Interface>
  std::shared_ptr<Interface> create(const std::string& name, const json& params) const {
    const LoadedPlugin* p = require(kind_of<Interface>(), name);
    json values;
    try {
      values = resolve_params(p->descriptor->params, params);
    } catch (const ParamError& e) {
      throw ParamError(e.key, std::string(to_string(p->descriptor->kind)) + " '" + name + "': " + e.what());
    }
    Params resolved(values);
    auto* object = static_cast<Interface*>(p->descriptor->create(resolved));
    auto library = p->library;
    return std::shared_ptr<Interface>(object, [library](Interface* o) { delete o; });
  }

  const LoadedPlugin* require(PluginKind kind, const std::string& name) const;

 private:
  void load(const std::string& path);
  std::vector<LoadedPlugin> plugins_;
  std::vector<std::string> problems_;
};

/// Where plugins are looked for, in order: `extra` (a spec's plugin_paths), the folders of
/// NMFX_PLUGIN_PATH (colon-separated), then the plugin folder next to the nmfx executable
/// (the build tree's build/plugins, or <prefix>/lib/nmfx/plugins when installed).
std::vector<std::string> plugin_dirs(const std::vector<std::string>& extra = {});

/// The nearest of `candidates` to `word` (Levenshtein), or "" when none is close.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace nmfx
