// The passive-aggressive update (Blondel, Kubo & Ueda 2014): on one entry, the new vector is
// nonnegative, satisfies |w.x - y| <= epsilon (NN-PA) or keeps its multiplier within [0, C]
// (NN-PA-I), and equals the solution of the small quadratic program found by an independent brute
// force over its faces; the exact and the bisection methods agree; the pa plugin applies it to p_u
// and q_i simultaneously (or sequentially) and counts passive and aggressive updates.
#include <doctest/doctest.h>

#include <limits>

#include <nmfx_common/online_passes.hpp>
#include "../plugins/solvers/pa/pa_update.hpp"
#include "ratings_support.hpp"

using nmfx::json;

namespace {

using nmfx_pa::Variant;

struct Instance {
  std::vector<double> w0, x;
  double y, eps, C;
  Variant variant;
};

// The objective of the one-vector problem at w >= 0, with the slack eliminated:
// NN-PA: 1/2 ||w - w0||^2 if |w.x - y| <= eps, else infinity; NN-PA-I: + C v; NN-PA-II: + C v^2,
// v = max(|w.x - y| - eps, 0).
double objective(const Instance& q, const std::vector<double>& w) {
  double dist = 0, pred = 0;
  for (std::size_t j = 0; j < w.size(); ++j) {
    dist += 0.5 * (w[j] - q.w0[j]) * (w[j] - q.w0[j]);
    pred += w[j] * q.x[j];
  }
  const double v = std::max(std::abs(pred - q.y) - q.eps, 0.0);
  switch (q.variant) {
    case Variant::pa:
      return v > 1e-12 ? std::numeric_limits<double>::infinity() : dist;
    case Variant::pa1:
      return dist + q.C * v;
    case Variant::pa2:
      return dist + q.C * v * v;
  }
  return 0;
}

// Independent brute force: the minimizer lies in the relative interior of a face {w_Z = 0} of the
// orthant, where it is the minimizer of one of the smooth pieces of the objective on the free
// coordinates F, or (at a kink) the projection of w0 on the hyperplane w.x = y -/+ eps. Every such
// candidate that is nonnegative is evaluated with the true objective; the best one is the solution.
std::vector<double> brute_force(const Instance& q) {
  const std::size_t m = q.w0.size();
  std::vector<double> best;
  double best_value = std::numeric_limits<double>::infinity();
  for (unsigned zero = 0; zero < (1u << m); ++zero) {
    double s0 = 0, xx = 0;  // w0_F . x_F and ||x_F||^2
    for (std::size_t j = 0; j < m; ++j)
      if (!(zero >> j & 1)) {
        s0 += q.w0[j] * q.x[j];
        xx += q.x[j] * q.x[j];
      }
    std::vector<double> steps = {0.0};  // w_F = w0_F + step x_F
    if (xx > 0) {
      for (double c : {q.y - q.eps, q.y + q.eps}) steps.push_back((c - s0) / xx);  // on a hyperplane
      if (q.variant == Variant::pa1) {
        steps.push_back(q.C);  // slack region, prediction too low: gradient -C x
        steps.push_back(-q.C);
      }
      if (q.variant == Variant::pa2) {
        const double d = 0.5 / q.C;
        steps.push_back((q.y - q.eps - s0) / (xx + d));
        steps.push_back((q.y + q.eps - s0) / (xx + d));
      }
    }
    for (double t : steps) {
      std::vector<double> w(m, 0.0);
      bool ok = true;
      for (std::size_t j = 0; j < m; ++j)
        if (!(zero >> j & 1)) {
          w[j] = q.w0[j] + t * q.x[j];
          ok = ok && w[j] >= -1e-15;
          w[j] = std::max(w[j], 0.0);
        }
      if (!ok) continue;
      const double value = objective(q, w);
      if (value < best_value) {
        best_value = value;
        best = w;
      }
    }
  }
  return best;
}

Instance random_instance(nmfx::Rng& rng, Variant variant) {
  Instance q;
  const std::size_t m = 1 + nmfx_online::bounded(rng, 4);
  q.w0.resize(m);
  q.x.resize(m);
  for (double& v : q.w0) v = rng.uniform() < 0.2 ? 0.0 : rng.uniform();
  bool any = false;
  for (double& v : q.x) {
    v = rng.uniform() < 0.2 ? 0.0 : rng.uniform();
    any = any || v > 0;
  }
  if (!any) q.x[0] = 0.5;
  double pred = 0;
  for (std::size_t j = 0; j < m; ++j) pred += q.w0[j] * q.x[j];
  // Targets below the prediction (where the projection matters), above it, and zero.
  const double z = rng.uniform();
  q.y = z < 0.1 ? 0.0 : z < 0.7 ? pred * rng.uniform() : pred + 2 * rng.uniform();
  q.eps = rng.uniform() < 0.5 ? 0.0 : 0.1 * rng.uniform();
  const double Cs[] = {0.01, 0.3, 5.0};
  q.C = Cs[nmfx_online::bounded(rng, 3)];
  q.variant = variant;
  return q;
}

std::vector<double> apply(const Instance& q, const nmfx_pa::Step& s) {
  std::vector<double> w(q.w0.size());
  for (std::size_t j = 0; j < w.size(); ++j) w[j] = std::max(q.w0[j] + s.tau * q.x[j], 0.0);
  return w;
}

nmfx_pa::Step solve(const Instance& q, nmfx_pa::Method method) {
  nmfx_pa::Options o;
  o.variant = q.variant;
  o.method = method;
  o.eps = q.eps;
  o.C = q.C;
  nmfx_pa::Work work;
  work.resize(q.w0.size());
  double pred = 0, xx = 0;
  for (std::size_t j = 0; j < q.x.size(); ++j) {
    pred += q.w0[j] * q.x[j];
    xx += q.x[j] * q.x[j];
  }
  return nmfx_pa::solve(q.w0.data(), q.x.data(), q.x.size(), q.y, pred, xx, o, work);
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t j = 0; j < a.size(); ++j) s += a[j] * b[j];
  return s;
}

}  // namespace

