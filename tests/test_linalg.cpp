// The sparse products X H^T, H X^T and W^T X (framework/plugin_api/src/linalg.cpp), vectorised over the rank:
// every entry must be the sum over the nonzeros in stored order, so they are checked bit for bit
// against a scalar loop in that order (compiled here without any clone), against dense X through
// the BLAS to round-off, and bit for bit between 1 and 2 threads; ranks cover every chunk width
// (1..32 and beyond) and the rows of W read near the end of its buffer.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include <nmfx/linalg.hpp>

#include <nmfx_common/hals_sweep.hpp>
#include "support.hpp"

namespace {

// A sparse M x N Data with about density * M * N entries, some rows and columns empty.
nmfx::Data random_sparse(std::size_t M, std::size_t N, double density, std::uint64_t seed) {
  nmfx::Rng rng(seed);
  nmfx::Data X;
  X.kind = nmfx::DataKind::sparse;
  X.sparse.rows = M;
  X.sparse.cols = N;
  X.sparse.indptr.assign(M + 1, 0);
  for (std::size_t i = 0; i < M; ++i) {
    if (i % 7 != 3)
      for (std::size_t j = 0; j < N; ++j)
        if (j % 11 != 5 && rng.uniform() < density) {
          X.sparse.indices.push_back(static_cast<std::uint32_t>(j));
          X.sparse.values.push_back(rng.uniform() * 10.0);
        }
    X.sparse.indptr[i + 1] = X.sparse.values.size();
  }
  nmfx::finalize(X, "test");
  return X;
}

nmfx::Data densified(const nmfx::Data& S) {
  nmfx::Matrix D = nmfx::Matrix::from_shape({S.rows(), S.cols()});
  D.fill(0.0);
  for (std::size_t i = 0; i < S.rows(); ++i)
    for (std::size_t k = S.sparse.indptr[i]; k < S.sparse.indptr[i + 1]; ++k)
      D(i, S.sparse.indices[k]) = S.sparse.values[k];
  return test::make_data(D);
}

// out[i, a] = sum_k S.values[k] B[S.indices[k], a] in stored order, one scalar at a time; B is
// given by a function so that the same loop serves H^T and W.
template <class Get>
nmfx::Matrix stored_order(const nmfx::SparseMatrix& S, std::size_t L, Get b) {
  nmfx::Matrix out = nmfx::Matrix::from_shape({S.rows, L});
  for (std::size_t i = 0; i < S.rows; ++i)
    for (std::size_t a = 0; a < L; ++a) {
      double sum = 0;
      for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) {
        const double term = S.values[k] * b(S.indices[k], a);  // two roundings: no FMA here either
        sum += term;
      }
      out(i, a) = sum;
    }
  return out;
}

bool same_bits(const nmfx::Matrix& A, const nmfx::Matrix& B) {
  return A.shape() == B.shape() && std::memcmp(A.data(), B.data(), A.size() * sizeof(double)) == 0;
}

double max_relative_difference(const nmfx::Matrix& A, const nmfx::Matrix& B) {
  double worst = 0, scale = 0;
  for (std::size_t k = 0; k < A.size(); ++k) scale = std::max(scale, std::abs(B.data()[k]));
  for (std::size_t k = 0; k < A.size(); ++k) worst = std::max(worst, std::abs(A.data()[k] - B.data()[k]));
  return worst / std::max(scale, 1e-300);
}

}  // namespace

