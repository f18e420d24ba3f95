#pragma once
// The HALS sweep (Cichocki & Phan 2009; seed 000 eq. 12, Algorithms 3-4) and the outer iteration
// built on it, shared by the hals and accel_hals solvers: one sweep in the codebase, so that
// accel_hals with alpha = 0 is hals exactly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>

#include <nmfx/clones.hpp>
#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

namespace nmfx_hals {

// Elastic net as scikit-learn's cd solver does it: the subproblem 1/2 f'Bf - a'f + l1 |f|_1 +
// l2/2 |f|^2 is the unpenalized one with a - l1 and B + l2 I.
inline void penalize_B(nmfx::Matrix& B, double l2) {
  if (l2 != 0)
    for (std::size_t j = 0; j < B.shape(0); ++j) B(j, j) += l2;
}

inline void penalize(nmfx::Matrix& A, nmfx::Matrix& B, double l1, double l2) {
  if (l1 != 0) {
    double* a = A.data();
    for (std::size_t k = 0; k < A.size(); ++k) a[k] -= l1;
  }
  penalize_B(B, l2);
}

// Columns per block: 64, so that a block of F and of A (2 x 64 L doubles, 20 KiB at L = 20) stay in
// the first-level cache through the block's L updates (measured: 25% faster than 256 at L = 20).
constexpr std::size_t sweep_block = 64;

typedef double sweep_v8 __attribute__((vector_size(64)));
typedef double sweep_v8u __attribute__((vector_size(64), aligned(8), may_alias));
typedef long long sweep_m8 __attribute__((vector_size(64)));

// Eq. 12 for component j when B[j,j] = 0: the other factor's component j is zero, so row j of B is
// zero and F[j,:]'s objective is linear, -A[j,k] f: its minimizer over f >= 0 is 0 where A[j,k] < 0
// (A = XH^T - l1 = -l1 under an L1 penalty) and any value where A[j,k] = 0 (no penalty: the entry
// is kept).
inline void sweep_zero_diagonal(double* fj, const double* aj, std::size_t n, double* change, unsigned char& nonzero) {
  for (std::size_t k = 0; k < n; ++k) {
    if (aj[k] < 0 && fj[k] != 0) {
      change[k] += fj[k] * fj[k];
      fj[k] = 0;
    }
    nonzero |= fj[k] > 0;
  }
}

// Eq. 12 over one block of n <= sweep_block columns of F (L x n, rows ldf apart), in place, with
// A's rows lda apart; ORs into nonzero[j] whether component j has an entry > 0 afterwards; returns
// the block's share of ||F_new - F_old||_F^2. Compiled for AVX-512, AVX2 and baseline x86-64
// (NMFX_TARGET_CLONES: same bits from all).
__attribute__((always_inline)) inline double sweep_block_body(double* f, std::size_t ldf, const double* a,
                                                              std::size_t lda, const double* b, std::size_t L,
                                                              std::size_t n, unsigned char* nonzero) {
  double r[sweep_block];       // the numerator A[j,:] - B[j,:] F over the block
  double change[sweep_block];  // per column of the block: its squared change over the sweep
  for (std::size_t k = 0; k < n; ++k) change[k] = 0;
  for (std::size_t j = 0; j < L; ++j) {
    double* fj = f + j * ldf;
    const double bjj = b[j * L + j];
    const double* aj = a + j * lda;
    if (!(bjj > 0)) {
      sweep_zero_diagonal(fj, aj, n, change, nonzero[j]);
      continue;
    }
    for (std::size_t k = 0; k < n; ++k) r[k] = aj[k];
    const double* bj = b + j * L;  // B is symmetric: row j is column j
    std::size_t l = 0;
    for (; l + 4 <= L; l += 4) {  // four rows per pass over r: a quarter of the loads and stores of r
      const double b0 = bj[l], b1 = bj[l + 1], b2 = bj[l + 2], b3 = bj[l + 3];
      const double* f0 = f + l * ldf;
      const double* f1 = f0 + ldf;
      const double* f2 = f1 + ldf;
      const double* f3 = f2 + ldf;
      for (std::size_t k = 0; k < n; ++k) r[k] -= (b0 * f0[k] + b1 * f1[k]) + (b2 * f2[k] + b3 * f3[k]);
    }
    for (; l < L; ++l) {
      const double blj = bj[l];
      const double* fl = f + l * ldf;
      for (std::size_t k = 0; k < n; ++k) r[k] -= blj * fl[k];
    }
    // Whether any entry is positive, as an OR of their bits: v is +0.0 or positive, so its bits
    // are nonzero exactly when v > 0. GCC vectorizes an integer OR, but not a count or OR of
    // comparisons (measured: this loop ran scalar, with one division per entry, and took about
    // two thirds of the sweep on 64 x 1797 at L = 20).
    std::uint64_t positive_bits = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const double old = fj[k];
      const double v = std::max(0.0, old + r[k] / bjj);
      const double step = v - old;
      change[k] += step * step;
      fj[k] = v;
      std::uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      positive_bits |= bits;
    }
    nonzero[j] |= positive_bits != 0;
  }
  double sum = 0;
  for (std::size_t k = 0; k < n; ++k) sum += change[k];
  return sum;
}

