// Generalized Kullback-Leibler divergence D(X || WH) = sum X log(X / WH) - X + WH
// (Lee & Seung 2001, eq. 3), with the gradient split of section 5 (eqs 8-9).
// Dense X: the ratio X / WH is formed block by block (rows of W for R H^T; tiles of about 512 rows
// by 256 columns for W^T R) into a cache-sized workspace, in one pass with W H in registers on
// AVX-512 processors (fused::ratio_of_product), else by one small GEMM and a pass of divisions,
// and multiplied at once, so the ratio never goes to memory and no M x N buffer exists. Blocks are fixed by the shape,
// not by the thread count, and each column of tiles is computed by one thread, its tiles added in order (the BLAS runs
// single-threaded inside the parallel region), so results do not depend on the threads. Sparse X: WH is needed only
// where X is nonzero (X log(X / WH) - X vanishes elsewhere, and the sum of all of WH is sum_a (sum_i W_ia)(sum_j
// H_aj)), so a value or a gradient costs O(nnz L + (M + N) L) time and O(nnz + (M + N) L) memory, never M x N. The
// nonzero loops run on OpenMP threads, each output row written by one thread, so results do not depend on the threads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <omp.h>

#include <nmfx/clones.hpp>
#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

namespace {

using nmfx::Trans;

// Doubles per block workspace: about 1 MB, inside each core's L2 with room for the rows of X
// streaming past it.
constexpr std::size_t kBlockDoubles = 131072;

// r <- x / r elementwise, with 0 / 0 := 0: a zero of X contributes nothing to the gradient's
// negative part; X > 0 over WH = 0 gives +inf, as the divergence itself is +inf there.
// rows x cols of r (contiguous) against rows of x with leading dimension ldx.
NMFX_TARGET_CLONES void ratio_block(const double* x, std::size_t ldx, double* r, std::size_t rows, std::size_t cols) {
  for (std::size_t i = 0; i < rows; ++i) {
    const double* xi = x + i * ldx;
    double* ri = r + i * cols;
    // x = 0 divides by 1 instead (giving 0). The test is on x's bits (+-0 is all zero but the sign):
    // a floating-point comparison might trap, so the compiler would keep a branch and not vectorize.
    for (std::size_t j = 0; j < cols; ++j) {
      std::uint64_t bits;
      std::memcpy(&bits, xi + j, sizeof bits);
      const double d = (bits << 1) == 0 ? 1.0 : ri[j];
      ri[j] = xi[j] / d;
    }
  }
}

// The ratio of a product, in one pass: r (rows x cols, contiguous) <- x / (w h) with 0 / 0 := 0 as
// ratio_block, for w (rows x L, contiguous) and h (L x cols, rows ldh apart). Each 8 x 16 piece of
// w h is accumulated in registers over the L terms and divided into x at once, so w h never goes
// to memory and the divisions overlap the multiply-adds. Measured on a 512 x 256 tile, one core
// (AVX-512): 160-300 us at L = 20-60 against 265-430 us for the GEMM and ratio_block after it.
// Every entry is the same chain of fused multiply-adds, term k = 0 first, from 0, whichever piece
// it falls in (full pieces, narrower ones at the edges, single entries), so the numbers do not
// depend on the tile shapes (and here equal OpenBLAS's own: its kernel adds the terms in the same
// order). The GEMM's result depends on the machine's kernels anyway, so fused multiply-adds
// change nothing there. Compiled for AVX-512 only; other processors take the GEMM and ratio_block.
namespace fused {

typedef double v8 __attribute__((vector_size(64)));
typedef double v8u __attribute__((vector_size(64), aligned(8), may_alias));

#define NMFX_KL_FUSED __attribute__((target("avx512f,fma"), optimize("fp-contract=fast")))

// Rows i .. i + MR, columns j .. j + 8 NV.
template <int MR, int NV>
NMFX_KL_FUSED __attribute__((always_inline)) inline void piece(const double* w, std::size_t L, const double* h,
                                                               std::size_t ldh, const double* x, std::size_t ldx,
                                                               double* r, std::size_t ldr) {
  v8 acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = v8{};
  for (std::size_t k = 0; k < L; ++k) {
    v8 hk[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) hk[v] = *reinterpret_cast<const v8u*>(h + k * ldh + 8 * v);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const double wik = w[i * L + k];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] += wik * hk[v];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const v8 xv = *reinterpret_cast<const v8u*>(x + i * ldx + 8 * v);
      const v8 d = xv == 0.0 ? v8{} + 1.0 : acc[i][v];
      *reinterpret_cast<v8u*>(r + i * ldr + 8 * v) = xv / d;
    }
}

// Rows i .. i + MR, every column: pieces of 16 columns, one of 8, then single entries.
template <int MR>
NMFX_KL_FUSED void row_of_pieces(const double* w, std::size_t L, const double* h, std::size_t ldh, std::size_t cols,
                                 const double* x, std::size_t ldx, double* r) {
  std::size_t j = 0;
  for (; j + 16 <= cols; j += 16) piece<MR, 2>(w, L, h + j, ldh, x + j, ldx, r + j, cols);
  if (j + 8 <= cols) {
    piece<MR, 1>(w, L, h + j, ldh, x + j, ldx, r + j, cols);
    j += 8;
  }
  for (; j < cols; ++j)  // the last columns, one entry at a time
    for (int i = 0; i < MR; ++i) {
      double acc = 0.0;
      for (std::size_t k = 0; k < L; ++k) acc += w[i * L + k] * h[k * ldh + j];
      const double xij = x[i * ldx + j];
      r[i * cols + j] = xij / (xij == 0.0 ? 1.0 : acc);
    }
}

// Rows of pieces 8 rows high, then single rows: x and r are read and written along 8 rows at a
// time, which the hardware prefetchers follow (a column of pieces down the rows left x's reads
// unprefetched and measured slower than the GEMM and ratio_block).
NMFX_KL_FUSED void ratio_of_product(const double* w, std::size_t rows, std::size_t L, const double* h, std::size_t ldh,
                                    std::size_t cols, const double* x, std::size_t ldx, double* r) {
  std::size_t i = 0;
  for (; i + 8 <= rows; i += 8) row_of_pieces<8>(w + i * L, L, h, ldh, cols, x + i * ldx, ldx, r + i * cols);
  for (; i < rows; ++i) row_of_pieces<1>(w + i * L, L, h, ldh, cols, x + i * ldx, ldx, r + i * cols);
}

#undef NMFX_KL_FUSED

bool available() {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  return avx512;
}

}  // namespace fused

