// HALS (Cichocki & Phan 2009; seed 000 eq. 12) and Gillis & Glineur's accelerated MU and HALS
// (seed 000 section 4, Algorithms 5-7): monotone decrease, the equation itself, alpha = 0 giving
// back the plain methods iterate for iterate, the inner-loop counts and early stop, recovery of a
// planted factorization, penalties and the zero-component safety step.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <nmfx/kkt.hpp>
#include <nmfx/linalg.hpp>

#include <nmfx_common/hals_sweep.hpp>
#include "support.hpp"

using nmfx::json;

namespace {

std::shared_ptr<nmfx::Solver> solver(const std::string& name, const json& given) {
  const auto* plugin = test::registry().require(nmfx::PluginKind::solver, name);
  return test::registry().create<nmfx::Solver>(name, nmfx::resolve_params(plugin->descriptor->params, given));
}

std::shared_ptr<nmfx::Loss> frobenius(const nmfx::Data& X, std::size_t rank) {
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  loss->prepare(X, rank);
  return loss;
}

double relative_error(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
  const nmfx::Matrix P = test::naive_product(W, H);
  double err = 0;
  for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - X.dense.data()[k], 2);
  return std::sqrt(err / X.norm_sq);
}

nmfx::Matrix transposed(const nmfx::Matrix& A) {
  nmfx::Matrix T = nmfx::Matrix::from_shape({A.shape(1), A.shape(0)});
  for (std::size_t i = 0; i < A.shape(0); ++i)
    for (std::size_t j = 0; j < A.shape(1); ++j) T(j, i) = A(i, j);
  return T;
}

std::size_t zeros(const nmfx::Matrix& A) {
  std::size_t n = 0;
  for (double v : A) n += v == 0.0;
  return n;
}

}  // namespace

TEST_CASE("hals and accel_hals and accel_mu never increase the Frobenius loss over 300 iterations") {
  const nmfx::Data X = test::make_data(test::random_matrix(60, 45, 7));
  const std::size_t L = 6;
  for (const auto& [name, params] :
       std::vector<std::pair<std::string, json>>{{"hals", json::object()},
                                                 {"accel_hals", json{{"variant", "alg7"}}},
                                                 {"accel_hals", json{{"variant", "alg7"}, {"rho_formula", "gillis"}}},
                                                 {"accel_mu", json{{"variant", "alg7"}}}}) {
    CAPTURE(name);
    CAPTURE(params.dump());
    auto loss = frobenius(X, L);
    auto s = solver(name, params);
    nmfx::Matrix W = test::random_matrix(60, L, 11, 0.1, 1.0), H = test::random_matrix(L, 45, 12, 0.1, 1.0);
    s->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W, H);
    double previous = loss->value(X, W, H);
    const double initial = previous;
    double worst = -1;
    for (int it = 0; it < 300; ++it) {
      s->step(W, H);
      const double value = loss->value(X, W, H);
      worst = std::max(worst, (value - previous) / previous);
      previous = value;
    }
    CHECK(worst <= 1e-12);
    CHECK(previous < 0.9 * initial);
  }
}

