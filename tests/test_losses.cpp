// The losses against formulas written out independently here: values, and gradients checked by
// finite differences and by the split grad = pos - neg with pos, neg >= 0.
#include <doctest/doctest.h>

#include <cmath>

#include <nmfx/linalg.hpp>

#include "support.hpp"

namespace {

double naive_frobenius(const nmfx::Matrix& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
  const nmfx::Matrix P = test::naive_product(W, H);
  double s = 0;
  for (std::size_t k = 0; k < X.size(); ++k) s += std::pow(X.data()[k] - P.data()[k], 2);
  return 0.5 * s;
}

double naive_kl(const nmfx::Matrix& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
  const nmfx::Matrix P = test::naive_product(W, H);
  double s = 0;
  for (std::size_t k = 0; k < X.size(); ++k) {
    const double x = X.data()[k], y = P.data()[k];
    s += (x > 0 ? x * std::log(x / y) : 0.0) - x + y;
  }
  return s;
}

}  // namespace

TEST_CASE("frobenius and kl values match their definitions (Lee & Seung eqs 2-3)") {
  nmfx::Matrix Xm = test::random_matrix(13, 9, 1);
  Xm(2, 3) = 0.0;  // 0 log 0 = 0
  Xm(5, 0) = 0.0;
  const nmfx::Data X = test::make_data(Xm);
  const nmfx::Matrix W = test::random_matrix(13, 4, 2), H = test::random_matrix(4, 9, 3);
  auto fro = test::registry().create<nmfx::Loss>("frobenius", nmfx::json::object());
  auto kl = test::registry().create<nmfx::Loss>("kl", nmfx::json::object());
  fro->prepare(X, 4);
  kl->prepare(X, 4);
  CHECK(fro->value(X, W, H) == doctest::Approx(naive_frobenius(Xm, W, H)).epsilon(1e-10));
  CHECK(kl->value(X, W, H) == doctest::Approx(naive_kl(Xm, W, H)).epsilon(1e-12));
}

TEST_CASE("kl of a 2x2 example by hand") {
  // X = [[1, 0], [2, 4]], W = [[1], [2]], H = [[1, 1]]: WH = [[1, 1], [2, 2]].
  // D = (1 log 1 - 1 + 1) + (0 - 0 + 1) + (2 log 1 - 2 + 2) + (4 log 2 - 4 + 2) = 4 log 2 - 1.
  nmfx::Matrix Xm = {{1.0, 0.0}, {2.0, 4.0}};
  const nmfx::Data X = test::make_data(Xm);
  const nmfx::Matrix W = {{1.0}, {2.0}}, H = {{1.0, 1.0}};
  auto kl = test::registry().create<nmfx::Loss>("kl", nmfx::json::object());
  kl->prepare(X, 1);
  CHECK(kl->value(X, W, H) == doctest::Approx(4 * std::log(2.0) - 1).epsilon(1e-14));
  auto fro = test::registry().create<nmfx::Loss>("frobenius", nmfx::json::object());
  fro->prepare(X, 1);
  // 0.5 * (0 + 1 + 0 + 4) = 2.5
  CHECK(fro->value(X, W, H) == doctest::Approx(2.5).epsilon(1e-14));
}

TEST_CASE("gradient splits: pos - neg >= 0 and pos - neg matches finite differences") {
  const nmfx::Data X = test::make_data(test::random_matrix(11, 8, 4, 0.1, 2.0));
  const std::size_t L = 3;
  for (const std::string name : {"frobenius", "kl"}) {
    CAPTURE(name);
    auto loss = test::registry().create<nmfx::Loss>(name, nmfx::json::object());
    loss->prepare(X, L);
    nmfx::Matrix W = test::random_matrix(11, L, 5, 0.2, 1.0), H = test::random_matrix(L, 8, 6, 0.2, 1.0);
    nmfx::Matrix pw = nmfx::Matrix::from_shape({11, L}), nw = pw;
    nmfx::Matrix ph = nmfx::Matrix::from_shape({L, 8}), nh = ph;
    loss->gradient_W(X, W, H, pw, nw);
    loss->gradient_H(X, W, H, ph, nh);
    for (double v : pw) CHECK(v >= 0);
    for (double v : nw) CHECK(v >= 0);
    for (double v : ph) CHECK(v >= 0);
    for (double v : nh) CHECK(v >= 0);
    const double h = 1e-6;
    for (auto [M, pos, neg] : {std::tuple{&W, &pw, &nw}, std::tuple{&H, &ph, &nh}})
      for (std::size_t k = 0; k < M->size(); k += 3) {
        const double saved = M->data()[k];
        M->data()[k] = saved + h;
        const double up = loss->value(X, W, H);
        M->data()[k] = saved - h;
        const double down = loss->value(X, W, H);
        M->data()[k] = saved;
        const double fd = (up - down) / (2 * h);
        CHECK(pos->data()[k] - neg->data()[k] == doctest::Approx(fd).epsilon(1e-5).scale(1.0));
      }
  }
}