// One thread's workspaces for a block of rows: F the rows of W, R the block of WH (then of X / WH),
// P the block of R H^T.
struct Block {
  nmfx::Matrix F, R, P;
};

// One thread's workspaces for the tiles of W^T R, index 0 for the full size and 1 for the last,
// shorter row or narrower column of tiles: Wr a tile's rows of W, Hc its columns of H, R the tile
// of WH (then of X / WH), Pc a column of tiles' part of W^T R.
struct Tiles {
  nmfx::Matrix Wr[2], Hc[2], R[2][2], Pc[2];
};

class Kl final : public nmfx::Loss {
 public:
  explicit Kl(const nmfx::Params& p) : kernel_(p.str("kernel")) {}

  void prepare(const nmfx::Data& X, std::size_t rank) override {
    dist_ = {};
    M_ = X.rows();
    N_ = X.cols();
    L_ = rank;
    sums_.assign(L_, 0.0);
    sparse_ = X.kind == nmfx::DataKind::sparse;
    if (X.kind == nmfx::DataKind::observed)
      throw nmfx::Error("kl: X has missing entries (observed data); the divergence needs all of X");
    if (!sparse_) {
      prepare_dense();
      return;
    }
    // Sparse: H^T (N x L), so that (WH)_ij = W_i: . (H^T)_j: reads two contiguous rows; and X^T's
    // CSR, so that W^T R runs over the columns of X with each (WH)_ij computed where it is used.
    row_blocks_.clear();
    tiles_.clear();
    const nmfx::SparseMatrix& S = X.sparse;
    const nmfx::SparseMatrix& T = X.sparse_t;
    if (T.rows != N_ || T.cols != M_ || T.nnz() != S.nnz())
      throw nmfx::Error("kl: the sparse X has no transpose (X.sparse_t); the framework's finalize() fills it");
    Ht_ = nmfx::Matrix::from_shape({N_, L_});
    XtW_ = nmfx::Matrix::from_shape({N_, L_});
    row_sums_.assign(M_, 0.0);
  }