TEST_CASE("one hals step is eq. 12 of seed 000 computed term by term") {
  // W[:,j] <- max(0, (A[:,j] - sum_{l<j} W_new[:,l] B[l,j] - sum_{l>j} W_old[:,l] B[l,j]) / B[j,j]),
  // A = X H^T, B = H H^T; then the rows of H likewise with A = W^T X, B = W^T W (Algorithms 3-4).
  const std::size_t M = 23, N = 17, L = 5;
  const nmfx::Data X = test::make_data(test::random_matrix(M, N, 21));
  // Scaled so that WH is about X and no component vanishes (the safety step is tested below).
  nmfx::Matrix W = test::random_matrix(M, L, 22, 0.05, 0.5), H = test::random_matrix(L, N, 23, 0.05, 0.5);
  // The reference, with naive sums.
  nmfx::Matrix W1 = W, H1 = H;
  for (std::size_t j = 0; j < L; ++j) {
    double Bjj = 0;
    for (std::size_t n = 0; n < N; ++n) Bjj += H(j, n) * H(j, n);
    for (std::size_t i = 0; i < M; ++i) {
      double a = 0;
      for (std::size_t n = 0; n < N; ++n) a += X.dense(i, n) * H(j, n);
      for (std::size_t l = 0; l < L; ++l) {
        if (l == j) continue;
        double Blj = 0;
        for (std::size_t n = 0; n < N; ++n) Blj += H(l, n) * H(j, n);
        a -= W1(i, l) * Blj;  // W1(i, l) is new for l < j, old for l > j
      }
      W1(i, j) = std::max(0.0, a / Bjj);
    }
  }
  for (std::size_t j = 0; j < L; ++j) {
    double Bjj = 0;
    for (std::size_t i = 0; i < M; ++i) Bjj += W1(i, j) * W1(i, j);
    for (std::size_t n = 0; n < N; ++n) {
      double a = 0;
      for (std::size_t i = 0; i < M; ++i) a += W1(i, j) * X.dense(i, n);
      for (std::size_t l = 0; l < L; ++l) {
        if (l == j) continue;
        double Bjl = 0;
        for (std::size_t i = 0; i < M; ++i) Bjl += W1(i, j) * W1(i, l);
        a -= Bjl * H1(l, n);
      }
      H1(j, n) = std::max(0.0, a / Bjj);
    }
  }
  for (std::size_t j = 0; j < L; ++j) {
    double top = 0;
    for (std::size_t i = 0; i < M; ++i) top = std::max(top, W1(i, j));
    REQUIRE(top > 0);
  }
  auto loss = frobenius(X, L);
  auto hals = solver("hals", json::object());
  hals->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W, H);
  hals->step(W, H);
  for (std::size_t k = 0; k < W.size(); ++k) CHECK(W.data()[k] == doctest::Approx(W1.data()[k]).epsilon(1e-11));
  for (std::size_t k = 0; k < H.size(); ++k) CHECK(H.data()[k] == doctest::Approx(H1.data()[k]).epsilon(1e-11));
  CHECK(zeros(W) + zeros(H) > 0);  // the projection max(0, .) was exercised
}

TEST_CASE("accel_mu with alpha 0 gives exactly the iterates of mu with the frobenius loss") {
  const nmfx::Data X = test::make_data(test::random_matrix(50, 40, 31));
  const std::size_t L = 5;
  for (const nmfx::Penalty penalty : {nmfx::Penalty{}, nmfx::Penalty{0.2, 0.1, 0.3, 0.5}}) {
    CAPTURE(penalty.any());
    for (const double eps : {1e-10, 1e-3}) {
      CAPTURE(eps);
      auto loss_a = frobenius(X, L), loss_b = frobenius(X, L);
      auto mu = solver("mu", json{{"eps", eps}});
      auto acc = solver("accel_mu", json{{"alpha", 0.0}, {"eps", eps}});
      nmfx::Matrix W = test::random_matrix(50, L, 32, 0.1, 1.0), H = test::random_matrix(L, 40, 33, 0.1, 1.0);
      nmfx::Matrix W2 = W, H2 = H;
      mu->prepare(nmfx::Problem{X, *loss_a, "frobenius", L, 1, penalty}, W, H);
      acc->prepare(nmfx::Problem{X, *loss_b, "frobenius", L, 1, penalty}, W2, H2);
      bool same = true;
      for (int it = 0; it < 50; ++it) {
        mu->step(W, H);
        acc->step(W2, H2);
        same = same && W == W2 && H == H2;
        CHECK(acc->stats().at("inner_W") == 1);
        CHECK(acc->stats().at("inner_H") == 1);
      }
      CHECK(same);
    }
  }
}

