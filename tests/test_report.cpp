// nmfx report (tables, E(t), --claims, --json) and tools/plot.py on hand-made results folders: every
// expected number is computed here from the numbers written into the folder, independently of the
// report's code. --claims: for each claim kind, one claim that holds and one that does not, with the
// verdicts and measured values worked out here; --json is the one loader behind tools/plot.py.
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

// At rank 3, e_min = 0.1 (fast, seed 1, at its end), so E = (e - 0.1) / 0.8:
//   fast seed 0: t = 0, 1, 2 s       E = 1, 0.25, 0.025
//   fast seed 1: t = 0, 1.5, 3 s     E = 1, 0.125, 0
//   slow seed 0: t = 0, 2, 4 s       E = 1, 0.625, 0.375
//   slow seed 1: t = 0, 2, 4 s       E = 1, 0.5, 0.25
// Medians at the checkpoints after 1 s up to 2 s (where fast seed 0 ends), where every run has a point:
//   t = 1.5: fast median(0.25, 0.125) = 0.1875, slow 1 -> ratio 0.1875 (the largest)
//   t = 2: fast median(0.025, 0.125) = 0.075, slow 0.5625 -> ratio 0.133; slow/fast: 5.33 and 7.5.
// "bumpy" rises from 0.5 to 0.6 (a relative increase of 0.2); "ranked" has final errors 0.5, 0.3,
// 0.27, 0.2 at ranks 2, 3, 4, 8: decreasing, with slopes 0.2, 0.03, 0.0175 per unit of rank, and
// Kneedle's knee at rank 3 (normalised differences 0, 0.5, 0.433, 0).
std::vector<json> hand_made_runs() {
  std::vector<json> runs = {
      result("f0", "fast", 3, 0, {0, 10, 20}, {0, 1, 2}, {0.9, 0.3, 0.12}),
      result("f1", "fast", 3, 1, {0, 10, 20}, {0, 1.5, 3}, {0.9, 0.2, 0.1}),
      result("s0", "slow", 3, 0, {0, 10, 20}, {0, 2, 4}, {0.9, 0.6, 0.4}),
      result("s1", "slow", 3, 1, {0, 10, 20}, {0, 2, 4}, {0.9, 0.5, 0.3}),
      result("b0", "bumpy", 3, 0, {0, 10, 20}, {0, 1, 2}, {0.9, 0.5, 0.6}),
  };
  const std::vector<long long> ranks = {2, 3, 4, 8};
  const std::vector<double> finals = {0.5, 0.3, 0.27, 0.2};
  for (std::size_t i = 0; i < ranks.size(); ++i)
    runs.push_back(result("r" + std::to_string(i), "ranked", ranks[i], 0, {0, 10}, {0, 1}, {0.9, finals[i]}));
  for (auto& r : runs) r["data"]["info"] = {{"title", "hand-made"}};  // --json passes the title on
  return runs;
}

const char* kClaims = R"(claims:
  - {id: median_holds, source: s, paper: p, kind: median_E_below, a: {solver: fast}, b: {solver: slow}, axis: seconds, after: 1}
  - {id: median_fails, source: s, paper: p, kind: median_E_below, a: {solver: slow}, b: {solver: fast}, axis: seconds, after: 1, expect: fails}
  - {id: time_holds, source: s, paper: p, kind: time_to_E, a: {solver: fast}, b: {solver: slow}, target: 0.3}
  - {id: time_fails, source: s, paper: p, kind: time_to_E, a: {solver: slow}, b: {solver: fast}, target: 0.3, expect: fails}
  - {id: equals_holds, source: s, paper: p, kind: equals, entries: [{where: {solver: fast, seed: 0}, metric: relative_error, value: 0.12}]}
  - {id: equals_fails, source: s, paper: p, kind: equals, entries: [{where: {solver: fast, seed: 0}, metric: relative_error, value: 0.13}], expect: fails}
  - {id: floor_holds, source: s, paper: p, kind: equals, round: floor, entries: [{where: {solver: ranked, rank: 8}, metric: iteration, value: 10}]}
  - {id: never_holds, source: s, paper: p, kind: never_increases, where: {solver: fast}, metric: loss}
  - {id: never_fails, source: s, paper: p, kind: never_increases, where: {solver: bumpy}, metric: loss, rel_tol: 0.1, expect: fails}
  - {id: monotone_holds, source: s, paper: p, kind: monotone_in_rank, where: {solver: ranked}, metric: relative_error, direction: decreasing, diminishing: true}
  - {id: monotone_fails, source: s, paper: p, kind: monotone_in_rank, where: {solver: ranked}, metric: relative_error, direction: increasing, expect: fails}
  - {id: elbow_holds, source: s, paper: p, kind: elbow_at, where: {solver: ranked}, metric: relative_error, rank: 3}
  - {id: elbow_fails, source: s, paper: p, kind: elbow_at, where: {solver: ranked}, metric: relative_error, rank: 4, expect: fails}
  - {id: below_holds, source: s, paper: p, kind: compare, a: {solver: fast}, b: {solver: slow}, metric: relative_error, at_iteration: 10, relation: below}
  - {id: within_fails, source: s, paper: p, kind: compare, a: {solver: fast}, b: {solver: slow}, metric: relative_error, at_iteration: 10, relation: within, percent: 5, expect: fails}
)";

