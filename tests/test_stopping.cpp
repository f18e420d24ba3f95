// Stopping rules (framework/host/stopping.hpp) driven by the cell session: each rule stops the run
// exactly when its condition first holds at a checkpoint, and the run names it as stop_reason; and
// end to end through nmfx run: max_time_s, tol and pg_tol (Lin 2007).
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include <nmfx/host/cell_session.hpp>
#include <nmfx/host/spec.hpp>

#include "support.hpp"

using nmfx::json;
using nmfx::Matrix;

namespace {

struct Ran {
  std::string stop_reason;
  std::unique_ptr<nmfx::CellSession> session;
  const json& column(const std::string& name) const { return session->trace().columns().at(name); }
};

// A planted rank-4 40 x 30 X (exact product of uniform factors), solved at rank 4 from seed 3.
const nmfx::Data& planted() {
  static const nmfx::Data X = test::make_data(
      test::naive_product(test::random_matrix(40, 4, 1, 0.1, 1.0), test::random_matrix(4, 30, 2, 0.1, 1.0)));
  return X;
}

Ran run(const json& stopping, const json& checkpoints, const std::string& solver = "hals",
        std::vector<std::pair<std::string, json>> metrics = {}) {
  nmfx::SessionSetup setup;
  setup.solver = solver;
  setup.rank = 4;
  setup.metrics = std::move(metrics);
  Ran r;
  r.session =
      std::make_unique<nmfx::CellSession>(test::registry(), planted(), setup, test::random_matrix(40, 4, 3, 0.1, 1.0),
                                          test::random_matrix(4, 30, 4, 0.1, 1.0));
  auto rules = nmfx::make_stopping_rules(stopping);
  r.stop_reason =
      r.session->run(rules, nmfx::checkpoint_iterations(checkpoints, stopping["max_iter"].get<std::size_t>()));
  return r;
}

json base(json extra) {
  json s = {{"max_iter", 100000}, {"max_time_s", 0.0}, {"tol", 0.0}, {"pg_tol", 0.0}};
  s.update(extra);
  return s;
}

}  // namespace

TEST_CASE("stopping: the vocabulary is fixed and each rule names itself") {
  CHECK(nmfx::stop_reasons() ==
        std::vector<std::string>{"tol", "pg_tol", "target", "connectivity", "max_time_s", "max_iter"});
  auto rules = nmfx::make_stopping_rules({{"max_iter", 5},
                                          {"max_time_s", 1.0},
                                          {"tol", 1e-3},
                                          {"pg_tol", 1e-4},
                                          {"target", {{"loss", 1.0}}},
                                          {"connectivity", {{"every", 10}, {"unchanged", 41}}}});
  std::vector<std::string> names;
  for (const auto& r : rules) names.push_back(r->name());
  CHECK(names == nmfx::stop_reasons());
  // Rules whose value is 0 are off; max_iter is always on.
  CHECK(nmfx::make_stopping_rules({{"max_iter", 5}, {"max_time_s", 0.0}, {"tol", 0.0}, {"pg_tol", 0.0}}).size() == 1);
}

TEST_CASE("stopping: max_iter stops after exactly max_iter steps, with a checkpoint there, and 0 takes none") {
  const Ran r = run(base({{"max_iter", 7}}), {{"every", 5}});
  CHECK(r.stop_reason == "max_iter");
  CHECK(r.session->iteration() == 7);
  CHECK(r.column("iteration") == json::array({0, 5, 7}));
  const Ran none = run(base({{"max_iter", 0}}), {{"every", 5}});
  CHECK(none.stop_reason == "max_iter");
  CHECK(none.session->iteration() == 0);
  CHECK(none.column("iteration") == json::array({0}));
}