  // Distributed: process (i, j) computes the divergence's and the gradients' sums over its block
  // X_ij from W's row block i and H's column block j (gathered along its grid row and column), and
  // the blocks' parts are added: the value over all processes, R H^T's rows along the grid row and
  // W^T R's columns along the grid column (reduce-scatters), leaving this process's rows and columns.
  // The positive parts are the row sums of H and the column sums of W, summed over the processes.
  void prepare_distributed(const nmfx::Data& X_block, std::size_t rank, const nmfx::Distribution& d) override {
    prepare(X_block, rank);
    dist_ = d;
    if (!d.distributed()) return;
    const nmfx::Layout& l = d.layout;
    w_counts_.clear();
    for (const nmfx::Range& r : l.w_rows_in_row()) w_counts_.push_back(r.size() * rank);
    h_counts_.clear();
    for (const nmfx::Range& r : l.h_cols_in_column()) h_counts_.push_back(r.size() * rank);
    Wi_ = nmfx::Matrix::from_shape({M_, L_});
    Hj_ = nmfx::Matrix::from_shape({L_, N_});
    Hjt_ = nmfx::Matrix::from_shape({N_, L_});
    pos_W_ = nmfx::Matrix::from_shape({M_, L_});
    neg_W_ = nmfx::Matrix::from_shape({M_, L_});
    pos_H_ = nmfx::Matrix::from_shape({L_, N_});
    neg_H_ = nmfx::Matrix::from_shape({L_, N_});
    piece_ = nmfx::Matrix::from_shape({std::max(l.h_cols.size(), l.w_rows.size()), L_});
  }

