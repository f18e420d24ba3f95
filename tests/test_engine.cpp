// The execution engine through the nmfx command: every cell in a worker process of its own, so a
// plugin that segfaults, aborts, exhausts memory or hangs loses only its cell; interruptions; and
// parallel cells giving the results of a sequential run.
#include <doctest/doctest.h>

#include <chrono>
#include <set>

#include "support.hpp"

using nmfx::json;

namespace {

std::string spec_text(const std::string& solvers, const std::string& extra) {
  return "name: engine\n"
         "datasets:\n"
         "  - {name: synthetic, params: {m: 40, n: 30, rank: 3}}\n"
         "solvers: " +
         solvers +
         "\n"
         "losses: [frobenius]\n"
         "ranks: [3]\n"
         "seeds: [0, 1]\n"
         "checkpoints: {every: 1}\n"
         "metrics: [relative_error]\n"
         "output: out\n"
         "threads: 1\n"
         "plugin_paths: ['" NMFX_TEST_PLUGIN_DIR "']\n" +
         extra;
}

std::map<std::string, json> results_by_id(const test::fs::path& dir) {
  std::map<std::string, json> out;
  for (const auto& e : test::fs::directory_iterator(dir))
    if (e.path().extension() == ".json") {
      const json r = json::parse(test::read(e.path()));
      out[r["id"]] = r;
    }
  return out;
}

bool has_temporary_files(const test::fs::path& dir) {
  for (const auto& e : test::fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) return true;
  return false;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("engine: a segfault, an abort, unbounded allocation and a hang each lose only their cell, with its trace") {
  const auto dir = test::temp_dir("engine_bad");
  test::write(dir / "bad.yaml",
              spec_text("[mu, {name: misbehaving, params: {behaviour: [segfault, abort, allocate, sleep], at: 3}}]",
                        "stopping: {max_iter: 20}\nlimits: {wall_s: 4, memory_gb: 0.5}\n"));
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = test::nmfx_command("run bad.yaml", dir);
  const double wall = seconds_since(t0);
  INFO(r.output);
  CHECK(r.status == 1);
  // The hang is bounded by limits.wall_s (4 s, two hanging cells at most side by side on 2 cores):
  // the grid does not stall. A loose bound: this machine is shared.
  CHECK(wall < 60);
  const auto results = results_by_id(dir / "out");
  REQUIRE(results.size() == 10);  // (mu + 4 behaviours) x 2 seeds
  std::map<std::string, int> count;
  for (const auto& [id, res] : results) {
    const std::string status = res["status"];
    ++count[status];
    if (res["cell"]["solver"]["name"] == "mu") {
      CHECK(status == "ok");
      CHECK(res["trace"]["iteration"].size() == 21);
      continue;
    }
    const std::string behaviour = res["cell"]["solver"]["params"]["behaviour"];
    INFO(behaviour, " ", res["message"].get<std::string>());
    const std::map<std::string, std::string> expected = {
        {"segfault", "crashed"}, {"abort", "crashed"}, {"allocate", "out_of_memory"}, {"sleep", "timeout"}};
    CHECK(status == expected.at(behaviour));
    if (behaviour == "segfault") CHECK(res["message"].get<std::string>().find("SIGSEGV") != std::string::npos);
    if (behaviour == "abort") CHECK(res["message"].get<std::string>().find("SIGABRT") != std::string::npos);
    // Steps 1 and 2 went through: the checkpoints at iterations 0, 1 and 2 reached the parent.
    CHECK(res["trace"]["iteration"] == json::array({0, 1, 2}));
    CHECK(res["trace"]["relative_error"].size() == 3);
    CHECK(res["final"]["iteration"] == 2);
    CHECK(res["iterations"] == 2);
    CHECK(res["id"] == id);
    CHECK(res["environment"].contains("started_at"));
  }
  CHECK(count["ok"] == 2);
  CHECK(count["crashed"] == 4);
  CHECK(count["out_of_memory"] == 2);
  CHECK(count["timeout"] == 2);
  CHECK_FALSE(has_temporary_files(dir / "out"));
  // summary.jsonl lists every cell with its status.
  const std::string summary = test::read(dir / "out" / "summary.jsonl");
  CHECK(std::count(summary.begin(), summary.end(), '\n') == 10);
  CHECK(summary.find("\"status\":\"out_of_memory\"") != std::string::npos);

  SUBCASE("--resume keeps them; --retry-failed runs them again") {
    const auto again = test::nmfx_command("run bad.yaml --resume", dir);
    INFO(again.output);
    CHECK(again.status == 1);
    CHECK(again.output.find("10 kept from an earlier run") != std::string::npos);
    const auto retry = test::nmfx_command("run bad.yaml --resume --retry-failed", dir);
    INFO(retry.output);
    CHECK(retry.status == 1);
    CHECK(retry.output.find("2 kept from an earlier run") != std::string::npos);
    CHECK(retry.output.find("0 ok, 8 failed") != std::string::npos);  // the 2 ok cells were kept
  }
}

TEST_CASE("engine: limits are checked in the spec") {
  const auto dir = test::temp_dir("engine_limits");
  test::write(dir / "a.yaml", spec_text("[mu]", "limits: {wall_s: -1}\n"));
  auto r = test::nmfx_command("validate a.yaml", dir);
  CHECK(r.status == 2);
  CHECK(r.output.find("a.yaml:13: limits.wall_s: expected a number > 0") != std::string::npos);
  test::write(dir / "b.yaml", spec_text("[mu]", "limits: {memory: 2}\n"));
  r = test::nmfx_command("validate b.yaml", dir);
  CHECK(r.status == 2);
  CHECK(r.output.find("b.yaml:13: limits.memory: unknown key") != std::string::npos);
  test::write(dir / "c.yaml", spec_text("[mu]", "jobs: 0\n"));
  r = test::nmfx_command("validate c.yaml", dir);
  CHECK(r.status == 2);
  CHECK(r.output.find("jobs: must be at least 1") != std::string::npos);
}

TEST_CASE("engine: --jobs 2 writes the result files of a sequential run") {
  const auto dir = test::temp_dir("engine_jobs");
  test::write(dir / "g.yaml",
              "name: engine\n"
              "datasets: [{name: synthetic, params: {m: 50, n: 40, rank: 4, noise: 0.01}}]\n"
              "solvers: [mu, hals, pgd]\n"
              "losses: [frobenius]\n"
              "ranks: [2, 3, 5]\n"
              "seeds: [0, 1]\n"
              "stopping: {max_iter: 15}\n"
              "checkpoints: {every: 5}\n"
              "metrics: [relative_error]\n"
              "threads: 1\n");
  const auto seq = test::nmfx_command("run g.yaml --jobs 1 -o seq", dir);
  INFO(seq.output);
  REQUIRE(seq.status == 0);
  const auto par = test::nmfx_command("run g.yaml --jobs 2 -o par", dir);
  INFO(par.output);
  REQUIRE(par.status == 0);
  const auto a = results_by_id(dir / "seq"), b = results_by_id(dir / "par");
  REQUIRE(a.size() == 18);
  REQUIRE(b.size() == 18);
  for (const auto& [id, ra] : a) {
    REQUIRE(b.count(id));
    const json& rb = b.at(id);
    CHECK(ra["status"] == rb["status"]);
    CHECK(ra["cell"] == rb["cell"]);
    // Every checkpoint's values, bit for bit (the clocks aside).
    for (const char* column : {"iteration", "loss", "relative_error"})
      CHECK(ra["trace"][column] == rb["trace"][column]);
  }
  // One progress line per finished cell.
  CHECK(std::count(par.output.begin(), par.output.end(), '[') >= 18);
}

TEST_CASE("engine: SIGINT records the running cells as interrupted, exits 130, and --resume reruns them") {
  const auto dir = test::temp_dir("engine_sigint");
  test::write(dir / "s.yaml", spec_text("[mu, {name: misbehaving, params: {behaviour: sleep, at: 3}}]",
                                        "stopping: {max_iter: 10}\nlimits: {wall_s: 8}\njobs: 2\n"));
  // The two hanging cells start after the two mu cells; the signal comes while they hang.
  const auto r = test::shell("cd '" + dir.string() +
                             "' && ('" NMFX_EXE
                             "' run s.yaml > log.txt 2>&1 & pid=$!; "
                             "sleep 3; kill -INT $pid; wait $pid; echo exit=$?)");
  INFO(r.output, test::read(dir / "log.txt"));
  CHECK(r.output.find("exit=130") != std::string::npos);
  auto results = results_by_id(dir / "out");
  int interrupted = 0;
  for (const auto& [id, res] : results) {
    if (res["status"] != "interrupted") continue;
    ++interrupted;
    CHECK(res["trace"]["iteration"] == json::array({0, 1, 2}));
    CHECK(res["message"].get<std::string>().find("SIGINT") != std::string::npos);
  }
  CHECK(interrupted >= 1);
  CHECK(test::fs::exists(dir / "out" / "summary.jsonl"));
  // --resume runs them again (this time to the wall-time limit).
  const auto again = test::nmfx_command("run s.yaml --resume", dir);
  INFO(again.output);
  CHECK(again.status == 1);
  results = results_by_id(dir / "out");
  REQUIRE(results.size() == 4);
  for (const auto& [id, res] : results) CHECK(res["status"] != "interrupted");
}

TEST_CASE("engine: after kill -9 mid-grid no file is torn and --resume runs exactly the missing cells") {
  const auto dir = test::temp_dir("engine_kill9");
  test::write(dir / "k.yaml",
              "name: engine\n"
              "datasets: [{name: synthetic, params: {m: 600, n: 400, rank: 5}}]\n"
              "solvers: [mu, hals]\n"
              "losses: [frobenius]\n"
              "ranks: [2, 3, 4, 5, 6]\n"
              "seeds: [0, 1, 2, 3]\n"
              "stopping: {max_iter: 600}\n"
              "checkpoints: {every: 50}\n"
              "metrics: [relative_error]\n"
              "threads: 1\n"
              "output: out\n");
  const auto r = test::shell("cd '" + dir.string() +
                             "' && ('" NMFX_EXE
                             "' run k.yaml > log.txt 2>&1 & pid=$!; "
                             "sleep 2; kill -9 $pid; wait $pid; echo exit=$?)");
  INFO(r.output, test::read(dir / "log.txt"));
  CHECK(r.output.find("exit=137") != std::string::npos);
  // Every result file present is whole.
  auto before = results_by_id(dir / "out");
  INFO(before.size(), " results before the resume");
  CHECK(before.size() < 40);  // the kill came mid-grid
  for (const auto& [id, res] : before) CHECK(res["status"] == "ok");
  const auto again = test::nmfx_command("run k.yaml --resume", dir);
  INFO(again.output);
  CHECK(again.status == 0);
  CHECK(again.output.find(std::to_string(before.size()) + " kept from an earlier run") != std::string::npos);
  const auto after = results_by_id(dir / "out");
  CHECK(after.size() == 40);
  for (const auto& [id, res] : before)  // finished cells were not rerun: their files are unchanged, clocks included
    CHECK(after.at(id) == res);
  CHECK_FALSE(has_temporary_files(dir / "out"));
}

TEST_CASE("engine: shards 0/3, 1/3 and 2/3 merged equal a whole run") {
  const auto dir = test::temp_dir("engine_shards");
  test::write(dir / "g.yaml",
              "name: engine\n"
              "datasets: [{name: synthetic, params: {m: 50, n: 40, rank: 4}}]\n"
              "solvers: [mu, hals]\n"
              "losses: [frobenius]\n"
              "ranks: [2, 3, 4]\n"
              "seeds: [0, 1]\n"
              "stopping: {max_iter: 10}\n"
              "checkpoints: {every: 5}\n"
              "metrics: [relative_error]\n"
              "threads: 1\n");
  REQUIRE(test::nmfx_command("run g.yaml -q -o whole", dir).status == 0);
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    const auto r =
        test::nmfx_command("run g.yaml -q --shard " + std::to_string(i) + "/3 -o shard" + std::to_string(i), dir);
    INFO(r.output);
    REQUIRE(r.status == 0);
    const auto part = results_by_id(dir / ("shard" + std::to_string(i)));
    CHECK(part.size() == 4);                                           // 12 cells over 3 shards
    for (const auto& [id, res] : part) CHECK(seen.insert(id).second);  // a partition: no cell twice
  }
  const auto m = test::nmfx_command("merge shard0 shard1 shard2 -o merged", dir);
  INFO(m.output);
  REQUIRE(m.status == 0);
  const auto whole = results_by_id(dir / "whole"), merged = results_by_id(dir / "merged");
  REQUIRE(merged.size() == whole.size());
  for (const auto& [id, res] : whole) {
    REQUIRE(merged.count(id));
    CHECK(merged.at(id)["trace"]["loss"] == res["trace"]["loss"]);
  }
  const std::string summary = test::read(dir / "merged" / "summary.jsonl");
  CHECK(std::count(summary.begin(), summary.end(), '\n') == 12);
  CHECK(test::nmfx_command("run g.yaml --shard 3/3", dir).output.find("--shard: expected i/n") != std::string::npos);
}