TEST_CASE("sparse XHt HXt and WtX are the stored-order sums bit for bit at every rank and match dense X") {
  const nmfx::Data X = random_sparse(83, 61, 0.2, 11);
  const nmfx::Data D = densified(X);
  for (const std::size_t L : {1, 2, 3, 7, 8, 9, 16, 20, 24, 31, 32, 33, 47, 64, 70}) {
    CAPTURE(L);
    const nmfx::Matrix W = test::random_matrix(83, L, 12 + L), H = test::random_matrix(L, 61, 13 + L);
    nmfx::DataProducts sparse, dense;
    sparse.prepare(X, L);
    dense.prepare(D, L);
    nmfx::Matrix XHt = nmfx::Matrix::from_shape({83, L}), HXt = nmfx::Matrix::from_shape({L, 83});
    nmfx::Matrix WtX = nmfx::Matrix::from_shape({L, 61});
    sparse.XHt(H, XHt);
    sparse.HXt(H, HXt);
    sparse.WtX(W, WtX);
    const nmfx::Matrix XHt_ref = stored_order(X.sparse, L, [&](std::size_t j, std::size_t a) { return H(a, j); });
    const nmfx::Matrix XtW_ref = stored_order(X.sparse_t, L, [&](std::size_t i, std::size_t a) { return W(i, a); });
    CHECK(same_bits(XHt, XHt_ref));
    nmfx::Matrix HXt_t = nmfx::Matrix::from_shape({83, L}), WtX_t = nmfx::Matrix::from_shape({61, L});
    for (std::size_t i = 0; i < 83; ++i)
      for (std::size_t a = 0; a < L; ++a) HXt_t(i, a) = HXt(a, i);
    for (std::size_t j = 0; j < 61; ++j)
      for (std::size_t a = 0; a < L; ++a) WtX_t(j, a) = WtX(a, j);
    CHECK(same_bits(HXt_t, XHt_ref));
    CHECK(same_bits(WtX_t, XtW_ref));
    // The same products of dense X through the BLAS, to round-off.
    nmfx::Matrix XHt_d = nmfx::Matrix::from_shape({83, L}), WtX_d = nmfx::Matrix::from_shape({L, 61});
    dense.XHt(H, XHt_d);
    dense.WtX(W, WtX_d);
    CHECK(max_relative_difference(XHt, XHt_d) < 1e-13);
    CHECK(max_relative_difference(WtX, WtX_d) < 1e-13);
  }
}

TEST_CASE("sparse products give the same bits on 1 and 2 threads") {
  // 3000 x 800 at 2%: about 48000 nonzeros, far above the size where the products go parallel.
  const nmfx::Data X = random_sparse(3000, 800, 0.02, 21);
  for (const std::size_t L : {5, 20, 40}) {
    CAPTURE(L);
    const nmfx::Matrix W = test::random_matrix(3000, L, 22), H = test::random_matrix(L, 800, 23);
    nmfx::Matrix XHt[2], HXt[2], WtX[2];
    for (int t = 0; t < 2; ++t) {
      nmfx::set_threads(t + 1);
      nmfx::DataProducts p;
      p.prepare(X, L);
      XHt[t] = nmfx::Matrix::from_shape({3000, L});
      HXt[t] = nmfx::Matrix::from_shape({L, 3000});
      WtX[t] = nmfx::Matrix::from_shape({L, 800});
      p.XHt(H, XHt[t]);
      p.HXt(H, HXt[t]);
      p.WtX(W, WtX[t]);
    }
    nmfx::set_threads(1);
    CHECK(same_bits(XHt[0], XHt[1]));
    CHECK(same_bits(HXt[0], HXt[1]));
    CHECK(same_bits(WtX[0], WtX[1]));
  }
}

namespace {

// A sparse Data from explicit rows of (column, value) pairs.
nmfx::Data sparse_from_rows(std::size_t N, const std::vector<std::vector<std::pair<std::uint32_t, double>>>& rows) {
  nmfx::Data X;
  X.kind = nmfx::DataKind::sparse;
  X.sparse.rows = rows.size();
  X.sparse.cols = N;
  X.sparse.indptr.assign(rows.size() + 1, 0);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (const auto& [j, v] : rows[i]) {
      X.sparse.indices.push_back(j);
      X.sparse.values.push_back(v);
    }
    X.sparse.indptr[i + 1] = X.sparse.values.size();
  }
  nmfx::finalize(X, "test");
  return X;
}

}  // namespace

