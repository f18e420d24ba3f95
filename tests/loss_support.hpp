#pragma once
// The gradient check every loss plugin gets (test_frobenius.cpp, test_kl.cpp): on a small dense X,
// the split grad = pos - neg has pos, neg >= 0 and pos - neg matches central finite differences of
// the loss's value.
#include <doctest/doctest.h>

#include <tuple>

#include "support.hpp"

namespace test {

inline void check_gradient_split(const std::string& name) {
  CAPTURE(name);
  const nmfx::Data X = test::make_data(test::random_matrix(11, 8, 4, 0.1, 2.0));
  const std::size_t L = 3;
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

}  // namespace test
