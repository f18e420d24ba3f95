// Penalties (elastic net on W and H): their value, monotone decrease and sparsity with mu, and the
// refusal of a penalty by a solver that cannot honour it, through the runner.
#include <doctest/doctest.h>

#include "support.hpp"

using nmfx::json;

TEST_CASE("Penalty value is l1 |A|_1 + l2/2 |A|_F^2 for each factor") {
  const nmfx::Matrix W = {{1.0, 2.0}}, H = {{3.0}, {0.0}};
  const nmfx::Penalty p{0.5, 2.0, 0.25, 4.0};
  // W: 0.5*3 + 1*(1+4) = 6.5;  H: 0.25*3 + 2*9 = 18.75
  CHECK(p.value(W, H) == doctest::Approx(25.25).epsilon(1e-15));
  CHECK_FALSE(nmfx::Penalty{}.any());
}

TEST_CASE("mu with L1 and L2 penalties never increases the penalized objective") {
  const nmfx::Data X = test::make_data(test::random_matrix(40, 30, 2));
  for (const std::string loss_name : {"frobenius", "kl"}) {
    CAPTURE(loss_name);
    auto loss = test::registry().create<nmfx::Loss>(loss_name, json::object());
    auto mu = test::registry().create<nmfx::Solver>("mu", json{{"eps", 1e-10}});
    nmfx::Matrix W = test::random_matrix(40, 5, 3, 0.1, 1.0), H = test::random_matrix(5, 30, 4, 0.1, 1.0);
    loss->prepare(X, 5);
    const nmfx::Penalty penalty{0.3, 0.2, 0.1, 0.5};
    nmfx::Problem problem{X, *loss, loss_name, 5, 1, penalty};
    mu->prepare(problem, W, H);
    double previous = loss->value(X, W, H) + penalty.value(W, H);
    double worst = -1;
    for (int it = 0; it < 300; ++it) {
      mu->step(W, H);
      const double f = loss->value(X, W, H) + penalty.value(W, H);
      worst = std::max(worst, (f - previous) / previous);
      previous = f;
    }
    CHECK(worst <= 1e-12);
  }
}

TEST_CASE("raising the L1 weight on H raises the sparsity of H on a fixed problem and seed") {
  const auto dir = test::temp_dir("l1_sparsity");
  test::write(dir / "s.yaml",
              "datasets: [{name: synthetic, params: {m: 60, n: 50, rank: 5, noise: 0.05}}]\n"
              "solvers: [mu]\nranks: 5\nstopping: {max_iter: 400}\n"
              "regularization: {alpha_W: 0, alpha_H: [0, 5, 50], l1_ratio: 1}\n"
              "metrics: [sparsity, loss]\noutput: out\n");
  const auto r = test::nmfx_command("run s.yaml", dir);
  REQUIRE(r.status == 0);
  std::map<double, double> sparsity_H;
  for (const auto& e : test::fs::directory_iterator(dir / "out"))
    if (e.path().extension() == ".json") {
      const json res = json::parse(test::read(e.path()));
      const double alpha_H = res["cell"]["regularization"]["alpha_H"];
      sparsity_H[alpha_H] = res["final"]["sparsity_H"];
      if (alpha_H > 0) {
        // The objective includes the penalty; the loss column does not.
        CHECK(res["final"]["objective"].get<double>() > res["final"]["loss"].get<double>());
        CHECK(res["final"].contains("objective"));
      }
    }
  REQUIRE(sparsity_H.size() == 3);
  CHECK(sparsity_H[5.0] > sparsity_H[0.0]);
  CHECK(sparsity_H[50.0] > sparsity_H[5.0]);
}

TEST_CASE("a penalty given to a solver that cannot honour it is refused at validation") {
  const auto dir = test::temp_dir("penalty_refused");
  test::write(dir / "s.yaml",
              "datasets: [synthetic]\nsolvers: [failing]\nranks: 3\n"
              "regularization: {alpha_W: 0.1}\noutput: out\n"
              "plugin_paths: ['" NMFX_TEST_PLUGIN_DIR "']\n");
  const auto r = test::nmfx_command("validate s.yaml", dir);
  CHECK(r.status == 2);
  CHECK(r.output.find("s.yaml:4: regularization: solver 'failing'") != std::string::npos);
}