TEST_CASE("sparse products on degenerate shapes: one row, one column, empty rows and columns, a dense row") {
  // Rows of very different lengths (empty, one entry, all N) side by side, the last rows of W
  // (read through the tail) in use, and one-row / one-column matrices; ranks 1, 7, 9 (not a
  // multiple of the vector width) and 20. Each product must equal the scalar stored-order sum bit
  // for bit, be within 1e-12 relative of the BLAS on dense X, and give the same bits on 1 and 2
  // threads.
  const std::size_t N = 40;
  std::vector<std::vector<std::pair<std::uint32_t, double>>> rows(9);
  for (std::uint32_t j = 0; j < N; ++j) rows[2].push_back({j, 0.5 + j});  // a full row
  rows[4] = {{7, 3.0}};
  rows[8] = {{0, 1.5}, {39, 2.5}};  // the last row of W is read, and the last column of H
  std::vector<nmfx::Data> cases;
  cases.push_back(sparse_from_rows(N, rows));
  cases.push_back(sparse_from_rows(N, {{{3, 2.0}, {17, 4.0}}}));                       // one row
  cases.push_back(sparse_from_rows(1, {{{0, 1.0}}, {}, {{0, 2.0}}, {{0, 3.0}}, {}}));  // one column
  for (const nmfx::Data& X : cases) {
    const std::size_t M = X.rows(), K = X.cols();
    const nmfx::Data D = densified(X);
    for (const std::size_t L : {1, 7, 9, 20}) {
      CAPTURE(M);
      CAPTURE(K);
      CAPTURE(L);
      const nmfx::Matrix W = test::random_matrix(M, L, 40 + L), H = test::random_matrix(L, K, 41 + L);
      const nmfx::Matrix XHt_ref = stored_order(X.sparse, L, [&](std::size_t j, std::size_t a) { return H(a, j); });
      const nmfx::Matrix XtW_ref = stored_order(X.sparse_t, L, [&](std::size_t i, std::size_t a) { return W(i, a); });
      nmfx::Matrix XHt_d = nmfx::Matrix::from_shape({M, L}), WtX_d = nmfx::Matrix::from_shape({L, K});
      nmfx::DataProducts dense;
      dense.prepare(D, L);
      dense.XHt(H, XHt_d);
      dense.WtX(W, WtX_d);
      for (int threads = 1; threads <= 2; ++threads) {
        CAPTURE(threads);
        nmfx::set_threads(threads);
        nmfx::DataProducts p;
        p.prepare(X, 33);  // prepared for another rank first: prepare() must resize and re-zero
        p.prepare(X, L);
        nmfx::Matrix XHt = nmfx::Matrix::from_shape({M, L}), WtX = nmfx::Matrix::from_shape({L, K});
        p.XHt(H, XHt);
        p.WtX(W, WtX);
        nmfx::Matrix WtX_t = nmfx::Matrix::from_shape({K, L});
        for (std::size_t j = 0; j < K; ++j)
          for (std::size_t a = 0; a < L; ++a) WtX_t(j, a) = WtX(a, j);
        CHECK(same_bits(XHt, XHt_ref));
        CHECK(same_bits(WtX_t, XtW_ref));
        CHECK(max_relative_difference(XHt, XHt_d) < 1e-12);
        CHECK(max_relative_difference(WtX, WtX_d) < 1e-12);
      }
      nmfx::set_threads(1);
    }
  }
}

TEST_CASE("sparse products refuse shapes that do not match the prepared problem") {
  const nmfx::Data X = random_sparse(30, 20, 0.3, 31);
  nmfx::DataProducts p;
  p.prepare(X, 4);
  const nmfx::Matrix H = test::random_matrix(4, 20, 1), W = test::random_matrix(30, 4, 2);
  nmfx::Matrix wrong = nmfx::Matrix::from_shape({30, 5});
  CHECK_THROWS_WITH(p.XHt(H, wrong), doctest::Contains("shapes do not match"));
  CHECK_THROWS_WITH(p.HXt(H, wrong), doctest::Contains("shapes do not match"));
  CHECK_THROWS_WITH(p.WtX(W, wrong), doctest::Contains("shapes do not match"));
  const nmfx::Matrix H5 = test::random_matrix(5, 20, 3);
  nmfx::Matrix out5 = nmfx::Matrix::from_shape({30, 5});
  CHECK_THROWS_WITH(p.XHt(H5, out5), doctest::Contains("shapes do not match"));  // prepared for rank 4
}

