// Greedy coordinate descent (GCD) for least-squares NMF: Hsieh & Dhillon (2011), "Fast coordinate
// descent methods with variable selection for non-negative matrix factorization", KDD, section 3.
// Each factor is updated one coordinate at a time; within a row the coordinate with the largest
// objective decrease D is moved to its exact one-variable minimizer, and the row stops when its
// best D falls below epsilon * p_init, p_init being the largest D over the whole factor at the
// start of that factor's update. Seed 003, slide "Coordinate descent".
#include <algorithm>
#include <string>
#include <vector>

#include <omp.h>

#include <nmfx/clones.hpp>
#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx_common/diagonal_scaling.hpp>
#include <nmfx_common/factor_shapes.hpp>

namespace {

using nmfx::Matrix;
using nmfx::Trans;

// The exact minimizer of the one-variable problem g s + d/2 s^2 over a + s >= 0 (seed 003,
// "Coordinate descent": closed form in the Euclidean case). A zero curvature only happens for an
// all-zero row of H (or column of W) without L2, where the gradient is l1 >= 0: then go to 0.
inline double target(double a, double g, double d) {
  if (d > 0) return std::max(0.0, a - g / d);
  return g > 0 ? 0.0 : a;
}

// The largest of D[0..L) and 0, by four independent running maxima (one serial compare chain over
// the row was the inner loop's critical path).
inline double largest(const double* D, std::size_t L) {
  double m[4] = {0, 0, 0, 0};
  std::size_t r = 0;
  for (; r + 4 <= L; r += 4)
    for (int u = 0; u < 4; ++u) m[u] = D[r + u] > m[u] ? D[r + u] : m[u];
  for (; r < L; ++r) m[0] = D[r] > m[0] ? D[r] : m[0];
  return std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
}

// The inner loop of GCD (Algorithm 1, step 7) on one row a of the factor, all curvatures d > 0:
// while the row's largest decrease D_q is positive and at least `threshold` (eps * p_init, eq. 17),
// move a_q by S_q to its exact one-variable minimizer (step 7.3), update the row's gradient by
// S_q P_q,: (step 7.4) and, in the same pass, its S and D (steps 7.5-7.6); then pick the next q
// (step 7.7): the first index of the largest D, as a left-to-right strict comparison picks it.
// Returns the number of updates.
NMFX_TARGET_CLONES long long greedy_row(double* a, double* g, const double* P, const double* d, const double* inv,
                                        double* D, std::size_t L, double threshold, std::size_t cap) {
  for (std::size_t r = 0; r < L; ++r) {
    const double s = std::max(0.0, a[r] - g[r] * inv[r]) - a[r];
    D[r] = -s * (g[r] + 0.5 * d[r] * s);
  }
  long long updates = 0;
  for (std::size_t t = 0; t < cap; ++t) {
    const double best = largest(D, L);
    if (!(best > 0) || best < threshold) break;
    std::size_t q = 0;
    while (D[q] != best) ++q;
    const double next = std::max(0.0, a[q] - g[q] * inv[q]);
    const double step = next - a[q];
    a[q] = next;
    const double* pq = P + q * L;
    for (std::size_t r = 0; r < L; ++r) {
      g[r] += step * pq[r];
      const double s = std::max(0.0, a[r] - g[r] * inv[r]) - a[r];
      D[r] = -s * (g[r] + 0.5 * d[r] * s);
    }
    ++updates;
  }
  return updates;
}

class Cd final : public nmfx::Solver {
 public:
  explicit Cd(const nmfx::Params& p)
      : epsilon_(p.real("epsilon")),
        max_inner_(p.integer("max_inner")),
        diagonal_scaling_(p.boolean("diagonal_scaling")) {}

