// nmfx check-plugin catches broken plugins (tests/plugins/broken), names the property and the
// reason, survives a plugin that crashes, and handles its arguments; nmfx new-plugin refuses bad
// names and existing folders. (That every built-in plugin passes is the check_plugin.* ctests; that a
// scaffolded plugin builds and passes against the installed package is new_plugin.*.)
#include <doctest/doctest.h>

#include "support.hpp"

namespace {

const std::string kBroken = NMFX_BROKEN_PLUGIN_DIR;

bool has(const std::string& output, const std::string& line) { return output.find(line) != std::string::npos; }

}  // namespace

TEST_CASE("check-plugin fails a loss whose gradient does not match its value, naming the property") {
  const auto c = test::nmfx_command("check-plugin '" + kBroken + "/broken_loss.so'", NMFX_TEST_TMP_DIR);
  INFO(c.output);
  CHECK(c.status == 1);
  CHECK(has(c.output, "PASS  value >= 0 [dense]"));
  CHECK(has(c.output, "FAIL  gradient split nonnegative [dense]: neg_W"));
  CHECK(has(c.output, "PASS  gradient matches value, W [dense]"));  // pos - neg is right for W
  CHECK(has(c.output, "FAIL  gradient matches value, H [dense]: pos - neg disagrees with central differences"));
  CHECK(has(c.output, "failed"));
}

TEST_CASE("check-plugin fails a solver that climbs, is not reproducible, and crashes on a zero row") {
  const auto c = test::nmfx_command("check-plugin '" + kBroken + "/broken_solver.so'", NMFX_TEST_TMP_DIR);
  INFO(c.output);
  CHECK(c.status == 1);
  CHECK(has(c.output, "PASS  nonnegative and finite [dense, frobenius]"));
  CHECK(has(c.output, "FAIL  same seed, same iterates [dense, frobenius]: two fresh instances"));
  CHECK(has(c.output, "FAIL  loss decreases [dense, frobenius]: from"));
  // The crash fails one property; the suite goes on to the next ones.
  CHECK(has(c.output, "FAIL  survives an all-zero row of X [dense, frobenius]: crashed: signal 6"));
  CHECK(has(c.output, "survives an all-zero column of X [dense, frobenius]"));
  CHECK(has(c.output, "PASS  rank > min(M, N) refused (runner)"));
  CHECK(has(c.output, "honours max_time_s (runner)"));
}

TEST_CASE("check-plugin fails a dataset with a negative entry that changes on every load") {
  const auto c = test::nmfx_command("check-plugin '" + kBroken + "/broken_dataset.so'", NMFX_TEST_TMP_DIR);
  INFO(c.output);
  CHECK(c.status == 1);
  CHECK(has(c.output, "PASS  shape consistent: 6x5"));
  CHECK(has(c.output, "PASS  finite"));
  CHECK(has(c.output, "FAIL  nonnegative: 1 negative entries"));
  CHECK(has(c.output, "FAIL  accepted by the runner (finalize)"));
  CHECK(has(c.output, "FAIL  deterministic: a second fresh instance with the same parameters: dense values differ"));
}

TEST_CASE("check-plugin fails a metric that returns NaN") {
  const auto c = test::nmfx_command("check-plugin '" + kBroken + "/broken_metric.so'", NMFX_TEST_TMP_DIR);
  INFO(c.output);
  CHECK(c.status == 1);
  CHECK(has(c.output, "FAIL  finite on random factors [dense]: broken = nan at checkpoint 0"));
}

TEST_CASE("check-plugin by name, with --param, and its argument errors") {
  const std::string fixture = std::string(NMFX_SOURCE_DIR) + "/tests/fixtures/c_f8.npy";
  // A dataset with a required parameter is skipped, not failed, unless the parameter is given.
  auto c = test::nmfx_command("check-plugin npy", NMFX_TEST_TMP_DIR);
  INFO(c.output);
  CHECK(c.status == 0);
  CHECK(has(c.output, "SKIP  behaviour: needs parameters: path"));
  c = test::nmfx_command("check-plugin npy --param path=" + fixture, NMFX_TEST_TMP_DIR);
  CHECK(c.status == 0);
  CHECK(has(c.output, "PASS  shape consistent: 3x4"));
  CHECK(has(c.output, "PASS  deterministic"));
  // Bad arguments: exit status 2, one line.
  c = test::nmfx_command("check-plugin npy --param pth=x.npy", NMFX_TEST_TMP_DIR);
  CHECK(c.status == 2);
  CHECK(has(c.output, "did you mean 'path'?"));
  c = test::nmfx_command("check-plugin frobenius --param x=1", NMFX_TEST_TMP_DIR);
  CHECK(c.status == 2);
  c = test::nmfx_command("check-plugin frobenius --kind solver", NMFX_TEST_TMP_DIR);
  CHECK(c.status == 2);
  CHECK(has(c.output, "no plugin named 'frobenius' of kind solver"));
  c = test::nmfx_command("check-plugin", NMFX_TEST_TMP_DIR);
  CHECK(c.status == 2);
  c = test::nmfx_command("check-plugin ./no_such_plugin.so", NMFX_TEST_TMP_DIR);
  CHECK(c.status == 2);
  CHECK(has(c.output, "no such file"));
  // A library that is not a plugin, and one built for another ABI, fail "loads".
  c = test::nmfx_command("check-plugin '" + std::string(NMFX_WRONG_ABI_DIR) + "/wrong_abi.so'", NMFX_TEST_TMP_DIR);
  CHECK(c.status == 1);
  CHECK(has(c.output, "FAIL  loads:"));
  CHECK(has(c.output, "ABI"));
}

TEST_CASE("new-plugin refuses bad names, unknown kinds and existing folders, and fills every placeholder") {
  const auto dir = test::temp_dir("new_plugin_args");
  for (const std::string args : {"solver 9lives", "solver my-solver", "solver int", "widget my_widget", "loss ''"}) {
    const auto c = test::nmfx_command("new-plugin " + args, dir);
    INFO(args << ": " << c.output);
    CHECK(c.status == 2);
  }
  CHECK(test::fs::is_empty(dir));
  for (const std::string kind : {"dataset", "loss", "solver", "metric"}) {
    const std::string name = "my_" + kind;
    auto c = test::nmfx_command("new-plugin " + kind + " " + name + " --dir out", dir);
    INFO(c.output);
    REQUIRE(c.status == 0);
    for (const std::string& f :
         std::vector<std::string>{"CMakeLists.txt", "README.md", "try.yaml", ".gitignore", name + ".cpp"}) {
      const std::string text = test::read(dir / "out" / name / f);
      CHECK_MESSAGE(!text.empty(), f);
      CHECK_MESSAGE(text.find('@') == std::string::npos, f << " keeps a placeholder");
    }
    CHECK(test::read(dir / "out" / name / "CMakeLists.txt").find("nmfx_add_plugin(" + name + " KIND " + kind) !=
          std::string::npos);
    // Never overwrites.
    test::write(dir / "out" / name / "README.md", "mine");
    c = test::nmfx_command("new-plugin " + kind + " " + name + " --dir out", dir);
    CHECK(c.status == 2);
    CHECK(has(c.output, "already exists"));
    CHECK(test::read(dir / "out" / name / "README.md") == "mine");
  }
}