TEST_CASE(
    "pa one-vector update equals a brute-force solution of the quadratic program for NN-PA NN-PA-I and NN-PA-II") {
  nmfx::Rng rng(2014);
  for (const Variant variant : {Variant::pa, Variant::pa1, Variant::pa2}) {
    for (const nmfx_pa::Method method : {nmfx_pa::Method::exact, nmfx_pa::Method::bisection}) {
      std::size_t projected = 0, capped = 0, passive = 0, checked = 0;
      for (int n = 0; n < 3000; ++n) {
        const Instance q = random_instance(rng, variant);
        const nmfx_pa::Step s = solve(q, method);
        const std::vector<double> w = apply(q, s), expected = brute_force(q);
        CAPTURE(static_cast<int>(variant));
        CAPTURE(static_cast<int>(method));
        CAPTURE(n);
        REQUIRE(expected.size() == w.size());
        double diff = 0;
        for (std::size_t j = 0; j < w.size(); ++j) {
          CHECK(w[j] >= 0.0);
          diff = std::max(diff, std::abs(w[j] - expected[j]));
        }
        CHECK(diff <= 1e-9);
        CHECK(objective(q, w) <= objective(q, expected) + 1e-12);
        const double residual = std::abs(dot(w, q.x) - q.y);
        if (variant == Variant::pa) CHECK(residual <= q.eps + 1e-9);  // the constraint holds
        if (variant == Variant::pa1) {
          CHECK(std::abs(s.tau) <= q.C + 1e-15);  // 0 <= kappa, theta <= C
          // The slack is used only when the multiplier is at C: otherwise the constraint holds.
          if (std::abs(s.tau) < q.C * (1 - 1e-9)) CHECK(residual <= q.eps + 1e-9);
        }
        projected += s.projected;
        capped += s.capped;
        passive += !s.aggressive;
        ++checked;
      }
      // The instances exercise the projection, the cap and the passive case.
      CHECK(projected > 100);
      CHECK(passive > 10);
      if (variant == Variant::pa1) CHECK(capped > 100);
      MESSAGE("variant " << static_cast<int>(variant) << " method " << static_cast<int>(method) << ": " << checked
                         << " instances, " << projected << " projected, " << capped << " capped, " << passive
                         << " passive");
    }
  }
}

TEST_CASE("pa approximate update is the exact one when no coordinate reaches zero") {
  nmfx::Rng rng(7);
  std::size_t same = 0;
  for (int n = 0; n < 2000; ++n) {
    const Instance q = random_instance(rng, Variant::pa1);
    const nmfx_pa::Step exact = solve(q, nmfx_pa::Method::exact);
    const nmfx_pa::Step approx = solve(q, nmfx_pa::Method::approximate);
    for (double v : apply(q, approx)) CHECK(v >= 0.0);
    if (!approx.projected) {
      CHECK(approx.tau == doctest::Approx(exact.tau).epsilon(1e-12));
      ++same;
    }
  }
  CHECK(same > 500);
}