// sweep_block_body for a full block of 64 columns, written with 8-wide vectors: the numerator of
// a component stays in registers through its L updates (GCC kept sweep_block_body's on the stack,
// even with the trip count fixed at 64; measured: a sweep of a 20000 x 20 factor 10-15% faster).
// Lane k does exactly the operations of sweep_block_body's column k in the same order, so both
// give the same bits.
#define NMFX_SWEEP_LOAD(p) (*reinterpret_cast<const sweep_v8u*>(p))
__attribute__((always_inline)) inline double sweep_full_block(double* f, std::size_t ldf, const double* a,
                                                              std::size_t lda, const double* b, std::size_t L,
                                                              unsigned char* nonzero) {
  constexpr std::size_t V = sweep_block / 8;
  static_assert(sweep_block % 8 == 0, "a full block is a whole number of 8-wide vectors");
  sweep_v8 change[V];
  for (std::size_t v = 0; v < V; ++v) change[v] = sweep_v8{};
  for (std::size_t j = 0; j < L; ++j) {
    double* fj = f + j * ldf;
    const double bjj = b[j * L + j];
    const double* aj = a + j * lda;
    if (!(bjj > 0)) {
      double ch[sweep_block];
      std::memcpy(ch, change, sizeof ch);
      sweep_zero_diagonal(fj, aj, sweep_block, ch, nonzero[j]);
      std::memcpy(change, ch, sizeof ch);
      continue;
    }
    sweep_v8 r[V];
#pragma GCC unroll 8
    for (std::size_t v = 0; v < V; ++v) r[v] = NMFX_SWEEP_LOAD(aj + 8 * v);
    const double* bj = b + j * L;
    std::size_t l = 0;
    for (; l + 4 <= L; l += 4) {
      const double b0 = bj[l], b1 = bj[l + 1], b2 = bj[l + 2], b3 = bj[l + 3];
      const double* f0 = f + l * ldf;
      const double* f1 = f0 + ldf;
      const double* f2 = f1 + ldf;
      const double* f3 = f2 + ldf;
#pragma GCC unroll 8
      for (std::size_t v = 0; v < V; ++v)
        r[v] -= (b0 * NMFX_SWEEP_LOAD(f0 + 8 * v) + b1 * NMFX_SWEEP_LOAD(f1 + 8 * v)) +
                (b2 * NMFX_SWEEP_LOAD(f2 + 8 * v) + b3 * NMFX_SWEEP_LOAD(f3 + 8 * v));
    }
    for (; l < L; ++l) {
      const double blj = bj[l];
      const double* fl = f + l * ldf;
#pragma GCC unroll 8
      for (std::size_t v = 0; v < V; ++v) r[v] -= blj * NMFX_SWEEP_LOAD(fl + 8 * v);
    }
    sweep_m8 positive_bits{};
#pragma GCC unroll 8
    for (std::size_t v = 0; v < V; ++v) {
      const sweep_v8 old = NMFX_SWEEP_LOAD(fj + 8 * v);
      const sweep_v8 x = old + r[v] / bjj;
      const sweep_v8 nv = x > 0.0 ? x : sweep_v8{};  // std::max(0.0, x), NaN to 0 included
      const sweep_v8 step = nv - old;
      change[v] += step * step;
      *reinterpret_cast<sweep_v8u*>(fj + 8 * v) = nv;
      sweep_m8 bits;
      std::memcpy(&bits, &nv, sizeof bits);
      positive_bits |= bits;
    }
    bool any = false;
    for (std::size_t i = 0; i < 8; ++i) any |= positive_bits[i] != 0;
    nonzero[j] |= any;
  }
  double ch[sweep_block];
  std::memcpy(ch, change, sizeof ch);
  double sum = 0;
  for (std::size_t k = 0; k < sweep_block; ++k) sum += ch[k];  // in column order, as sweep_block_body
  return sum;
}
#undef NMFX_SWEEP_LOAD

