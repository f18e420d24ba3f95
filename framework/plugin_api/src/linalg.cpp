#include <algorithm>
#include <cstdint>
#include <vector>

#include <cblas.h>
#include <omp.h>

#include <nmfx/clones.hpp>
#include <nmfx/linalg.hpp>

namespace nmfx {

void gemm(const Matrix& A, Trans ta, const Matrix& B, Trans tb, Matrix& C, double alpha, double beta) {
  const std::size_t m = ta == Trans::no ? A.shape(0) : A.shape(1);
  const std::size_t k = ta == Trans::no ? A.shape(1) : A.shape(0);
  const std::size_t kb = tb == Trans::no ? B.shape(0) : B.shape(1);
  const std::size_t n = tb == Trans::no ? B.shape(1) : B.shape(0);
  if (k != kb || C.shape(0) != m || C.shape(1) != n)
    throw Error("gemm: shapes do not match (" + std::to_string(m) + "x" + std::to_string(k) + " times " +
                std::to_string(kb) + "x" + std::to_string(n) + " into " + std::to_string(C.shape(0)) + "x" +
                std::to_string(C.shape(1)) + ")");
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, ta == Trans::no ? CblasNoTrans : CblasTrans, tb == Trans::no ? CblasNoTrans : CblasTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, A.data(),
              static_cast<int>(A.shape(1)), B.data(), static_cast<int>(B.shape(1)), beta, C.data(),
              static_cast<int>(C.shape(1)));
}

double inner(const Matrix& A, const Matrix& B) {
  if (A.shape() != B.shape()) throw Error("inner: shapes do not match");
  return cblas_ddot(static_cast<int>(A.size()), A.data(), 1, B.data(), 1);
}

}  // namespace nmfx