TEST_CASE("pa on one revealed entry moves p_u and q_i to the brute-force solutions") {
  // One user, one item, one rating: one pass is one update.
  nmfx::Matrix X = nmfx::Matrix::from_shape({1, 1});
  nmfx::Rng rng(33);
  for (const std::string variant : {"pa", "pa1", "pa2"})
    for (const std::string update : {"simultaneous", "sequential"})
      for (int n = 0; n < 200; ++n) {
        CAPTURE(variant);
        CAPTURE(update);
        CAPTURE(n);
        X(0, 0) = 3 * rng.uniform();
        const nmfx::Data d = ratings_test::observed(X, {1}, {0});
        const double C = 0.05 + rng.uniform(), eps = rng.uniform() < 0.5 ? 0.0 : 0.2;
        auto r = ratings_test::start(
            d, "pa", json{{"variant", variant}, {"C", C}, {"epsilon", eps}, {"update", update}}, 3, 100 + n);
        // Factors on a wide range so that both too-high and too-low predictions occur.
        for (double& v : r.W) v = rng.uniform() < 0.2 ? 0.0 : 2 * rng.uniform();
        for (double& v : r.H) v = rng.uniform() < 0.2 ? 0.0 : 2 * rng.uniform();
        const std::vector<double> p0(r.W.begin(), r.W.end()), q0(r.H.begin(), r.H.end());
        if (dot(p0, p0) == 0 || dot(q0, q0) == 0) continue;
        r.solver->step(r.W, r.H);
        const Variant v = nmfx_pa::parse_variant(variant);
        const std::vector<double> p_expected = brute_force(Instance{p0, q0, X(0, 0), eps, C, v});
        const std::vector<double> p1(r.W.begin(), r.W.end()), q1(r.H.begin(), r.H.end());
        // Simultaneous (the paper): q_i against the old p_u; sequential: against the new one.
        const std::vector<double> q_expected =
            brute_force(Instance{q0, update == "sequential" ? p1 : p0, X(0, 0), eps, C, v});
        for (std::size_t a = 0; a < 3; ++a) {
          CHECK(p1[a] == doctest::Approx(p_expected[a]).epsilon(1e-9));
          CHECK(q1[a] == doctest::Approx(q_expected[a]).epsilon(1e-9));
        }
        if (variant == "pa") {
          CHECK(std::abs(dot(p1, q0) - X(0, 0)) <= eps + 1e-9);  // each half satisfies its constraint
          if (update == "simultaneous") CHECK(std::abs(dot(p0, q1) - X(0, 0)) <= eps + 1e-9);
        }
        const auto stats = r.solver->stats();
        const bool passive = std::abs(dot(p0, q0) - X(0, 0)) <= eps;
        CHECK(stats.at("passive") == (passive ? 1.0 : 0.0));
        CHECK(stats.at("aggressive") == (passive ? 0.0 : 1.0));
      }
}

TEST_CASE("pa counts passive and aggressive updates and refuses penalties through its descriptor") {
  const auto p = ratings_test::planted(40, 30, 2, 0.05, 0.5, 0.0, 9);
  auto wide = ratings_test::start(p.data, "pa", json{{"epsilon", 100.0}}, 2, 1);
  wide.solver->step(wide.W, wide.H);
  CHECK(wide.solver->stats().at("passive") == static_cast<double>(p.data.nnz));
  CHECK(wide.solver->stats().at("aggressive") == 0.0);
  auto tight = ratings_test::start(p.data, "pa", json{{"epsilon", 0.0}}, 2, 1);
  tight.solver->step(tight.W, tight.H);
  CHECK(tight.solver->stats().at("aggressive") + tight.solver->stats().at("passive") ==
        static_cast<double>(p.data.nnz));
  CHECK(tight.solver->stats().at("aggressive") > 0.9 * static_cast<double>(p.data.nnz));
  CHECK_FALSE(test::registry().require(nmfx::PluginKind::solver, "pa")->descriptor->penalties);
  CHECK(test::registry().require(nmfx::PluginKind::solver, "sgd")->descriptor->penalties);
  CHECK(test::registry().require(nmfx::PluginKind::solver, "ccd")->descriptor->penalties);
}
