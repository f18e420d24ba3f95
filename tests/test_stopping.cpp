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
  CHECK(nmfx::stop_reasons() == std::vector<std::string>{"tol", "pg_tol", "target", "max_time_s", "max_iter"});
  auto rules = nmfx::make_stopping_rules(
      {{"max_iter", 5}, {"max_time_s", 1.0}, {"tol", 1e-3}, {"pg_tol", 1e-4}, {"target", {{"loss", 1.0}}}});
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
              "datasets: [{name: synthetic, params: {m: 30, n: 20, rank: 2}}]\n"
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
