#pragma once
/// @file ratings_common.hpp
/// What the rating datasets (`ratings`, `synthetic_ratings`) share: triplets to CSR with duplicates
/// resolved, and the seeded random train/test split. Header-only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <nmfx/rng.hpp>
#include <nmfx/types.hpp>

namespace nmfx_ratings {

/// One rating r of item i by user u, in dense indices.
struct Triplet {
  std::uint32_t u, i;
  double r;
};

/// CSR (rows x cols) of the triplets, columns sorted within each row. Of several triplets with the
/// same (u, i), the last one in `t` is kept; *duplicates counts the others.
inline nmfx::SparseMatrix to_csr(const std::vector<Triplet>& t, std::size_t rows, std::size_t cols,
                                 std::size_t* duplicates) {
  std::vector<std::size_t> start(rows + 1, 0);
  for (const Triplet& x : t) ++start[x.u + 1];
  for (std::size_t u = 0; u < rows; ++u) start[u + 1] += start[u];
  // Stable counting sort by row: within a row, triplets keep their order in t.
  std::vector<std::uint32_t> col(t.size());
  std::vector<double> val(t.size());
  {
    std::vector<std::size_t> next(start.begin(), start.end() - 1);
    for (const Triplet& x : t) {
      const std::size_t at = next[x.u]++;
      col[at] = x.i;
      val[at] = x.r;
    }
  }
  nmfx::SparseMatrix S;
  S.rows = rows;
  S.cols = cols;
  S.indptr.assign(rows + 1, 0);
  S.indices.reserve(t.size());
  S.values.reserve(t.size());
  std::vector<std::uint32_t> order;
  std::size_t dropped = 0;
  for (std::size_t u = 0; u < rows; ++u) {
    const std::size_t b = start[u], e = start[u + 1];
    order.resize(e - b);
    for (std::size_t k = 0; k < e - b; ++k) order[k] = static_cast<std::uint32_t>(b + k);
    // Stable: equal columns stay in input order, so the last of a run is the last in t.
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) { return col[x] < col[y]; });
    for (std::size_t k = 0; k < order.size(); ++k) {
      if (k + 1 < order.size() && col[order[k + 1]] == col[order[k]]) {
        ++dropped;
        continue;
      }
      S.indices.push_back(col[order[k]]);
      S.values.push_back(val[order[k]]);
    }
    S.indptr[u + 1] = S.values.size();
  }
  if (duplicates) *duplicates = dropped;
  return S;
}

/// Splits the entries of `all` at random into test (exactly round(fraction * nnz) entries, chosen
/// uniformly by selection sampling in CSR order from `seed`) and train (the rest). Both keep the
/// shape of `all`.
inline void split(const nmfx::SparseMatrix& all, double fraction, std::uint64_t seed, nmfx::SparseMatrix& train,
                  nmfx::SparseMatrix& test) {
  const std::size_t n = all.nnz();
  std::size_t needed = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  nmfx::Rng rng(seed);
  for (nmfx::SparseMatrix* S : {&train, &test}) {
    S->rows = all.rows;
    S->cols = all.cols;
    S->indptr.assign(all.rows + 1, 0);
    S->indices.clear();
    S->values.clear();
  }
  train.indices.reserve(n - needed);
  train.values.reserve(n - needed);
  test.indices.reserve(needed);
  test.values.reserve(needed);
  std::size_t k = 0;
  for (std::size_t u = 0; u < all.rows; ++u) {
    for (; k < all.indptr[u + 1]; ++k) {
      // Knuth's algorithm S: entry k goes to test with probability needed / (entries left).
      const bool to_test = rng.uniform() * static_cast<double>(n - k) < static_cast<double>(needed);
      nmfx::SparseMatrix& S = to_test ? test : train;
      needed -= to_test;
      S.indices.push_back(all.indices[k]);
      S.values.push_back(all.values[k]);
    }
    train.indptr[u + 1] = train.values.size();
    test.indptr[u + 1] = test.values.size();
  }
}

/// Rows of S with no entry.
inline std::size_t empty_rows(const nmfx::SparseMatrix& S) {
  std::size_t n = 0;
  for (std::size_t r = 0; r < S.rows; ++r) n += S.indptr[r + 1] == S.indptr[r];
  return n;
}

/// Columns of S with no entry.
inline std::size_t empty_cols(const nmfx::SparseMatrix& S) {
  std::vector<char> seen(S.cols, 0);
  for (std::uint32_t c : S.indices) seen[c] = 1;
  return S.cols - static_cast<std::size_t>(std::count(seen.begin(), seen.end(), 1));
}

}  // namespace nmfx_ratings