NMFX_TARGET_CLONES static double sweep_block_of(double* f, std::size_t ldf, const double* a, std::size_t lda,
                                                const double* b, std::size_t L, std::size_t n, unsigned char* nonzero) {
  return n == sweep_block ? sweep_full_block(f, ldf, a, lda, b, L, nonzero)
                          : sweep_block_body(f, ldf, a, lda, b, L, n, nonzero);
}

// dst (cols x rows, rows ldd apart) <- the transpose of src (rows x cols, rows lds apart): 8 x 8
// tiles through registers (three rounds of shuffles), the edges one entry at a time. Only moves
// data, so every clone gives the same result. The two transposes of a sweep of W (20000 x 20)
// took 0.35 ms with a plain double loop and 0.24 ms this way, against 0.81 ms for the sweep itself.
NMFX_TARGET_CLONES static void transpose(const double* src, std::size_t lds, std::size_t rows, std::size_t cols,
                                         double* dst, std::size_t ldd) {
  const std::size_t R = rows / 8 * 8, Cc = cols / 8 * 8;
  for (std::size_t r0 = 0; r0 < R; r0 += 8)
    for (std::size_t c0 = 0; c0 < Cc; c0 += 8) {
      sweep_v8 x[8];
      for (std::size_t i = 0; i < 8; ++i) x[i] = *reinterpret_cast<const sweep_v8u*>(src + (r0 + i) * lds + c0);
      sweep_v8 t[8], u[8];
      for (std::size_t i = 0; i < 8; i += 2) {  // (r_i[0], r_i+1[0], r_i[2], ...), and the odd columns
        t[i] = __builtin_shuffle(x[i], x[i + 1], sweep_m8{0, 8, 2, 10, 4, 12, 6, 14});
        t[i + 1] = __builtin_shuffle(x[i], x[i + 1], sweep_m8{1, 9, 3, 11, 5, 13, 7, 15});
      }
      for (std::size_t i = 0; i < 8; i += 4)  // four rows per column pair
        for (std::size_t o = 0; o < 2; ++o) {
          u[i + o] = __builtin_shuffle(t[i + o], t[i + o + 2], sweep_m8{0, 1, 8, 9, 4, 5, 12, 13});
          u[i + o + 2] = __builtin_shuffle(t[i + o], t[i + o + 2], sweep_m8{2, 3, 10, 11, 6, 7, 14, 15});
        }
      for (std::size_t o = 0; o < 4; ++o) {  // u[o]: columns o and o + 4 of rows 0-3; u[o + 4] of rows 4-7
        *reinterpret_cast<sweep_v8u*>(dst + (c0 + o) * ldd + r0) =
            __builtin_shuffle(u[o], u[o + 4], sweep_m8{0, 1, 2, 3, 8, 9, 10, 11});
        *reinterpret_cast<sweep_v8u*>(dst + (c0 + o + 4) * ldd + r0) =
            __builtin_shuffle(u[o], u[o + 4], sweep_m8{4, 5, 6, 7, 12, 13, 14, 15});
      }
    }
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = r < R ? Cc : 0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
}

// One sweep over the L components of F, in place. F is L x K with one component per ROW (H
// itself), or F = W^T for W (K x L) given as is; each of the K columns of F is an independent NNLS
// problem min_{f >= 0} 1/2 f'Bf - a'f, and column k of A (L x K) is its a.
// For j = 1..L (eq. 12; HALSacc.m's deltaV):
//     F[j,:] <- max(0, F[j,:] + (A[j,:] - B[j,:] F) / B[j,j]),
// with rows l < j of F already updated. The columns go in blocks of 64, so that a block of F stays
// in cache for all L updates; for W, each block of 64 rows is transposed into a buffer in cache
// and back (rather than W as a whole, through memory, before and after). Sweeps with K L^2 >=
// 2^17 (about 30 us on one core; measured on 2 cores: 20 x 625 in 16 instead of 22 us, 20 x 200
// slower split) split the blocks into one contiguous range per thread;
// each block's change is summed on its own and the blocks added in order, so the result is the
// same for any number of threads.
class Sweep {
 public:
  /// A distributed cell: F holds this process's columns, so whether a component is all zero, and
  /// F's maximum, are decided over all processes.
  void distribute(const nmfx::Distribution* distribution) {
    comm_ = distribution && distribution->distributed() ? distribution->comm : nullptr;
  }

