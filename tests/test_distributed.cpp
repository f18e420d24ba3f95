// The distributed layer's pieces that need no MPI (framework/plugin_api/distributed.hpp and the spec's
// `distribute` key): the layout tiles X and partitions W and H exactly, the grid choice minimises
// PLANC's words, the formula's closed form, and the products of a one-process distribution are the
// plain ones. The runs over MPI are tests/mpi/distributed.sh.
#include <doctest/doctest.h>

#include <limits>
#include <set>

#include <nmfx/distributed.hpp>
#include <nmfx/linalg.hpp>

#include "support.hpp"

TEST_CASE("distributed: split_range covers 0..n in order, part sizes differing by at most one") {
  for (std::size_t n : {0ul, 1ul, 7ul, 29ul, 37ul, 1000ul})
    for (int parts : {1, 2, 3, 4, 6, 7}) {
      CAPTURE(n);
      CAPTURE(parts);
      std::size_t next = 0, smallest = n + 1, largest = 0;
      for (int k = 0; k < parts; ++k) {
        const nmfx::Range r = nmfx::split_range(n, parts, k);
        CHECK(r.begin == next);
        next = r.end;
        smallest = std::min(smallest, r.size());
        largest = std::max(largest, r.size());
      }
      CHECK(next == n);
      CHECK(largest - smallest <= 1);
    }
}

TEST_CASE("distributed: the blocks of X tile it, and W's rows and H's columns are each held once, inside the block") {
  const std::size_t M = 37, N = 29;
  for (auto [pr, pc] : {std::pair{1, 1}, {2, 1}, {2, 2}, {3, 2}, {1, 4}, {6, 1}}) {
    CAPTURE(pr);
    CAPTURE(pc);
    std::vector<int> cover(M * N, 0), w_owner(M, 0), h_owner(N, 0);
    for (int p = 0; p < pr * pc; ++p) {
      const nmfx::Layout l = nmfx::Layout::of(M, N, pr, pc, p);
      CHECK(l.row * pc + l.col == p);
      for (std::size_t i = l.x_rows.begin; i < l.x_rows.end; ++i)
        for (std::size_t j = l.x_cols.begin; j < l.x_cols.end; ++j) ++cover[i * N + j];
      CHECK(l.w_rows.begin >= l.x_rows.begin);
      CHECK(l.w_rows.end <= l.x_rows.end);
      CHECK(l.h_cols.begin >= l.x_cols.begin);
      CHECK(l.h_cols.end <= l.x_cols.end);
      for (std::size_t i = l.w_rows.begin; i < l.w_rows.end; ++i) ++w_owner[i];
      for (std::size_t j = l.h_cols.begin; j < l.h_cols.end; ++j) ++h_owner[j];
      // The pieces a row gather joins are the row's processes' rows of W, in order, making x_rows.
      const auto pieces = l.w_rows_in_row();
      REQUIRE(pieces.size() == static_cast<std::size_t>(pc));
      CHECK(pieces.front().begin == l.x_rows.begin);
      CHECK(pieces.back().end == l.x_rows.end);
      CHECK(pieces[static_cast<std::size_t>(l.col)] == l.w_rows);
      const auto hpieces = l.h_cols_in_column();
      REQUIRE(hpieces.size() == static_cast<std::size_t>(pr));
      CHECK(hpieces.front().begin == l.x_cols.begin);
      CHECK(hpieces.back().end == l.x_cols.end);
      CHECK(hpieces[static_cast<std::size_t>(l.row)] == l.h_cols);
    }
    CHECK(std::all_of(cover.begin(), cover.end(), [](int c) { return c == 1; }));
    CHECK(std::all_of(w_owner.begin(), w_owner.end(), [](int c) { return c == 1; }));
    CHECK(std::all_of(h_owner.begin(), h_owner.end(), [](int c) { return c == 1; }));
  }
  CHECK_THROWS_AS(nmfx::Layout::of(M, N, 2, 2, 4), nmfx::Error);
}

