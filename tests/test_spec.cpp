// Every spec error is caught before anything runs: one line naming the file, the line and the key,
// exit status 2, and nothing written.
#include <doctest/doctest.h>

#include <sstream>

#include "support.hpp"

namespace {

// A valid spec; each case swaps one line for a wrong one.
std::string base_spec() {
  return "name: t\n"
         "datasets:\n"
         "  - name: synthetic\n"
         "    params: {m: 30, n: 20, rank: 3}\n"
         "solvers: [mu]\n"
         "losses: [frobenius]\n"
         "ranks: [3]\n"
         "stopping: {max_iter: 5}\n"
         "output: out\n"
         "plugin_paths: ['" NMFX_TEST_PLUGIN_DIR "']\n";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

int line_of(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  REQUIRE(at != std::string::npos);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

struct Case {
  const char* what;
  const char* from;
  const char* to;
  const char* key;      // expected in the message
  const char* message;  // expected in the message
  const char* marker;   // the error's line is the line holding this text
};

}  // namespace

TEST_CASE("spec errors name the file and line and key and exit 2 writing nothing") {
  const Case cases[] = {
      {"unknown key, nearest suggested", "solvers: [mu]", "solverz: [mu]", "solverz", "did you mean 'solvers'",
       "solverz"},
      {"wrong type", "ranks: [3]", "ranks: [three]", "ranks", "expected an integer", "ranks"},
      {"value out of range (framework)", "{max_iter: 5}", "{max_iter: -5}", "stopping.max_iter", "out of range",
       "max_iter"},
      {"value out of range (plugin schema)", "solvers: [mu]", "solvers: [{name: mu, params: {eps: -1}}]",
       "solvers[0].params.eps", "out of range", "eps"},
      {"wrong parameter type", "solvers: [mu]", "solvers: [{name: mu, params: {eps: tiny}}]", "solvers[0].params.eps",
       "must be a number", "eps"},
      {"unknown parameter, nearest suggested", "solvers: [mu]", "solvers: [{name: mu, params: {epz: 1e-9}}]",
       "solvers[0].params.epz", "did you mean 'eps'", "epz"},
      {"unknown plugin, available listed", "solvers: [mu]", "solvers: [mux]", "solvers[0]",
       "unknown solver 'mux'; did you mean 'mu'? (available: ", "mux"},
      {"solver given a loss it does not support", "solvers: [mu]\nlosses: [frobenius]",
       "solvers: [failing]\nlosses: [kl]", "losses[0]", "does not support loss 'kl'; it supports: frobenius", "kl"},
      {"a solver that accepts none of the data kinds a dataset produces", "solvers: [mu]", "solvers: [pa]",
       "solvers[0]", "solver 'pa' accepts observed data, but dataset 'synthetic' (datasets[0]) produces dense", "[pa]"},
      {"a loss that accepts none of the data kinds a dataset produces",
       "  - name: synthetic\n    params: {m: 30, n: 20, rank: 3}\nsolvers: [mu]\nlosses: [frobenius]",
       "  - name: synthetic_ratings\nsolvers: [mu]\nlosses: [kl]", "losses[0]",
       "loss 'kl' accepts dense, sparse data, but dataset 'synthetic_ratings' (datasets[0]) produces observed", "kl"},
      {"a metric that no dataset of the spec can feed", "output: out", "metrics: [test_rmse]\noutput: out",
       "metrics[0]", "metric 'test_rmse' accepts observed data, but no dataset of this spec produces it", "test_rmse"},
      {"an axis value out of range", "ranks: [3]", "ranks: [3, 0]", "ranks", "at least 1", "ranks"},
      {"not YAML", "ranks: [3]", "ranks: [3", "", "not valid YAML", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const auto dir = test::temp_dir("spec_errors");
    const std::string spec = replace(base_spec(), c.from, c.to);
    test::write(dir / "bad.yaml", spec);
    for (const std::string command : {"validate bad.yaml", "run bad.yaml"}) {
      CAPTURE(command);
      const auto r = test::nmfx_command(command, dir);
      CHECK(r.status == 2);
      CHECK(r.output.find("bad.yaml:") != std::string::npos);
      CHECK(r.output.find(c.message) != std::string::npos);
      if (std::string(c.what).rfind("unknown plugin", 0) == 0) {
        // Every solver found is listed: at least the test plugin and the built-in mu.
        const std::string listed = r.output.substr(r.output.find("(available: "));
        CHECK(listed.find("failing") != std::string::npos);
        CHECK(listed.find(", mu") != std::string::npos);
      }
      if (*c.key) {
        CHECK(r.output.find(" " + std::string(c.key) + ": ") != std::string::npos);
        CHECK(r.output.find("bad.yaml:" + std::to_string(line_of(spec, c.marker)) + ": ") != std::string::npos);
      }
      // One line of error (warnings about other libraries aside), and nothing written.
      CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
      CHECK_FALSE(test::fs::exists(dir / "out"));
    }
  }
}

TEST_CASE("a valid spec validates and its dry run lists the cartesian product") {
  const auto dir = test::temp_dir("spec_valid");
  std::string spec = replace(base_spec(), "solvers: [mu]", "solvers: [{name: mu, params: {eps: [1e-10, 1e-16]}}]");
  spec = replace(spec, "ranks: [3]", "ranks: [2, 3]\nseeds: [0, 1, 2]");
  spec = replace(spec, "losses: [frobenius]", "losses: [frobenius, kl]");
  test::write(dir / "ok.yaml", spec);
  auto r = test::nmfx_command("validate ok.yaml", dir);
  CHECK(r.status == 0);
  CHECK(r.output.find("24 cells") != std::string::npos);  // 2 eps x 2 losses x 2 ranks x 3 seeds
  r = test::nmfx_command("run ok.yaml --dry-run", dir);
  CHECK(r.status == 0);
  CHECK(r.output.find("24 cells") != std::string::npos);
  CHECK_FALSE(test::fs::exists(dir / "out"));
}