TEST_CASE("stopping: max_time_s stops once the solver's seconds reach the limit, at a checkpoint taken then") {
  const double limit = 0.05;
  const Ran r = run(base({{"max_iter", 100000000}, {"max_time_s", limit}}), {{"every", 10000000}}, "mu");
  CHECK(r.stop_reason == "max_time_s");
  CHECK(r.session->solver_seconds() >= limit);
  CHECK(r.session->iteration() < 100000000);
  // The last row is the iteration where the budget ran out, not a scheduled checkpoint.
  CHECK(r.column("iteration").back() == r.session->iteration());
  CHECK(r.column("solver_seconds").back().get<double>() >= limit);
}

TEST_CASE("stopping: tol stops at the first checkpoint whose relative decrease is at most tol") {
  const double tol = 1e-3;
  const Ran r = run(base({{"tol", tol}}), {{"every", 5}}, "mu");
  CHECK(r.stop_reason == "tol");
  const json& f = r.column("loss");
  REQUIRE(f.size() >= 3);
  for (std::size_t k = 1; k + 1 < f.size(); ++k)
    CHECK(f[k - 1].get<double>() - f[k].get<double>() > tol * f[k - 1].get<double>());
  const double prev = f[f.size() - 2], last = f.back();
  CHECK(prev - last <= tol * prev);
}

TEST_CASE("stopping: pg_tol stops at the first checkpoint where ||grad^P f|| <= pg_tol ||grad^P f(0)||") {
  const double pg_tol = 1e-3;
  const Ran r = run(base({{"pg_tol", pg_tol}}), {{"every", 2}}, "anls_bpp");
  CHECK(r.stop_reason == "pg_tol");
  const json& pg = r.column("projected_gradient");
  REQUIRE(pg.size() >= 3);
  for (std::size_t k = 1; k + 1 < pg.size(); ++k) CHECK(pg[k].get<double>() > pg_tol * pg[0].get<double>());
  CHECK(pg.back().get<double>() <= pg_tol * pg[0].get<double>());
  // The column is the projected gradient of the final factors, measured independently.
  CHECK(pg.back().get<double>() == doctest::Approx(r.session->projected_gradient()).epsilon(1e-9));
}

TEST_CASE("stopping: target stops at the first checkpoint where the metric reaches the value") {
  const double target = 1e-2;
  const Ran r = run(base({{"target", {{"relative_error", target}}}}), {{"every", 3}}, "hals",
                    {{"relative_error", json::object()}});
  CHECK(r.stop_reason == "target");
  const json& e = r.column("relative_error");
  REQUIRE(e.size() >= 2);
  for (std::size_t k = 0; k + 1 < e.size(); ++k) CHECK(e[k].get<double>() > target);
  CHECK(e.back().get<double>() <= target);
  // ||X - WH||_F / ||X||_F of the final factors, computed without the plugin.
  const Matrix P = test::naive_product(r.session->W(), r.session->H());
  double err = 0;
  for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - planted().dense.data()[k], 2);
  CHECK(std::sqrt(err / planted().norm_sq) <= target);
  CHECK(r.session->iteration() < 100000);

  SUBCASE("a target on the loss, no metric needed") {
    const Ran l = run(base({{"target", {{"loss", 0.1}}}}), {{"every", 1}});
    CHECK(l.stop_reason == "target");
    CHECK(l.column("loss").back().get<double>() <= 0.1);
    CHECK(l.column("loss")[l.column("loss").size() - 2].get<double>() > 0.1);
  }
  SUBCASE("a column the trace does not have fails the run, naming it") {
    CHECK_THROWS_WITH_AS(
        run(base({{"target", {{"rel_error", 0.1}}}}), {{"every", 3}}, "hals", {{"relative_error", json::object()}}),
        doctest::Contains("stopping.target: the trace has no column 'rel_error'"), nmfx::Error);
  }
}

