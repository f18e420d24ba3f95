// nmfx report and tools/plot.py on a hand-made results folder: every expected number is computed
// here from the numbers written into the folder, independently of the report's code.
#include <doctest/doctest.h>

#include <sstream>

#include "support.hpp"

using nmfx::json;

namespace {

// A result file with just what the report reads.
json result(const std::string& id, const std::string& solver, long long rank, long long seed,
            const std::vector<double>& iterations, const std::vector<double>& seconds, const std::vector<double>& error,
            const std::string& status = "ok") {
  json trace = {{"iteration", iterations},
                {"solver_seconds", seconds},
                {"relative_error", error},
                {"loss", error},
                {"eval_seconds", seconds}};
  json final_values = json::object();
  for (auto it = trace.begin(); it != trace.end(); ++it) final_values[it.key()] = it->back();
  return {{"schema_version", nmfx::kResultsSchemaVersion},
          {"id", id},
          {"status", status},
          {"message", ""},
          {"stop_reason", "max_iter"},
          {"iterations", iterations.back()},
          {"solver_seconds", seconds.back()},
          {"eval_seconds", 0.0},
          {"cell",
           {{"dataset", {{"name", "synthetic"}, {"params", {{"m", 30}}}}},
            {"solver", {{"name", solver}, {"params", json::object()}}},
            {"loss", {{"name", "frobenius"}, {"params", json::object()}}},
            {"rank", rank},
            {"seed", seed},
            {"init", {{"method", "random"}}},
            {"init_scaling", "none"},
            {"regularization", {{"alpha_W", 0.0}, {"alpha_H", 0.0}, {"l1_ratio", 0.0}}}}},
          {"data", {{"rows", 30}, {"cols", 20}, {"nnz", 600}, {"norm", 10.0}, {"max", 1.0}, {"info", json::object()}}},
          {"trace", trace},
          {"final", final_values}};
}

std::vector<std::vector<std::string>> read_csv(const test::fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(test::read(p));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    rows.push_back(cells);
  }
  return rows;
}

std::size_t column(const std::vector<std::string>& header, const std::string& name) {
  const auto it = std::find(header.begin(), header.end(), name);
  REQUIRE(it != header.end());
  return static_cast<std::size_t>(it - header.begin());
}

double mean_of(const std::string& cell) { return std::stod(cell.substr(0, cell.find(' '))); }

}  // namespace

