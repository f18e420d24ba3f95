#pragma once
// Diagonal scaling, as RcppML's nmf(diag = TRUE) does it (DeBruine et al., RcppML 0.3.7): the model
// is W D H with every column of W and every row of H summing to 1 (their L1 norm, as the factors are
// nonnegative) and D = diag(d) carrying the scale. After a factor's update its components are
// divided by their sums d_j, and the other factor's components are multiplied by them, so the product
// W H the framework sees is unchanged, and the next update starts from a point consistent with it.
// Shared by the ALS-type solvers (hals, accel_hals, anls_bpp, cd); their READMEs give the equations.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include <nmfx/distributed.hpp>
#include <nmfx/params.hpp>
#include <nmfx/types.hpp>

namespace nmfx_common {

inline nmfx::ParamSpec diagonal_scaling_param() {
  return nmfx::param_bool("diagonal_scaling", false,
                          "RcppML's diag: after each factor's update scale its components to unit L1 norm, "
                          "the scale moving into the other factor (W D H); changes what L1/L2 penalties act on");
}

class DiagonalScaling {
 public:
  /// A distributed cell: W's rows and H's columns are spread over all processes (disjointly), so a
  /// component's sum is the sum over all of them.
  void prepare(std::size_t L, const nmfx::Distribution* distribution) {
    d_.assign(L, 1.0);
    comm_ = distribution && distribution->distributed() ? distribution->comm : nullptr;
  }

  /// W's columns to unit sum, H's rows multiplied by those sums (W H unchanged).
  void normalize_W(nmfx::Matrix& W, nmfx::Matrix& H) {
    column_sums(W);
    scale_columns(W, true);
    scale_rows(H, false);
  }

  /// H's rows to unit sum, W's columns multiplied by those sums (W H unchanged).
  void normalize_H(nmfx::Matrix& W, nmfx::Matrix& H) {
    row_sums(H);
    scale_rows(H, true);
    scale_columns(W, false);
  }

  /// The sums d of the factor normalized last (its components' scale before normalization).
  const std::vector<double>& d() const { return d_; }

 private:
  // A component whose sum is 0 (it is all zero) or not finite is left as it is: there is no scale
  // to move, and dividing by it would put NaN into both factors.
  bool usable(std::size_t j) const { return d_[j] > 0 && std::isfinite(d_[j]); }

  void column_sums(const nmfx::Matrix& W) {
    const std::size_t rows = W.shape(0), L = W.shape(1);
    std::fill(d_.begin(), d_.end(), 0.0);
    const double* w = W.data();
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < L; ++j) d_[j] += w[i * L + j];
    if (comm_) comm_->sum(nmfx::Communicator::Group::all, d_.data(), L);
  }

  void row_sums(const nmfx::Matrix& H) {
    const std::size_t L = H.shape(0), cols = H.shape(1);
    const double* h = H.data();
    for (std::size_t j = 0; j < L; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < cols; ++k) s += h[j * cols + k];
      d_[j] = s;
    }
    if (comm_) comm_->sum(nmfx::Communicator::Group::all, d_.data(), L);
  }

  // Column j of W divided (divide) or multiplied by d_j.
  void scale_columns(nmfx::Matrix& W, bool divide) const {
    const std::size_t rows = W.shape(0), L = W.shape(1);
    double* w = W.data();
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < L; ++j)
        if (usable(j)) w[i * L + j] = divide ? w[i * L + j] / d_[j] : w[i * L + j] * d_[j];
  }

  // Row j of H divided (divide) or multiplied by d_j.
  void scale_rows(nmfx::Matrix& H, bool divide) const {
    const std::size_t L = H.shape(0), cols = H.shape(1);
    double* h = H.data();
    for (std::size_t j = 0; j < L; ++j) {
      if (!usable(j)) continue;
      const double s = d_[j];
      for (std::size_t k = 0; k < cols; ++k) h[j * cols + k] = divide ? h[j * cols + k] / s : h[j * cols + k] * s;
    }
  }

  std::vector<double> d_;
  nmfx::Communicator* comm_ = nullptr;
};

}  // namespace nmfx_common