TEST_CASE("accel_hals with alpha 0 gives exactly the iterates of hals") {
  const nmfx::Data X = test::make_data(test::random_matrix(70, 300, 41));  // more than one column block of H
  const std::size_t L = 7;
  for (const nmfx::Penalty penalty : {nmfx::Penalty{}, nmfx::Penalty{0.2, 0.1, 0.3, 0.5}}) {
    CAPTURE(penalty.any());
    auto loss = frobenius(X, L);
    auto hals = solver("hals", json::object());
    auto acc = solver("accel_hals", json{{"alpha", 0.0}});
    nmfx::Matrix W = test::random_matrix(70, L, 42, 0.1, 1.0), H = test::random_matrix(L, 300, 43, 0.1, 1.0);
    nmfx::Matrix W2 = W, H2 = H;
    hals->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, penalty}, W, H);
    acc->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, penalty}, W2, H2);
    bool same = true;
    for (int it = 0; it < 50; ++it) {
      hals->step(W, H);
      acc->step(W2, H2);
      same = same && W == W2 && H == H2;
    }
    CHECK(same);
    CHECK(acc->stats().at("inner_W") == 1);
    CHECK(acc->stats().at("inner_H") == 1);
  }
}

TEST_CASE("alg5 does exactly 1 + floor(alpha rho) inner updates and alg7 never more") {
  // 40 x 30 dense, L = 4, P = M N = 1200 (eqs 18-21):
  //   MU:   rho_W = 1 + (1200 + 120)/(160 + 40) = 7.6,   rho_H = 1 + (1200 + 160)/(120 + 30) = 10.07
  //   HALS: rho_W = 1 + (1200 + 120)/40 = 34,            rho_H = 1 + (1200 + 160)/30 = 46.33
  const nmfx::Data X = test::make_data(test::random_matrix(40, 30, 51));
  const std::size_t L = 4;
  const double M = 40, N = 30, P = 1200;
  const double mu_W = 1 + (P + N * L) / (M * L + M), mu_H = 1 + (P + M * L) / (N * L + N);
  const double hals_W = 1 + (P + N * L) / M, hals_H = 1 + (P + M * L) / N;
  struct Case {
    std::string name, rho_formula;
    double alpha, rho_W, rho_H;
  };
  for (const Case& c :
       {Case{"accel_mu", "", 1.0, mu_W, mu_H}, Case{"accel_mu", "", 2.0, mu_W, mu_H},
        Case{"accel_hals", "seed", 0.5, hals_W, hals_H}, Case{"accel_hals", "gillis", 0.5, mu_W, mu_H}}) {
    CAPTURE(c.name);
    CAPTURE(c.alpha);
    CAPTURE(c.rho_formula);
    const double cap_W = 1 + std::floor(c.alpha * c.rho_W), cap_H = 1 + std::floor(c.alpha * c.rho_H);
    json params{{"alpha", c.alpha}};
    if (!c.rho_formula.empty()) params["rho_formula"] = c.rho_formula;
    auto loss = frobenius(X, L);
    json params5 = params, params7 = params;
    params5["variant"] = "alg5";
    params7["variant"] = "alg7";
    auto alg5 = solver(c.name, params5), alg7 = solver(c.name, params7);
    nmfx::Matrix W = test::random_matrix(40, L, 52, 0.1, 1.0), H = test::random_matrix(L, 30, 53, 0.1, 1.0);
    nmfx::Matrix W2 = W, H2 = H;
    alg5->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W, H);
    alg7->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W2, H2);
    double most_W = 0, most_H = 0, least = 1e9;
    for (int it = 0; it < 30; ++it) {
      alg5->step(W, H);
      CHECK(alg5->stats().at("inner_W") == cap_W);
      CHECK(alg5->stats().at("inner_H") == cap_H);
      alg7->step(W2, H2);
      most_W = std::max(most_W, alg7->stats().at("inner_W"));
      most_H = std::max(most_H, alg7->stats().at("inner_H"));
      least = std::min({least, alg7->stats().at("inner_W"), alg7->stats().at("inner_H")});
    }
    CHECK(most_W <= cap_W);
    CHECK(most_H <= cap_H);
    CHECK(least >= 1);
    CHECK(most_W > 1);  // the cap allowed more than one, and at least once it was used
  }
}