  double value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) override {
    if (!dist_.distributed()) return block_value(X, W, H);
    gather_blocks(W, H);
    return dist_.sum(block_value(X, Wi_, Hj_));
  }

  void gradient_W(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    if (!dist_.distributed()) return block_gradient_W(X, W, H, pos, neg);
    gather_blocks(W, H);
    block_gradient_W(X, Wi_, Hj_, pos_W_, neg_W_);
    dist_.comm->sum_scatter(nmfx::Communicator::Group::row, neg_W_.data(), w_counts_, neg.data());
    sums_over_processes(H, false);
    for (std::size_t i = 0; i < pos.shape(0); ++i)
      for (std::size_t a = 0; a < L_; ++a) pos(i, a) = sums_[a];
  }

  void gradient_H(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    if (!dist_.distributed()) return block_gradient_H(X, W, H, pos, neg);
    gather_blocks(W, H);
    block_gradient_H(X, Wi_, Hj_, pos_H_, neg_H_);
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) Hjt_(j, a) = neg_H_(a, j);
    dist_.comm->sum_scatter(nmfx::Communicator::Group::column, Hjt_.data(), h_counts_, piece_.data());
    const std::size_t nh = neg.shape(1);
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < nh; ++j) neg(a, j) = piece_(j, a);
    sums_over_processes(W, true);
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < nh; ++j) pos(a, j) = sums_[a];
  }

 private:
  // Distributed: Wi_ <- W's row block (this grid row's pieces), Hj_ <- H's column block.
  void gather_blocks(const nmfx::Matrix& W, const nmfx::Matrix& H) {
    using G = nmfx::Communicator::Group;
    dist_.comm->gather(G::row, W.data(), w_counts_, Wi_.data());
    const std::size_t nh = H.shape(1);
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < nh; ++j) piece_(j, a) = H(a, j);
    dist_.comm->gather(G::column, piece_.data(), h_counts_, Hjt_.data());
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) Hj_(a, j) = Hjt_(j, a);
  }

  // sums_ <- the column sums of the whole W (of_W) or the row sums of the whole H.
  void sums_over_processes(const nmfx::Matrix& F, bool of_W) {
    std::fill(sums_.begin(), sums_.end(), 0.0);
    if (of_W) {
      for (std::size_t i = 0; i < F.shape(0); ++i)
        for (std::size_t a = 0; a < L_; ++a) sums_[a] += F(i, a);
    } else {
      for (std::size_t a = 0; a < L_; ++a)
        for (std::size_t j = 0; j < F.shape(1); ++j) sums_[a] += F(a, j);
    }
    dist_.comm->sum(nmfx::Communicator::Group::all, sums_.data(), L_);
  }

  double block_value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
    check(X, W, H, "value");
    if (sparse_) return sparse_value(X, W, H);
    // Each row block's part in row_sums_ (one entry per block), added in block order after.
    const double* x = X.dense.data();
    for_row_blocks(W, [&](Block& b, std::size_t i0, std::size_t rows) {
      nmfx::gemm(b.F, Trans::no, H, Trans::no, b.R);
      const double* wh = b.R.data();
      double d = 0.0;
      for (std::size_t k = 0, n = rows * N_; k < n; ++k) {
        const double xk = x[i0 * N_ + k];
        if (xk == 0.0) {
          d += wh[k];  // 0 log 0 = 0
        } else if (wh[k] == 0.0) {
          d = std::numeric_limits<double>::infinity();
          break;
        } else {
          d += xk * std::log(xk / wh[k]) - xk + wh[k];
        }
      }
      row_sums_[i0 / block_rows_] = d;
    });
    double d = 0.0;
    for (std::size_t k = 0; k < row_block_count(); ++k) d += row_sums_[k];
    return d;
  }

  // dD/dW_ia = sum_mu H_amu - sum_mu (X / WH)_imu H_amu: pos = row sums of H on every row,
  // neg = (X / WH) H^T.
  void block_gradient_W(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                        nmfx::Matrix& neg) {
    check(X, W, H, "gradient_W");
    if (sparse_) {
      sparse_ratio_times_Ht(X, W, H, neg);
    } else {
      // Row block of R H^T: R_b = X_b / (W_b H), then R_b H^T, while R_b is in cache. (Rows of
      // tiles, as for W^T R, measured no faster at 2000 x 1500 and slower at 12544 x 2000: H is
      // packed twice per block of kBlockDoubles / N rows, 64 at N = 2000, which costs little.)
      const double* x = X.dense.data();
      double* out = neg.data();
      for_row_blocks(W, [&](Block& b, std::size_t i0, std::size_t rows) {
        form_ratio(b.F, H, x + i0 * N_, b.R);
        nmfx::gemm(b.R, Trans::no, H, Trans::yes, b.P);
        std::copy(b.P.data(), b.P.data() + rows * L_, out + i0 * L_);
      });
    }
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
  void block_gradient_H(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                        nmfx::Matrix& neg) {
    check(X, W, H, "gradient_H");
    if (sparse_) {
      sparse_Wt_ratio(X, W, H, neg);  // from the current W: MU has just updated it
    } else {
      // Columns c of W^T R (from the current W: MU has just updated it) as sums over tiles of
      // rows r: R_rc = X_rc / (W_r H_c), then W_r^T R_rc, added in row order. Tiles rather than
      // whole columns of blocks: each GEMM packs its small operand anew, and with column blocks
      // of kBlockDoubles / M columns (16 at M = 12544) W was packed twice per 16 columns (see
      // the README for the measurements).
      const double* x = X.dense.data();
      const double* w = W.data();
      const double* h = H.data();
      double* out = neg.data();
      const std::ptrdiff_t blocks = static_cast<std::ptrdiff_t>((N_ + tile_cols_ - 1) / tile_cols_);
#pragma omp parallel for num_threads(threads_) schedule(static) if (threads_ > 1 && blocks > 1)
      for (std::ptrdiff_t k = 0; k < blocks; ++k) {
        const std::size_t j0 = static_cast<std::size_t>(k) * tile_cols_, cols = std::min(tile_cols_, N_ - j0);
        const int last_col = cols == tile_cols_ ? 0 : 1;
        Tiles& t = tiles_[static_cast<std::size_t>(omp_get_thread_num())];
        nmfx::Matrix& Hc = t.Hc[last_col];
        nmfx::Matrix& P = t.Pc[last_col];
        for (std::size_t a = 0; a < L_; ++a) std::copy(h + a * N_ + j0, h + a * N_ + j0 + cols, Hc.data() + a * cols);
        if (M_ == 0) std::fill(P.begin(), P.end(), 0.0);
        for (std::size_t i0 = 0; i0 < M_; i0 += tile_rows_) {
          const std::size_t rows = std::min(tile_rows_, M_ - i0);
          const int last_row = rows == tile_rows_ ? 0 : 1;
          nmfx::Matrix& R = t.R[last_row][last_col];
          std::copy(w + i0 * L_, w + (i0 + rows) * L_, t.Wr[last_row].data());
          form_ratio(t.Wr[last_row], Hc, x + i0 * N_ + j0, R);
          nmfx::gemm(t.Wr[last_row], Trans::yes, R, Trans::no, P, 1.0, i0 == 0 ? 0.0 : 1.0);
        }
        for (std::size_t a = 0; a < L_; ++a)
          std::copy(P.data() + a * cols, P.data() + (a + 1) * cols, out + a * N_ + j0);
      }
    }
    const double* w = W.data();
    std::fill(sums_.begin(), sums_.end(), 0.0);
    for (std::size_t i = 0; i < M_; ++i)
      for (std::size_t a = 0; a < L_; ++a) sums_[a] += w[i * L_ + a];
    double* p = pos.data();
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) p[a * N_ + j] = sums_[a];
  }

  // Sparse X. Ht_ <- H^T.
  void transpose_H(const nmfx::Matrix& H) {
    const double* h = H.data();
    double* ht = Ht_.data();
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) ht[j * L_ + a] = h[a * N_ + j];
  }

  // sum over nonzeros of X log(X / WH) - X, plus sum_ij (WH)_ij = sum_a (sum_i W_ia)(sum_j H_aj).
  // Each row's part is summed by one thread into row_sums_, and the rows in order after, so the
  // value does not depend on the number of threads.
  double sparse_value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
    transpose_H(H);
    const nmfx::SparseMatrix& S = X.sparse;
    const double* w = W.data();
    const double* ht = Ht_.data();
    double* rs = row_sums_.data();
    const std::size_t L = L_;
    const std::ptrdiff_t M = static_cast<std::ptrdiff_t>(M_);