  void prepare(const nmfx::Problem& problem, Matrix& W, Matrix& H) override {
    const std::size_t M = problem.X.rows(), N = problem.X.cols(), L = problem.rank;
    if (problem.loss_name != "frobenius")
      throw nmfx::Error("cd: loss '" + problem.loss_name + "' is not supported; GCD minimizes 'frobenius' only");
    nmfx_common::check_factor_shapes("cd", problem, W, H);
    X_ = &problem.X;
    penalty_ = problem.penalty;
    threads_ = std::max(1, problem.threads);
    // The authors' code caps the greedy updates of one row at k^2 (NMF_GCD.m: doiter(..., k^2)).
    cap_ = max_inner_ > 0 ? static_cast<std::size_t>(max_inner_) : L * L;
    products_.prepare(problem.X, L);
    HHt_ = Matrix::from_shape({L, L});
    WtW_ = Matrix::from_shape({L, L});
    GW_ = Matrix::from_shape({M, L});
    WtX_ = Matrix::from_shape({L, N});
    Ht_ = Matrix::from_shape({N, L});
    GHt_ = Matrix::from_shape({N, L});
    curvature_.assign(L, 0.0);
    inverse_.assign(L, 0.0);
    scratch_ = Matrix::from_shape({static_cast<std::size_t>(threads_), L});
    updates_W_ = updates_H_ = 0;
    scaling_.prepare(L, nullptr);
  }

  void step(Matrix& W, Matrix& H) override {
    if (!X_) throw nmfx::Error("cd: step() called before prepare()");
    const std::size_t M = W.shape(0), L = W.shape(1), N = H.shape(1);

    // W: G = W (HH^T + l2 I) - XH^T + l1, the gradient of the penalized objective in W.
    products_.XHt(H, GW_);
    nmfx::gemm(H, Trans::no, H, Trans::yes, HHt_);
    for (std::size_t r = 0; r < L; ++r) HHt_(r, r) += penalty_.l2_W;
    nmfx::gemm(W, Trans::no, HHt_, Trans::no, GW_, 1.0, -1.0);
    add_constant(GW_, penalty_.l1_W);
    updates_W_ = greedy_rows(W.data(), GW_.data(), HHt_.data(), M, L);
    if (diagonal_scaling_) scaling_.normalize_W(W, H);

    // H on the transposed problem, so that the variables of one column of H are contiguous:
    // G^T = H^T (W^T W + l2 I) - (W^T X)^T + l1.
    for (std::size_t r = 0; r < L; ++r)
      for (std::size_t j = 0; j < N; ++j) Ht_(j, r) = H(r, j);
    products_.WtX(W, WtX_);
    for (std::size_t j = 0; j < N; ++j)
      for (std::size_t r = 0; r < L; ++r) GHt_(j, r) = penalty_.l1_H - WtX_(r, j);
    nmfx::gemm(W, Trans::yes, W, Trans::no, WtW_);
    for (std::size_t r = 0; r < L; ++r) WtW_(r, r) += penalty_.l2_H;
    nmfx::gemm(Ht_, Trans::no, WtW_, Trans::no, GHt_, 1.0, 1.0);
    updates_H_ = greedy_rows(Ht_.data(), GHt_.data(), WtW_.data(), N, L);
    for (std::size_t r = 0; r < L; ++r)
      for (std::size_t j = 0; j < N; ++j) H(r, j) = Ht_(j, r);
    if (diagonal_scaling_) scaling_.normalize_H(W, H);
  }

  nmfx::Values stats() const override {
    return {{"updates_W", static_cast<double>(updates_W_)}, {"updates_H", static_cast<double>(updates_H_)}};
  }

 private:
  // Greedy coordinate descent on every row of A (rows x L) for min 1/2 a P a^T - b a^T + l1 sum a,
  // given its gradient G (updated in place) and the Hessian P (L x L, penalty included).
  // Returns the number of coordinate updates. Rows are independent given P, so they run in
  // parallel with identical results for any thread count; max and integer sum are exact reductions.
  long long greedy_rows(double* A, double* G, const double* P, std::size_t rows, std::size_t L) {
    bool flat = false;  // a zero curvature: take the exact but branchy path
    for (std::size_t r = 0; r < L; ++r) {
      curvature_[r] = P[r * L + r];
      inverse_[r] = curvature_[r] > 0 ? 1.0 / curvature_[r] : 0.0;
      flat = flat || !(curvature_[r] > 0);
    }
    return flat ? greedy_rows<false>(A, G, P, rows, L) : greedy_rows<true>(A, G, P, rows, L);
  }