TEST_CASE("accel_mu stops its inner updates when a step moves W by at most epsilon times the first step") {
  // The inner loop of Algorithm 6 on W, replayed with naive products: the early stop must fire at
  // the same p and leave the same W.
  const std::size_t M = 30, N = 25, L = 3;
  const nmfx::Data X = test::make_data(test::random_matrix(M, N, 61));
  const nmfx::Matrix W0 = test::random_matrix(M, L, 62, 0.1, 0.6), H0 = test::random_matrix(L, N, 63, 0.1, 0.6);
  std::size_t longest = 0;
  for (const double epsilon : {0.5, 0.1, 0.02}) {
    CAPTURE(epsilon);
    nmfx::Matrix W = W0, A = test::naive_product(X.dense, transposed(H0));
    const nmfx::Matrix B = test::naive_product(H0, transposed(H0));
    std::size_t expected = 0;
    double first = 0;
    for (std::size_t p = 1; p <= 1000; ++p) {
      const nmfx::Matrix C = test::naive_product(W, B);
      double moved = 0;
      for (std::size_t k = 0; k < W.size(); ++k) {
        const double v = W.data()[k] * A.data()[k] / std::max(C.data()[k], 1e-10);
        moved += (v - W.data()[k]) * (v - W.data()[k]);
        W.data()[k] = v;
      }
      if (p == 1) first = std::sqrt(moved);
      if (std::sqrt(moved) <= epsilon * first) {
        expected = p;
        break;
      }
    }
    REQUIRE(expected >= 2);
    longest = std::max(longest, expected);
    auto loss = frobenius(X, L);
    auto acc = solver("accel_mu", json{{"variant", "alg6"}, {"epsilon", epsilon}});
    nmfx::Matrix W1 = W0, H1 = H0;
    acc->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W1, H1);
    acc->step(W1, H1);
    CHECK(acc->stats().at("inner_W") == expected);
    for (std::size_t k = 0; k < W.size(); ++k) CHECK(W1.data()[k] == doctest::Approx(W.data()[k]).epsilon(1e-9));
  }
  CHECK(longest > 10);  // at least one case where the stop fired deep into the loop
}

TEST_CASE("accel_hals stops after the second sweep when the first already solved the subproblem") {
  // At rank 1 one HALS sweep is the exact NNLS solution, so the second sweep moves the factor by
  // rounding only: ||F(2) - F(1)|| <= epsilon ||F(1) - F(0)|| and the loop stops at p = 2.
  const nmfx::Data X = test::make_data(test::random_matrix(40, 30, 71));
  for (const std::string variant : {"alg6", "alg7"}) {
    CAPTURE(variant);
    auto loss = frobenius(X, 1);
    auto acc = solver("accel_hals", json{{"variant", variant}, {"alpha", 10.0}});
    nmfx::Matrix W = test::random_matrix(40, 1, 72, 0.1, 1.0), H = test::random_matrix(1, 30, 73, 0.1, 1.0);
    acc->prepare(nmfx::Problem{X, *loss, "frobenius", 1, 1}, W, H);
    for (int it = 0; it < 5; ++it) {
      acc->step(W, H);
      CHECK(acc->stats().at("inner_W") == 2);
      CHECK(acc->stats().at("inner_H") == 2);
    }
  }
}