  void prepare(std::size_t L, std::size_t K) {
    L_ = L;
    K_ = K;
    const std::size_t blocks = (K + sweep_block - 1) / sweep_block;
    moved_.assign(std::max<std::size_t>(blocks, 1), 0.0);
    begin();  // sizes the per-thread workspaces now, so that a sweep allocates nothing
  }

  // Returns ||F_new - F_old||_F^2 (HALSacc.m's nodelta). A component that ends all zero is then
  // set to zero_floor * max(F) (zero_floor itself if F is all zero), so that B[j,j] > 0 in the
  // other factor's update (HALSacc.m's "safety procedure", there 1e-16 * max(V(:))).
  double run(nmfx::Matrix& F, const nmfx::Matrix& A, const nmfx::Matrix& B, double zero_floor) {
    check(F.shape(0), F.shape(1), A, B);
    return sweep(F, A, B, zero_floor, false);
  }

  // The same sweep on F = W^T, for W (K x L) in its own layout.
  double run_transposed(nmfx::Matrix& W, const nmfx::Matrix& A, const nmfx::Matrix& B, double zero_floor) {
    check(W.shape(1), W.shape(0), A, B);
    return sweep(W, A, B, zero_floor, true);
  }

  // run_transposed with A = H X^T - l1 (penalize's L1 term), fused with the product
  // (DataProducts::HXt_blocks): each block of 64 rows of W is swept on the thread that has just
  // computed its columns of A, while they are in cache (on sparse X the product otherwise writes A
  // to memory and the sweep reads it back: a 20000 x 20 sweep took 1.0 ms inside an iteration
  // against 0.6 ms with A in cache). A_workspace holds A where the product is not fused. The same
  // numbers as products.HXt, penalize and run_transposed, in the same order per entry.
  double run_transposed_fused(nmfx::Matrix& W, nmfx::DataProducts& products, const nmfx::Matrix& H,
                              nmfx::Matrix& A_workspace, const nmfx::Matrix& B, double l1, double zero_floor) {
    check(W.shape(1), W.shape(0), A_workspace, B);
    begin();
    auto visit = [&](const nmfx::DataProducts::HXtBlock& blk) {
      if (l1 != 0)
        for (std::size_t j = 0; j < L_; ++j)
          for (std::size_t k = 0; k < blk.rows; ++k) blk.a[j * blk.lda + k] -= l1;
      block(W, blk.a, blk.lda, B, blk.first_row / sweep_block, blk.thread, true);
    };
    products.HXt_blocks(H, A_workspace, sweep_block, parallel(), visit);
    return finish(W, zero_floor, true);
  }

 private:
  // Whether a sweep is worth splitting over the threads: K L^2 >= 2^17 (see the class comment).
  bool parallel() const { return K_ * L_ * L_ >= (std::size_t{1} << 17); }

  void check(std::size_t L, std::size_t K, const nmfx::Matrix& A, const nmfx::Matrix& B) const {
    if (L != L_ || K != K_ || A.shape(0) != L || A.shape(1) != K || B.shape(0) != L || B.shape(1) != L)
      throw nmfx::Error("hals sweep: factor " + std::to_string(L) + "x" + std::to_string(K) +
                        " does not match the prepared " + std::to_string(L_) + "x" + std::to_string(K_));
  }