namespace nmfx {
namespace {

// The sparse products are rows of a CSR matrix S times a dense B whose rows have L entries:
// out[i, :] = sum_k S.values[k] * B[S.indices[k], :], the k in stored order. Each output row is
// accumulated in registers, over the rank dimension, a chunk of up to 32 entries per pass over
// the row's nonzeros (an axpy of a row of B per nonzero). Every entry of the output is still the
// same sum in the same order as the scalar loop (0 + x_1 b_1 + x_2 b_2 + ...: vector lanes are
// independent, and NMFX_TARGET_CLONES never contracts into FMA), so the bits do not depend on the
// clone that runs, on the number of threads, or on the chunking.
//
// The gathered operand (H^T) is stored with rows Lr = L rounded up to 8 apart, zero-padded, from
// a 64-byte boundary: each row starts on a cache line and a chunk reads whole aligned vectors
// within its own row (a 160-byte row at L = 20 read unaligned splits half its loads across two
// lines; aligned and padded, the gather took 2.5 instead of 3.5 ms on 20000 x 5000 at 1%).
typedef double v8 __attribute__((vector_size(64)));
typedef double v8u __attribute__((vector_size(64), aligned(8), may_alias));
constexpr std::size_t lanes = 8, widest = 4;  // vectors per chunk: at most 32 entries

// A row-major operand (rows of L doubles) read a whole vector at a time.
struct RowsOperand {
  const double* b;     ///< B's rows, L apart
  std::size_t L;       ///< entries per row of B (and of each output row)
  std::size_t safe;    ///< rows below this are read in place
  const double* tail;  ///< row `safe` onwards, then Lr zeros
  const double* row(std::size_t j) const { return j < safe ? b + j * L : tail + (j - safe) * L; }
};

template <std::size_t V>
__attribute__((always_inline)) inline void row_chunk(const std::size_t* indptr, const std::uint32_t* indices,
                                                     const double* values, std::size_t i, const double* b,
                                                     std::size_t ld, std::size_t a0, std::size_t width, double* o,
                                                     std::size_t cs) {
  v8 acc[V];
  for (std::size_t v = 0; v < V; ++v) acc[v] = v8{};
  const std::size_t end = indptr[i + 1];
  for (std::size_t k = indptr[i]; k < end; ++k) {
    const double* r = b + std::size_t{indices[k]} * ld + a0;
    const double x = values[k];
    for (std::size_t v = 0; v < V; ++v) acc[v] += x * *reinterpret_cast<const v8*>(r + v * lanes);
  }
  double out[V * lanes];
  for (std::size_t v = 0; v < V; ++v) *reinterpret_cast<v8u*>(out + v * lanes) = acc[v];
  for (std::size_t c = 0; c < width; ++c) o[(a0 + c) * cs] = out[c];
}

// Rows [i0, i1) of S times B (rows of Lr = ld doubles, 64-byte aligned): row i's entry a goes to
// out[i * rs + a * cs] (rs = L, cs = 1 for a row-major M x L result; rs = 1, cs = M for its
// transpose, L x M).
NMFX_TARGET_CLONES void csr_rows_times(const std::size_t* indptr, const std::uint32_t* indices, const double* values,
                                       std::size_t i0, std::size_t i1, const double* b, std::size_t L, std::size_t ld,
                                       double* out, std::size_t rs, std::size_t cs) {
  for (std::size_t i = i0; i < i1; ++i) {
    double* o = out + i * rs;
    for (std::size_t a0 = 0; a0 < L; a0 += widest * lanes) {
      const std::size_t width = std::min(widest * lanes, L - a0);
      switch ((width + lanes - 1) / lanes) {
        case 1:
          row_chunk<1>(indptr, indices, values, i, b, ld, a0, width, o, cs);
          break;
        case 2:
          row_chunk<2>(indptr, indices, values, i, b, ld, a0, width, o, cs);
          break;
        case 3:
          row_chunk<3>(indptr, indices, values, i, b, ld, a0, width, o, cs);
          break;
        default:
          row_chunk<4>(indptr, indices, values, i, b, ld, a0, width, o, cs);
          break;
      }
    }
  }
}

// The other product, S^T B for B with one row per row of S (W^T X = (X^T W)^T), by scattering
// rather than gathering: row i of B is loaded once, into registers, and x_ij B[i, :] added to row
// j of acc (K x ldc, K = S.cols), for the entries of row i with j in [j_lo, j_hi). Row j of acc
// then receives its terms in increasing i, the stored order of row j of S^T, so it is the same sum
// as the gather over S^T, bit for bit; but acc (as small as H) stays in cache, where gathering
// rows of B (as large as W) misses it. Lanes of acc past L, up to ldc, take discarded sums. acc
// starts on a 64-byte boundary and ldc is a multiple of 8, so every read-modify-write of it is a
// whole cache line (unaligned, the scatter took 5.5 instead of 3.8 ms on 20000 x 5000 at 1%).
template <std::size_t V>
__attribute__((always_inline)) inline void scatter_chunk(const std::size_t* indptr, const std::uint32_t* indices,
                                                         const double* values, std::size_t i, const double* bi,
                                                         std::size_t j_lo, std::size_t j_hi, double* acc,
                                                         std::size_t ldc) {
  v8 b[V];
  for (std::size_t v = 0; v < V; ++v) b[v] = *reinterpret_cast<const v8u*>(bi + v * lanes);
  const std::uint32_t* first = indices + indptr[i];
  const std::uint32_t* last = indices + indptr[i + 1];
  if (j_lo > 0) first = std::lower_bound(first, last, static_cast<std::uint32_t>(j_lo));
  if (j_hi < ~std::uint32_t{0}) last = std::lower_bound(first, last, static_cast<std::uint32_t>(j_hi));
  for (const std::uint32_t* p = first; p < last; ++p) {
    const double x = values[p - indices];
    double* c = acc + std::size_t{*p} * ldc;
    for (std::size_t v = 0; v < V; ++v) {
      v8* cv = reinterpret_cast<v8*>(c + v * lanes);
      *cv = *cv + x * b[v];
    }
  }
}

NMFX_TARGET_CLONES void csr_scatter_rows(const std::size_t* indptr, const std::uint32_t* indices, const double* values,
                                         std::size_t rows, const RowsOperand& B, std::size_t j_lo, std::size_t j_hi,
                                         double* acc, std::size_t ldc) {
  for (std::size_t i = 0; i < rows; ++i) {
    if (indptr[i] == indptr[i + 1]) continue;
    const double* bi = B.row(i);
    for (std::size_t a0 = 0; a0 < B.L; a0 += widest * lanes) {
      const std::size_t width = std::min(widest * lanes, B.L - a0);
      double* c = acc + a0;
      switch ((width + lanes - 1) / lanes) {
        case 1:
          scatter_chunk<1>(indptr, indices, values, i, bi + a0, j_lo, j_hi, c, ldc);
          break;
        case 2:
          scatter_chunk<2>(indptr, indices, values, i, bi + a0, j_lo, j_hi, c, ldc);
          break;
        case 3:
          scatter_chunk<3>(indptr, indices, values, i, bi + a0, j_lo, j_hi, c, ldc);
          break;
        default:
          scatter_chunk<4>(indptr, indices, values, i, bi + a0, j_lo, j_hi, c, ldc);
          break;
      }
    }
  }
}

std::size_t padded(std::size_t L) { return (L + lanes - 1) / lanes * lanes; }

// B (rows x L, row-major at b) as a RowsOperand, copying its last rows into `tail`.
RowsOperand operand(const double* b, std::size_t rows, std::size_t L, std::vector<double>& tail) {
  const std::size_t Lr = padded(L), total = rows * L;
  const std::size_t safe = total >= Lr ? (total - Lr) / L + 1 : 0;
  tail.assign((rows - safe) * L + Lr, 0.0);
  std::copy(b + safe * L, b + total, tail.begin());
  return {b, L, safe, tail.data()};
}

// The first 64-byte boundary in v (which has 8 doubles to spare for it).
double* aligned(std::vector<double>& v) {
  const auto address = reinterpret_cast<std::uintptr_t>(v.data());
  return v.data() + (64 - address % 64) % 64 / sizeof(double);
}

// out = S B with the output layout of csr_rows_times, in parallel over blocks of rows; B's rows
// are ld apart from a 64-byte boundary.
void csr_times(const SparseMatrix& S, const double* b, std::size_t L, std::size_t ld, double* out, std::size_t rs,
               std::size_t cs) {
  constexpr std::size_t block = 64;
  const std::size_t blocks = (S.rows + block - 1) / block;
  const std::size_t* indptr = S.indptr.data();
  const std::uint32_t* indices = S.indices.data();
  const double* values = S.values.data();
  const long count = static_cast<long>(blocks);
#pragma omp parallel for schedule(dynamic, 1) if (S.nnz() * L >= (std::size_t{1} << 15))
  for (long c = 0; c < count; ++c) {
    const std::size_t i0 = static_cast<std::size_t>(c) * block;
    csr_rows_times(indptr, indices, values, i0, std::min(S.rows, i0 + block), b, L, ld, out, rs, cs);
  }
}

// H^T (N x Lr) into ht_storage from its first 64-byte boundary, so that each nonzero of X reads
// a contiguous, aligned row; its columns L..Lr stay zero (prepare() zeroed them).
const double* padded_transpose(const Matrix& H, std::vector<double>& ht_storage) {
  const std::size_t L = H.shape(0), N = H.shape(1), Lr = padded(L);
  double* ht = aligned(ht_storage);
  constexpr std::size_t T = 32;
  for (std::size_t j0 = 0; j0 < N; j0 += T)
    for (std::size_t a = 0; a < L; ++a) {
      const double* h = &H(a, 0);
      for (std::size_t j = j0; j < std::min(N, j0 + T); ++j) ht[j * Lr + a] = h[j];
    }
  return ht;
}

}  // namespace

void DataProducts::prepare(const Data& X, std::size_t rank) {
  distributed_ = false;
  if (X.kind == DataKind::observed)
    throw Error("DataProducts: X has missing entries (observed data); a product with X is not defined");
  X_ = &X;
  if (X.kind == DataKind::sparse) {
    // Both 8 doubles longer than they need, for the 64-byte alignment (aligned()); Ht_ also
    // `rank` more, so that its size records the prepared rank, which the padded width does not
    // (check(); no member added, so DataProducts keeps its layout across the plugin boundary).
    Ht_.assign(X.cols() * padded(rank) + lanes + rank, 0.0);
    XtW_.assign(X.cols() * padded(rank) + lanes, 0.0);
    tail_.reserve(2 * padded(rank) + rank);
  }
}

void DataProducts::sparse_XHt(const Matrix& H, double* out, std::size_t rs, std::size_t cs) {
  const Data& X = *X_;
  const std::size_t L = H.shape(0);
  csr_times(X.sparse, padded_transpose(H, Ht_), L, padded(L), out, rs, cs);
}

void DataProducts::check(const char* what, std::size_t L, bool transposed_out, const Matrix& F, const Matrix& out,
                         bool factor_is_H) const {
  const Data& X = *X_;
  const std::size_t M = X.rows(), N = X.cols();
  const bool factor_ok = factor_is_H ? F.shape(0) == L && F.shape(1) == N : F.shape(0) == M && F.shape(1) == L;
  const std::size_t rows = factor_is_H ? M : N;
  const bool out_ok =
      transposed_out ? out.shape(0) == L && out.shape(1) == rows : out.shape(0) == rows && out.shape(1) == L;
  const bool prepared = X.kind != DataKind::sparse || Ht_.size() == N * padded(L) + lanes + L;
  if (!factor_ok || !out_ok || !prepared)
    throw Error(std::string("DataProducts::") + what + ": shapes do not match the prepared problem");
}

void DataProducts::prepare(const Data& X_block, std::size_t rank, const Distribution& distribution) {
  prepare(X_block, rank);
  if (!distribution.distributed()) return;
  if (!distribution.comm) throw Error("DataProducts: a distributed cell without a communicator");
  const Layout& l = distribution.layout;
  if (X_block.rows() != l.x_rows.size() || X_block.cols() != l.x_cols.size())
    throw Error("DataProducts: X's block is " + std::to_string(X_block.rows()) + "x" + std::to_string(X_block.cols()) +
                ", the layout says " + std::to_string(l.x_rows.size()) + "x" + std::to_string(l.x_cols.size()));
  distributed_ = true;
  distribution_ = distribution;
  const std::size_t L = rank, m = l.x_rows.size(), n = l.x_cols.size();
  w_counts_.clear();
  for (const Range& r : l.w_rows_in_row()) w_counts_.push_back(r.size() * L);
  h_counts_.clear();
  for (const Range& c : l.h_cols_in_column()) h_counts_.push_back(c.size() * L);
  Wi_ = Matrix::from_shape({m, L});
  Hj_ = Matrix::from_shape({L, n});
  Hjt_ = Matrix::from_shape({n, L});
  Q_ = Matrix::from_shape({m, L});
  Vt_ = Matrix::from_shape({L, n});  // W_i^T X_ij, then transposed in place of Hjt_
  piece_ = Matrix::from_shape({std::max(l.w_rows.size(), l.h_cols.size()), L});
  own_rows_ = Matrix::from_shape({l.w_rows.size(), L});
}

namespace {

// B (cols x rows) <- A^T for A (rows x cols), both row-major and contiguous.
void transpose_into(const double* a, std::size_t rows, std::size_t cols, double* b) {
  constexpr std::size_t T = 32;
  for (std::size_t i0 = 0; i0 < rows; i0 += T)
    for (std::size_t j = 0; j < cols; ++j)
      for (std::size_t i = i0; i < std::min(rows, i0 + T); ++i) b[j * rows + i] = a[i * cols + j];
}

void require_shape(const char* what, const Matrix& A, std::size_t rows, std::size_t cols) {
  if (A.shape(0) != rows || A.shape(1) != cols)
    throw Error(std::string("DataProducts::") + what + ": " + std::to_string(A.shape(0)) + "x" +
                std::to_string(A.shape(1)) + " where this process's part is " + std::to_string(rows) + "x" +
                std::to_string(cols));
}

}  // namespace

void DataProducts::XHt(const Matrix& H, Matrix& out) {
  if (!distributed_) return local_XHt(H, out);
  const Layout& l = distribution_.layout;
  const std::size_t L = Hj_.shape(0), n = l.x_cols.size(), nh = l.h_cols.size(), mw = l.w_rows.size();
  require_shape("XHt", H, L, nh);
  require_shape("XHt", out, mw, L);
  using G = Communicator::Group;
  // H_j^T (n x L) from the column's pieces (each H's columns, as rows of H^T), then H_j.
  transpose_into(H.data(), L, nh, piece_.data());
  distribution_.comm->gather(G::column, piece_.data(), h_counts_, Hjt_.data());
  transpose_into(Hjt_.data(), n, L, Hj_.data());
  local_XHt(Hj_, Q_);                                                         // X_ij H_j^T, m x L
  distribution_.comm->sum_scatter(G::row, Q_.data(), w_counts_, out.data());  // this process's rows
}

void DataProducts::HXt(const Matrix& H, Matrix& out) {
  if (!distributed_) {
    if (!X_) throw Error("DataProducts::HXt: called before prepare()");
    const Data& X = *X_;
    if (X.kind == DataKind::dense) return gemm(H, Trans::no, X.dense, Trans::yes, out);
    check("HXt", H.shape(0), true, H, out, true);
    return sparse_XHt(H, out.data(), 1, X.rows());
  }
  const std::size_t L = Hj_.shape(0), mw = distribution_.layout.w_rows.size();
  require_shape("HXt", out, L, mw);
  XHt(H, own_rows_);  // this process's rows of X H^T, then transposed
  transpose_into(own_rows_.data(), mw, L, out.data());
}

void DataProducts::HXt_blocks(const Matrix& H, Matrix& out, std::size_t block_rows, bool parallel_visits,
                              void (*visit)(void* context, const HXtBlock& block), void* context) {
  if (!X_) throw Error("DataProducts::HXt_blocks: called before prepare()");
  if (block_rows == 0) throw Error("DataProducts::HXt_blocks: block_rows must be positive");
  const std::size_t L = H.shape(0);
  const bool fused = !distributed_ && X_->kind == DataKind::sparse;
  if (!fused)
    HXt(H, out);
  else
    check("HXt_blocks", L, true, H, out, true);
  const std::size_t M = fused ? X_->rows() : out.shape(1);
  const std::size_t blocks = (M + block_rows - 1) / block_rows;
  const bool parallel = parallel_visits || (fused && X_->sparse.nnz() * L >= (std::size_t{1} << 15));
  const int threads = parallel ? std::max(1, omp_get_max_threads()) : 1;
  if (!fused) {
    // Contiguous ranges of blocks per thread, as a visitor sweeping all of out would take them.
    const long count = static_cast<long>(blocks);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long c = 0; c < count; ++c) {
      const std::size_t i0 = static_cast<std::size_t>(c) * block_rows;
      visit(context, {i0, std::min(block_rows, M - i0), out.data() + i0, M, omp_get_thread_num()});
    }
    return;
  }
  // Each block of H X^T computed into the thread's buffer (L x block_rows) by the kernel of HXt,
  // so its numbers are HXt's, and visited while it is in cache. Each thread takes one contiguous
  // range of blocks, of about equal work (a nonzero costs L multiply-adds in the product, a row
  // about L^2 in a HALS sweep): contiguous so that the rows of W a thread sweeps are the ones the
  // next Gram matrix's chunks give it, still in its cache (blocks dealt out one at a time made
  // W^T W and the sweep of H after it 30-40% slower on 20000 x 5000 at L = 20, two threads).
  const double* ht = padded_transpose(H, Ht_);
  const std::size_t Lr = padded(L);
  const SparseMatrix& S = X_->sparse;
  const std::size_t* indptr = S.indptr.data();
  const auto work_before = [&](std::size_t block) {
    const std::size_t row = std::min(M, block * block_rows);
    return static_cast<double>(indptr[row]) + static_cast<double>(row) * static_cast<double>(L);
  };
  const double total = work_before(blocks);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    static thread_local std::vector<double> buffer;
    if (buffer.size() < L * block_rows) buffer.resize(L * block_rows);
    const int thread = omp_get_thread_num(), team = omp_get_num_threads();
    // The first block whose preceding work reaches the thread's share.
    const auto first_block = [&](int t) {
      if (t >= team) return blocks;
      std::size_t lo = 0, hi = blocks;
      const double target = total * t / team;
      while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (work_before(mid) < target)
          lo = mid + 1;
        else
          hi = mid;
      }
      return lo;
    };
    const std::size_t first = first_block(thread), last = first_block(thread + 1);
    for (std::size_t c = first; c < last; ++c) {
      const std::size_t i0 = c * block_rows, rows = std::min(block_rows, M - i0);
      // Row i0 + r of X, entry a, to buffer[r + a * block_rows] (indptr is absolute offsets, so it
      // may start at row i0).
      csr_rows_times(indptr + i0, S.indices.data(), S.values.data(), 0, rows, ht, L, Lr, buffer.data(), 1, block_rows);
      visit(context, {i0, rows, buffer.data(), block_rows, thread});
    }
  }
}