  template <bool Curved>
  long long greedy_rows(double* A, double* G, const double* P, std::size_t rows, std::size_t L) {
    const double* d = curvature_.data();
    const double* inv = inverse_.data();
    // D_r = -g_r s_r - d_r/2 s_r^2, the objective decrease of the move s_r of coordinate r to its
    // target, for every coordinate of one row.
    auto decreases = [&](const double* a, const double* g, double* D) {
      for (std::size_t r = 0; r < L; ++r) {
        // With every curvature positive, target() without its branch, by a precomputed 1/d.
        const double s = (Curved ? std::max(0.0, a[r] - g[r] * inv[r]) : target(a[r], g[r], d[r])) - a[r];
        D[r] = -s * (g[r] + 0.5 * d[r] * s);
      }
    };

    // Below about 32k multiply-adds of row work a team of threads costs more than it saves.
    const bool parallel = threads_ > 1 && rows * L * L >= 32768;
    // p_init: the largest one-variable decrease over the whole factor before any update.
    double p_init = 0;
#pragma omp parallel if (parallel) num_threads(threads_) reduction(max : p_init)
    {
      double* D = scratch_.data() + static_cast<std::size_t>(omp_get_thread_num()) * L;
#pragma omp for schedule(static)
      for (std::size_t i = 0; i < rows; ++i) {
        decreases(A + i * L, G + i * L, D);
        for (std::size_t r = 0; r < L; ++r) p_init = std::max(p_init, D[r]);
      }
    }
    const double threshold = epsilon_ * p_init;
    const std::size_t cap = cap_;

    long long total = 0;
#pragma omp parallel if (parallel) num_threads(threads_) reduction(+ : total)
    {
      double* D = scratch_.data() + static_cast<std::size_t>(omp_get_thread_num()) * L;
#pragma omp for schedule(dynamic, 16)
      for (std::size_t i = 0; i < rows; ++i) {
        double* a = A + i * L;
        double* g = G + i * L;
        if (Curved) {
          total += greedy_row(a, g, P, d, inv, D, L, threshold, cap);
          continue;
        }
        decreases(a, g, D);
        for (std::size_t t = 0; t < cap; ++t) {
          std::size_t q = L;
          double best = 0;  // only strict decreases count; the first of equal ones wins
          for (std::size_t r = 0; r < L; ++r) {
            const bool better = D[r] > best;
            best = better ? D[r] : best;
            q = better ? r : q;
          }
          // Paper's inner rule: update row i while its best decrease is at least epsilon * p_init.
          if (q == L || best < threshold) break;
          const double next = Curved ? std::max(0.0, a[q] - g[q] * inv[q]) : target(a[q], g[q], d[q]);
          const double s = next - a[q];
          a[q] = next;
          const double* pq = P + q * L;  // G_i,: += s P_q,: keeps the row's gradient exact
          for (std::size_t r = 0; r < L; ++r) g[r] += s * pq[r];
          decreases(a, g, D);
          ++total;
        }
      }
    }
    return total;
  }

  static void add_constant(Matrix& A, double c) {
    if (c == 0) return;
    double* a = A.data();
    for (std::size_t k = 0, n = A.size(); k < n; ++k) a[k] += c;
  }

  double epsilon_;
  long long max_inner_;
  bool diagonal_scaling_;
  nmfx_common::DiagonalScaling scaling_;
  std::size_t cap_ = 0;
  int threads_ = 1;
  nmfx::Penalty penalty_;
  const nmfx::Data* X_ = nullptr;
  nmfx::DataProducts products_;
  Matrix HHt_, WtW_, GW_, WtX_, Ht_, GHt_;
  std::vector<double> curvature_, inverse_;  ///< diagonal of the Hessian and its inverse
  Matrix scratch_;                           ///< one row of decreases D per thread
  long long updates_W_ = 0, updates_H_ = 0;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, Cd>(
      "cd", "1.0.0", "Hsieh & Dhillon (2011) greedy coordinate descent with variable selection (GCD), W then H");
  d.params = {
      nmfx::param_real("epsilon", 1e-3, "inner tolerance: a row stops when its best decrease < epsilon * p_init", 0.0,
                       1.0),
      nmfx::param_int("max_inner", 0, "cap on greedy updates per row and factor; 0 means rank^2 (authors' code)", 0.0),
      nmfx_common::diagonal_scaling_param(),
  };
  d.losses = {"frobenius"};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  d.penalties = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
