// restarts (issue 14): the best of n short runs is kept by its objective, recorded in the result,
// and the cell then runs from it exactly as a plain run from those factors would.
#include <doctest/doctest.h>

#include <algorithm>

#include <nmfx/host/restarts.hpp>
#include <nmfx/host/spec.hpp>
#include <nmfx/host/threads.hpp>
#include <nmfx/npy.hpp>

#include "support.hpp"

using nmfx::json;
using nmfx::Matrix;

namespace {

// 30 x 24 uniform noise factored at rank 8: no exact factorization, so starts end far apart.
const nmfx::Data& noise() {
  static const nmfx::Data X = test::make_data(test::random_matrix(30, 24, 11));
  return X;
}

const json kInit = {{"method", "random"}, {"distribution", "uniform"}, {"scale", "auto"}};

// Restart i of `seed` stepped by hand: its factors and objective after `iterations` steps.
std::unique_ptr<nmfx::CellSession> short_run(const nmfx::Data& X, const nmfx::SessionSetup& setup, std::uint64_t seed,
                                             std::size_t i, std::size_t iterations) {
  auto [W, H] = nmfx::CellSession::initial_factors(kInit, "none", X, setup.rank, nmfx::restart_seed(seed, i), "", 1);
  auto s = std::make_unique<nmfx::CellSession>(test::registry(), X, setup, std::move(W), std::move(H));
  for (std::size_t k = 0; k < iterations; ++k) s->step();
  return s;
}

}  // namespace

TEST_CASE("restarts: the kept start is the short run of lowest objective, each objective as stepped by hand") {
  nmfx::SessionSetup setup;
  setup.solver = "mu";
  setup.rank = 8;
  const std::size_t runs = 6, iterations = 15;
  const auto best = nmfx::best_of_restarts(test::registry(), noise(), setup, kInit, "none", 2, "", runs, iterations);
  REQUIRE(best.objectives.size() == runs);
  CHECK(best.seeds[0] == 2);  // the cell's own start is one of the candidates
  CHECK(std::set<std::uint64_t>(best.seeds.begin(), best.seeds.end()).size() == runs);
  for (std::size_t i = 0; i < runs; ++i) {
    const auto s = short_run(noise(), setup, 2, i, iterations);
    CHECK(best.objectives[i] == s->objective());
  }
  const auto lowest = std::min_element(best.objectives.begin(), best.objectives.end()) - best.objectives.begin();
  CHECK(best.chosen == static_cast<std::size_t>(lowest));
  CHECK(best.chosen != 0);  // the fixture does exercise the choice
  const auto kept = short_run(noise(), setup, 2, best.chosen, iterations);
  CHECK(best.W == kept->W());
  CHECK(best.H == kept->H());
  const json record = best.to_json(iterations);
  CHECK(record["chosen"] == best.chosen);
  CHECK(record["runs"] == runs);
}

TEST_CASE("restarts: nmfx run continues from the kept restart exactly as a plain run from its factors") {
  nmfx::set_threads(1);  // as the cell's worker: the same BLAS path, so the same bits
  const auto dir = test::temp_dir("restarts_run");
  nmfx::write_npy((dir / "x.npy").string(), noise().dense);
  const std::string spec =
      "name: r\ndatasets: [{name: npy, params: {path: x.npy}}]\nsolvers: [hals]\nlosses: [frobenius]\n"
      "ranks: [8]\nseeds: [5]\nstopping: {max_iter: 40}\ncheckpoints: {every: 10}\nthreads: 1\n"
      "save_factors: true\nmetrics: [relative_error]\n";
  test::write(dir / "r.yaml", spec + "restarts: {runs: 5, iterations: 4}\n");
  const auto ran = test::nmfx_command("run r.yaml -o out", dir);
  REQUIRE_MESSAGE(ran.status == 0, ran.output);
  json result;
  for (const auto& f : test::fs::directory_iterator(dir / "out"))
    if (f.path().extension() == ".json") result = json::parse(test::read(f.path()));
  REQUIRE(result.contains("restarts"));
  const json& r = result["restarts"];
  CHECK(r["runs"] == 5);
  CHECK(r["iterations"] == 4);
  CHECK(result["cell"]["restarts"] == json{{"runs", 5}, {"iterations", 4}});
  std::vector<double> objectives = r["objectives"];
  const std::size_t chosen = r["chosen"];
  CHECK(chosen ==
        static_cast<std::size_t>(std::min_element(objectives.begin(), objectives.end()) - objectives.begin()));

  // By hand: the chosen restart's short run, then a plain run of max_iter from its factors.
  nmfx::SessionSetup setup;
  setup.solver = "hals";
  setup.rank = 8;
  const auto kept = short_run(noise(), setup, 5, chosen, 4);
  CHECK(objectives[chosen] == kept->objective());
  nmfx::CellSession plain(test::registry(), noise(), setup, kept->W(), kept->H());
  auto rules = nmfx::make_stopping_rules({{"max_iter", 40}});
  plain.run(rules, nmfx::checkpoint_iterations({{"every", 10}}, 40));
  CHECK(nmfx::read_npy((dir / "out" / result["factors"]["W"].get<std::string>()).string()) == plain.W());
  CHECK(nmfx::read_npy((dir / "out" / result["factors"]["H"].get<std::string>()).string()) == plain.H());
  CHECK(result["trace"]["loss"] == plain.trace().columns()["loss"]);
  CHECK(result["iterations"] == 40);

  SUBCASE("without restarts the cell and its id are as before: no restarts key anywhere") {
    test::write(dir / "plain.yaml", spec);
    const auto p = nmfx::parse_spec((dir / "plain.yaml").string());
    CHECK(p.restarts.is_null());
  }
  SUBCASE("bad values are refused with the key named") {
    test::write(dir / "bad.yaml", spec + "restarts: {runs: 0}\n");
    CHECK_THROWS_WITH_AS(nmfx::parse_spec((dir / "bad.yaml").string()),
                         doctest::Contains("restarts.runs: must be at least 1"), nmfx::SpecError);
    test::write(dir / "typo.yaml", spec + "restarts: {run: 3}\n");
    CHECK_THROWS_WITH_AS(nmfx::parse_spec((dir / "typo.yaml").string()), doctest::Contains("did you mean 'runs'"),
                         nmfx::SpecError);
    test::write(dir / "n.yaml", spec + "restarts: 3\n");
    CHECK(nmfx::parse_spec((dir / "n.yaml").string()).restarts == json{{"runs", 3}, {"iterations", 20}});
  }
}