TEST_CASE("hals and accel_hals recover a planted exact factorization to relative error below 1e-4") {
  const nmfx::Matrix W0 = test::random_matrix(40, 4, 1), H0 = test::random_matrix(4, 30, 2);
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  for (const std::string name : {"hals", "accel_hals"}) {
    CAPTURE(name);
    auto loss = frobenius(X, 4);
    auto s = solver(name, json::object());
    nmfx::Matrix W = test::random_matrix(40, 4, 5, 0.1, 1.0), H = test::random_matrix(4, 30, 6, 0.1, 1.0);
    s->prepare(nmfx::Problem{X, *loss, "frobenius", 4, 1}, W, H);
    for (int it = 0; it < 3000; ++it) s->step(W, H);
    CHECK(relative_error(X, W, H) < 1e-4);
  }
}

TEST_CASE("hals and accel_mu on sparse X give the iterates of dense X and the caps use P = nnz") {
  nmfx::Matrix A = test::random_matrix(50, 40, 81);
  for (double& v : A) v = v < 0.7 ? 0.0 : v;  // about 30% nonzero
  const nmfx::Data dense = test::make_data(A), sparse = test::make_sparse(A);
  REQUIRE(sparse.nnz == dense.nnz);
  for (const std::string name : {"hals", "accel_mu"}) {
    CAPTURE(name);
    auto loss_d = frobenius(dense, 4), loss_s = frobenius(sparse, 4);
    const json params = name == "hals" ? json::object() : json{{"alpha", 0.0}};
    auto sd = solver(name, params), ss = solver(name, params);
    nmfx::Matrix W = test::random_matrix(50, 4, 82, 0.1, 1.0), H = test::random_matrix(4, 40, 83, 0.1, 1.0);
    nmfx::Matrix W2 = W, H2 = H;
    sd->prepare(nmfx::Problem{dense, *loss_d, "frobenius", 4, 1}, W, H);
    ss->prepare(nmfx::Problem{sparse, *loss_s, "frobenius", 4, 1}, W2, H2);
    for (int it = 0; it < 20; ++it) {
      sd->step(W, H);
      ss->step(W2, H2);
    }
    for (std::size_t k = 0; k < W.size(); ++k) CHECK(W2.data()[k] == doctest::Approx(W.data()[k]).epsilon(1e-9));
    for (std::size_t k = 0; k < H.size(); ++k) CHECK(H2.data()[k] == doctest::Approx(H.data()[k]).epsilon(1e-9));
  }
  // On sparse X the cost model's P is nnz(X), not M N (seed 000, section 3.1).
  for (const std::string name : {"accel_mu", "accel_hals"}) {
    CAPTURE(name);
    auto loss = frobenius(sparse, 4);
    auto s = solver(name, json{{"variant", "alg5"}, {"alpha", 1.0}});
    nmfx::Matrix W = test::random_matrix(50, 4, 82, 0.1, 1.0), H = test::random_matrix(4, 40, 83, 0.1, 1.0);
    s->prepare(nmfx::Problem{sparse, *loss, "frobenius", 4, 1}, W, H);
    s->step(W, H);
    const double P = static_cast<double>(sparse.nnz), M = 50, N = 40, L = 4;
    const double rho_W = name == "accel_mu" ? 1 + (P + N * L) / (M * L + M) : 1 + (P + N * L) / M;
    const double rho_H = name == "accel_mu" ? 1 + (P + M * L) / (N * L + N) : 1 + (P + M * L) / N;
    CHECK(s->stats().at("inner_W") == 1 + std::floor(rho_W));
    CHECK(s->stats().at("inner_H") == 1 + std::floor(rho_H));
  }
}

