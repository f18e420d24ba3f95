// The online setting: with stream_every = k, each step reveals the next k entries of the same
// sequence of passes that full-pass mode uses, so after the same entries both modes hold
// bit-identical factors; through nmfx run, a stream of `passes` passes evaluated every k entries
// gives ceil(passes |train| / k) checkpoints after the initial one. Also: determinism of the entry
// order, and the framework refusing a penalty for pa.
#include <doctest/doctest.h>

#include "ratings_support.hpp"

using nmfx::json;

TEST_CASE("stream mode every k entries ends with the same factors as full passes over the same order") {
  const auto p = ratings_test::planted(50, 40, 3, 0.1, 0.3, 0.1, 5);
  const nmfx::Data& d = p.data;
  const std::size_t n = d.nnz, passes = 3;
  for (const std::string solver : {"pa", "sgd"})
    for (const std::string order : {"reshuffle", "shuffle_once", "csr"})
      for (const std::size_t k : {std::size_t{7}, std::size_t{1}, n, 2 * n + 5}) {
        CAPTURE(solver);
        CAPTURE(order);
        CAPTURE(k);
        json base = {{"order", order}, {"seed", 11}};
        if (solver == "sgd") base["schedule"] = "inverse_scaling";  // the rate depends on the entry count
        auto full = ratings_test::start(d, solver, base, 3, 2);
        for (std::size_t s = 0; s < passes; ++s) full.solver->step(full.W, full.H);
        json streamed = base;
        streamed["stream_every"] = k;
        streamed["stream_passes"] = passes;
        auto stream = ratings_test::start(d, solver, streamed, 3, 2);
        const std::size_t steps = (passes * n + k - 1) / k;
        double entries = 0;
        for (std::size_t s = 0; s < steps; ++s) {
          stream.solver->step(stream.W, stream.H);
          entries += stream.solver->stats().at("entries");
        }
        CHECK(entries == static_cast<double>(passes * n));
        CHECK(stream.solver->stats().at("passes") == doctest::Approx(static_cast<double>(passes)));
        CHECK(stream.W == full.W);
        CHECK(stream.H == full.H);
        // The stream has ended: a further step changes nothing.
        stream.solver->step(stream.W, stream.H);
        CHECK(stream.solver->stats().at("entries") == 0.0);
        CHECK(stream.W == full.W);
      }
}

TEST_CASE("online solvers are reproducible from their seed and the default seed follows the initial factors") {
  const auto p = ratings_test::planted(50, 40, 3, 0.1, 0.3, 0.1, 6);
  for (const std::string solver : {"pa", "sgd"}) {
    CAPTURE(solver);
    auto a = ratings_test::start(p.data, solver, json{{"seed", 3}}, 3, 2);
    auto b = ratings_test::start(p.data, solver, json{{"seed", 3}}, 3, 2);
    auto c = ratings_test::start(p.data, solver, json{{"seed", 4}}, 3, 2);
    for (int s = 0; s < 2; ++s) {
      a.solver->step(a.W, a.H);
      b.solver->step(b.W, b.H);
      c.solver->step(c.W, c.H);
    }
    CHECK(a.W == b.W);
    CHECK(a.H == b.H);
    CHECK(a.W != c.W);
    // seed -1 (the default): the order comes from the initial W and H, so a run is reproducible
    // and two run seeds (two initializations) get different orders.
    auto d1 = ratings_test::start(p.data, solver, json::object(), 3, 2);
    auto d2 = ratings_test::start(p.data, solver, json::object(), 3, 2);
    d1.solver->step(d1.W, d1.H);
    d2.solver->step(d2.W, d2.H);
    CHECK(d1.W == d2.W);
  }
}

TEST_CASE(
    "nmfx run of pa in stream mode records ceil(passes train / k) checkpoints with passive and aggressive counts") {
  const auto dir = test::temp_dir("ratings_stream");
  // 600 ratings, 120 held out: 480 training entries; 2 passes every 7 entries = ceil(960 / 7) = 138.
  test::write(dir / "stream.yaml",
              "name: stream\n"
              "datasets:\n"
              "  - {name: synthetic_ratings, params: {users: 50, items: 40, ratings: 600, rank: 3, "
              "min_user_ratings: 2}}\n"
              "solvers:\n"
              "  - {name: pa, params: {stream_every: 7, stream_passes: 2}}\n"
              "  - {name: sgd, params: {stream_every: 7, stream_passes: 2}}\n"
              "ranks: [3]\n"
              "stopping: {max_iter: 138}\n"
              "checkpoints: {every: 1}\n"
              "metrics: [test_rmse, test_mae, train_rmse]\n"
              "threads: 1\n"
              "output: out\n");
  const auto r = test::nmfx_command("run stream.yaml", dir);
  INFO(r.output);
  REQUIRE(r.status == 0);
  std::size_t results = 0;
  for (const auto& e : test::fs::directory_iterator(dir / "out")) {
    if (e.path().extension() != ".json") continue;
    ++results;
    const json res = json::parse(test::read(e.path()));
    CHECK(res["status"] == "ok");
    CHECK(res["data"]["nnz"] == 480);
    const json& trace = res["trace"];
    CHECK(trace["iteration"].size() == 138 + 1);  // iteration 0, then every step
    for (const char* key : {"test_rmse", "test_mae", "train_rmse", "entries", "passes"})
      CHECK_MESSAGE(trace.contains(key), key);
    double entries = 0;
    for (const auto& v : trace["entries"])
      if (!v.is_null()) entries += v.get<double>();
    CHECK(entries == 960);
    CHECK(trace["passes"].back() == 2.0);
    if (res["cell"]["solver"]["name"] == "pa") {
      CHECK(trace.contains("passive"));
      CHECK(trace.contains("aggressive"));
    }
    CHECK(trace["test_rmse"].back().get<double>() < trace["test_rmse"][0].get<double>());
  }
  CHECK(results == 2);
}

TEST_CASE("a spec asking pa for a penalty is refused and sgd and ccd accept it") {
  const auto dir = test::temp_dir("ratings_penalty");
  const std::string data =
      "datasets: [{name: synthetic_ratings, params: {users: 30, items: 20, ratings: 200, "
      "rank: 2, min_user_ratings: 2}}]\nranks: [2]\n";
  test::write(dir / "pa.yaml", data + "solvers: [pa]\nregularization: {alpha_W: 0.1}\n");
  auto r = test::nmfx_command("validate pa.yaml", dir);
  CHECK(r.status == 2);
  CHECK(r.output.find("'pa'") != std::string::npos);
  test::write(dir / "sgd.yaml", data + "solvers: [sgd, ccd, mu]\nregularization: {alpha_W: 0.1}\n");
  r = test::nmfx_command("validate sgd.yaml", dir);
  INFO(r.output);
  CHECK(r.status == 0);
}