TEST_CASE("nmfx report aggregates final values and computes E(t) and time to target (seed 000 eq. 25)") {
  const auto dir = test::temp_dir("report");
  // Two solvers at rank 3, two seeds each; e_min over the four runs is 0.1 (fast, seed 1, at its end).
  const std::vector<json> runs = {
      result("a", "fast", 3, 0, {0, 10, 20}, {0, 1, 2}, {0.9, 0.3, 0.12}),
      result("b", "fast", 3, 1, {0, 10, 20}, {0, 1.5, 3}, {0.9, 0.2, 0.1}),
      result("c", "slow", 3, 0, {0, 10, 20}, {0, 2, 4}, {0.9, 0.6, 0.4}),
      result("d", "slow", 3, 1, {0, 10, 20}, {0, 2, 4}, {0.9, 0.5, 0.3}),
      result("e", "slow", 3, 2, {0}, {0}, {0.9}, "failed"),
  };
  for (const auto& r : runs) test::write(dir / (r["id"].get<std::string>() + ".json"), r.dump());
  const auto out =
      test::nmfx_command("report '" + dir.string() + "' --targets 0.3 --csv '" + (dir / "t").string() + "'", dir);
  INFO(out.output);
  REQUIRE(out.status == 0);

  // Final values: mean and sample sd over the ok runs of each solver.
  const auto final_rows = read_csv(dir / "t_final.csv");
  const auto& h = final_rows[0];
  for (std::size_t i = 1; i < final_rows.size(); ++i) {
    const auto& row = final_rows[i];
    const std::string solver = row[column(h, "solver")];
    const double mean = mean_of(row[column(h, "relative_error (mean ± sd)")]);
    if (solver == "fast") {
      CHECK(mean == doctest::Approx((0.12 + 0.1) / 2).epsilon(1e-3));
      CHECK(row[column(h, "n")] == "2");
    } else {
      CHECK(mean == doctest::Approx((0.4 + 0.3) / 2).epsilon(1e-3));
      CHECK(row[column(h, "n")] == "2 (1 failed)");
    }
  }

  // E = (e - 0.1) / (0.9 - 0.1): fast seed 0 reaches E <= 0.3 (e <= 0.34) at iteration 10
  // (E = 0.25, 1 s); fast seed 1 at iteration 10 (E = 0.125, 1.5 s); slow seed 1 at iteration 20
  // (E = 0.25, 4 s); slow seed 0 never (E = 0.375 at its end).
  const auto target_rows = read_csv(dir / "t_targets.csv");
  const auto& th = target_rows[0];
  for (std::size_t i = 1; i < target_rows.size(); ++i) {
    const auto& row = target_rows[i];
    const std::string solver = row[column(th, "solver")];
    const std::string reached = row[column(th, "reached E ≤ 0.3")];
    const double secs = mean_of(row[column(th, "seconds to E ≤ 0.3")]);
    const double final_E = mean_of(row[column(th, "final E (mean ± sd)")]);
    if (solver == "fast") {
      CHECK(reached == "2/2");
      CHECK(secs == doctest::Approx(1.25).epsilon(1e-3));
      CHECK(final_E == doctest::Approx((0.025 + 0.0) / 2).epsilon(1e-3));  // E is 0 for the best run at its end
    } else {
      CHECK(reached == "1/2");
      CHECK(secs == doctest::Approx(4.0).epsilon(1e-3));
      CHECK(final_E == doctest::Approx((0.375 + 0.25) / 2).epsilon(1e-3));
    }
  }
  CHECK(out.output.find("## Normalised error E(t)") != std::string::npos);

  // A folder with no results is an error, not an empty report.
  const auto empty = test::temp_dir("report_empty");
  CHECK(test::nmfx_command("report '" + empty.string() + "'", empty).status == 2);
}

TEST_CASE("tools/plot.py draws non-empty PNG and SVG files headless from a results folder") {
  const auto dir = test::temp_dir("plot");
  int k = 0;
  for (long long rank : {2, 3, 4})
    for (long long seed : {0, 1}) {
      const double base = 0.5 / static_cast<double>(rank) + 0.01 * static_cast<double>(seed);
      json r = result("r" + std::to_string(k++), "mu", rank, seed, {0, 1, 10, 100}, {0, 0.01, 0.1, 1.0},
                      {0.9, 0.5, base + 0.05, base});
      r["final"]["sparsity_W"] = 0.1 * static_cast<double>(rank);
      r["final"]["sparsity_H"] = 0.05 * static_cast<double>(rank);
      test::write(dir / (r["id"].get<std::string>() + ".json"), r.dump());
    }
  const test::Command r = test::shell(
      "MPLCONFIGDIR='" + (dir / "mpl").string() +
      "' NMFX='" NMFX_EXE "' /usr/bin/python3 '" NMFX_SOURCE_DIR "/tools/plot.py' all '" + dir.string() + "'");
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const char* name : {"convergence_synthetic_r3", "rank_synthetic", "compression"})
    for (const char* ext : {".png", ".svg"}) {
      const auto p = dir / "figures" / (std::string(name) + ext);
      CHECK_MESSAGE(test::fs::exists(p), p.string());
      if (test::fs::exists(p)) CHECK(test::fs::file_size(p) > 1000);
    }
  // The PNG is a PNG, and each figure records the command and the commit that made it.
  const std::string png = test::read(dir / "figures" / "rank_synthetic.png");
  CHECK(png.substr(1, 3) == "PNG");
  CHECK(png.find("made by: tools/plot.py all") != std::string::npos);
  CHECK(png.find("nmfx commit ") != std::string::npos);
  CHECK(test::read(dir / "figures" / "compression.svg").find("made by: tools/plot.py all") != std::string::npos);
}