TEST_CASE("hals and accel_hals with penalties never increase the penalized objective") {
  const nmfx::Data X = test::make_data(test::random_matrix(40, 30, 91));
  const std::size_t L = 4;
  const nmfx::Penalty penalty{0.3, 0.2, 0.1, 0.5};
  for (const std::string name : {"hals", "accel_hals"}) {
    CAPTURE(name);
    auto loss = frobenius(X, L);
    auto s = solver(name, json::object());
    nmfx::Matrix W = test::random_matrix(40, L, 92, 0.1, 1.0), H = test::random_matrix(L, 30, 93, 0.1, 1.0);
    s->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, penalty}, W, H);
    const double initial = loss->value(X, W, H) + penalty.value(W, H);
    double previous = initial, worst = -1;
    for (int it = 0; it < 300; ++it) {
      s->step(W, H);
      const double f = loss->value(X, W, H) + penalty.value(W, H);
      worst = std::max(worst, (f - previous) / previous);
      previous = f;
    }
    CHECK(worst <= 1e-12);
    CHECK(previous < 0.5 * initial);
  }
}

TEST_CASE("accel_hals inner sweeps solve each penalized subproblem to its KKT conditions") {
  // With alg6, epsilon = 0 and many sweeps, the update of W is the exact solution of the convex
  // subproblem min_{W >= 0} 1/2 |X - WH|^2 + l1 |W|_1 + l2/2 |W|^2 for the H it started from, whose
  // KKT conditions say: G = W HH^T - XH^T + l1 + l2 W >= 0, and G = 0 where W > 0. Likewise H for
  // the new W. This pins the signs and scales of l1 (off A) and l2 (on diag B).
  const std::size_t M = 40, N = 30, L = 4;
  const nmfx::Data X = test::make_data(test::random_matrix(M, N, 121));
  const nmfx::Penalty penalty{0.3, 0.2, 0.1, 0.5};
  auto loss = frobenius(X, L);
  auto acc = solver("accel_hals", json{{"variant", "alg6"}, {"epsilon", 0.0}, {"max_inner", 2000}});
  nmfx::Matrix W = test::random_matrix(M, L, 122, 0.1, 0.6), H = test::random_matrix(L, N, 123, 0.1, 0.6);
  acc->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, penalty}, W, H);
  // Projected gradient of the subproblem in F (rows: independent problems) for the Gram matrix G
  // and the linear term C; relative to |C|.
  const auto projected = [](const nmfx::Matrix& F, const nmfx::Matrix& G, const nmfx::Matrix& C, double l1, double l2) {
    const nmfx::Matrix FG = test::naive_product(F, G);
    double pg = 0, scale = 0;
    for (std::size_t k = 0; k < F.size(); ++k) {
      const double g = FG.data()[k] - C.data()[k] + l1 + l2 * F.data()[k];
      const double p = F.data()[k] > 0 ? g : std::min(g, 0.0);
      pg += p * p;
      scale += C.data()[k] * C.data()[k];
    }
    return std::sqrt(pg / scale);
  };
  for (int it = 0; it < 3; ++it) {
    const nmfx::Matrix H_before = H;
    acc->step(W, H);
    const nmfx::Matrix Ht = transposed(H_before), Wt = transposed(W);
    // W: rows of W against (HH^T, XH^T) of the H it started from.
    CHECK(projected(W, test::naive_product(H_before, Ht), test::naive_product(X.dense, Ht), penalty.l1_W,
                    penalty.l2_W) < 1e-10);
    // H: rows of H^T against (W^T W, X^T W) of the new W.
    CHECK(projected(transposed(H), test::naive_product(Wt, W), test::naive_product(transposed(X.dense), W),
                    penalty.l1_H, penalty.l2_H) < 1e-10);
  }
}

