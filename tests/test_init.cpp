// Initialisation: random (uniform, half-normal, scaled), from files, NNDSVD and its variants
// (Boutsidis & Gallopoulos 2008), and the optimal scaling of Gillis & Glineur's code.
#include <doctest/doctest.h>

#include <nmfx/host/init.hpp>
#include <nmfx/npy.hpp>

#include "support.hpp"

using nmfx::json;

namespace {

double mean_of(const nmfx::Matrix& A) {
  double s = 0;
  for (double v : A) s += v;
  return s / static_cast<double>(A.size());
}

}  // namespace

TEST_CASE("random init: uniform on 0..1 or half-normal - scaled by sqrt(mean(X)/rank) - W then H from the seed") {
  const nmfx::Data X = test::make_data(test::random_matrix(60, 50, 1, 0.0, 4.0));
  nmfx::Matrix W, H, W2, H2;
  nmfx::initialize(json{{"method", "random"}, {"distribution", "uniform"}, {"scale", "none"}}, X, 8, 3, "", W, H);
  CHECK(W.shape(0) == 60);
  CHECK(H.shape(1) == 50);
  for (const auto* A : {&W, &H})
    for (double v : *A) CHECK((v >= 0.0 && v < 1.0));
  CHECK(std::abs(mean_of(H) - 0.5) < 0.03);  // 400 draws: sd of the mean is 0.014
  nmfx::initialize(json{{"method", "random"}, {"distribution", "uniform"}, {"scale", "auto"}}, X, 8, 3, "", W2, H2);
  const double scale = std::sqrt(X.mean / 8.0);
  for (std::size_t k = 0; k < W.size(); ++k) CHECK(W2.data()[k] == doctest::Approx(scale * W.data()[k]).epsilon(1e-15));
  nmfx::initialize(json{{"method", "random"}, {"distribution", "halfnormal"}, {"scale", "none"}}, X, 40, 3, "", W, H);
  CHECK(std::abs(mean_of(W) - std::sqrt(2.0 / M_PI)) < 0.03);  // E|N(0,1)| = sqrt(2/pi); 2400 draws
  // Another seed, another start; the same seed, the same start.
  nmfx::initialize(json{{"method", "random"}, {"distribution", "uniform"}, {"scale", "none"}}, X, 8, 4, "", W2, H2);
  nmfx::Matrix W3, H3;
  nmfx::initialize(json{{"method", "random"}, {"distribution", "uniform"}, {"scale", "none"}}, X, 8, 4, "", W3, H3);
  CHECK(W2 == W3);
  CHECK(H2 == H3);
  CHECK_FALSE(W2 == W);
}

TEST_CASE("file init reads W and H and refuses a wrong shape naming the file") {
  const auto dir = test::temp_dir("init_file");
  const nmfx::Data X = test::make_data(test::random_matrix(6, 5, 1));
  const nmfx::Matrix W0 = test::random_matrix(6, 2, 2), H0 = test::random_matrix(2, 5, 3);
  nmfx::write_npy((dir / "w.npy").string(), W0);
  nmfx::write_npy((dir / "h.npy").string(), H0);
  nmfx::Matrix W, H;
  nmfx::initialize(json{{"method", "file"}, {"W", "w.npy"}, {"H", "h.npy"}}, X, 2, 0, dir.string(), W, H);
  CHECK(W == W0);
  CHECK(H == H0);
  CHECK_THROWS_WITH(
      nmfx::initialize(json{{"method", "file"}, {"W", "w.npy"}, {"H", "h.npy"}}, X, 3, 0, dir.string(), W, H),
      doctest::Contains("w.npy: init W has shape (6, 2), this cell needs (6, 3)"));
}