  double sweep(nmfx::Matrix& F, const nmfx::Matrix& A, const nmfx::Matrix& B, double zero_floor, bool transposed) {
    begin();
    const std::size_t blocks = (K_ + sweep_block - 1) / sweep_block;
    const int parts =
        parallel() ? static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads_), blocks)) : 1;
    const auto range = [&](int part) {
      const std::size_t first = blocks * static_cast<std::size_t>(part) / static_cast<std::size_t>(parts);
      const std::size_t last = blocks * static_cast<std::size_t>(part + 1) / static_cast<std::size_t>(parts);
      for (std::size_t c = first; c < last; ++c) block(F, A.data() + c * sweep_block, K_, B, c, part, transposed);
    };
    if (parts > 1) {
#pragma omp parallel for num_threads(parts) schedule(static, 1)
      for (int part = 0; part < parts; ++part) range(part);
    } else {
      range(0);
    }
    return finish(F, zero_floor, transposed);
  }

  // Block c of F's columns (of W's rows if transposed) against its columns of A at a (rows lda
  // apart), with thread `part`'s workspaces; its share of the change into moved_[c].
  void block(nmfx::Matrix& F, const double* a, std::size_t lda, const nmfx::Matrix& B, std::size_t c, int part,
             bool transposed) {
    const std::size_t L = L_, K = K_;
    const std::size_t k0 = c * sweep_block, n = std::min(sweep_block, K - k0);
    unsigned char* nonzero = nonzero_.data() + static_cast<std::size_t>(part) * L;
    const double* b = B.data();
    if (!transposed) {
      moved_[c] = sweep_block_of(F.data() + k0, K, a, lda, b, L, n, nonzero);
      return;
    }
    const std::size_t ldb = std::min(K, sweep_block);  // a block's columns in the buffer
    double* buf = buffer_.data() + static_cast<std::size_t>(part) * L * ldb;
    double* w = F.data() + k0 * L;  // rows k0 .. k0 + n of W
    transpose(w, L, n, L, buf, ldb);
    moved_[c] = sweep_block_of(buf, ldb, a, lda, b, L, n, nonzero);
    transpose(buf, ldb, L, n, w, L);
  }

  // Before the blocks: no component seen nonzero yet; workspaces for every thread that may run one.
  void begin() {
    threads_ = std::max(1, omp_get_max_threads());
    nonzero_.assign(L_ * static_cast<std::size_t>(threads_), 0);
    const std::size_t buffer_size = L_ * std::min(K_, sweep_block) * static_cast<std::size_t>(threads_);
    if (buffer_.size() < buffer_size) buffer_.resize(buffer_size);
  }

  // After every block: the blocks' changes added in block order (thread-independent), and the
  // components that ended all zero set to the floor.
  double finish(nmfx::Matrix& F, double zero_floor, bool transposed) {
    const std::size_t L = L_, K = K_;
    double* f = F.data();
    const std::size_t blocks = (K + sweep_block - 1) / sweep_block;
    double moved = 0;
    for (std::size_t c = 0; c < blocks; ++c) moved += moved_[c];
    for (int part = 1; part < threads_; ++part)
      for (std::size_t j = 0; j < L; ++j) nonzero_[j] |= nonzero_[static_cast<std::size_t>(part) * L + j];
    if (comm_) {  // a component is zero only if it is zero on every process
      flags_.assign(L + 1, 0.0);
      for (std::size_t j = 0; j < L; ++j) flags_[j] = nonzero_[j] ? 1.0 : 0.0;
      flags_[L] = F.size() ? *std::max_element(f, f + F.size()) : 0.0;
      comm_->max(nmfx::Communicator::Group::all, flags_.data(), L + 1);
      for (std::size_t j = 0; j < L; ++j) nonzero_[j] = flags_[j] > 0;
    }
    double floor = -1;  // computed once, on the first all-zero component
    for (std::size_t j = 0; j < L; ++j) {
      if (nonzero_[j] || (K == 0 && !comm_)) continue;
      if (floor < 0) {
        const double top = comm_ ? flags_[L] : *std::max_element(f, f + F.size());
        floor = top > 0 ? zero_floor * top : zero_floor;
      }
      if (transposed)
        for (std::size_t k = 0; k < K; ++k) f[k * L + j] = floor;
      else
        std::fill(f + j * K, f + (j + 1) * K, floor);
    }
    return moved;
  }

  std::size_t L_ = 0, K_ = 0;
  int threads_ = 1;
  std::vector<double> moved_;           // per block of columns: its share of ||F_new - F_old||^2
  std::vector<unsigned char> nonzero_;  // per thread and component: any entry > 0 after the sweep
  std::vector<double> buffer_;          // per thread: a block of W^T (L x min(K, 64)), for run_transposed
  nmfx::Communicator* comm_ = nullptr;  // distributed cells only
  std::vector<double> flags_;           // distributed: each component nonzero anywhere, and max(F) last
};

