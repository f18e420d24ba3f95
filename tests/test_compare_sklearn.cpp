// tools/compare_sklearn.py, and through it an independent check of two solvers: from the same
// start, nmfx's mu and hals compute the iterates of scikit-learn's mu and cd (its coordinate
// descent is HALS), on dense and on sparse X. The timing columns are not asserted.
#include <doctest/doctest.h>

#include "support.hpp"

namespace {

nmfx::json compare(const std::string& args, const test::fs::path& dir) {
  const test::Command r = test::shell(
      "/usr/bin/python3 '" NMFX_SOURCE_DIR "/tools/compare_sklearn.py' --nmfx '" NMFX_EXE "' " + args +
      " --repeat 1 --out '" + (dir / "work").string() + "' --json '" + (dir / "figures.json").string() + "'");
  INFO(r.output);
  REQUIRE(r.status == 0);
  return nmfx::json::parse(test::read(dir / "figures.json"));
}

void check_same_iterates(const nmfx::json& figures, int iterations, std::size_t pairs = 2) {
  REQUIRE(figures["pairs"].size() == pairs);
  for (const auto& pair : figures["pairs"]) {
    CAPTURE(pair.dump());
    CHECK(pair["sklearn_iterations"] == iterations);
    CHECK(pair["nmfx_iterations"] == iterations);
    const double s = pair["sklearn_relative_error"], n = pair["nmfx_relative_error"];
    // The start is far from the answer (the error moves by orders of magnitude more than this), so
    // agreement to 1e-9 means the same sequence of iterates, up to rounding.
    CHECK(std::abs(s - n) <= 1e-9 * s);
    CHECK(pair["speedup"].get<double>() > 0);
  }
}

}  // namespace

TEST_CASE("nmfx mu and hals give scikit-learn's mu and cd iterates on dense X from the same start") {
  const auto dir = test::temp_dir("compare_sklearn_dense");
  check_same_iterates(compare("--size 60x45:4 --iterations 40 --threads 1", dir), 40);
}

TEST_CASE("nmfx mu and hals give scikit-learn's mu and cd iterates on sparse X from the same start") {
  const auto dir = test::temp_dir("compare_sklearn_sparse");
  check_same_iterates(compare("--size 120x80:4 --density 0.1 --iterations 40 --threads 2", dir), 40);
}

TEST_CASE("nmfx mu on the KL divergence gives scikit-learn's KL mu iterates on sparse X from the same start") {
  // scikit-learn floors WH at float32's epsilon for KL; on this positive planted data WH stays far
  // above it at every nonzero, so the floor never acts and the iterates must agree.
  const auto dir = test::temp_dir("compare_sklearn_kl");
  check_same_iterates(compare("--loss kl --size 120x80:4 --density 0.1 --iterations 40 --threads 2", dir), 40, 1);
}

TEST_CASE("nmfx mu on the KL divergence gives scikit-learn's KL mu iterates on dense X from the same start") {
  // 600 x 400 spans two row blocks and two column blocks of the kl loss's blocked dense path (each
  // block about 1 MB), so the blocks' seams are covered; WH stays far above scikit-learn's floor.
  const auto dir = test::temp_dir("compare_sklearn_kl_dense");
  check_same_iterates(compare("--loss kl --size 600x400:4 --iterations 30 --threads 2", dir), 30, 1);
}
