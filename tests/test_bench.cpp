// nmfx bench: the dense and sparse tables come out complete, as JSON, on tiny problems (no timing
// is asserted: the machines are shared and noisy).
#include <doctest/doctest.h>

#include "support.hpp"

TEST_CASE("nmfx bench times every solver on dense and sparse X against the products of the same run") {
  const auto dir = test::temp_dir("bench");
  const auto r = test::nmfx_command(
      "bench --no-compare --repeat 1 --size 60x40:4 --solver mu --solver hals --solver anls_bpp --solver mu/kl "
      "--sparse 300x200:5:0.05 --sparse-run mu/frobenius --sparse-run mu/kl --sparse-run hals --sparse-run nosuch/kl "
      "--json figures.json",
      dir);
  REQUIRE_MESSAGE(r.status == 0, r.output);
  const nmfx::json f = nmfx::json::parse(test::read(dir / "figures.json"));
  const auto& selected = f["selected"];
  CHECK(selected["square_dgemm_gflops_per_core"].get<double>() > 0);
  const auto& dense = selected["problems"].at(0);
  CHECK(dense["two_gemms_seconds"].get<double>() > 0);
  for (const std::string s : {"mu", "hals", "anls_bpp"}) {
    CAPTURE(s);
    REQUIRE(dense["solvers"].contains(s));
    CHECK(dense["solvers"][s]["ratio_to_two_gemms"].get<double>() > 0);
  }
  // Dense KL: against the four GEMMs, and against them plus the two passes of divisions X / WH.
  REQUIRE(dense["loss_runs"].size() == 1);
  const auto& kl = dense["loss_runs"][0];
  CHECK(dense["two_division_passes_seconds"].get<double>() > 0);
  CHECK(kl["ratio_to_baseline_and_divisions"].get<double>() > 0);
  CHECK(kl["ratio_to_baseline_and_divisions"].get<double>() < kl["ratio_to_baseline"].get<double>());
  const auto& sparse = selected["sparse_problems"].at(0);
  // 5% of 300 x 200 positions: about 3000 entries.
  CHECK(sparse["nnz"].get<double>() > 2500);
  CHECK(sparse["nnz"].get<double>() < 3500);
  REQUIRE(sparse["runs"].size() == 4);
  for (int k = 0; k < 3; ++k) {
    const auto& run = sparse["runs"][k];
    CAPTURE(run.dump());
    CHECK(run["ratio_to_baseline"].get<double>() > 0);
  }
  CHECK(sparse["runs"][1]["loss"] == "kl");
  CHECK(sparse["runs"][1]["baseline_seconds"].get<double>() > sparse["runs"][0]["baseline_seconds"].get<double>());
  CHECK(sparse["runs"][2]["loss"] == "frobenius");   // a run without "/loss" is Frobenius
  CHECK(sparse["runs"][3]["error"] == "not found");  // an unknown solver is reported, not fatal
  CHECK(r.output.find("| mu | kl |") != std::string::npos);
}

TEST_CASE("nmfx bench refuses a malformed sparse size naming it") {
  const auto r =
      test::nmfx_command("bench --no-compare --size 20x10:2 --sparse 100x50:5 --repeat 1", test::temp_dir("bench_bad"));
  CHECK(r.status != 0);
  CHECK(r.output.find("'100x50:5' is not MxN:L:density") != std::string::npos);
}

TEST_CASE("nmfx bench --cpu-time times one thread by its CPU clock and refuses more threads") {
  const auto dir = test::temp_dir("bench_cpu");
  const auto r = test::nmfx_command(
      "bench --no-compare --repeat 1 --size 60x40:4 --solver mu --sparse 300x200:5:0.05 --sparse-run mu/frobenius "
      "--threads 1 --cpu-time --json figures.json",
      dir);
  REQUIRE_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.find("thread's CPU time") != std::string::npos);
  const nmfx::json f = nmfx::json::parse(test::read(dir / "figures.json"));
  const auto& sparse = f["selected"]["sparse_problems"].at(0);
  CHECK(sparse["two_products_seconds"].get<double>() > 0);
  CHECK(sparse["stream_read_seconds"].get<double>() > 0);
  CHECK(sparse["runs"].at(0)["ratio_to_stream_read"].get<double>() > 0);
  const auto bad = test::nmfx_command("bench --no-compare --repeat 1 --size 20x10:2 --threads 2 --cpu-time", dir);
  CHECK(bad.status != 0);
  CHECK(bad.output.find("--cpu-time needs --threads 1") != std::string::npos);
}