TEST_CASE("hals with a large L1 weight on H gives a sparser H") {
  const nmfx::Matrix W0 = test::random_matrix(40, 5, 101), H0 = test::random_matrix(5, 30, 102);
  nmfx::Matrix Xm = test::naive_product(W0, H0);
  const nmfx::Matrix noise = test::random_matrix(40, 30, 103);
  for (std::size_t k = 0; k < Xm.size(); ++k) Xm.data()[k] += 0.1 * noise.data()[k];
  const nmfx::Data X = test::make_data(Xm);
  std::vector<std::size_t> zero_counts;
  for (const double l1 : {0.0, 2.0, 20.0}) {
    auto loss = frobenius(X, 5);
    auto hals = solver("hals", json::object());
    nmfx::Matrix W = test::random_matrix(40, 5, 104, 0.1, 1.0), H = test::random_matrix(5, 30, 105, 0.1, 1.0);
    hals->prepare(nmfx::Problem{X, *loss, "frobenius", 5, 1, nmfx::Penalty{0, 0, l1, 0}}, W, H);
    for (int it = 0; it < 300; ++it) hals->step(W, H);
    zero_counts.push_back(zeros(H));
  }
  CAPTURE(zero_counts[0]);
  CAPTURE(zero_counts[1]);
  CAPTURE(zero_counts[2]);
  CHECK(zero_counts[1] > zero_counts[0]);
  CHECK(zero_counts[2] > zero_counts[1]);
}

TEST_CASE("a column of W that becomes all zero is set to zero_floor times max W (HALSacc.m)") {
  // X = u v^T with small integers, so all arithmetic is exact. With H = [v; v] and W = [u u], the
  // first column's update is (u s - u s)/s = 0 exactly (s = v'v); the second column then fits X.
  const std::size_t M = 4, N = 3;
  const nmfx::Matrix u = {{1.0}, {2.0}, {3.0}, {1.0}}, v = {{1.0, 2.0, 1.0}};
  const nmfx::Data X = test::make_data(test::naive_product(u, v));
  for (const double floor : {1e-16, 1e-8, 0.0}) {
    CAPTURE(floor);
    auto loss = frobenius(X, 2);
    auto hals = solver("hals", json{{"zero_floor", floor}});
    nmfx::Matrix W = nmfx::Matrix::from_shape({M, 2}), H = nmfx::Matrix::from_shape({2, N});
    for (std::size_t i = 0; i < M; ++i) W(i, 0) = W(i, 1) = u(i, 0);
    for (std::size_t j = 0; j < N; ++j) H(0, j) = H(1, j) = v(0, j);
    hals->prepare(nmfx::Problem{X, *loss, "frobenius", 2, 1}, W, H);
    hals->step(W, H);
    for (std::size_t i = 0; i < M; ++i) {
      CHECK(W(i, 0) == floor * 3.0);  // max W = 3, in the second column (u)
      CHECK(W(i, 1) == u(i, 0));
    }
    for (int it = 0; it < 20; ++it) hals->step(W, H);
    bool finite = true;
    for (double x : W) finite = finite && std::isfinite(x) && x >= 0;
    for (double x : H) finite = finite && std::isfinite(x) && x >= 0;
    CHECK(finite);
    CHECK(relative_error(X, W, H) < 1e-12);
  }
}

TEST_CASE("hals accel_hals and accel_mu refuse a loss other than frobenius and wrong shapes") {
  const nmfx::Data X = test::make_data(test::random_matrix(10, 8, 111));
  for (const std::string name : {"hals", "accel_hals", "accel_mu"}) {
    CAPTURE(name);
    auto loss = frobenius(X, 2);
    auto s = solver(name, json::object());
    nmfx::Matrix W = test::random_matrix(10, 2, 1), H = test::random_matrix(2, 8, 2);
    CHECK_THROWS_AS(s->prepare(nmfx::Problem{X, *loss, "kl", 2, 1}, W, H), nmfx::Error);
    nmfx::Matrix Wbad = test::random_matrix(9, 2, 1);
    CHECK_THROWS_AS(s->prepare(nmfx::Problem{X, *loss, "frobenius", 2, 1}, Wbad, H), nmfx::Error);
  }
}

