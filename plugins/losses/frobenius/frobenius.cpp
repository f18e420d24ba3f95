// f = 1/2 ||X - WH||_F^2 (Lee & Seung 2001, eq. 2, halved so the gradient has no factor 2).
// W·H (M x N) is never formed: the value comes from L x L and M x L products, and every product
// is a BLAS call (or, for sparse X, an O(nnz L) product) into a workspace sized in prepare(), so no
// call below allocates.
#include <algorithm>
#include <string>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

namespace {

using nmfx::Trans;

class Frobenius final : public nmfx::Loss {
 public:
  explicit Frobenius(const nmfx::Params&) {}

  void prepare(const nmfx::Data& X, std::size_t rank) override {
    M_ = X.rows();
    N_ = X.cols();
    L_ = rank;
    HHt_.resize({L_, L_});
    WtW_.resize({L_, L_});
    XHt_.resize({M_, L_});
    products_.prepare(X, rank);
  }

  // 1/2 ||X||^2 - <X H^T, W> + 1/2 <W^T W, H H^T>.
  double value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) override {
    check(X, W, H, "value");
    products_.XHt(H, XHt_);
    nmfx::gemm(W, Trans::yes, W, Trans::no, WtW_);
    nmfx::gemm(H, Trans::no, H, Trans::yes, HHt_);
    const double f = 0.5 * X.norm_sq - nmfx::inner(XHt_, W) + 0.5 * nmfx::inner(WtW_, HHt_);
    return std::max(f, 0.0);  // the identity can round to a tiny negative number near a fit
  }

  // grad_W = W (H H^T) - X H^T.
  void gradient_W(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    check(X, W, H, "gradient_W");
    nmfx::gemm(H, Trans::no, H, Trans::yes, HHt_);
    nmfx::gemm(W, Trans::no, HHt_, Trans::no, pos);
    products_.XHt(H, neg);
  }

  // grad_H = (W^T W) H - W^T X.
  void gradient_H(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    check(X, W, H, "gradient_H");
    nmfx::gemm(W, Trans::yes, W, Trans::no, WtW_);
    nmfx::gemm(WtW_, Trans::no, H, Trans::no, pos);
    products_.WtX(W, neg);
  }

 private:
  void check(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, const char* where) const {
    if (X.rows() != M_ || X.cols() != N_ || W.shape(0) != M_ || W.shape(1) != L_ || H.shape(0) != L_ ||
        H.shape(1) != N_)
      throw nmfx::Error(std::string("frobenius ") + where + ": X " + std::to_string(X.rows()) + "x" +
                        std::to_string(X.cols()) + ", W " + shape(W) +
                        ", H " + shape(H) + " do not match the prepared " + std::to_string(M_) + "x" +
                        std::to_string(N_) + " at rank " + std::to_string(L_));
  }
  static std::string shape(const nmfx::Matrix& A) {
    return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1));
  }

  std::size_t M_ = 0, N_ = 0, L_ = 0;
  nmfx::Matrix HHt_, WtW_, XHt_;
  nmfx::DataProducts products_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Loss, Frobenius>("frobenius", "1.0.0",
                                                 "half the squared Frobenius norm, 1/2 ||X - WH||_F^2");
  d.params = {};
  d.data_kinds = {"dense", "sparse"};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
