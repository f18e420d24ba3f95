#pragma once
/// @file kkt.hpp
/// First-order optimality of min f(W, H) s.t. W, H >= 0, with f = loss + penalty (seed 001 eq. 5):
/// W >= 0, grad_W f >= 0, W * grad_W f = 0, and the same for H. The projected gradient
/// (Lin 2007) is grad f where the variable is positive, and min(grad f, 0) where it is zero.
#include <nmfx/plugin.hpp>

namespace nmfx {

struct Stationarity {
  double projected_gradient_W = 0;  ///< ||grad^P_W f||_F
  double projected_gradient_H = 0;  ///< ||grad^P_H f||_F
  double complementarity_W = 0;     ///< ||W * grad_W f||_F
  double complementarity_H = 0;     ///< ||H * grad_H f||_F
};

/// Measures stationarity through the loss's gradient split. prepare() sizes the workspaces: M and
/// N are the rows of W and columns of H this process holds (all of them on one process).
class StationarityMeter {
 public:
  void prepare(std::size_t M, std::size_t N, std::size_t L);
  /// With a distribution, the norms are of the whole W and H (sums over all processes).
  Stationarity measure(const Data& X, Loss& loss, const Penalty& penalty, const Matrix& W, const Matrix& H,
                       const Distribution* distribution = nullptr);

 private:
  Matrix pos_W_, neg_W_, pos_H_, neg_H_;
};

}  // namespace nmfx
