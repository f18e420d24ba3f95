// Datasets, .npy files written by NumPy (fixtures/make_fixtures.py), and the checks every X gets.
#include <doctest/doctest.h>

#include <nmfx/dataset_util.hpp>
#include <nmfx/npy.hpp>

#include "support.hpp"

namespace {

const std::string fixtures = NMFX_SOURCE_DIR "/tests/fixtures/";

// What make_fixtures.py wrote: 0.5 * arange(12).reshape(3, 4), in each dtype and order.
void check_expected(const nmfx::Matrix& m) {
  REQUIRE(m.shape(0) == 3);
  REQUIRE(m.shape(1) == 4);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) CHECK(m(i, j) == 0.5 * static_cast<double>(4 * i + j));
}

}  // namespace

TEST_CASE("read_npy reads NumPy's files: float32/float64 - C/Fortran order - big-endian - integers") {
  for (const char* f : {"c_f8.npy", "c_f4.npy", "fortran_f8.npy", "big_endian_f8.npy"}) {
    CAPTURE(f);
    check_expected(nmfx::read_npy(fixtures + f));
  }
  const nmfx::Matrix ints = nmfx::read_npy(fixtures + "c_i8.npy");  // arange(12).reshape(3, 4)
  CHECK(ints(2, 3) == 11.0);
}