void DataProducts::WtX(const Matrix& W, Matrix& out) {
  if (!distributed_) return local_WtX(W, out);
  const Layout& l = distribution_.layout;
  const std::size_t L = Wi_.shape(1), n = l.x_cols.size(), nh = l.h_cols.size(), mw = l.w_rows.size();
  require_shape("WtX", W, mw, L);
  require_shape("WtX", out, L, nh);
  using G = Communicator::Group;
  distribution_.comm->gather(G::row, W.data(), w_counts_, Wi_.data());  // W_i, m x L
  local_WtX(Wi_, Vt_);                                                  // W_i^T X_ij, L x n
  transpose_into(Vt_.data(), L, n, Hjt_.data());                        // its transpose, n x L
  distribution_.comm->sum_scatter(G::column, Hjt_.data(), h_counts_, piece_.data());
  transpose_into(piece_.data(), nh, L, out.data());
}

namespace {
// Rows (of W) or columns (of H) per partial Gram matrix: a fixed size, so that the sum, and its
// bits, do not depend on the number of threads.
constexpr std::size_t gram_chunk = 2048;

// G = A^T A (A is K x L, transposed = true) or A A^T (A is L x K). OpenBLAS 0.3.21's dsyrk computes
// one triangle in fewer flops but, for a thin factor, more slowly than dgemm; measured on this
// project's machine (1 and 2 threads), dsyrk won from L >= 40, or from K >= 4096 (at L = 20,
// K = 20000: 0.43 against 0.56 ms on one core and 0.72 ms on two), and lost below (0.8x at
// K = 1797, L = 20). Neither ran faster on two threads than on one for a long thin factor, so
// from K > gram_chunk the Gram is summed from partial ones over fixed chunks of K, one dsyrk
// each, the chunks spread over the threads and added in order. The mirrored triangle makes G
// exactly symmetric, as the HALS sweep assumes.
void gram(const Matrix& A, bool transposed, Matrix& G) {
  const std::size_t L = transposed ? A.shape(1) : A.shape(0), K = transposed ? A.shape(0) : A.shape(1);
  if (G.shape(0) != L || G.shape(1) != L)
    throw Error("gram: G is " + std::to_string(G.shape(0)) + "x" + std::to_string(G.shape(1)) + ", expected " +
                std::to_string(L) + "x" + std::to_string(L));
  if (K == 0) {  // a process holding no rows of W (columns of H): BLAS refuses a zero leading dimension
    std::fill(G.begin(), G.end(), 0.0);
    return;
  }
  if (L < 40 && K < 4096) {
    if (transposed)
      gemm(A, Trans::yes, A, Trans::no, G);
    else
      gemm(A, Trans::no, A, Trans::yes, G);
    return;
  }
  const int lda = static_cast<int>(A.shape(1));
  const CBLAS_TRANSPOSE trans = transposed ? CblasTrans : CblasNoTrans;
  const std::size_t chunks = (K + gram_chunk - 1) / gram_chunk;
  if (chunks <= 1) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, trans, static_cast<int>(L), static_cast<int>(K), 1.0, A.data(), lda, 0.0,
                G.data(), static_cast<int>(L));
  } else {
    // Grows to the largest problem a thread has seen, then is reused: no allocation per step.
    static thread_local std::vector<double> partial;
    if (partial.size() < chunks * L * L) partial.resize(chunks * L * L);
    double* P = partial.data();
    const int parts = static_cast<int>(std::min<std::size_t>(chunks, static_cast<std::size_t>(omp_get_max_threads())));
    // Inside a parallel region OpenBLAS (built on OpenMP) runs each call on its own thread.
#pragma omp parallel for num_threads(parts) schedule(static) if (parts > 1)
    for (std::ptrdiff_t c = 0; c < static_cast<std::ptrdiff_t>(chunks); ++c) {
      const std::size_t k0 = static_cast<std::size_t>(c) * gram_chunk, kn = std::min(gram_chunk, K - k0);
      const double* a = transposed ? A.data() + k0 * L : A.data() + k0;  // rows k0.. of W, columns k0.. of H
      cblas_dsyrk(CblasRowMajor, CblasUpper, trans, static_cast<int>(L), static_cast<int>(kn), 1.0, a, lda, 0.0,
                  P + static_cast<std::size_t>(c) * L * L, static_cast<int>(L));
    }
    for (std::size_t i = 0; i < L; ++i)
      for (std::size_t j = i; j < L; ++j) {
        double sum = 0;
        for (std::size_t c = 0; c < chunks; ++c) sum += P[c * L * L + i * L + j];
        G(i, j) = sum;
      }
  }
  for (std::size_t i = 1; i < L; ++i)
    for (std::size_t j = 0; j < i; ++j) G(i, j) = G(j, i);
}
}  // namespace