TEST_CASE("the HALS sweep of W in its own layout gives the bits of the sweep of W^T") {
  // run_transposed sweeps W (K x L) block by block through a buffer; run sweeps W^T (L x K).
  for (const std::size_t K : {1, 63, 64, 700}) {
    CAPTURE(K);
    const std::size_t L = 13;
    const nmfx::Matrix G = test::random_matrix(L, 2 * L, 5);
    nmfx::Matrix B = nmfx::Matrix::from_shape({L, L});
    nmfx::gemm(G, nmfx::Trans::no, G, nmfx::Trans::yes, B);
    B(4, 4) = 0;  // a dead component: its row of B is zero in HALS; here only its diagonal matters
    const nmfx::Matrix A = test::random_matrix(L, K, 6, -1.0, 1.0), Wt0 = test::random_matrix(L, K, 7);
    nmfx::Matrix Wt = Wt0, W = nmfx::Matrix::from_shape({K, L});
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < L; ++j) W(k, j) = Wt0(j, k);
    nmfx_hals::Sweep a, b;
    a.prepare(L, K);
    b.prepare(L, K);
    const double moved_a = a.run(Wt, A, B, 1e-16), moved_b = b.run_transposed(W, A, B, 1e-16);
    CHECK(moved_a == moved_b);
    std::size_t differ = 0;
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < L; ++j) differ += W(k, j) != Wt(j, k);
    CHECK(differ == 0);
  }
}

TEST_CASE("HXt_blocks visits every block of H X^T once with HXt's bits, fused on sparse X, on 1 and 2 threads") {
  // 1000 x 800 at 2% (about 14000 nonzeros, every seventh row empty): parallel at L = 20; the last
  // block of 64 (or 50) rows is short.
  const nmfx::Data X = random_sparse(1000, 800, 0.02, 31);
  const nmfx::Data D = densified(X);
  for (const nmfx::Data* data : {&X, &D})
    for (const std::size_t L : {3, 20})
      for (const std::size_t block_rows : {64, 50})
        for (const int threads : {1, 2}) {
          CAPTURE(data == &X);
          CAPTURE(L);
          CAPTURE(block_rows);
          CAPTURE(threads);
          nmfx::set_threads(threads);
          const nmfx::Matrix H = test::random_matrix(L, 800, 32);
          nmfx::DataProducts p;
          p.prepare(*data, L);
          nmfx::Matrix whole = nmfx::Matrix::from_shape({L, 1000}), workspace = whole;
          nmfx::Matrix seen = nmfx::Matrix::from_shape({L, 1000});
          seen.fill(-1.0);
          std::vector<int> visits(1000, 0);
          std::atomic<bool> bad_block{false};  // a block not starting on a multiple of block_rows, or a bad thread
          p.HXt(H, whole);
          auto visit = [&](const nmfx::DataProducts::HXtBlock& b) {
            for (std::size_t r = 0; r < b.rows; ++r) {
              visits[b.first_row + r] += 1;  // distinct rows per block: no two threads touch one entry
              for (std::size_t a = 0; a < L; ++a) seen(a, b.first_row + r) = b.a[a * b.lda + r];
            }
            // No doctest assertion here: visits run on several threads at once.
            if (b.first_row % block_rows != 0 || b.thread < 0 || b.thread >= threads) bad_block = true;
          };
          p.HXt_blocks(H, workspace, block_rows, false, visit);
          CHECK(std::count(visits.begin(), visits.end(), 1) == 1000);
          CHECK_FALSE(bad_block.load());
          CHECK(same_bits(seen, whole));
        }
  nmfx::set_threads(1);
}

TEST_CASE("the HALS update of W fused with H X^T gives the bits of the product, penalty and sweep in turn") {
  // Sparse 1000 x 800 with empty rows; a dead component (row 2 of H all zero, so B[2,2] = 0 and
  // A[2,:] = -l1: W's column 2 goes to zero, then to the floor); with and without penalties.
  const nmfx::Data X = random_sparse(1000, 800, 0.02, 41);
  for (const std::size_t L : {7, 20})
    for (const double l1 : {0.0, 0.3})
      for (const int threads : {1, 2}) {
        CAPTURE(L);
        CAPTURE(l1);
        CAPTURE(threads);
        nmfx::set_threads(threads);
        nmfx::Matrix H = test::random_matrix(L, 800, 42);
        for (std::size_t j = 0; j < 800; ++j) H(2, j) = 0;
        const nmfx::Matrix W0 = test::random_matrix(1000, L, 43);
        nmfx::DataProducts p;
        p.prepare(X, L);
        nmfx::Matrix B = nmfx::Matrix::from_shape({L, L}), A = nmfx::Matrix::from_shape({L, 1000});
        p.gram_H(H, B);
        p.HXt(H, A);
        nmfx_hals::penalize(A, B, l1, 0.1);
        nmfx::Matrix W_ref = W0, W_fused = W0, workspace = nmfx::Matrix::from_shape({L, 1000});
        nmfx_hals::Sweep ref, fused;
        ref.prepare(L, 1000);
        fused.prepare(L, 1000);
        const double moved_ref = ref.run_transposed(W_ref, A, B, 1e-16);
        const double moved_fused = fused.run_transposed_fused(W_fused, p, H, workspace, B, l1, 1e-16);
        CHECK(moved_fused == moved_ref);
        CHECK(same_bits(W_fused, W_ref));
        if (l1 > 0) CHECK(W_fused(5, 2) == 1e-16 * *std::max_element(W_fused.begin(), W_fused.end()));
      }
  nmfx::set_threads(1);
}

