#pragma once
/// @file pa_update.hpp
/// The one-vector problem of the non-negative passive-aggressive algorithms (Blondel, Kubo & Ueda,
/// AISTATS 2014), for w = p_u with x = q_i fixed, or w = q_i with x = p_u fixed, target y = r_ui:
///
///   NN-PA:    min_{w >= 0} 1/2 ||w - w0||^2               s.t. |w.x - y| <= eps
///   NN-PA-I:  min_{w >= 0, xi >= 0} 1/2 ||w - w0||^2 + C xi    s.t. |w.x - y| <= eps + xi
///   NN-PA-II: min_{w >= 0, xi} 1/2 ||w - w0||^2 + C xi^2       s.t. |w.x - y| <= eps + xi
///
/// The KKT conditions give w = max(w0 + (kappa - theta) x, 0) with kappa, theta >= 0 the
/// multipliers of the constraints w.x >= y - eps and w.x <= y + eps (at most one is nonzero).
/// Since w0, x >= 0:
///  - prediction too low (w0.x < y - eps): w0 + kappa x is already nonnegative, so kappa is the
///    classical PA step, l / ||x||^2 (NN-PA), min(C, l / ||x||^2) (NN-PA-I), l / (||x||^2 + 1/(2C))
///    (NN-PA-II), with l = y - eps - w0.x;
///  - prediction too high (w0.x > y + eps): theta solves the piecewise-linear equation
///      phi(theta) = sum_j max(w0_j - theta x_j, 0) x_j = b + d theta,   b = y + eps,
///    d = 1/(2C) for NN-PA-II and 0 otherwise; NN-PA-I then clips theta at C (0 <= theta <= C).
///    phi is nonincreasing, with breakpoints t_j = w0_j / x_j. `exact` finds theta without sorting,
///    by a pivoting search over the breakpoints (expected O(m), like the simplex projection of
///    Duchi et al. 2008); `bisection` bisects on [0, min(C, max t_j)]; `approximate` takes the
///    unprojected step theta = (w0.x - b) / (||x||^2 + d) and then projects (it may miss the
///    constraint).
/// Header-only: used by the pa plugin and by the tests.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace nmfx_pa {

enum class Variant { pa, pa1, pa2 };
enum class Method { exact, bisection, approximate };

struct Options {
  Variant variant = Variant::pa1;
  Method method = Method::exact;
  double eps = 0.0;
  double C = 1.0;           ///< aggressiveness (NN-PA-I and NN-PA-II)
  int bisection_iter = 60;  ///< halvings of the bracket for Method::bisection
};

/// The multiplier of one update: w_new = max(w0 + tau x, 0), tau = kappa - theta.
struct Step {
  double tau = 0.0;
  bool aggressive = false;  ///< the constraint was violated, so w moves (unless x = 0)
  bool capped = false;      ///< NN-PA-I: |tau| reached C (the slack is in use)
  bool projected = false;   ///< some coordinate of w0 + tau x was negative and is set to 0
};

/// Preallocated work arrays for the exact method (three of size m).
struct Work {
  std::vector<double> t, a, c;
  void resize(std::size_t m) {
    t.resize(m);
    a.resize(m);
    c.resize(m);
  }
};

/// phi(theta) = sum_j max(w_j - theta x_j, 0) x_j.
inline double phi(const double* w, const double* x, std::size_t m, double theta) {
  double s = 0.0;
  for (std::size_t j = 0; j < m; ++j) s += std::max(w[j] - theta * x[j], 0.0) * x[j];
  return s;
}

