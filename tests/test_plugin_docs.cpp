// Each built-in plugin's README holds, under "## Parameters", the table `nmfx list --markdown` makes
// from the plugin's own schema: the documentation cannot drift from the code unnoticed.
#include <doctest/doctest.h>

#include <regex>
#include <sstream>

#include "support.hpp"

TEST_CASE("every built-in plugin's README holds the parameter table of its schema") {
  const auto dir = test::temp_dir("plugin_docs");
  const auto r = test::nmfx_command("list --markdown", dir);
  REQUIRE(r.status == 0);
  const std::regex heading(R"(^### (\w+) (\S+)$)");
  std::istringstream in(r.output);
  std::string line, kind, name, table;
  int checked = 0;
  auto check = [&] {
    if (name.empty()) return;
    const std::string folder = kind == "analysis" ? "analyses" : kind == "loss" ? "losses" : kind + "s";
    const auto readme = test::fs::path(NMFX_SOURCE_DIR) / "plugins" / folder / name / "README.md";
    if (!test::fs::exists(readme)) return;  // a test plugin
    CAPTURE(readme.string());
    const std::string text = test::read(readme);
    const auto at = text.find("## Parameters\n\n");
    REQUIRE_MESSAGE(at != std::string::npos, "no '## Parameters' section; run tools/update-plugin-docs");
    // The section: the lines after the heading up to the first blank line.
    std::string section;
    std::istringstream lines(text.substr(at + 15));
    for (std::string l; std::getline(lines, l) && !l.empty();) section += l + "\n";
    CHECK_MESSAGE(section == table,
                  "the README's table differs from `nmfx list --markdown`; run tools/update-plugin-docs");
    ++checked;
  };
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, heading)) {
      check();
      kind = m[1];
      name = m[2];
      table.clear();
    } else if (!line.empty()) {
      table += line + "\n";
    }
  }
  check();
  // Every built-in plugin's README was checked: one per folder plugins/<kind>/<name>/ (a folder
  // name mapped wrongly, as "losss" once was, skipped the loss READMEs without a word).
  int readmes = 0;
  for (const auto& kind_dir : test::fs::directory_iterator(test::fs::path(NMFX_SOURCE_DIR) / "plugins"))
    if (kind_dir.is_directory())
      for (const auto& plugin_dir : test::fs::directory_iterator(kind_dir.path()))
        readmes += test::fs::exists(plugin_dir.path() / "README.md");
  CHECK(readmes >= 30);
  CHECK(checked == readmes);
}
