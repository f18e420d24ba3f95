// Lin (2007), "Projected gradient methods for nonnegative matrix factorization", Neural Computation
// 19(10): alternating nonnegative least squares, each block solved by projected gradient with the
// Armijo-type step search of the paper (section 4.1 / nlssubprob in Lin's nmf.m) to a projected-
// gradient tolerance that starts at max(0.001, tol) ||grad f(W^1, H^1)||_F and is cut tenfold
// whenever a block needs no step at all.
#include <algorithm>
#include <cmath>
#include <string>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx_common/factor_shapes.hpp>

namespace {

using nmfx::Matrix;
using nmfx::Trans;

// One block: min_{Z>=0} q(Z) = 1/2 <Z, Z Q> - <B, Z> (Z is M x L, W's block) or
// 1/2 <Z, Q Z> - <B, Z> (Z is L x N, H's block), with Q = Gram + l2 I and B = product with X - l1.
enum class Side { right, left };

struct Block {
  Matrix Q, B;              ///< L x L, and the shape of Z
  Matrix G, Zn, Zp, D, QD;  ///< gradient, trial point, last accepted trial, Zn - Z, Q applied to D
  void prepare(std::size_t rows, std::size_t cols, std::size_t L) {
    Q = Matrix::from_shape({L, L});
    for (Matrix* A : {&B, &G, &Zn, &Zp, &D, &QD}) *A = Matrix::from_shape({rows, cols});
  }
};

class Pgd final : public nmfx::Solver {
 public:
  explicit Pgd(const nmfx::Params& p)
      : tol_(p.real("tol")),
        max_inner_(static_cast<std::size_t>(p.integer("max_inner"))),
        beta_(p.real("beta")),
        sigma_(p.real("sigma")) {}

  void prepare(const nmfx::Problem& problem, Matrix& W, Matrix& H) override {
    const std::size_t M = problem.X.rows(), N = problem.X.cols(), L = problem.rank;
    if (problem.loss_name != "frobenius")
      throw nmfx::Error("pgd: loss '" + problem.loss_name + "' is not supported (only frobenius)");
    nmfx_common::check_factor_shapes("pgd", problem, W, H);
    penalty_ = problem.penalty;
    products_.prepare(problem.X, L);
    w_.prepare(M, L, L);
    h_.prepare(L, N, L);
    first_ = true;
    prepared_ = true;
  }

  void step(Matrix& W, Matrix& H) override {
    if (!prepared_) throw nmfx::Error("pgd: step() called before prepare()");
    // W's block: Q = HH^T + l2 I, B = XH^T - l1.
    nmfx::gemm(H, Trans::no, H, Trans::yes, w_.Q);
    products_.XHt(H, w_.B);
    shift(w_, penalty_.l1_W, penalty_.l2_W);
    if (first_) {
      // Lin's nmf.m: initgrad = ||[grad_W f; grad_H f^T]||_F at the initial point (timed, as in
      // Lin's code), tolW = tolH = max(0.001, tol) * initgrad.
      nmfx::gemm(W, Trans::yes, W, Trans::no, h_.Q);
      products_.WtX(W, h_.B);
      shift(h_, penalty_.l1_H, penalty_.l2_H);
      const double g2 = gradient(w_, Side::right, W) + gradient(h_, Side::left, H);
      tol_W_ = tol_H_ = std::max(0.001, tol_) * std::sqrt(g2);
      first_ = false;
    }
    inner_W_ = subproblem(w_, Side::right, W, tol_W_);
    if (inner_W_ == 1) tol_W_ *= 0.1;

    // H's block with the new W: Q = W^T W + l2 I, B = W^T X - l1.
    nmfx::gemm(W, Trans::yes, W, Trans::no, h_.Q);
    products_.WtX(W, h_.B);
    shift(h_, penalty_.l1_H, penalty_.l2_H);
    inner_H_ = subproblem(h_, Side::left, H, tol_H_);
    if (inner_H_ == 1) tol_H_ *= 0.1;
  }

  nmfx::Values stats() const override {
    return {{"inner_W", static_cast<double>(inner_W_)},
            {"inner_H", static_cast<double>(inner_H_)},
            {"tol_W", tol_W_},
            {"tol_H", tol_H_}};
  }

 private:
  // The penalty l1 ||Z||_1 + l2/2 ||Z||^2 is linear plus quadratic on Z >= 0: it joins B and Q, so
  // the gradient gains l1 + l2 Z and the Armijo test sees the penalized objective exactly.
  static void shift(Block& b, double l1, double l2) {
    if (l2 != 0)
      for (std::size_t a = 0; a < b.Q.shape(0); ++a) b.Q(a, a) += l2;
    if (l1 != 0)
      for (double& v : b.B) v -= l1;
  }

