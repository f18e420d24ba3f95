#pragma once
// The inner loop of cyclic coordinate descent for KL-NMF (Hsieh & Dhillon 2011, section 4): one
// row of W (or one column of H, on the transposed problem) updated variable by variable, each by a
// few projected Newton steps on its one-variable problem, with the row's WH kept current. Written
// once for dense and sparse X: the caller passes the entries of the row it needs (all of them for
// dense X, the nonzeros for sparse X) and the matching columns of the other factor.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include <nmfx/clones.hpp>

namespace nmfx_cd_kl {

/// Below this, a value of WH is treated as this (a zero of WH beside a positive X: the divergence
/// is +inf there, and its derivatives are then huge and finite, which pushes the variable up).
constexpr double kTinyWH = 1e-150;

struct Settings {
  int newton_steps = 2;     ///< Newton steps per variable per sweep at most
  double newton_tol = 0.5;  ///< stop a variable's steps once |change| < newton_tol * |old value|
  double floor = 1e-15;     ///< the projection's lower bound (0 is allowed)
};

/// First and second derivatives at s = 0 of the one-variable function
///   f(s) = sum_k [ s G_k - x_k log(y_k + s G_k) ]       (the KL objective in one variable, up to a constant)
/// over the n entries: f'(0) = colsum - sum_k x_k G_k / y_k (colsum = sum of G over every column,
/// zeros of X included) and f''(0) = sum_k x_k G_k^2 / y_k^2.
// Four lanes of doubles (GCC's vector extension): a ymm register in the AVX2 clone, two xmm in the
// baseline one, the same arithmetic per lane in both.
typedef double Lanes __attribute__((vector_size(32)));

NMFX_TARGET_CLONES inline void derivatives(const double* x, const double* y, const double* G, std::size_t n,
                                           double colsum, double& first, double& second) {
  // Four partial sums, over k mod 4, added in a fixed order at the end: the divisions run four at
  // a time and the additions in independent lanes, where one running sum would wait on each one.
  // The order does not depend on threads or machine.
  const Lanes tiny = {kTinyWH, kTinyWH, kTinyWH, kTinyWH}, one = {1.0, 1.0, 1.0, 1.0};
  Lanes g = {0.0, 0.0, 0.0, 0.0}, h = {0.0, 0.0, 0.0, 0.0};
  std::size_t k = 0;
  for (; k + 4 <= n; k += 4) {
    Lanes xv, yv, gv;
    std::memcpy(&xv, x + k, sizeof xv);
    std::memcpy(&yv, y + k, sizeof yv);
    std::memcpy(&gv, G + k, sizeof gv);
    const Lanes inv = one / (yv > tiny ? yv : tiny);
    const Lanes q = xv * inv * gv;  // x_k G_k / y_k
    g += q;
    h += q * gv * inv;
  }
  for (std::size_t l = 0; k < n; ++k, ++l) {
    const double inv = 1.0 / (y[k] > kTinyWH ? y[k] : kTinyWH);
    const double q = x[k] * inv * G[k];
    g[l] += q;
    h[l] += q * G[k] * inv;
  }
  first = colsum - ((g[0] + g[1]) + (g[2] + g[3]));
  second = (h[0] + h[1]) + (h[2] + h[3]);
}

/// The projected Newton step: max(floor, a - f'/f''). With f'' = 0 (no entry of X sees this
/// variable), f is linear with slope colsum >= 0: the minimizer is the floor, or anywhere if flat.
inline double newton_target(double a, double first, double second, double floor) {
  if (second > 0) return std::max(floor, a - first / second);
  return first > 0 ? floor : a;
}

/// y <- a G: the row of WH at the n entries (G is L x n, row-major).
NMFX_TARGET_CLONES inline void row_product(const double* a, const double* G, std::size_t n, std::size_t L, double* y) {
  for (std::size_t k = 0; k < n; ++k) y[k] = 0.0;
  for (std::size_t r = 0; r < L; ++r) {
    const double ar = a[r];
    const double* g = G + r * n;
    for (std::size_t k = 0; k < n; ++k) y[k] += ar * g[k];
  }
}

NMFX_TARGET_CLONES inline void add_scaled(double* y, double s, const double* g, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) y[k] += s * g[k];
}

/// One cyclic sweep over the L variables of a row: a (L) the variables, x (n) the entries of X,
/// G (L x n) the other factor at those entries, colsum (L) the sums of G's rows over all columns,
/// y (n) a workspace that ends as a G. Returns the number of Newton steps taken.
inline long long sweep(double* a, const double* x, const double* G, const double* colsum, std::size_t n, std::size_t L,
                       const Settings& s, double* y) {
  row_product(a, G, n, L, y);
  long long steps = 0;
  for (std::size_t r = 0; r < L; ++r) {
    const double* g = G + r * n;
    for (int t = 0; t < s.newton_steps; ++t) {
      double first, second;
      derivatives(x, y, g, n, colsum[r], first, second);
      ++steps;
      const double old = a[r];
      const double next = newton_target(old, first, second, s.floor);
      const double change = next - old;
      if (change == 0.0) break;
      a[r] = next;
      add_scaled(y, change, g, n);  // keeps the row of WH current: (WH)_k += change * G_rk
      if (std::abs(change) < s.newton_tol * std::abs(old)) break;
    }
  }
  return steps;
}

}  // namespace nmfx_cd_kl
