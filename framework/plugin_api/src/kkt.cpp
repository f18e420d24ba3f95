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

// grad = pos - neg + l1 + l2 * A; returns (||grad^P||_F^2, ||A * grad||_F^2) over this process's A.
std::pair<double, double> residuals(const Matrix& A, const Matrix& pos, const Matrix& neg, double l1, double l2) {
  double pg = 0, cs = 0;
  for (std::size_t k = 0; k < A.size(); ++k) {
    const double a = A.data()[k];
    const double g = pos.data()[k] - neg.data()[k] + l1 + l2 * a;
    const double projected = a > 0 ? g : std::min(g, 0.0);
    pg += projected * projected;
    cs += (a * g) * (a * g);
  }
  return {pg, cs};
}

}  // namespace

Stationarity StationarityMeter::measure(const Data& X, Loss& loss, const Penalty& penalty, const Matrix& W,
                                        const Matrix& H, const Distribution* distribution) {
  loss.gradient_W(X, W, H, pos_W_, neg_W_);
  loss.gradient_H(X, W, H, pos_H_, neg_H_);
  double squares[4];
  std::tie(squares[0], squares[1]) = residuals(W, pos_W_, neg_W_, penalty.l1_W, penalty.l2_W);
  std::tie(squares[2], squares[3]) = residuals(H, pos_H_, neg_H_, penalty.l1_H, penalty.l2_H);
  if (distribution && distribution->comm) distribution->comm->sum(Communicator::Group::all, squares, 4);
  Stationarity s;
  s.projected_gradient_W = std::sqrt(squares[0]);
  s.complementarity_W = std::sqrt(squares[1]);
  s.projected_gradient_H = std::sqrt(squares[2]);
  s.complementarity_H = std::sqrt(squares[3]);
  return s;
}

}  // namespace nmfx