TEST_CASE("read_npy refuses malformed files with one line naming the file") {
  const auto dir = test::temp_dir("npy_bad");
  const std::string good = test::read(fixtures + "c_f8.npy");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated.npy", good.substr(0, good.size() - 5)},
      {"no_magic.npy", "hello world, not numpy"},
      {"short.npy", "\x93NUM"},
      {"three_d.npy", test::read(fixtures + "three_d.npy")},
  };
  for (const auto& [name, bytes] : cases) {
    CAPTURE(name);
    test::write(dir / name, bytes);
    try {
      nmfx::read_npy((dir / name).string());
      FAIL("no error");
    } catch (const nmfx::Error& e) {
      CHECK(std::string(e.what()).find(name) != std::string::npos);
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("write_npy round-trips") {
  const auto dir = test::temp_dir("npy_rt");
  const nmfx::Matrix A = test::random_matrix(7, 5, 3);
  nmfx::write_npy((dir / "a.npy").string(), A);
  const nmfx::Matrix B = nmfx::read_npy((dir / "a.npy").string());
  CHECK(A == B);
}

TEST_CASE("the npy dataset reads - transposes - and refuses negative data naming count and position") {
  const auto& reg = test::registry();
  const auto& schema = reg.require(nmfx::PluginKind::dataset, "npy")->descriptor->params;
  auto d = reg.create<nmfx::Dataset>(
      "npy", nmfx::resolve_params(schema, nmfx::json{{"path", fixtures + "fortran_f8.npy"}, {"transpose", true}}));
  const nmfx::Data X = d->load();
  REQUIRE(X.rows() == 4);
  CHECK(X.dense(3, 2) == 0.5 * 11);

  auto neg = reg.create<nmfx::Dataset>(
      "npy", nmfx::resolve_params(schema, nmfx::json{{"path", fixtures + "negative.npy"}, {"transpose", false}}));
  try {
    neg->load();
    FAIL("no error");
  } catch (const nmfx::Error& e) {
    const std::string what = e.what();
    CHECK(what.find("negative.npy") != std::string::npos);
    CHECK(what.find("2 negative") != std::string::npos);
    CHECK(what.find("(1, 2)") != std::string::npos);
  }
}

TEST_CASE("synthetic plants an exact rank-r product when noise is 0") {
  auto d = test::registry().create<nmfx::Dataset>(
      "synthetic", nmfx::json{{"m", 12}, {"n", 9}, {"rank", 2}, {"noise", 0.0}, {"seed", 4}});
  const nmfx::Data X = d->load();
  REQUIRE(X.rows() == 12);
  REQUIRE(X.cols() == 9);
  // Rank 2: every 3x3 minor vanishes.
  for (std::size_t i = 0; i + 2 < 12; ++i) {
    const auto& A = X.dense;
    const double det = A(i, 0) * (A(i + 1, 1) * A(i + 2, 2) - A(i + 1, 2) * A(i + 2, 1)) -
                       A(i, 1) * (A(i + 1, 0) * A(i + 2, 2) - A(i + 1, 2) * A(i + 2, 0)) +
                       A(i, 2) * (A(i + 1, 0) * A(i + 2, 1) - A(i + 1, 1) * A(i + 2, 0));
    CHECK(std::abs(det) < 1e-12);
  }
  // The same seed gives the same matrix; another seed another.
  const nmfx::Data again = d->load();
  CHECK(again.dense == X.dense);
}

TEST_CASE("finalize refuses NaN - negatives and all-zero data - naming the first position") {
  nmfx::Data d;
  d.dense = nmfx::Matrix::from_shape({3, 3});
  d.dense.fill(1.0);
  d.dense(1, 2) = std::nan("");
  CHECK_THROWS_WITH(nmfx::finalize(d, "x"), doctest::Contains("1 NaN/Inf and 0 negative entries, the first at (1, 2)"));
  d.dense.fill(0.0);
  CHECK_THROWS_WITH(nmfx::finalize(d, "x"), doctest::Contains("all zeros"));
  d.dense.fill(2.0);
  nmfx::finalize(d, "x");
  CHECK(d.norm_sq == 36.0);
  CHECK(d.mean == 2.0);
  CHECK(d.nnz == 9);
}

TEST_CASE("a dataset that fails fails its cells - recorded - and the grid goes on") {
  const auto dir = test::temp_dir("bad_data");
  test::write(dir / "s.yaml",
              "datasets:\n"
              "  - {name: npy, params: {path: missing.npy}}\n"
              "  - {name: synthetic, params: {m: 10, n: 8, rank: 2}}\n"
              "solvers: [mu]\nranks: 2\nseeds: [0, 1]\nstopping: {max_iter: 3}\noutput: out\n");
  const auto r = test::nmfx_command("run s.yaml", dir);
  CHECK(r.status == 1);
  CHECK(r.output.find("2 ok, 2 failed") != std::string::npos);
  CHECK(r.output.find("missing.npy: cannot open file") != std::string::npos);
}

TEST_CASE("common dataset options: lee_seung normalisation - scale - transpose") {
  nmfx::Data X;
  // Column 0 has mean 3 and sd 1, and no value is more than 1 sd below the mean (so nothing is
  // clipped); column 1 is constant.
  X.dense = {{2.0, 5.0}, {4.0, 5.0}, {2.0, 5.0}, {4.0, 5.0}};
  const nmfx::Params p(
      nmfx::resolve_params(nmfx::common_dataset_params(), nmfx::json{{"normalize", "lee_seung"}, {"transpose", true}}));
  nmfx::apply_common_options(X, p);
  REQUIRE(X.dense.shape(0) == 2);  // transposed after normalising
  // Column 0 becomes 0.25 + 0.25 (x - 3) / 1: 0, 0.5, 0, 0.5.
  double mean = 0, sq = 0;
  for (std::size_t j = 0; j < 4; ++j) {
    CHECK(X.dense(0, j) == doctest::Approx(j % 2 == 0 ? 0.0 : 0.5));
    mean += X.dense(0, j) / 4;
  }
  for (std::size_t j = 0; j < 4; ++j) sq += (X.dense(0, j) - mean) * (X.dense(0, j) - mean) / 4;
  CHECK(mean == doctest::Approx(0.25));
  CHECK(std::sqrt(sq) == doctest::Approx(0.25));
  for (std::size_t j = 0; j < 4; ++j) CHECK(X.dense(1, j) == 0.25);  // a constant image: mean 0.25, sd 0
  // Column [0, 0, 0, 100]: z = sqrt(3) at its last value and -1/sqrt(3) at the others.
  nmfx::Data Z;
  Z.dense = {{0.0}, {0.0}, {0.0}, {100.0}};
  nmfx::apply_common_options(
      Z, nmfx::Params(nmfx::resolve_params(nmfx::common_dataset_params(), nmfx::json{{"normalize", "lee_seung"}})));
  CHECK(Z.dense(3, 0) == doctest::Approx(0.25 + 0.25 * std::sqrt(3.0)));
  CHECK(Z.dense(0, 0) == doctest::Approx(0.25 - 0.25 / std::sqrt(3.0)));
  nmfx::Data Y;
  Y.dense = {{0.0, 2.0}, {4.0, 8.0}};
  nmfx::apply_common_options(
      Y, nmfx::Params(nmfx::resolve_params(nmfx::common_dataset_params(), nmfx::json{{"scale", "max"}})));
  CHECK(Y.dense(1, 0) == 0.5);
  CHECK(Y.dense(1, 1) == 1.0);
}

TEST_CASE("lee_seung normalisation maps a constant image to 0.25 despite rounding") {
  nmfx::Data X;
  X.dense = nmfx::Matrix::from_shape({63, 1});
  X.dense.fill(100.0 / 255.0);  // the mean of 63 copies is not exactly 100/255: sd would be ~3e-16
  nmfx::apply_common_options(
      X, nmfx::Params(nmfx::resolve_params(nmfx::common_dataset_params(), nmfx::json{{"normalize", "lee_seung"}})));
  for (double v : X.dense) CHECK(v == 0.25);
}