TEST_CASE("stopping: spec target is parsed into the cell, and checked") {
  const auto dir = test::temp_dir("spec_target");
  const std::string head = "name: t\ndatasets: [synthetic]\nsolvers: [mu]\nlosses: [frobenius]\nranks: [2]\n";
  test::write(dir / "ok.yaml",
              head + "metrics: [relative_error]\nstopping: {max_iter: 50, target: {relative_error: 1e-3}}\n");
  const nmfx::Spec spec = nmfx::parse_spec((dir / "ok.yaml").string());
  CHECK(spec.stopping["target"] == json{{"relative_error", 1e-3}});
  CHECK(spec.stopping["max_iter"] == 50);
  nmfx::validate_spec(spec, test::registry());
  // Without target, the stopping of a cell (and so its id) is as before.
  test::write(dir / "plain.yaml", head + "stopping: {max_iter: 50}\n");
  CHECK_FALSE(nmfx::parse_spec((dir / "plain.yaml").string()).stopping.contains("target"));

  test::write(dir / "bad.yaml", head + "stopping: {target: {relative_error: fast}}\n");
  CHECK_THROWS_WITH_AS(nmfx::parse_spec((dir / "bad.yaml").string()),
                       doctest::Contains("stopping.target.relative_error: expected a finite number"), nmfx::SpecError);
  test::write(dir / "list.yaml", head + "stopping: {target: [1, 2]}\n");
  CHECK_THROWS_WITH_AS(nmfx::parse_spec((dir / "list.yaml").string()),
                       doctest::Contains("stopping.target: expected a mapping"), nmfx::SpecError);
}

namespace {

// R NMF's connectivity matrix: C(i, j) = 1 when samples i and j have their largest H entry in the
// same component (R's which.max: the first on ties).
std::vector<int> connectivity_matrix(const Matrix& H) {
  const std::size_t L = H.shape()[0], N = H.shape()[1];
  std::vector<std::size_t> index(N);
  for (std::size_t j = 0; j < N; ++j) {
    double best = -1;
    for (std::size_t l = 0; l < L; ++l)
      if (H(l, j) > best) best = H(l, j), index[j] = l;
  }
  std::vector<int> C(N * N);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = 0; j < N; ++j) C[i * N + j] = index[i] == index[j];
  return C;
}

// An H (2 x N) whose samples are split as `group`: sample j goes to component group[j] (or to the
// other one when `swapped`, which leaves the connectivity as it is).
Matrix split(const std::vector<int>& group, bool swapped) {
  Matrix H({2, group.size()});
  for (std::size_t j = 0; j < group.size(); ++j) {
    const int g = swapped ? 1 - group[j] : group[j];
    H(g, j) = 1.0 + 0.1 * static_cast<double>(j);
    H(1 - g, j) = 0.5;
  }
  return H;
}

}  // namespace

TEST_CASE("stopping: connectivity stops at the stated count of unchanged checks, and never while it changes") {
  const Matrix W({1, 2});
  SUBCASE("constant connectivity, with the components renumbered at every check: stops at every * (unchanged + 1)") {
    nmfx::ConnectivityRule rule(5, 3);
    std::size_t stopped = 0;
    for (std::size_t it = 1; it <= 100 && !stopped; ++it)
      if (rule.watch(it, W, split({0, 1, 1, 0, 1}, it % 2 == 0))) stopped = it;
    // The check at 5 has nothing to compare with; those at 10, 15 and 20 find it unchanged.
    CHECK(stopped == 20);
    CHECK(rule.met({}));
  }
  SUBCASE("a partition that changes at every check never stops the run") {
    nmfx::ConnectivityRule rule(5, 3);
    for (std::size_t it = 1; it <= 10000; ++it) {
      const bool odd_check = (it / 5) % 2 == 1;
      CHECK_FALSE(rule.watch(it, W, split({0, odd_check ? 1 : 0, 1, 1}, false)));
    }
    CHECK_FALSE(rule.met({}));
  }
  SUBCASE("a change restarts the count") {
    nmfx::ConnectivityRule rule(1, 3);
    const std::vector<int> a = {0, 0, 1}, b = {0, 1, 1};
    const std::vector<std::vector<int>> seq = {a, a, a, b, b, b, b};  // unchanged at checks 2, 3; 5, 6, 7
    std::vector<bool> got;
    for (std::size_t it = 1; it <= seq.size(); ++it) got.push_back(rule.watch(it, W, split(seq[it - 1], false)));
    CHECK(got == std::vector<bool>{false, false, false, false, false, false, true});
  }
}

