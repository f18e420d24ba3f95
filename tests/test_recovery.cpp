// Issue on the solvers: "On a planted exact factorization every solver reaches relative error below
// 1e-4 from the same random start." One planted problem, one start, every Frobenius solver.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "support.hpp"

TEST_CASE("every solver reaches relative error below 1e-4 on a planted exact factorization from the same start") {
  const nmfx::Matrix W0 = test::random_matrix(40, 4, 1), H0 = test::random_matrix(4, 30, 2);
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  const nmfx::Matrix W_start = test::random_matrix(40, 4, 5, 0.1, 1.0),
                     H_start = test::random_matrix(4, 30, 6, 0.1, 1.0);
  const auto& reg = test::registry();
  auto relative_error = [&](const nmfx::Matrix& W, const nmfx::Matrix& H) {
    const nmfx::Matrix P = test::naive_product(W, H);
    double err = 0;
    for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - X.dense.data()[k], 2);
    return std::sqrt(err / X.norm_sq);
  };
  // Iteration budgets, about ten times what each needed when written (the loop stops at 1e-4): MU
  // converges slowly (seed 000 Fig. 4), and so do all of them on the last digits of this problem.
  const std::vector<std::pair<std::string, int>> solvers = {{"mu", 200000},        {"accel_mu", 20000}, {"hals", 20000},
                                                            {"accel_hals", 20000}, {"anls_bpp", 20000}, {"pgd", 20000},
                                                            {"cd", 20000}};
  for (const auto& [name, budget] : solvers) {
    CAPTURE(name);
    auto loss = reg.create<nmfx::Loss>("frobenius", nmfx::json::object());
    auto solver = reg.create<nmfx::Solver>(
        name,
        nmfx::resolve_params(reg.require(nmfx::PluginKind::solver, name)->descriptor->params, nmfx::json::object()));
    nmfx::Matrix W = W_start, H = H_start;
    loss->prepare(X, 4);
    nmfx::Problem problem{X, *loss, "frobenius", 4, 1};
    solver->prepare(problem, W, H);
    const double start = relative_error(W, H);
    double err = start;
    int it = 0;
    for (; it < budget && err >= 1e-4; ++it) {
      solver->step(W, H);
      if (it % 100 == 99) err = relative_error(W, H);
    }
    err = relative_error(W, H);
    MESSAGE(name << ": " << err << " after " << it << " iterations");
    CHECK(start > 0.1);
    CHECK(err < 1e-4);
  }
}

TEST_CASE("at convergence the kkt metric of hals anls_bpp and pgd is below 1e-6 relative") {
  // A noisy planted problem (so that the stationary point has active bounds), run end to end with
  // the kkt metric; its values at the start and at the last checkpoint from the results file.
  const auto dir = test::temp_dir("kkt_convergence");
  test::write(dir / "kkt.yaml", R"(name: kkt
datasets:
  - name: synthetic
    params: {m: 30, n: 20, rank: 3, noise: 0.2}
solvers: [hals, anls_bpp, pgd]
losses: [frobenius]
ranks: [3]
stopping: {max_iter: 20000}
checkpoints: {every: 20000}
metrics: [kkt]
threads: 1
output: out
)");
  const auto r = test::nmfx_command("run kkt.yaml", dir);
  REQUIRE_MESSAGE(r.status == 0, r.output);
  int runs = 0;
  std::istringstream summary_lines(test::read(dir / "out" / "summary.jsonl"));
  for (std::string line; std::getline(summary_lines, line);) {
    const nmfx::json summary = nmfx::json::parse(line);
    const nmfx::json result = nmfx::json::parse(test::read(dir / "out" / summary["file"].get<std::string>()));
    const auto& trace = result["trace"];
    CAPTURE(summary["solver"].get<std::string>());
    const double pg0 = trace["kkt_projected_gradient"].front().get<double>();
    CHECK(pg0 > 1.0);
    CHECK(trace["kkt_projected_gradient_relative"].back().get<double>() < 1e-6);
    // Complementarity W * grad_W f and H * grad_H f, on the scale of the starting gradient.
    CHECK(trace["kkt_complementarity_W"].back().get<double>() < 1e-6 * pg0);
    CHECK(trace["kkt_complementarity_H"].back().get<double>() < 1e-6 * pg0);
    ++runs;
  }
  CHECK(runs == 3);
}