#pragma omp parallel for schedule(dynamic, 64)
    for (std::ptrdiff_t ii = 0; ii < M; ++ii) {
      const std::size_t i = static_cast<std::size_t>(ii);
      const double* wi = w + i * L;
      double d = 0.0;
      for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) {
        const double x = S.values[k];
        if (x == 0.0) continue;  // an explicitly stored zero: 0 log 0 = 0
        const double* hj = ht + static_cast<std::size_t>(S.indices[k]) * L;
        double wh = 0.0;
        for (std::size_t a = 0; a < L; ++a) wh += wi[a] * hj[a];
        d += wh == 0.0 ? std::numeric_limits<double>::infinity() : x * std::log(x / wh) - x;
      }
      rs[i] = d;
    }
    double d = 0.0;
    for (std::size_t i = 0; i < M_; ++i) d += rs[i];
    if (std::isinf(d)) return d;
    std::fill(sums_.begin(), sums_.end(), 0.0);
    for (std::size_t i = 0; i < M_; ++i)
      for (std::size_t a = 0; a < L_; ++a) sums_[a] += w[i * L_ + a];
    const double* h = H.data();
    for (std::size_t a = 0; a < L_; ++a) {
      double row = 0.0;
      for (std::size_t j = 0; j < N_; ++j) row += h[a * N_ + j];
      d += sums_[a] * row;
    }
    return d;
  }

  // One nonzero's contribution to a row of R H^T or R^T W: out += (x / (u . v)) * v, where u . v
  // is (WH)_ij, computed here from the two rows that the product reads anyway (so the ratio is
  // never stored, and each gradient is one pass over the nonzeros). x = 0 (an explicitly stored
  // zero) contributes nothing; x > 0 over WH = 0 gives +inf, as in the dense case.
  static void add_ratio_times(double* out, double x, const double* u, const double* v, std::size_t L) {
    if (x == 0.0) return;
    double wh = 0.0;
    for (std::size_t a = 0; a < L; ++a) wh += u[a] * v[a];
    const double r = x / wh;
    for (std::size_t a = 0; a < L; ++a) out[a] += r * v[a];
  }

  // neg (M x L) <- R H^T: row i of neg is the sum over the nonzeros (i, j) of R_ij H_:j.
  void sparse_ratio_times_Ht(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& neg) {
    transpose_H(H);
    const nmfx::SparseMatrix& S = X.sparse;
    const double* w = W.data();
    const double* ht = Ht_.data();
    double* out = neg.data();
    const std::size_t L = L_;
    const std::ptrdiff_t M = static_cast<std::ptrdiff_t>(M_);
#pragma omp parallel for schedule(dynamic, 64)
    for (std::ptrdiff_t ii = 0; ii < M; ++ii) {
      const std::size_t i = static_cast<std::size_t>(ii);
      double* row = out + i * L;
      for (std::size_t a = 0; a < L; ++a) row[a] = 0.0;
      for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k)
        add_ratio_times(row, S.values[k], w + i * L, ht + static_cast<std::size_t>(S.indices[k]) * L, L);
    }
  }

  // neg (L x N) <- W^T R, computed as its transpose R^T W (N x L): row j sums R_ij W_i: over the
  // nonzeros of column j of X, read through X^T's CSR, then transposed into neg. (WH)_ij is the
  // same dot product, in the same order, as in the row pass above.
  void sparse_Wt_ratio(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& neg) {
    transpose_H(H);
    const nmfx::SparseMatrix& T = X.sparse_t;
    const double* w = W.data();
    const double* ht = Ht_.data();
    const std::ptrdiff_t N = static_cast<std::ptrdiff_t>(N_);
    const std::size_t L = L_;
    double* r = XtW_.data();
#pragma omp parallel for schedule(dynamic, 64)
    for (std::ptrdiff_t jj = 0; jj < N; ++jj) {
      const std::size_t j = static_cast<std::size_t>(jj);
      double* row = r + j * L;
      for (std::size_t a = 0; a < L; ++a) row[a] = 0.0;
      for (std::size_t k = T.indptr[j]; k < T.indptr[j + 1]; ++k)
        add_ratio_times(row, T.values[k], ht + j * L, w + static_cast<std::size_t>(T.indices[k]) * L, L);
    }
    double* o = neg.data();
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) o[a * N_ + j] = r[j * L_ + a];
  }

  // Dense X: the block shapes, and one set of workspaces per thread for the full blocks plus one
  // for the last, shorter block (only one thread ever handles it).
  void prepare_dense() {
    threads_ = std::max(1, omp_get_max_threads());
    fused_ = kernel_ == "auto" && fused::available();
    block_rows_ = std::min(M_, std::max<std::size_t>(16, kBlockDoubles / std::max<std::size_t>(N_, 1) / 16 * 16));
    // Tiles of W^T R: columns of about 256 (wider tiles measured faster, 250 against 188 and 64
    // at 2000 x 1500), at least 4 columns of tiles where N allows 64 each (so that they spread
    // over threads), and as many rows as fill kBlockDoubles. An X that fits in kBlockDoubles is
    // one tile, on one thread: measured on 2 threads, a parallel loop over the tiles of 400 x 300
    // at L = 10 made a step take 1-4 ms instead of 0.5-1 (waking threads for tiny GEMMs).
    const std::size_t column_count =
        M_ * N_ <= kBlockDoubles
            ? 1
            : std::max<std::size_t>({1, (N_ + 255) / 256, std::min<std::size_t>(4, (N_ + 63) / 64)});
    tile_cols_ = std::max<std::size_t>(1, (N_ + column_count - 1) / column_count);
    tile_rows_ = std::max<std::size_t>(
        1,
        M_ * N_ <= kBlockDoubles ? M_ : std::min(M_, std::max<std::size_t>(16, kBlockDoubles / tile_cols_ / 16 * 16)));
    auto make = [&](std::size_t rows) {
      return Block{nmfx::Matrix::from_shape({rows, L_}), nmfx::Matrix::from_shape({rows, N_}),
                   nmfx::Matrix::from_shape({rows, L_})};
    };
    const std::size_t rows[2] = {tile_rows_, M_ % tile_rows_ ? M_ % tile_rows_ : tile_rows_};
    const std::size_t cols[2] = {tile_cols_, N_ % tile_cols_ ? N_ % tile_cols_ : tile_cols_};
    row_blocks_.clear();
    tiles_.assign(static_cast<std::size_t>(threads_), Tiles{});
    for (int k = 0; k < threads_; ++k) {
      row_blocks_.push_back(make(block_rows_));
      Tiles& t = tiles_[static_cast<std::size_t>(k)];
      for (int a = 0; a < 2; ++a) {
        t.Wr[a] = nmfx::Matrix::from_shape({rows[a], L_});
        t.Hc[a] = nmfx::Matrix::from_shape({L_, cols[a]});
        t.Pc[a] = nmfx::Matrix::from_shape({L_, cols[a]});
        for (int b = 0; b < 2; ++b) t.R[a][b] = nmfx::Matrix::from_shape({rows[a], cols[b]});
      }
    }
    row_tail_ = make(M_ % block_rows_ ? M_ % block_rows_ : block_rows_);
    row_sums_.assign(row_block_count(), 0.0);
  }

  std::size_t row_block_count() const { return (M_ + block_rows_ - 1) / block_rows_; }

  // R (rows of Wb x columns of Hb) <- X / (Wb Hb) with 0 / 0 := 0, for X's block at x (rows N_
  // apart): in one pass where fused_, else one GEMM into R and ratio_block over it.
  void form_ratio(const nmfx::Matrix& Wb, const nmfx::Matrix& Hb, const double* x, nmfx::Matrix& R) const {
    const std::size_t rows = Wb.shape(0), cols = Hb.shape(1);
    if (fused_) {
      fused::ratio_of_product(Wb.data(), rows, L_, Hb.data(), cols, cols, x, N_, R.data());
      return;
    }
    nmfx::gemm(Wb, Trans::no, Hb, Trans::no, R);
    ratio_block(x, N_, R.data(), rows, cols);
  }

  // For each block of rows of W: b.F <- W_b, then f(b, first row, rows). Blocks run in parallel.
  template <class F>
  void for_row_blocks(const nmfx::Matrix& W, F&& f) {
    const std::ptrdiff_t blocks = static_cast<std::ptrdiff_t>(row_block_count());
    const double* w = W.data();
#pragma omp parallel for num_threads(threads_) schedule(static) if (threads_ > 1 && blocks > 1)
    for (std::ptrdiff_t k = 0; k < blocks; ++k) {
      const std::size_t i0 = static_cast<std::size_t>(k) * block_rows_, rows = std::min(block_rows_, M_ - i0);
      Block& b = rows == block_rows_ ? row_blocks_[static_cast<std::size_t>(omp_get_thread_num())] : row_tail_;
      std::copy(w + i0 * L_, w + (i0 + rows) * L_, b.F.data());
      f(b, i0, rows);
    }
  }

  void check(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, const char* where) const {
    if (X.rows() != M_ || X.cols() != N_ || W.shape(0) != M_ || W.shape(1) != L_ || H.shape(0) != L_ ||
        H.shape(1) != N_)
      throw nmfx::Error(std::string("kl ") + where + ": X " + std::to_string(X.rows()) + "x" +
                        std::to_string(X.cols()) + ", W " + shape(W) + ", H " + shape(H) +
                        " do not match the prepared " + std::to_string(M_) + "x" + std::to_string(N_) + " at rank " +
                        std::to_string(L_));
  }
  static std::string shape(const nmfx::Matrix& A) {
    return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1));
  }

  std::string kernel_;  // "auto" or "blas" (the GEMM, then ratio_block)
  std::size_t M_ = 0, N_ = 0, L_ = 0;
  bool sparse_ = false;
  bool fused_ = false;  // dense X: fused::ratio_of_product rather than the GEMM and ratio_block
  // Dense X only.
  int threads_ = 1;
  std::size_t block_rows_ = 1, tile_rows_ = 1, tile_cols_ = 1;
  std::vector<Block> row_blocks_;  // per thread
  Block row_tail_;                 // the last, shorter block
  std::vector<Tiles> tiles_;       // per thread
  std::vector<double> sums_;       // row sums of H or column sums of W
  // Sparse X only.
  nmfx::Matrix Ht_, XtW_;         // H^T (N x L); R^T W (N x L)
  std::vector<double> row_sums_;  // per-row (sparse) or per-block (dense) parts of the value
  // Distributed only: M_ x N_ is then this process's block of X.
  nmfx::Distribution dist_;
  std::vector<std::size_t> w_counts_, h_counts_;  // doubles per process of a row / column gather
  nmfx::Matrix Wi_, Hj_, Hjt_, piece_;            // W's row block, H's column block (and transposed), a piece
  nmfx::Matrix pos_W_, neg_W_, pos_H_, neg_H_;    // the block's gradient parts
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Loss, Kl>("kl", "1.0.0", "generalized Kullback-Leibler divergence D(X || WH)");
  d.params = {
      nmfx::param_choice("kernel", "auto", {"auto", "blas"},
                         "dense X: auto forms X / WH in one pass on AVX-512 processors (W H in registers); blas "
                         "always takes a GEMM, then the ratio"),
  };
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  d.distributed = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