TEST_CASE("stopping: a run stops by connectivity exactly where R NMF's rule would, computed from its own steps") {
  const std::size_t every = 2, unchanged = 6;
  const json stopping = base({{"connectivity", {{"every", every}, {"unchanged", unchanged}}}});
  const Ran r = run(stopping, {{"every", 1000}});
  CHECK(r.stop_reason == "connectivity");
  CHECK(r.column("iteration").back() == r.session->iteration());

  // The same start stepped by hand, with R NMF's N x N connectivity matrices and its counter.
  nmfx::SessionSetup setup;
  setup.solver = "hals";
  setup.rank = 4;
  nmfx::CellSession by_hand(test::registry(), planted(), setup, test::random_matrix(40, 4, 3, 0.1, 1.0),
                            test::random_matrix(4, 30, 4, 0.1, 1.0));
  std::vector<int> previous;
  std::size_t count = 0, expected = 0;
  while (!expected && by_hand.iteration() < 100000) {
    by_hand.step();
    if (by_hand.iteration() % every) continue;
    const auto C = connectivity_matrix(by_hand.H());
    if (C == previous) {
      if (++count == unchanged) expected = by_hand.iteration();
    } else {
      previous = C, count = 0;
    }
  }
  CHECK(r.session->iteration() == expected);

  SUBCASE("rank 1: one cluster from the start, so the stop is at every * (unchanged + 1)") {
    nmfx::SessionSetup one;
    one.solver = "mu";
    one.rank = 1;
    nmfx::CellSession s(test::registry(), planted(), one, test::random_matrix(40, 1, 3, 0.1, 1.0),
                        test::random_matrix(1, 30, 4, 0.1, 1.0));
    auto rules = nmfx::make_stopping_rules(base({{"connectivity", {{"every", 10}, {"unchanged", 4}}}}));
    CHECK(s.run(rules, nmfx::checkpoint_iterations({{"every", 7}}, 100000)) == "connectivity");
    CHECK(s.iteration() == 50);
  }
}

TEST_CASE("stopping: spec connectivity takes R NMF's brunet defaults, and is checked") {
  const auto dir = test::temp_dir("spec_connectivity");
  const std::string head = "name: t\ndatasets: [synthetic]\nsolvers: [mu]\nlosses: [kl]\nranks: [2]\n";
  test::write(dir / "ok.yaml", head + "stopping: {max_iter: 2000, connectivity: {}}\n");
  const nmfx::Spec spec = nmfx::parse_spec((dir / "ok.yaml").string());
  CHECK(spec.stopping["connectivity"] == json{{"every", 10}, {"unchanged", 41}});
  nmfx::validate_spec(spec, test::registry());
  test::write(dir / "given.yaml", head + "stopping: {connectivity: {every: 5, unchanged: 3}}\n");
  CHECK(nmfx::parse_spec((dir / "given.yaml").string()).stopping["connectivity"] ==
        json{{"every", 5}, {"unchanged", 3}});
  test::write(dir / "zero.yaml", head + "stopping: {connectivity: {every: 0}}\n");
  CHECK_THROWS_WITH_AS(nmfx::parse_spec((dir / "zero.yaml").string()),
                       doctest::Contains("stopping.connectivity.every: must be at least 1"), nmfx::SpecError);
  test::write(dir / "typo.yaml", head + "stopping: {connectivity: {unchanging: 3}}\n");
  CHECK_THROWS_WITH_AS(nmfx::parse_spec((dir / "typo.yaml").string()), doctest::Contains("did you mean 'unchanged'"),
                       nmfx::SpecError);
  test::write(dir / "scalar.yaml", head + "stopping: {connectivity: 40}\n");
  CHECK_THROWS_WITH_AS(nmfx::parse_spec((dir / "scalar.yaml").string()),
                       doctest::Contains("stopping.connectivity: expected {every"), nmfx::SpecError);
}

