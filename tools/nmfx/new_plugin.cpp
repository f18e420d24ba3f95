// nmfx new-plugin <kind> <name> [--dir DIR]: a plugin folder that builds and runs as written.
#include "new_plugin.hpp"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <vector>

#include <boost/dll/runtime_symbol_info.hpp>

#include <nmfx/types.hpp>

#include "templates.hpp"

namespace fs = std::filesystem;

namespace nmfx_new_plugin {
namespace {

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

bool is_keyword(const std::string& s) {
  static const std::set<std::string> words = {
      "alignas",   "alignof",  "and",      "and_eq",    "asm",          "auto",          "bitand",
      "bitor",     "bool",     "break",    "case",      "catch",        "char",          "char16_t",
      "char32_t",  "class",    "compl",    "const",     "constexpr",    "const_cast",    "continue",
      "decltype",  "default",  "delete",   "do",        "double",       "dynamic_cast",  "else",
      "enum",      "explicit", "export",   "extern",    "false",        "float",         "for",
      "friend",    "goto",     "if",       "inline",    "int",          "long",          "mutable",
      "namespace", "new",      "noexcept", "not",       "not_eq",       "nullptr",       "operator",
      "or",        "or_eq",    "private",  "protected", "public",       "register",      "reinterpret_cast",
      "return",    "short",    "signed",   "sizeof",    "static",       "static_assert", "static_cast",
      "struct",    "switch",   "template", "this",      "thread_local", "throw",         "true",
      "try",       "typedef",  "typeid",   "typename",  "union",        "unsigned",      "using",
      "virtual",   "void",     "volatile", "wchar_t",   "while",        "xor",           "xor_eq",
      "main",      "nmfx",     "std",      "xt"};
  return words.count(s) > 0;
}

// my_solver -> MySolver; a name that would collide with the plugin's own identifiers gets a suffix.
std::string class_name(const std::string& name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "Plugin" + out;
  static const std::set<std::string> taken = {"Solver", "Loss",   "Dataset", "Metric",  "Matrix", "Data",
                                              "Params", "Values", "Error",   "Problem", "Rng",    "Penalty"};
  if (taken.count(out)) out += "Plugin";
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

const std::string& template_file(const std::string& key) {
  const auto& all = nmfx_templates::files();
  const auto it = all.find(key);
  if (it == all.end()) throw nmfx::Error("new-plugin: internal error: no template '" + key + "'");
  return it->second;
}

// How to point CMake at this nmfx: an installed prefix, or a build tree.
std::string package_hint() {
  const fs::path exe_dir = boost::dll::program_location().parent_path().string();
  if (fs::exists(exe_dir.parent_path() / "lib" / "cmake" / "nmfx" / "nmfxConfig.cmake"))
    return "-DCMAKE_PREFIX_PATH=" + fs::weakly_canonical(exe_dir.parent_path()).string();
  if (fs::exists(exe_dir / "nmfxConfig.cmake")) return "-Dnmfx_DIR=" + fs::weakly_canonical(exe_dir).string();
  return "-DCMAKE_PREFIX_PATH=<nmfx install prefix>";
}

}  // namespace

int run(const Options& o, std::ostream& out) {
  static const std::set<std::string> kinds = {"dataset", "loss", "solver", "metric", "analysis"};
  if (!kinds.count(o.kind))
    throw nmfx::Error("new-plugin: unknown kind '" + o.kind + "' (dataset, loss, solver, metric or analysis)");
  if (!is_identifier(o.name))
    throw nmfx::Error("new-plugin: '" + o.name +
                      "' is not a valid name: use a C identifier (letters, digits and '_', not starting with a digit)");
  if (is_keyword(o.name)) throw nmfx::Error("new-plugin: '" + o.name + "' is a reserved word; choose another name");
  const fs::path folder = fs::path(o.dir) / o.name;
  if (fs::exists(folder) || fs::is_symlink(folder))
    throw nmfx::Error("new-plugin: " + folder.string() + " already exists; refusing to overwrite it");
  if (!o.dir.empty() && fs::exists(o.dir) && !fs::is_directory(o.dir))
    throw nmfx::Error("new-plugin: --dir " + o.dir + " is not a folder");

  const std::string version = NMFX_VERSION_STRING;
  const std::string major_minor = version.substr(0, version.find('.', version.find('.') + 1));
  auto fill = [&](const std::string& text) {
    std::string s = replace_all(text, "@NAME@", o.name);
    s = replace_all(s, "@CLASS@", class_name(o.name));
    s = replace_all(s, "@KIND@", o.kind);
    return replace_all(s, "@NMFX_VERSION@", major_minor);
  };
  struct File {
    std::string path, from, what;
  };
  const std::map<std::string, std::string> algorithm = {
      {"solver", "Lee & Seung's multiplicative updates for the Frobenius loss"},
      {"loss", "the beta-divergence, 1 <= beta <= 2, with its gradient split"},
      {"dataset", "Poisson counts of a planted low-rank rate matrix"},
      {"metric", "the largest entry of W and of H"},
      {"analysis", "the smallest rank whose mean relative error reaches a target"}};
  const std::vector<File> files = {
      {"CMakeLists.txt", "CMakeLists.txt", "find_package(nmfx), nmfx_add_plugin, a ctest running nmfx check-plugin"},
      {o.name + ".cpp", o.kind + ".cpp", "the " + o.kind + ": " + algorithm.at(o.kind) + "; replace it with yours"},
      {"README.md", o.kind + ".README.md", "equations, parameters, what it supports, reference: fill them in"},
      {"try.yaml", o.kind + ".try.yaml", "a small grid running it beside the built-in plugins"},
      {".gitignore", "gitignore", "build/ and runs/"}};

  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw nmfx::Error("new-plugin: cannot create " + folder.string() + " (" + ec.message() + ")");
  for (const auto& f : files) {
    std::ofstream file(folder / f.path);
    file << fill(template_file(f.from));
    if (!file) throw nmfx::Error("new-plugin: cannot write " + (folder / f.path).string());
  }

  out << "created " << o.kind << " '" << o.name << "' in " << folder.string() << "/:\n";
  for (const auto& f : files)
    if (f.path[0] != '.')
      out << "  " << f.path << std::string(f.path.size() < 16 ? 16 - f.path.size() : 1, ' ') << f.what << "\n";
  out << "next:\n"
      << "  cd " << folder.string() << "\n"
      << "  cmake -S . -B build " << package_hint() << "\n"
      << "  cmake --build build\n"
      << "  ctest --test-dir build --output-on-failure   # nmfx check-plugin on build/" << o.name << ".so\n"
      << "  nmfx run try.yaml\n"
      << "The plugin guide: docs/plugins.md in the nmfx sources.\n";
  return 0;
}

}  // namespace nmfx_new_plugin