void DataProducts::gram_W(const Matrix& W, Matrix& G) {
  gram(W, true, G);
  if (distributed_) distribution_.comm->sum(Communicator::Group::all, G.data(), G.size());
}

void DataProducts::gram_H(const Matrix& H, Matrix& G) {
  gram(H, false, G);
  if (distributed_) distribution_.comm->sum(Communicator::Group::all, G.data(), G.size());
}

double DataProducts::sum(double local) {
  if (distributed_) distribution_.comm->sum(Communicator::Group::all, &local, 1);
  return local;
}

void DataProducts::sum(double* data, std::size_t n) {
  if (distributed_) distribution_.comm->sum(Communicator::Group::all, data, n);
}

void DataProducts::local_XHt(const Matrix& H, Matrix& out) {
  if (!X_) throw Error("DataProducts::XHt: called before prepare()");
  const Data& X = *X_;
  if (X.kind == DataKind::dense) return gemm(X.dense, Trans::no, H, Trans::yes, out);
  check("XHt", H.shape(0), false, H, out, true);
  sparse_XHt(H, out.data(), H.shape(0), 1);
}

void DataProducts::local_WtX(const Matrix& W, Matrix& out) {
  if (!X_) throw Error("DataProducts::WtX: called before prepare()");
  const Data& X = *X_;
  if (X.kind == DataKind::dense) return gemm(W, Trans::yes, X.dense, Trans::no, out);
  check("WtX", W.shape(1), true, W, out, false);
  // (W^T X)^T = X^T W, scattered from the rows of X into X^T W (N x Lr) and transposed. Threads
  // take contiguous ranges of columns of X (rows of X^T W), each scanning every row of X.
  const SparseMatrix& S = X.sparse;
  const std::size_t L = W.shape(1), N = X.cols(), Lr = padded(L);
  const RowsOperand B = operand(W.data(), W.shape(0), L, tail_);
  double* acc = aligned(XtW_);
  const int parts = S.nnz() * L >= (std::size_t{1} << 15) ? std::max(1, omp_get_max_threads()) : 1;
#pragma omp parallel num_threads(parts) if (parts > 1)
  {
    const std::size_t p = static_cast<std::size_t>(omp_get_thread_num()),
                      T = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t j_lo = N * p / T, j_hi = N * (p + 1) / T;
    std::fill(acc + j_lo * Lr, acc + j_hi * Lr, 0.0);
    csr_scatter_rows(S.indptr.data(), S.indices.data(), S.values.data(), S.rows, B, j_lo,
                     T == 1 ? ~std::uint32_t{0} : j_hi, acc, Lr);
#pragma omp barrier
    // out (L x N) <- the first L columns of acc, transposed, split by rows of out.
    const std::size_t a_lo = L * p / T, a_hi = L * (p + 1) / T;
    constexpr std::size_t tile = 64;
    for (std::size_t j0 = 0; j0 < N; j0 += tile)
      for (std::size_t a = a_lo; a < a_hi; ++a) {
        double* o = out.data() + a * N;
        for (std::size_t j = j0; j < std::min(N, j0 + tile); ++j) o[j] = acc[j * Lr + a];
      }
  }
}

}  // namespace nmfx