TEST_CASE("nndsvd reproduces a nonnegative matrix whose singular vectors are nonnegative") {
  // X = diag blocks u1 v1^T (large) and u2 v2^T (small) on disjoint rows and columns: its two
  // singular pairs are (u1, v1) and (u2, v2) up to sign, so NNDSVD's W H is X exactly.
  nmfx::Matrix Xm = nmfx::Matrix::from_shape({7, 6});
  Xm.fill(0.0);
  const double u1[] = {1, 2, 3, 1}, v1[] = {2, 1, 1}, u2[] = {0.5, 1, 0.2}, v2[] = {1, 0.3, 2};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) Xm(i, j) = u1[i] * v1[j];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) Xm(4 + i, 3 + j) = u2[i] * v2[j];
  const nmfx::Data X = test::make_data(Xm);
  nmfx::Matrix W, H;
  nmfx::initialize(json{{"method", "nndsvd"}}, X, 2, 0, "", W, H);
  const nmfx::Matrix P = test::naive_product(W, H);
  for (std::size_t k = 0; k < P.size(); ++k)
    CHECK(P.data()[k] == doctest::Approx(Xm.data()[k]).epsilon(1e-10).scale(1.0));
}

TEST_CASE(
    "nndsvd variants: nonnegative - nndsvd has zeros - nndsvda fills them with mean(X) - nndsvdar with small noise") {
  const nmfx::Data X = test::make_data(test::random_matrix(30, 20, 5));
  nmfx::Matrix W, H, Wa, Ha, Wr, Hr;
  nmfx::initialize(json{{"method", "nndsvd"}}, X, 5, 0, "", W, H);
  nmfx::initialize(json{{"method", "nndsvda"}}, X, 5, 0, "", Wa, Ha);
  nmfx::initialize(json{{"method", "nndsvdar"}}, X, 5, 0, "", Wr, Hr);
  std::size_t zeros = 0;
  for (std::size_t k = 0; k < W.size(); ++k) {
    CHECK(W.data()[k] >= 0);
    if (W.data()[k] == 0) {
      ++zeros;
      CHECK(Wa.data()[k] == X.mean);
      CHECK(Wr.data()[k] <= X.mean * 10 / 100.0);  // |N(0,1)| < 10
    } else {
      CHECK(Wa.data()[k] == W.data()[k]);
      CHECK(Wr.data()[k] == W.data()[k]);
    }
  }
  CHECK(zeros > 0);  // components 2..5 of random data take one sign-part only
  // The first component is the Perron pair: strictly positive for a positive matrix.
  for (std::size_t i = 0; i < 30; ++i) CHECK(W(i, 0) > 0);
  CHECK_THROWS_WITH(nmfx::initialize(json{{"method", "nndsvd"}}, X, 21, 0, "", W, H),
                    doctest::Contains("rank <= min(M, N) = 20"));
}

TEST_CASE("init_scaling optimal makes X - WH orthogonal to WH (the minimizer of ||X - alpha W H||)") {
  const nmfx::Data X = test::make_data(test::random_matrix(25, 20, 6));
  nmfx::Matrix W = test::random_matrix(25, 3, 7, 0.0, 5.0), H = test::random_matrix(3, 20, 8);
  nmfx::scale_optimally(X, W, H, 1);
  const nmfx::Matrix P = test::naive_product(W, H);
  double cross = 0, norm = 0;
  for (std::size_t k = 0; k < P.size(); ++k) {
    cross += (X.dense.data()[k] - P.data()[k]) * P.data()[k];
    norm += P.data()[k] * P.data()[k];
  }
  CHECK(std::abs(cross) < 1e-10 * norm);
}

TEST_CASE("the random start of a seed is not the factors the synthetic dataset planted with the same seed") {
  // Both seeds default to 0. A start drawn from the same stream as the planted factors would be
  // the exact solution, and every solver would "converge" at iteration 0.
  const auto* plugin = test::registry().require(nmfx::PluginKind::dataset, "synthetic");
  const json given = {{"m", 30}, {"n", 20}, {"rank", 5}, {"seed", 0}};
  auto dataset =
      test::registry().create<nmfx::Dataset>("synthetic", nmfx::resolve_params(plugin->descriptor->params, given));
  nmfx::Data X = dataset->load();
  nmfx::finalize(X, "synthetic");
  nmfx::Matrix W, H;
  nmfx::initialize(json{{"method", "random"}, {"distribution", "uniform"}, {"scale", "none"}}, X, 5, 0, "", W, H);
  const nmfx::Matrix P = test::naive_product(W, H);
  double err = 0;
  for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - X.dense.data()[k], 2);
  CHECK(std::sqrt(err / X.norm_sq) > 0.1);  // unrelated uniform factors: about 0.3
}