TEST_CASE("a HALS sweep split over threads gives the bits of the serial sweep") {
  // K L^2 = 3000 * 40^2 is above the split threshold (2^20), so with 2 threads the 47 blocks of 64
  // columns go to two ranges; each column's updates and each block's change are computed alike.
  const std::size_t L = 40, K = 3000;
  const nmfx::Matrix G = test::random_matrix(L, 2 * L, 5);
  nmfx::Matrix B = nmfx::Matrix::from_shape({L, L});
  nmfx::gemm(G, nmfx::Trans::no, G, nmfx::Trans::yes, B);
  const nmfx::Matrix A = test::random_matrix(L, K, 6), F0 = test::random_matrix(L, K, 7);
  nmfx::Matrix serial = F0, split = F0;
  nmfx::set_threads(1);
  nmfx_hals::Sweep one;
  one.prepare(L, K);
  const double moved1 = one.run(serial, A, B, 1e-16);
  nmfx::set_threads(2);
  nmfx_hals::Sweep two;
  two.prepare(L, K);
  const double moved2 = two.run(split, A, B, 1e-16);
  CHECK(moved1 > 0);
  CHECK(moved1 == moved2);
  std::size_t differ = 0;
  for (std::size_t k = 0; k < serial.size(); ++k) differ += serial.data()[k] != split.data()[k];
  CHECK(differ == 0);
  // and it is eq. 12: the last component's row satisfies its own update against the others.
  for (std::size_t k = 0; k < K; k += 97) {
    double r = A(L - 1, k);
    for (std::size_t l = 0; l < L; ++l) r -= B(L - 1, l) * split(l, k);
    // F[L-1,k] is the fixed point max(0, F + r / B) of its own update: r = 0 where F > 0, r <= 0 at 0.
    if (split(L - 1, k) > 0)
      CHECK(std::abs(r) <= 1e-9 * (std::abs(A(L - 1, k)) + 1));
    else
      CHECK(r <= 1e-9 * (std::abs(A(L - 1, k)) + 1));
  }
}

TEST_CASE("hals with zero_floor 0 reaches stationarity when an L1 penalty kills components") {
  // Rank 8 on planted rank-4 data with l1 = 2 on both factors: most components die. With B[j,j] = 0
  // a component's objective is linear, -(XH^T - l1) f = l1 f, so the sweep sets it to exactly 0,
  // where its projected gradient vanishes. (Gillis & Glineur's floor, the default, keeps such a
  // component at 1e-16 max instead, and its gradient l1 then keeps the projected gradient away
  // from 0: pg_tol cannot stop such a run.)
  const nmfx::Matrix W0 = test::random_matrix(60, 4, 31), H0 = test::random_matrix(4, 40, 32);
  nmfx::Matrix A = test::naive_product(W0, H0);
  const nmfx::Matrix noise = test::random_matrix(60, 40, 33, -0.1, 0.1);
  for (std::size_t k = 0; k < A.size(); ++k) A.data()[k] = std::max(0.0, A.data()[k] + noise.data()[k]);
  const nmfx::Data X = test::make_data(A);
  const nmfx::Penalty penalty{2.0, 0.0, 2.0, 0.0};
  auto loss = frobenius(X, 8);
  auto hals = solver("hals", json{{"zero_floor", 0.0}});
  nmfx::Matrix W = test::random_matrix(60, 8, 34, 0.1, 1.0), H = test::random_matrix(8, 40, 35, 0.1, 1.0);
  nmfx::Problem problem{X, *loss, "frobenius", 8, 1, penalty};
  hals->prepare(problem, W, H);
  nmfx::StationarityMeter meter;
  meter.prepare(60, 40, 8);
  auto pg = [&] {
    const nmfx::Stationarity s = meter.measure(X, *loss, penalty, W, H);
    return s.projected_gradient_W + s.projected_gradient_H;
  };
  const double initial = pg();
  for (int it = 0; it < 3000; ++it) hals->step(W, H);
  CHECK(pg() < 1e-6 * initial);
  std::size_t dead = 0;
  for (std::size_t j = 0; j < 8; ++j) {
    bool zero = true;
    for (std::size_t i = 0; i < 60; ++i) zero = zero && W(i, j) == 0.0;
    dead += zero;
  }
  CHECK(dead >= 1);
}