  static void apply(const Matrix& Q, Side side, const Matrix& Z, Matrix& out) {
    if (side == Side::right)
      nmfx::gemm(Z, Trans::no, Q, Trans::no, out);
    else
      nmfx::gemm(Q, Trans::no, Z, Trans::no, out);
  }

  // b.G <- grad q(Z) = Z Q - B (or Q Z - B); returns ||grad||_F^2.
  static double gradient(Block& b, Side side, const Matrix& Z) {
    apply(b.Q, side, Z, b.G);
    double* g = b.G.data();
    const double* r = b.B.data();
    double s = 0;
    for (std::size_t k = 0; k < b.G.size(); ++k) {
      g[k] -= r[k];
      s += g[k] * g[k];
    }
    return s;
  }

  // Lin's nlssubprob: projected gradient steps Z <- P[Z - alpha grad] until ||grad^P q|| < tol, with
  // alpha searched from its previous value by factors of beta: decreased until the first step with
  // q(Zn) - q(Z) <= sigma <grad, Zn - Z>, or, if the first trial already satisfies it, increased while
  // it still does and the projected point still moves. Returns Lin's `iter`: 1 means Z already met
  // the tolerance, max_inner that it never did.
  std::size_t subproblem(Block& b, Side side, Matrix& Z, double tol) {
    const std::size_t size = Z.size();
    double alpha = 1;
    std::size_t iter = 1;
    for (; iter <= max_inner_; ++iter) {
      gradient(b, side, Z);
      const double* g = b.G.data();
      const double* z = Z.data();
      double pg = 0;
      for (std::size_t k = 0; k < size; ++k)
        if (g[k] < 0 || z[k] > 0) pg += g[k] * g[k];
      if (std::sqrt(pg) < tol) break;

      bool decrease = false, have_previous = false, done = false;
      for (int trial = 1; trial <= kTrials && !done; ++trial) {
        double* zn = b.Zn.data();
        double* d = b.D.data();
        double gd = 0;
        for (std::size_t k = 0; k < size; ++k) {
          zn[k] = std::max(z[k] - alpha * g[k], 0.0);
          d[k] = zn[k] - z[k];
          gd += g[k] * d[k];
        }
        apply(b.Q, side, b.D, b.QD);
        const double dQd = nmfx::inner(b.QD, b.D);
        // q(Zn) - q(Z) = <grad, d> + 1/2 <d, Q d> <= sigma <grad, d>
        const bool sufficient = (1 - sigma_) * gd + 0.5 * dQd < 0;
        if (trial == 1) decrease = !sufficient;
        if (decrease) {
          if (sufficient) {
            std::copy(zn, zn + size, Z.data());
            done = true;
          } else {
            alpha *= beta_;
          }
        } else {
          // Lin: stop increasing when the trial fails or equals the previous one (the projection
          // saturated); Hp is Z itself at the first trial.
          const double* previous = have_previous ? b.Zp.data() : z;
          if (!sufficient || std::equal(zn, zn + size, previous)) {
            if (have_previous) std::copy(b.Zp.data(), b.Zp.data() + size, Z.data());
            done = true;
          } else {
            alpha /= beta_;
            std::swap(b.Zp, b.Zn);
            have_previous = true;
          }
        }
      }
      // All trials spent while increasing: keep the last accepted point (Lin's code would keep Z;
      // every accepted trial satisfies the sufficient decrease condition).
      if (!done && !decrease && have_previous) std::copy(b.Zp.data(), b.Zp.data() + size, Z.data());
    }
    return std::min(iter, max_inner_);
  }

  static constexpr int kTrials = 20;  // step-size trials per iteration (inner_iter=1:20 in nmf.m)

  double tol_;
  std::size_t max_inner_;
  double beta_, sigma_;
  nmfx::Penalty penalty_;
  nmfx::DataProducts products_;
  Block w_, h_;
  double tol_W_ = 0, tol_H_ = 0;
  std::size_t inner_W_ = 0, inner_H_ = 0;
  bool first_ = true, prepared_ = false;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, Pgd>(
      "pgd", "1.0.0", "Lin (2007) alternating projected gradient with Armijo step search and adaptive tolerances");
  d.params = {
      nmfx::param_real("tol", 1e-3,
                       "subproblem tolerances start at max(0.001, tol) * ||grad f(W0, H0)||_F (Lin's nmf.m)", 0.0),
      nmfx::param_int("max_inner", 1000, "iteration limit of each subproblem (maxiter of Lin's nlssubprob)", 1),
      nmfx::param_real("beta", 0.1, "step-size factor of the Armijo search", 1e-6, 1.0 - 1e-6),
      nmfx::param_real("sigma", 0.01, "sufficient decrease constant of the Armijo test", 1e-12, 1.0 - 1e-12),
  };
  d.losses = {"frobenius"};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  d.penalties = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