// The outer iteration of HALS, with the number of sweeps per factor left to the caller:
// update_W computes A = X H^T and B = H H^T once (Algorithm 3, steps 1-2) and hands a sweep to
// `inner`, which calls it as often as it likes and returns how often it did; update_H likewise
// with A = W^T X, B = W^T W (Algorithm 4). W is swept as W^T (L x M) so that its columns are
// contiguous: A comes as (X H^T)^T = H X^T straight from the products, and W is transposed a
// block at a time inside the sweep.
class Hals {
 public:
  void prepare(const nmfx::Problem& problem, const nmfx::Matrix& W, const nmfx::Matrix& H, double zero_floor,
               const std::string& who) {
    if (problem.loss_name != "frobenius")
      throw nmfx::Error(who + ": loss '" + problem.loss_name + "' is not supported, only frobenius");
    M_ = problem.rows_of_W();
    N_ = problem.cols_of_H();
    L_ = problem.rank;
    if (L_ == 0) throw nmfx::Error(who + ": rank 0 is not allowed");
    if (W.shape(0) != M_ || W.shape(1) != L_ || H.shape(0) != L_ || H.shape(1) != N_)
      throw nmfx::Error(who + ": W is " + shape(W) + " and H is " + shape(H) + ", expected " + std::to_string(M_) +
                        "x" + std::to_string(L_) + " and " + std::to_string(L_) + "x" + std::to_string(N_));
    penalty_ = problem.penalty;
    zero_floor_ = zero_floor;
    if (problem.distribution)
      products_.prepare(problem.X, L_, *problem.distribution);
    else
      products_.prepare(problem.X, L_);
    sweep_W_.distribute(problem.distribution);
    sweep_H_.distribute(problem.distribution);
    At_.resize({L_, M_});
    HHt_.resize({L_, L_});
    WtX_.resize({L_, N_});
    WtW_.resize({L_, L_});
    sweep_W_.prepare(L_, M_);
    sweep_H_.prepare(L_, N_);
    prepared_ = true;
  }

  template <class Inner>
  std::size_t update_W(nmfx::Matrix& W, const nmfx::Matrix& H, Inner&& inner) {
    if (!prepared_) throw nmfx::Error("hals: step() called before prepare()");
    products_.HXt(H, At_);
    products_.gram_H(H, HHt_);
    penalize(At_, HHt_, penalty_.l1_W, penalty_.l2_W);
    return inner([&] { return sweep_W_.run_transposed(W, At_, HHt_, zero_floor_); });
  }

  // update_W with exactly one sweep, fused with its product (Sweep::run_transposed_fused): the
  // same numbers.
  void update_W_once(nmfx::Matrix& W, const nmfx::Matrix& H) {
    if (!prepared_) throw nmfx::Error("hals: step() called before prepare()");
    products_.gram_H(H, HHt_);
    penalize_B(HHt_, penalty_.l2_W);
    sweep_W_.run_transposed_fused(W, products_, H, At_, HHt_, penalty_.l1_W, zero_floor_);
  }

  template <class Inner>
  std::size_t update_H(const nmfx::Matrix& W, nmfx::Matrix& H, Inner&& inner) {
    if (!prepared_) throw nmfx::Error("hals: step() called before prepare()");
    products_.WtX(W, WtX_);
    products_.gram_W(W, WtW_);
    penalize(WtX_, WtW_, penalty_.l1_H, penalty_.l2_H);
    return inner([&] { return sweep_H_.run(H, WtX_, WtW_, zero_floor_); });
  }

  std::size_t M() const { return M_; }
  std::size_t N() const { return N_; }
  std::size_t L() const { return L_; }

 private:
  static std::string shape(const nmfx::Matrix& A) {
    return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1));
  }

  bool prepared_ = false;
  std::size_t M_ = 0, N_ = 0, L_ = 0;
  nmfx::Penalty penalty_;
  double zero_floor_ = 1e-16;
  nmfx::DataProducts products_;
  nmfx::Matrix At_, HHt_, WtX_, WtW_;
  Sweep sweep_W_, sweep_H_;
};

}  // namespace nmfx_hals