json claims_by_id(const json& report) {
  json out = json::object();
  for (const auto& c : report["claims"]) out[c["id"].get<std::string>()] = c;
  return out;
}

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

TEST_CASE("nmfx report --claims: each claim kind, one that holds and one that does not") {
  const auto dir = test::temp_dir("claims");
  for (const auto& r : hand_made_runs()) test::write(dir / (r["id"].get<std::string>() + ".json"), r.dump());
  test::write(dir / "study.claims.yaml", kClaims);
  const auto out = test::nmfx_command(
      "report '" + dir.string() + "' --claims '" + (dir / "study.claims.yaml").string() + "' --check --json -", dir);
  INFO(out.output);
  REQUIRE(out.status == 0);  // every verdict is the expected one
  const json c = claims_by_id(json::parse(out.output));
  REQUIRE(c.size() == 15);
  for (const char* id : {"median_holds", "time_holds", "equals_holds", "floor_holds", "never_holds", "monotone_holds",
                         "elbow_holds", "below_holds"}) {
    CAPTURE(id);
    CHECK(c[id]["verdict"] == "holds");
    CHECK(c[id]["reason"] == "");
  }
  for (const char* id :
       {"median_fails", "time_fails", "equals_fails", "never_fails", "monotone_fails", "elbow_fails", "within_fails"}) {
    CAPTURE(id);
    CHECK(c[id]["verdict"] == "does not hold");
    CHECK(c[id]["reason"] != "");  // a claim that does not hold says why
  }
  // The measured values, worked out in the comment above.
  CHECK(c["median_holds"]["measured"].get<std::string>().find("= 0.188 (at 1.5 s) over 2 points") != std::string::npos);
  CHECK(c["median_fails"]["measured"].get<std::string>().find("= 7.5 (at 2 s)") !=
        std::string::npos);  // 0.5625 / 0.075
  CHECK(c["time_holds"]["measured"].get<std::string>().find("fast 1.25 s (2/2 reached), slow never (1/2 reached)") !=
        std::string::npos);
  CHECK(c["never_fails"]["measured"].get<std::string>().find(": 0.2 (1 runs)") != std::string::npos);
  CHECK(c["elbow_holds"]["measured"].get<std::string>().find("at rank 3") != std::string::npos);
  CHECK(c["within_fails"]["measured"].get<std::string>().find("fast 0.25, slow 0.55 (-54.5%)") != std::string::npos);

  // A claim whose verdict is not the one its file expects makes --check fail, and the Markdown
  // table says so.
  test::write(dir / "wrong.claims.yaml",
              "claims:\n  - {id: x, source: s, paper: p, kind: elbow_at, where: {solver: ranked}, metric: "
              "relative_error, rank: 4}\n");
  const auto wrong = test::nmfx_command("report '" + dir.string() + "' --claims wrong.claims.yaml --check", dir);
  CHECK(wrong.status == 1);
  CHECK(wrong.output.find("**(expected: holds)**") != std::string::npos);
  // A claim of an unknown kind is an error naming the file and the claim.
  test::write(dir / "bad.claims.yaml", "claims:\n  - {id: y, source: s, paper: p, kind: grows}\n");
  const auto bad = test::nmfx_command("report '" + dir.string() + "' --claims bad.claims.yaml", dir);
  CHECK(bad.status != 0);
  CHECK(bad.output.find("bad.claims.yaml: claim 'y': unknown kind 'grows'") != std::string::npos);
}

TEST_CASE("nmfx report --json: the groups, the varying parameters and E(t) with the problem's common e_min") {
  const auto dir = test::temp_dir("report_json");
  for (const auto& r : hand_made_runs()) test::write(dir / (r["id"].get<std::string>() + ".json"), r.dump());
  const auto out = test::nmfx_command("report '" + dir.string() + "' --json -", dir);
  INFO(out.output);
  REQUIRE(out.status == 0);
  const json j = json::parse(out.output);
  CHECK(j["varying"] == json({"rank", "seed", "solver"}));
  std::map<std::string, json> runs;
  for (const auto& r : j["runs"]) runs[r["id"].get<std::string>()] = r;
  // E = (e - 0.1) / 0.8 for every run at rank 3, whatever its solver: one e_min per problem.
  const std::vector<double> slow0 = {1.0, 0.625, 0.375};
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(runs["s0"]["E"][i].get<double>() == doctest::Approx(slow0[i]).epsilon(1e-12));
  CHECK(runs["f1"]["E"][2].get<double>() == doctest::Approx(0.0));
  CHECK(j["problems"][runs["s0"]["problem"].get<std::size_t>()]["e_min"].get<double>() == doctest::Approx(0.1));
  CHECK(runs["s0"]["title"] == "hand-made");
  CHECK(runs["s0"]["label"] == "slow");
  // Groups: one per (problem, label), listing their runs.
  std::size_t fast_runs = 0;
  for (const auto& g : j["groups"])
    if (g["label"] == "fast") fast_runs += g["runs"].size();
  CHECK(fast_runs == 2);
}