TEST_CASE("stopping: max_time_s and tol end a run with their reason") {
  const auto dir = test::temp_dir("stopping");
  test::write(dir / "s.yaml",
              "datasets: [{name: synthetic, params: {m: 30, n: 20, rank: 2}}]\n"
              "solvers: [mu]\nranks: 2\n"
              "stopping: [{max_iter: 100000, tol: 1e-3}]\n"
              "output: out\n");
  // A list where a mapping is expected is an error.
  auto r = test::nmfx_command("run s.yaml", dir);
  CHECK(r.status == 2);
  test::write(dir / "s.yaml",
              // Noise keeps the optimum's loss above 0: on an exact rank-2 X, MU can drive the loss to
              // 0 and stall there, which ends the tol: 0 cell by tol before max_time_s.
              "datasets: [{name: synthetic, params: {m: 30, n: 20, rank: 2, noise: 0.1}}]\n"
              "solvers: [mu]\nranks: 2\n"
              "stopping: {max_iter: 100000000, tol: [0.01, 0], max_time_s: 0.3}\ncheckpoints: {log: 30}\n"
              "output: out\n");
  r = test::nmfx_command("run s.yaml", dir);
  CHECK(r.status == 0);
  std::set<std::string> reasons;
  for (const auto& e : test::fs::directory_iterator(dir / "out"))
    if (e.path().extension() == ".json") {
      const json res = json::parse(test::read(e.path()));
      reasons.insert(res["stop_reason"].get<std::string>());
      if (res["stop_reason"] == "max_time_s") CHECK(res["solver_seconds"].get<double>() >= 0.3);
      if (res["stop_reason"] == "tol") {
        const auto& loss = res["trace"]["loss"];
        const double last = loss[loss.size() - 1], before = loss[loss.size() - 2];
        CHECK(before - last <= 0.01 * before);
      }
    }
  CHECK(reasons == std::set<std::string>{"max_time_s", "tol"});
}

TEST_CASE("pg_tol stops when the projected gradient falls below a fraction of its start (Lin 2007)") {
  const auto dir = test::temp_dir("pg_tol");
  test::write(dir / "s.yaml",
              "datasets: [{name: synthetic, params: {m: 30, n: 20, rank: 3}}]\n"
              "solvers: [mu]\nranks: 3\nstopping: {max_iter: 100000, pg_tol: 1e-2}\ncheckpoints: 5\n"
              "metrics: [kkt]\noutput: out\n");
  const auto r = test::nmfx_command("run s.yaml", dir);
  REQUIRE(r.status == 0);
  for (const auto& e : test::fs::directory_iterator(dir / "out"))
    if (e.path().extension() == ".json") {
      const json res = json::parse(test::read(e.path()));
      CHECK(res["stop_reason"] == "pg_tol");
      const auto& pg = res["trace"]["projected_gradient"];
      const std::size_t n = pg.size();
      CHECK(pg[n - 1].get<double>() <= 1e-2 * pg[0].get<double>());
      CHECK(pg[n - 2].get<double>() > 1e-2 * pg[0].get<double>());  // and not one checkpoint later than needed
      // The kkt metric measures the same quantity (as a sum rather than a 2-norm of the two parts).
      const double w = res["trace"]["kkt_projected_gradient_W"][n - 1],
                   h = res["trace"]["kkt_projected_gradient_H"][n - 1];
      CHECK(std::hypot(w, h) == doctest::Approx(pg[n - 1].get<double>()).epsilon(1e-12));
    }
}
