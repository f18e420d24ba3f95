// Alternating least squares with clipping (seed 002, "alternating least squares"): solve the
// unconstrained least-squares problem for one factor, set its negative entries to zero, alternate.
//   W <- max(0, X H^T (H H^T + delta I)^-1),   H <- max(0, (W^T W + delta I)^-1 W^T X)
// Written against nmfx's public plugin API only.
#include <cmath>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

namespace {

// Solves G Y = B in place for Y (G is L x L symmetric positive definite, B is L x K) by Cholesky.
void solve_spd(nmfx::Matrix& G, nmfx::Matrix& B) {
  const std::size_t L = G.shape(0);
  for (std::size_t j = 0; j < L; ++j) {
    double d = G(j, j);
    for (std::size_t k = 0; k < j; ++k) d -= G(j, k) * G(j, k);
    if (!(d > 0)) throw nmfx::Error("external_als: Gram matrix is not positive definite");
    G(j, j) = std::sqrt(d);
    for (std::size_t i = j + 1; i < L; ++i) {
      double s = G(i, j);
      for (std::size_t k = 0; k < j; ++k) s -= G(i, k) * G(j, k);
      G(i, j) = s / G(j, j);
    }
  }
  for (std::size_t c = 0; c < B.shape(1); ++c) {
    for (std::size_t i = 0; i < L; ++i) {  // forward: L y = b
      double s = B(i, c);
      for (std::size_t k = 0; k < i; ++k) s -= G(i, k) * B(k, c);
      B(i, c) = s / G(i, i);
    }
    for (std::size_t i = L; i-- > 0;) {  // backward: L^T x = y
      double s = B(i, c);
      for (std::size_t k = i + 1; k < L; ++k) s -= G(k, i) * B(k, c);
      B(i, c) = s / G(i, i);
    }
  }
}

class ExternalAls final : public nmfx::Solver {
 public:
  explicit ExternalAls(const nmfx::Params& p) : delta_(p.real("delta")) {}

  void prepare(const nmfx::Problem& problem, nmfx::Matrix& W, nmfx::Matrix& H) override {
    X_ = &problem.X.dense;
    const std::size_t L = problem.rank;
    gram_ = nmfx::Matrix::from_shape({L, L});
    rhs_W_ = nmfx::Matrix::from_shape({L, W.shape(0)});
    rhs_H_ = nmfx::Matrix::from_shape({L, H.shape(1)});
  }

  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    // W^T = (H H^T + delta I)^-1 H X^T
    nmfx::gemm(H, nmfx::Trans::no, H, nmfx::Trans::yes, gram_);
    for (std::size_t a = 0; a < gram_.shape(0); ++a) gram_(a, a) += delta_;
    nmfx::gemm(H, nmfx::Trans::no, *X_, nmfx::Trans::yes, rhs_W_);
    solve_spd(gram_, rhs_W_);
    for (std::size_t i = 0; i < W.shape(0); ++i)
      for (std::size_t a = 0; a < W.shape(1); ++a) W(i, a) = std::max(0.0, rhs_W_(a, i));
    // H = (W^T W + delta I)^-1 W^T X
    nmfx::gemm(W, nmfx::Trans::yes, W, nmfx::Trans::no, gram_);
    for (std::size_t a = 0; a < gram_.shape(0); ++a) gram_(a, a) += delta_;
    nmfx::gemm(W, nmfx::Trans::yes, *X_, nmfx::Trans::no, rhs_H_);
    solve_spd(gram_, rhs_H_);
    for (std::size_t k = 0; k < H.size(); ++k) H.data()[k] = std::max(0.0, rhs_H_.data()[k]);
  }

 private:
  double delta_;
  const nmfx::Matrix* X_ = nullptr;
  nmfx::Matrix gram_, rhs_W_, rhs_H_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, ExternalAls>(
      "external_als", "0.1.0", "alternating least squares with clipping (out-of-tree test plugin)");
  d.params = {nmfx::param_real("delta", 1e-12, "ridge added to the Gram matrices' diagonal", 0.0)};
  d.losses = {"frobenius"};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
