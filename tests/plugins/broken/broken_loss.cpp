// A deliberately wrong loss, for the test of nmfx check-plugin: f = 1/2 ||X - WH||_F^2, but its
// gradient with respect to H is off by a factor 2 in the negative part, and the negative part of
// the W gradient goes below zero. check-plugin must fail it, naming those properties.
#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

namespace {

class BrokenLoss final : public nmfx::Loss {
 public:
  explicit BrokenLoss(const nmfx::Params&) {}
  void prepare(const nmfx::Data& X, std::size_t rank) override {
    WH_.resize({X.rows(), X.cols()});
    R_.resize({X.rows(), X.cols()});
    (void)rank;
  }
  double value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) override {
    residual(X, W, H);
    double s = 0;
    for (double r : R_) s += r * r;
    return 0.5 * s;
  }
  // Right value of pos - neg, but neg is not >= 0: pos = 0, neg = -(grad).
  void gradient_W(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    residual(X, W, H);  // R = WH - X
    nmfx::gemm(R_, nmfx::Trans::no, H, nmfx::Trans::yes, neg, -1.0);
    pos.fill(0.0);
  }
  // Wrong: pos = W^T W H, neg = 2 W^T X.
  void gradient_H(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    nmfx::gemm(W, nmfx::Trans::no, H, nmfx::Trans::no, WH_);
    nmfx::gemm(W, nmfx::Trans::yes, WH_, nmfx::Trans::no, pos);
    nmfx::gemm(W, nmfx::Trans::yes, X.dense, nmfx::Trans::no, neg, 2.0);
  }

 private:
  void residual(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
    nmfx::gemm(W, nmfx::Trans::no, H, nmfx::Trans::no, R_);
    R_ -= X.dense;
  }
  nmfx::Matrix WH_, R_;
};

nmfx::PluginDescriptor describe() {
  return nmfx::describe<nmfx::Loss, BrokenLoss>("broken_loss", "0.0.1", "test loss with a wrong gradient");
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
