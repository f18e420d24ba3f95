#include <cmath>

#include <nmfx/kkt.hpp>

namespace nmfx {

void StationarityMeter::prepare(std::size_t M, std::size_t N, std::size_t L) {
  pos_W_ = Matrix::from_shape({M, L});
  neg_W_ = Matrix::from_shape({M, L});
  pos_H_ = Matrix::from_shape({L, N});
  neg_H_ = Matrix::from_shape({L, N});
}

namespace {

// grad = pos - neg + l1 + l2 * A; returns (||grad^P||_F, ||A * grad||_F).
std::pair<double, double> residuals(const Matrix& A, const Matrix& pos, const Matrix& neg, double l1, double l2) {
  double pg = 0, cs = 0;
  for (std::size_t k = 0; k < A.size(); ++k) {
    const double a = A.data()[k];
    const double g = pos.data()[k] - neg.data()[k] + l1 + l2 * a;
    const double projected = a > 0 ? g : std::min(g, 0.0);
    pg += projected * projected;
    cs += (a * g) * (a * g);
  }
  return {std::sqrt(pg), std::sqrt(cs)};
}

}  // namespace

Stationarity StationarityMeter::measure(const Data& X, Loss& loss, const Penalty& penalty, const Matrix& W,
                                        const Matrix& H) {
  loss.gradient_W(X, W, H, pos_W_, neg_W_);
  loss.gradient_H(X, W, H, pos_H_, neg_H_);
  Stationarity s;
  std::tie(s.projected_gradient_W, s.complementarity_W) = residuals(W, pos_W_, neg_W_, penalty.l1_W, penalty.l2_W);
  std::tie(s.projected_gradient_H, s.complementarity_H) = residuals(H, pos_H_, neg_H_, penalty.l1_H, penalty.l2_H);
  return s;
}

}  // namespace nmfx
