// The online rating solvers pa, sgd and ccd and the passes over observed entries they share
// (plugins/common's online passes); pa's own updates are in test_pa.cpp. Prediction of held-out
// entries of a planted low-rank matrix (with mu), ccd's monotone decrease and sgd's spreading of the
// penalty; the online setting: with stream_every = k, each step reveals the next k entries of the same
// sequence of passes that full-pass mode uses, so after the same entries both modes hold
// bit-identical factors; through nmfx run, a stream of `passes` passes evaluated every k entries
// gives ceil(passes |train| / k) checkpoints after the initial one. Also: determinism of the entry
// order, and the framework refusing a penalty for pa.
#include <doctest/doctest.h>

#include "ratings_support.hpp"

using nmfx::json;
using nmfx::Matrix;

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

// 300 x 200, rank 3, 30% of the entries observed, noise sd 0.1; 10% of the entries held out.
// Iterations and parameters: each solver is run until its test RMSE has settled (checked by hand
// with twice as many iterations): ccd 100 sweeps, mu 1500 iterations, sgd 100 passes at a constant
// eta = 0.05, pa (NN-PA-I) 100 passes with C = 0.01, and NN-PA-I with epsilon = sigma.
TEST_CASE("pa sgd ccd and mu predict held-out entries of a planted rank-3 matrix to test RMSE within 1.2 sigma") {
  const double sigma = 0.1;
  const auto p = ratings_test::planted(300, 200, 3, sigma, 0.3, 0.1, 42);
  const nmfx::Data& d = p.data;
  struct Case {
    std::string solver;
    json params;
    int steps;
  };
  const std::vector<Case> cases = {
      {"ccd", json::object(), 100},
      {"mu", json::object(), 1500},
      {"sgd", {{"eta", 0.05}, {"seed", 1}}, 100},
      {"pa", {{"C", 0.01}, {"seed", 1}}, 100},
      {"pa", {{"C", 0.01}, {"epsilon", sigma}, {"seed", 1}}, 100},
  };
  for (const auto& c : cases) {
    CAPTURE(c.solver);
    CAPTURE(c.params.dump());
    auto r = ratings_test::start(d, c.solver, c.params, 3, 7);
    const double before = ratings_test::rmse(d.test, r.W, r.H);
    for (int s = 0; s < c.steps; ++s) r.solver->step(r.W, r.H);
    const double after = ratings_test::rmse(d.test, r.W, r.H);
    MESSAGE(c.solver << " " << c.params.dump() << ": test RMSE " << before << " -> " << after << " (sigma " << sigma
                     << ")");
    CHECK(after <= 1.2 * sigma);
    CHECK(*std::min_element(r.W.begin(), r.W.end()) >= 0.0);
    CHECK(*std::min_element(r.H.begin(), r.H.end()) >= 0.0);
  }
}

TEST_CASE("ccd never increases the penalized objective and sgd spreads the penalty by count or per rating") {
  const auto p = ratings_test::planted(80, 60, 3, 0.1, 0.3, 0.1, 17);
  const nmfx::Data& d = p.data;
  const nmfx::Penalty penalty{0.01, 0.5, 0.02, 0.3};
  auto r = ratings_test::start(d, "ccd", json{{"inner", 2}}, 3, 3, penalty);
  double previous = r.loss->value(d, r.W, r.H) + penalty.value(r.W, r.H);
  const double initial = previous;
  double worst = -1;
  for (int it = 0; it < 60; ++it) {
    r.solver->step(r.W, r.H);
    const double f = r.loss->value(d, r.W, r.H) + penalty.value(r.W, r.H);
    worst = std::max(worst, (f - previous) / previous);
    previous = f;
  }
  CHECK(worst <= 1e-12);
  CHECK(previous < 0.2 * initial);
  // With 2 threads, bit-identical factors (rows are independent).
  auto one = ratings_test::start(d, "ccd", json::object(), 3, 3, penalty);
  auto two = ratings_test::start(d, "ccd", json::object(), 3, 3, penalty);
  nmfx::set_threads(2);
  {
    nmfx::Problem problem{d, *two.loss, "frobenius", 3, 2, penalty};
    two.solver->prepare(problem, two.W, two.H);
  }
  for (int it = 0; it < 5; ++it) {
    one.solver->step(one.W, one.H);
    two.solver->step(two.W, two.H);
  }
  nmfx::set_threads(1);
  CHECK(one.W == two.W);
  CHECK(one.H == two.H);

  // sgd: per_rating applies the penalty at each of a user's n_u ratings, by_count once in total, so
  // per_rating shrinks the factors much more. by_count minimizes the reported objective itself.
  auto norm = [](const Matrix& A) {
    double s = 0;
    for (double v : A) s += v * v;
    return s;
  };
  double norms[2];
  int k = 0;
  for (const std::string spread : {"by_count", "per_rating"}) {
    auto s = ratings_test::start(d, "sgd", json{{"eta", 0.02}, {"penalty_spread", spread}, {"seed", 1}}, 3, 3,
                                 nmfx::Penalty{0, 0.5, 0, 0.5});
    const double f0 = s.loss->value(d, s.W, s.H) + 0.25 * (norm(s.W) + norm(s.H));
    for (int it = 0; it < 30; ++it) s.solver->step(s.W, s.H);
    const double f1 = s.loss->value(d, s.W, s.H) + 0.25 * (norm(s.W) + norm(s.H));
    if (spread == "by_count") CHECK(f1 < 0.5 * f0);
    norms[k++] = norm(s.W) + norm(s.H);
  }
  CHECK(norms[1] < 0.5 * norms[0]);
}
