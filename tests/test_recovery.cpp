// Issue on the solvers: "On a planted exact factorization every solver reaches relative error below
// 1e-4 from the same random start." One planted problem, one start, every Frobenius solver.
#include <doctest/doctest.h>

#include <cmath>

#include "support.hpp"

TEST_CASE("every solver reaches relative error below 1e-4 on a planted exact factorization from the same start") {
  const nmfx::Matrix W0 = test::random_matrix(40, 4, 1), H0 = test::random_matrix(4, 30, 2);
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  const nmfx::Matrix W_start = test::random_matrix(40, 4, 5, 0.1, 1.0), H_start = test::random_matrix(4, 30, 6, 0.1, 1.0);
  const auto& reg = test::registry();
  auto relative_error = [&](const nmfx::Matrix& W, const nmfx::Matrix& H) {
    const nmfx::Matrix P = test::naive_product(W, H);
    double err = 0;
    for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - X.dense.data()[k], 2);
    return std::sqrt(err / X.norm_sq);
  };
  // Iteration budgets, about ten times what each needed when written (the loop stops at 1e-4): MU
  // converges slowly (seed 000 Fig. 4), and so do all of them on the last digits of this problem.
  const std::vector<std::pair<std::string, int>> solvers = {
      {"mu", 200000}, {"accel_mu", 20000}, {"hals", 20000}, {"accel_hals", 20000},
      {"anls_bpp", 20000}, {"pgd", 20000}, {"cd", 20000}};
  for (const auto& [name, budget] : solvers) {
    CAPTURE(name);
    auto loss = reg.create<nmfx::Loss>("frobenius", nmfx::json::object());
    auto solver = reg.create<nmfx::Solver>(
        name, nmfx::resolve_params(reg.require(nmfx::PluginKind::solver, name)->descriptor->params, nmfx::json::object()));
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