/// The smallest theta >= 0 with phi(theta) - d theta <= b, given phi(0) = w.x > b >= 0 (the
/// prediction is too high). Exact: on the segment where the set A = {j : t_j > theta} of positive
/// coordinates is fixed, phi(theta) = sum_A w_j x_j - theta sum_A x_j^2, so
/// theta = (sum_A w_j x_j - b) / (sum_A x_j^2 + d). The pivoting search finds A: with pivot
/// breakpoint t_p, if phi(t_p) - d t_p > b then theta > t_p and every j with t_j <= t_p is inactive;
/// otherwise theta <= t_p and every j with t_j >= t_p is active. Each round discards the pivot's
/// side, so the expected work is linear in m (the pivot is the middle element of the candidates).
inline double theta_exact(const double* w, const double* x, std::size_t m, double b, double d, double pred, double xx,
                          Work& work) {
  // Fast path: no coordinate reaches zero (theta <= every breakpoint), the classical PA step,
  // checked without divisions.
  const double theta_all = (pred - b) / (xx + d);
  bool inside = true;
  for (std::size_t j = 0; j < m; ++j) inside &= w[j] - theta_all * x[j] >= 0.0;
  if (inside) return theta_all;
  double* t = work.t.data();
  double* a = work.a.data();
  double* c = work.c.data();
  std::size_t n = 0;
  for (std::size_t j = 0; j < m; ++j) {
    if (x[j] > 0.0) {
      t[n] = w[j] / x[j];
      a[n] = w[j] * x[j];
      c[n] = x[j] * x[j];
      ++n;
    }
  }
  double A = 0.0, B = d;  // sums over coordinates known to be active at the solution
  std::size_t lo = 0, hi = n;
  while (lo < hi) {
    const double tp = t[lo + (hi - lo) / 2];
    // Three-way partition of [lo, hi): t > tp, then t == tp, then t < tp.
    std::size_t gt = lo, i = lo, lt = hi;
    double a_gt = 0.0, c_gt = 0.0, a_eq = 0.0, c_eq = 0.0;
    while (i < lt) {
      if (t[i] > tp) {
        a_gt += a[i];
        c_gt += c[i];
        std::swap(t[i], t[gt]);
        std::swap(a[i], a[gt]);
        std::swap(c[i], c[gt]);
        ++gt;
        ++i;
      } else if (t[i] < tp) {
        --lt;
        std::swap(t[i], t[lt]);
        std::swap(a[i], a[lt]);
        std::swap(c[i], c[lt]);
      } else {
        a_eq += a[i];
        c_eq += c[i];
        ++i;
      }
    }
    // phi(tp) - d tp: coordinates with t_j = tp are exactly zero at tp and contribute nothing.
    const double value = (A + a_gt) - tp * (B + c_gt);
    if (value > b) {
      hi = gt;  // theta > tp: only the coordinates with t_j > tp can still be active
    } else {
      A += a_gt + a_eq;  // theta <= tp: the coordinates with t_j >= tp are active
      B += c_gt + c_eq;
      lo = lt;
    }
  }
  return B > 0.0 ? (A - b) / B : 0.0;
}

/// Bisection for the same theta on [0, hi], hi = min(cap, max_j t_j); returns the upper end of
/// the final bracket, so that the constraint phi(theta) - d theta <= b holds.
inline double theta_bisection(const double* w, const double* x, std::size_t m, double b, double d, double cap,
                              int iterations) {
  double hi = 0.0;
  for (std::size_t j = 0; j < m; ++j)
    if (x[j] > 0.0) hi = std::max(hi, w[j] / x[j]);
  hi = std::min(hi, cap);
  if (phi(w, x, m, hi) - d * hi > b) return hi;  // only when capped at C: theta = C
  double lo = 0.0;
  for (int k = 0; k < iterations; ++k) {
    const double mid = 0.5 * (lo + hi);
    if (phi(w, x, m, mid) - d * mid > b)
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

/// The update of w (size m) against x, given pred = w.x and xx = ||x||^2 (the caller has them).
inline Step solve(const double* w, const double* x, std::size_t m, double y, double pred, double xx, const Options& o,
                  Work& work) {
  Step s;
  const bool too_low = pred<y - o.eps, too_high = pred> y + o.eps;
  if (!too_low && !too_high) return s;  // passive
  s.aggressive = true;
  if (!(xx > 0.0)) return s;  // x = 0: no w can change the prediction; w stays
  const double d = o.variant == Variant::pa2 ? 0.5 / o.C : 0.0;
  if (too_low) {
    const double l = y - o.eps - pred;
    double kappa = l / (xx + d);
    if (o.variant == Variant::pa1 && kappa >= o.C) {
      kappa = o.C;
      s.capped = true;
    }
    s.tau = kappa;
    return s;
  }
  const double b = y + o.eps;
  const double cap = o.variant == Variant::pa1 ? o.C : std::numeric_limits<double>::infinity();
  double theta = 0.0;
  // NN-PA-I: if the constraint is still violated at theta = C, the multiplier is C (the common
  // case for a small C), found with one evaluation of phi and no search.
  if (o.variant == Variant::pa1 && o.method != Method::approximate && phi(w, x, m, o.C) > b) {
    s.capped = true;
    for (std::size_t j = 0; j < m; ++j)
      if (w[j] - o.C * x[j] < 0.0) s.projected = true;
    s.tau = -o.C;
    return s;
  }
  switch (o.method) {
    case Method::exact:
      theta = theta_exact(w, x, m, b, d, pred, xx, work);
      break;
    case Method::bisection:
      theta = theta_bisection(w, x, m, b, d, cap, o.bisection_iter);
      break;
    case Method::approximate:
      theta = (pred - b) / (xx + d);
      break;
  }
  if (o.variant == Variant::pa1 && theta >= o.C) {
    theta = o.C;
    s.capped = true;
  }
  for (std::size_t j = 0; j < m; ++j)
    if (w[j] - theta * x[j] < 0.0) s.projected = true;
  s.tau = -theta;
  return s;
}

inline Variant parse_variant(const std::string& v) {
  if (v == "pa") return Variant::pa;
  if (v == "pa1") return Variant::pa1;
  return Variant::pa2;
}
inline Method parse_method(const std::string& v) {
  if (v == "exact") return Method::exact;
  if (v == "bisection") return Method::bisection;
  return Method::approximate;
}

}  // namespace nmfx_pa
