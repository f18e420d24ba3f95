// Generalized Kullback-Leibler divergence D(X || WH) = sum X log(X / WH) - X + WH
// (Lee & Seung 2001, eq. 3), with the gradient split of section 5 (eqs 8-9).
// Dense X: W·H is formed by one GEMM into an M x N workspace sized in prepare(); the ratio
// X / WH then overwrites that same workspace (value() needs WH, the gradients only the ratio),
// so the loss holds one M x N buffer, not two. Elementwise work is plain loops on contiguous data.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

namespace {

using nmfx::Trans;

class Kl final : public nmfx::Loss {
 public:
  explicit Kl(const nmfx::Params&) {}

  void prepare(const nmfx::Data& X, std::size_t rank) override {
    M_ = X.rows();
    N_ = X.cols();
    L_ = rank;
    buf_.resize({M_, N_});
    sums_.assign(L_, 0.0);
  }

  double value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) override {
    check(X, W, H, "value");
    nmfx::gemm(W, Trans::no, H, Trans::no, buf_);
    const double* x = X.dense.data();
    const double* wh = buf_.data();
    const std::size_t size = buf_.size();
    double d = 0.0;
    for (std::size_t k = 0; k < size; ++k) {
      if (x[k] == 0.0) {
        d += wh[k];  // 0 log 0 = 0
      } else if (wh[k] == 0.0) {
        return std::numeric_limits<double>::infinity();
      } else {
        d += x[k] * std::log(x[k] / wh[k]) - x[k] + wh[k];
      }
    }
    return d;
  }

  // dD/dW_ia = sum_mu H_amu - sum_mu (X / WH)_imu H_amu: pos = row sums of H on every row,
  // neg = (X / WH) H^T.
  void gradient_W(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    check(X, W, H, "gradient_W");
    ratio(X, W, H);
    nmfx::gemm(buf_, Trans::no, H, Trans::yes, neg);
    const double* h = H.data();
    for (std::size_t a = 0; a < L_; ++a) {
      double s = 0.0;
      for (std::size_t j = 0; j < N_; ++j) s += h[a * N_ + j];
      sums_[a] = s;
    }
    double* p = pos.data();
    for (std::size_t i = 0; i < M_; ++i)
      for (std::size_t a = 0; a < L_; ++a) p[i * L_ + a] = sums_[a];
  }

  // dD/dH_amu = sum_i W_ia - sum_i W_ia (X / WH)_imu: pos = column sums of W on every column,
  // neg = W^T (X / WH).
  void gradient_H(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    check(X, W, H, "gradient_H");
    ratio(X, W, H);  // from the current W: MU has just updated it
    nmfx::gemm(W, Trans::yes, buf_, Trans::no, neg);
    const double* w = W.data();
    std::fill(sums_.begin(), sums_.end(), 0.0);
    for (std::size_t i = 0; i < M_; ++i)
      for (std::size_t a = 0; a < L_; ++a) sums_[a] += w[i * L_ + a];
    double* p = pos.data();
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) p[a * N_ + j] = sums_[a];
  }

 private:
  // buf_ <- X / (W H), with 0 / 0 := 0 (a zero of X contributes nothing to the gradient's
  // negative part); X > 0 over WH = 0 gives +inf, as the divergence itself is +inf there.
  void ratio(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
    nmfx::gemm(W, Trans::no, H, Trans::no, buf_);
    const double* x = X.dense.data();
    double* r = buf_.data();
    const std::size_t size = buf_.size();
    for (std::size_t k = 0; k < size; ++k) r[k] = x[k] == 0.0 ? 0.0 : x[k] / r[k];
  }

  void check(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, const char* where) const {
    if (X.rows() != M_ || X.cols() != N_ || W.shape(0) != M_ || W.shape(1) != L_ || H.shape(0) != L_ ||
        H.shape(1) != N_)
      throw nmfx::Error(std::string("kl ") + where + ": X " + shape(X.dense) + ", W " + shape(W) + ", H " +
                        shape(H) + " do not match the prepared " + std::to_string(M_) + "x" +
                        std::to_string(N_) + " at rank " + std::to_string(L_));
  }
  static std::string shape(const nmfx::Matrix& A) {
    return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1));
  }

  std::size_t M_ = 0, N_ = 0, L_ = 0;
  nmfx::Matrix buf_;          // W H, then X / (W H)
  std::vector<double> sums_;  // row sums of H or column sums of W
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Loss, Kl>("kl", "1.0.0",
                                          "generalized Kullback-Leibler divergence D(X || WH)");
  d.params = {};
  d.data_kinds = {"dense"};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
