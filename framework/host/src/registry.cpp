#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include <boost/dll/runtime_symbol_info.hpp>

#include <nmfx/host/registry.hpp>

namespace fs = std::filesystem;

namespace nmfx {

void Registry::scan(const std::vector<std::string>& dirs) {
  std::set<std::string> seen;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());  // the same order on every machine
    for (const auto& f : files) {
      const std::string canonical = fs::weakly_canonical(f).string();
      if (seen.insert(canonical).second) load(canonical);
    }
  }
}

void Registry::load(const std::string& path) {
  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  // rtld_local: two plugins' private symbols never bind to each other.
  library->load(path, boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    problems_.push_back(path + ": cannot be loaded (" + ec.message() + ")");
    return;
  }
  if (!library->has("nmfx_abi_version")) return;  // some other shared library: not ours to judge
  const int abi = library->get_alias<int()>("nmfx_abi_version")();
  if (abi != NMFX_ABI_VERSION) {
    problems_.push_back(path + ": refused: built for nmfx plugin ABI " + std::to_string(abi) + ", this nmfx has ABI " +
                        std::to_string(NMFX_ABI_VERSION) + "; rebuild the plugin against this nmfx");
    return;
  }
  if (!library->has("nmfx_descriptor")) {
    problems_.push_back(path + ": refused: exports an ABI version but no nmfx_descriptor");
    return;
  }
  const PluginDescriptor& d = library->get_alias<const PluginDescriptor&()>("nmfx_descriptor")();
  if (d.abi_version != NMFX_ABI_VERSION || d.descriptor_size != sizeof(PluginDescriptor)) {
    problems_.push_back(path + ": refused: its descriptor has ABI " + std::to_string(d.abi_version) + " and size " +
                        std::to_string(d.descriptor_size) + ", expected ABI " + std::to_string(NMFX_ABI_VERSION) +
                        " and size " + std::to_string(sizeof(PluginDescriptor)));
    return;
  }
  if (d.name.empty() || d.create == nullptr) {
    problems_.push_back(path + ": refused: its descriptor has no name or no factory");
    return;
  }
  if (const LoadedPlugin* previous = find(d.kind, d.name)) {
    problems_.push_back(path + ": " + to_string(d.kind) + " '" + d.name + "' is shadowed by " + previous->path);
    return;
  }
  plugins_.push_back({path, &d, library});
}

const LoadedPlugin* Registry::find(PluginKind kind, const std::string& name) const {
  for (const auto& p : plugins_)
    if (p.descriptor->kind == kind && p.descriptor->name == name) return &p;
  return nullptr;
}

const LoadedPlugin* Registry::require(PluginKind kind, const std::string& name) const {
  if (const LoadedPlugin* p = find(kind, name)) return p;
  std::string all;
  for (const auto& n : names(kind)) all += (all.empty() ? "" : ", ") + n;
  throw Error(std::string("unknown ") + to_string(kind) + " '" + name +
              "'; available: " + (all.empty() ? "none" : all));
}

std::vector<const LoadedPlugin*> Registry::list() const {
  std::vector<const LoadedPlugin*> out;
  for (const auto& p : plugins_) out.push_back(&p);
  std::sort(out.begin(), out.end(), [](const LoadedPlugin* a, const LoadedPlugin* b) {
    return std::make_pair(a->descriptor->kind, a->descriptor->name) <
           std::make_pair(b->descriptor->kind, b->descriptor->name);
  });
  return out;
}

std::vector<std::string> Registry::names(PluginKind kind) const {
  std::vector<std::string> out;
  for (const auto& p : plugins_)
    if (p.descriptor->kind == kind) out.push_back(p.descriptor->name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> plugin_dirs(const std::vector<std::string>& extra) {
  std::vector<std::string> dirs(extra.begin(), extra.end());
  if (const char* env = std::getenv("NMFX_PLUGIN_PATH")) {
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ':'))
      if (!item.empty()) dirs.push_back(item);
  }
  const fs::path exe_dir = boost::dll::program_location().parent_path().string();
  dirs.push_back((exe_dir / "plugins").string());                                 // build tree
  dirs.push_back((exe_dir.parent_path() / "lib" / "nmfx" / "plugins").string());  // installed
  return dirs;
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    std::vector<std::size_t> row(c.size() + 1);
    for (std::size_t j = 0; j <= c.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= word.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= c.size(); ++j) {
        const std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (word[i - 1] == c[j - 1] ? 0 : 1)});
        diagonal = up;
      }
    }
    if (row[c.size()] < best_distance) {
      best_distance = row[c.size()];
      best = c;
    }
  }
  return best;
}

}  // namespace nmfx
