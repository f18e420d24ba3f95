#pragma once
// Gillis & Glineur's rho (seed 000, eqs 17-21): the cost of one update of a factor (the products
// with X plus the inner loop) over the cost of the inner loop alone. Shared by the rho metric and
// the accel_mu / accel_hals solvers, so the formulas live in one place.
#include <cstddef>

#include <nmfx/types.hpp>

namespace nmfx_rho {

struct Rho {
  double W_mu, H_mu, W_hals, H_hals;
};

// X is M x N with P nonzeros (P = M N when dense), rank L.
inline Rho rho(double M, double N, double L, double P) {
  Rho r;
  r.W_mu = 1.0 + (P + N * L) / (M * L + M);  // eq. 18
  r.H_mu = 1.0 + (P + M * L) / (N * L + N);  // eq. 19
  r.W_hals = 1.0 + (P + N * L) / M;          // eq. 20
  r.H_hals = 1.0 + (P + M * L) / N;          // eq. 21
  return r;
}

// P of the cost model: the products with a dense X cost M N L whatever its zeros (seed 000,
// section 3.1: "P = M x N if X is dense"; MUacc.m: K = m n unless M is sparse).
inline double cost_nnz(const nmfx::Data& X) {
  if (X.kind == nmfx::DataKind::dense) return static_cast<double>(X.rows()) * static_cast<double>(X.cols());
  return static_cast<double>(X.nnz);
}

}  // namespace nmfx_rho