TEST_CASE("distributed: PLANC's words in closed form, and the grid that minimises them") {
  // 2 x 1: no gather of W (pc = 1), H's halves gathered and W^T X reduce-scattered along the column:
  // 2 (1/2) N L, plus the two L x L all-reduces, 4 (1/2) L^2.
  CHECK(nmfx::planc_words_per_iteration(40, 30, 5, 2, 1) == doctest::Approx(30.0 * 5 + 2 * 25.0));
  CHECK(nmfx::planc_words_per_iteration(40, 30, 5, 1, 1) == 0.0);
  // A grid against every factorisation of p, on tall, wide and square X.
  for (auto [M, N] : {std::pair<std::size_t, std::size_t>{100000, 100}, {100, 100000}, {5000, 5000}, {999, 1001}})
    for (int p : {1, 2, 4, 6, 12, 64}) {
      int pr = 0, pc = 0;
      nmfx::choose_grid(p, M, N, pr, pc);
      CHECK(pr * pc == p);
      double best = std::numeric_limits<double>::infinity();
      for (int r = 1; r <= p; ++r)
        if (p % r == 0) best = std::min(best, nmfx::planc_words_per_iteration(M, N, 1, r, p / r));
      CHECK(nmfx::planc_words_per_iteration(M, N, 1, pr, pc) <= best * (1 + 1e-12));
    }
  int pr = 0, pc = 0;
  nmfx::choose_grid(4, 100000, 100, pr, pc);
  CHECK((pr == 4 && pc == 1));  // tall X: split the rows, gather only the short H
}

TEST_CASE("distributed: on one process a Distribution's products are the plain ones, bit for bit") {
  const nmfx::Matrix A = test::random_matrix(23, 17, 1);
  for (const nmfx::Data& X : {test::make_data(A), test::make_sparse(A)}) {
    const std::size_t L = 4;
    const nmfx::Matrix W = test::random_matrix(23, L, 2), H = test::random_matrix(L, 17, 3);
    nmfx::SingleProcess one;
    nmfx::Distribution d{nmfx::Layout::whole(23, 17), &one};
    nmfx::DataProducts plain, distributed;
    plain.prepare(X, L);
    distributed.prepare(X, L, d);
    CHECK(distributed.distribution() == nullptr);
    nmfx::Matrix a = nmfx::Matrix::from_shape({23, L}), b = a, c = nmfx::Matrix::from_shape({L, 17}), e = c;
    plain.XHt(H, a);
    distributed.XHt(H, b);
    CHECK(a == b);
    plain.WtX(W, c);
    distributed.WtX(W, e);
    CHECK(c == e);
    nmfx::Matrix G = nmfx::Matrix::from_shape({L, L}), G2 = G;
    distributed.gram_W(W, G);
    nmfx::gemm(W, nmfx::Trans::yes, W, nmfx::Trans::no, G2);
    CHECK(G == G2);
    CHECK(distributed.sum(2.5) == 2.5);
  }
}

TEST_CASE("distributed: the spec's distribute key is checked before anything runs") {
  struct Case {
    const char* what;
    const char* add;
    const char* message;
  };
  const Case cases[] = {
      {"a grid that is not [pr, pc]", "distribute: {grid: [2]}\n", "distribute.grid: expected auto or [pr, pc]"},
      {"an unknown key", "distribute: {grids: auto}\n", "distribute.grids"},
      {"a solver that cannot run distributed", "distribute: {grid: auto}\nsolvers: [pgd]\n",
       "solver 'pgd' cannot run distributed"},
      {"an init that needs all of X", "distribute: {grid: auto}\ninit: {method: nndsvd}\n",
       "init method 'nndsvd' needs all of X on one process"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const auto dir = test::temp_dir("distribute_spec");
    test::write(dir / "bad.yaml",
                std::string("name: t\ndatasets: [{name: synthetic, params: {m: 30, n: 20, rank: 3}}]\n") +
                    (std::string(c.add).find("solvers") == std::string::npos ? "solvers: [mu]\n" : "") +
                    "ranks: [3]\nstopping: {max_iter: 5}\noutput: out\n" + c.add);
    const auto r = test::nmfx_command("validate bad.yaml", dir);
    CHECK(r.status == 2);
    CHECK(r.output.find(c.message) != std::string::npos);
    CHECK_FALSE(test::fs::exists(dir / "out"));
  }
  // Without mpirun a distributed spec runs on the one process, as any other spec.
  const auto dir = test::temp_dir("distribute_spec_one");
  test::write(dir / "ok.yaml",
              "name: t\ndatasets: [{name: synthetic, params: {m: 30, n: 20, rank: 3}}]\nsolvers: [mu, hals, anls_bpp]\n"
              "ranks: [3]\nstopping: {max_iter: 5}\noutput: out\ndistribute: {grid: auto}\n");
  const auto r = test::nmfx_command("run ok.yaml -q", dir);
  CHECK(r.status == 0);
  CHECK(r.output.find("3 ok") != std::string::npos);
}