TEST_CASE("gram_W and gram_H are W^T W and H H^T, exactly symmetric, through dgemm and through dsyrk") {
  // Thin factors go through dgemm, wide ranks (L >= 40) and long ones (K >= 4096) through dsyrk
  // (in chunks of 2048 from K > 2048) and a mirrored triangle: every path must give the product to round-off and a
  // symmetric G, which the HALS sweep relies on (it reads row j of G as column j).
  for (const auto& [K, L] : std::vector<std::pair<std::size_t, std::size_t>>{{50, 7}, {300, 45}, {5000, 12}}) {
    CAPTURE(K);
    CAPTURE(L);
    nmfx::Data X;
    X.kind = nmfx::DataKind::dense;
    X.dense = test::random_matrix(K, K % 97 + 3, 1);
    nmfx::DataProducts products;
    products.prepare(X, L);
    const nmfx::Matrix W = test::random_matrix(K, L, 2), H = test::random_matrix(L, K, 3);
    nmfx::Matrix GW = nmfx::Matrix::from_shape({L, L}), GH = nmfx::Matrix::from_shape({L, L});
    products.gram_W(W, GW);
    products.gram_H(H, GH);
    double worst = 0;
    std::size_t asymmetric = 0;
    for (std::size_t a = 0; a < L; ++a)
      for (std::size_t b = 0; b < L; ++b) {
        double w = 0, h = 0;
        for (std::size_t k = 0; k < K; ++k) {
          w += W(k, a) * W(k, b);
          h += H(a, k) * H(b, k);
        }
        worst = std::max({worst, std::abs(GW(a, b) - w) / w, std::abs(GH(a, b) - h) / h});
        asymmetric += (GW(a, b) != GW(b, a)) + (GH(a, b) != GH(b, a));
      }
    CHECK(worst <= 1e-13);
    if (L >= 40 || K >= 4096) CHECK(asymmetric == 0);
    // K = 5000 is summed from partial Gram matrices over fixed chunks of 2048, spread over the
    // threads: the same bits on 1 and 2 threads.
    nmfx::set_threads(1);
    nmfx::Matrix GW1 = nmfx::Matrix::from_shape({L, L}), GH1 = nmfx::Matrix::from_shape({L, L});
    products.gram_W(W, GW1);
    products.gram_H(H, GH1);
    nmfx::set_threads(2);
    nmfx::Matrix GW2 = nmfx::Matrix::from_shape({L, L}), GH2 = nmfx::Matrix::from_shape({L, L});
    products.gram_W(W, GW2);
    products.gram_H(H, GH2);
    CHECK(GW1 == GW2);
    CHECK(GH1 == GH2);
  }
  // A factor with no rows (W) or columns (H), as a process of a distributed cell may hold: G = 0.
  for (const std::size_t L : {7, 45}) {
    CAPTURE(L);
    nmfx::Data X;
    X.kind = nmfx::DataKind::dense;
    X.dense = test::random_matrix(3, 4, 1);
    nmfx::DataProducts products;
    products.prepare(X, L);
    const nmfx::Matrix W = nmfx::Matrix::from_shape({0, L}), H = nmfx::Matrix::from_shape({L, 0});
    nmfx::Matrix GW = test::random_matrix(L, L, 4), GH = test::random_matrix(L, L, 5);
    products.gram_W(W, GW);
    products.gram_H(H, GH);
    CHECK(std::all_of(GW.begin(), GW.end(), [](double v) { return v == 0; }));
    CHECK(std::all_of(GH.begin(), GH.end(), [](double v) { return v == 0; }));
  }
}
