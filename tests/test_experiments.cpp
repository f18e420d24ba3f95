// Every spec in experiments/ (the quickstart and the studies that reproduce the papers) passes
// nmfx validate: its plugins exist, and every parameter of every grid axis is in range.
#include <doctest/doctest.h>

#include "support.hpp"

TEST_CASE("every spec in experiments/ passes nmfx validate") {
  std::vector<test::fs::path> specs;
  for (const auto& e : test::fs::directory_iterator(NMFX_SOURCE_DIR "/experiments"))
    if (e.path().extension() == ".yaml" && e.path().filename().string().find(".claims.") == std::string::npos)
      specs.push_back(e.path());  // <study>.claims.yaml are tools/reproduce's sidecars, not specs
  std::sort(specs.begin(), specs.end());
  CHECK(specs.size() >= 7);  // the quickstart and the six studies of issue 6
  for (const auto& spec : specs) {
    CAPTURE(spec.string());
    const auto r = test::nmfx_command("validate '" + spec.string() + "'", NMFX_TEST_TMP_DIR);
    CHECK(r.status == 0);
    CHECK(r.output.find(": valid, ") != std::string::npos);
  }
}
