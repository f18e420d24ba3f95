// End to end through the nmfx command: result files with every documented field, --resume, a
// failing cell (or dataset) that fails alone, and results that are never overwritten by accident.
#include <doctest/doctest.h>

#include <set>

#include "support.hpp"

using nmfx::json;

namespace {

const char* kSpec =
    "name: e2e\n"
    "datasets:\n"
    "  - {name: synthetic, params: {m: 40, n: 30, rank: 3}}\n"
    "solvers: [mu, {name: failing, params: {fail_at: 4}}]\n"
    "losses: [frobenius]\n"
    "ranks: [2, 3]\n"
    "seeds: [0, 1]\n"
    "stopping: {max_iter: 30}\n"
    "checkpoints: {every: 10}\n"
    "metrics: [relative_error, sparsity, compression_ratio, {name: loss, params: {of: kl}}]\n"
    "output: out\n"
    "threads: 1\n"
    "plugin_paths: ['" NMFX_TEST_PLUGIN_DIR "']\n";

std::vector<json> results_in(const test::fs::path& dir) {
  std::vector<json> out;
  for (const auto& e : test::fs::directory_iterator(dir))
    if (e.path().extension() == ".json") out.push_back(json::parse(test::read(e.path())));
  return out;
}

}  // namespace

TEST_CASE(
    "a run writes one complete result per cell and a failing cell fails alone and --resume reruns only what failed") {
  const auto dir = test::temp_dir("e2e");
  test::write(dir / "e2e.yaml", kSpec);
  auto r = test::nmfx_command("run e2e.yaml", dir);
  INFO(r.output);
  CHECK(r.status == 1);  // some cells failed, and the grid went on
  CHECK(r.output.find("4 ok, 4 failed, 0 skipped") != std::string::npos);

  const auto results = results_in(dir / "out");
  REQUIRE(results.size() == 8);  // 2 solvers x 2 ranks x 2 seeds
  std::set<std::string> ids;
  for (const auto& res : results) {
    ids.insert(res["id"].get<std::string>());
    for (const char* key : {"schema_version", "id", "spec", "cell", "status", "message", "stop_reason", "iterations",
                            "solver_seconds", "eval_seconds", "trace", "final", "environment", "data"})
      CHECK_MESSAGE(res.contains(key), key);
    CHECK(res["schema_version"] == nmfx::kResultsSchemaVersion);
    for (const char* key :
         {"dataset", "solver", "loss", "rank", "seed", "init", "stopping", "checkpoints", "metrics", "threads"})
      CHECK_MESSAGE(res["cell"].contains(key), key);
    CHECK(res["cell"]["solver"]["params"].is_object());
    for (const char* key : {"nmfx_version", "git_commit", "compiler", "blas", "blas_threads", "host", "plugins",
                            "started_at", "finished_at"})
      CHECK_MESSAGE(res["environment"].contains(key), key);
    CHECK(res["environment"]["plugins"]["solver"]["version"].is_string());
    CHECK(res["data"]["rows"] == 40);
    CHECK(res["data"]["cols"] == 30);

    const json& trace = res["trace"];
    const std::size_t rows = trace["iteration"].size();
    for (auto it = trace.begin(); it != trace.end(); ++it) CHECK_MESSAGE(it->size() == rows, it.key());
    CHECK(trace["iteration"][0] == 0);
    for (std::size_t k = 1; k < rows; ++k) {
      CHECK(trace["iteration"][k] > trace["iteration"][k - 1]);
      CHECK(trace["solver_seconds"][k] >= trace["solver_seconds"][k - 1]);
    }

    if (res["cell"]["solver"]["name"] == "mu") {
      CHECK(res["status"] == "ok");
      CHECK(res["stop_reason"] == "max_iter");
      CHECK(res["iterations"] == 30);
      CHECK(trace["iteration"] == json::array({0, 10, 20, 30}));
      for (const char* metric : {"loss", "relative_error", "sparsity_W", "sparsity_H", "compression_ratio",
                                 "bytes_factors", "bytes_X", "loss_kl"})
        CHECK_MESSAGE(trace.contains(metric), metric);
      CHECK(res["final"]["iteration"] == 30);
      CHECK(res["final"]["relative_error"] == trace["relative_error"].back());
      // The loss column is 1/2 ||X - WH||^2, the relative error its square root over ||X||: the two
      // columns come from different plugins and must agree.
      const double norm_x_sq =
          2 * trace["loss"][0].get<double>() / std::pow(trace["relative_error"][0].get<double>(), 2);
      for (std::size_t k = 0; k < rows; ++k)
        CHECK(std::sqrt(2 * trace["loss"][k].get<double>() / norm_x_sq) ==
              doctest::Approx(trace["relative_error"][k].get<double>()).epsilon(1e-6));
    } else {
      CHECK(res["status"] == "failed");
      CHECK(res["message"] == "failing_solver: asked to fail at iteration 4");
      CHECK(res["iterations"] == 3);
      CHECK(trace["iteration"] == json::array({0}));  // the trace up to the failure is kept
    }
  }
  CHECK(ids.size() == 8);

  // summary.jsonl: one flat record per run.
  const std::string summary = test::read(dir / "out" / "summary.jsonl");
  CHECK(std::count(summary.begin(), summary.end(), '\n') == 8);
  const json first = json::parse(summary.substr(0, summary.find('\n')));
  for (const char* key : {"id", "status", "dataset", "solver", "loss", "rank", "seed", "iterations", "file"})
    CHECK_MESSAGE(first.contains(key), key);

  // Running again without a flag refuses, and touches nothing.
  std::map<std::string, test::fs::file_time_type> times;
  for (const auto& e : test::fs::directory_iterator(dir / "out")) times[e.path().string()] = e.last_write_time();
  r = test::nmfx_command("run e2e.yaml", dir);
  CHECK(r.status == 2);
  CHECK(r.output.find("--resume") != std::string::npos);
  for (const auto& e : test::fs::directory_iterator(dir / "out"))
    CHECK(times.at(e.path().string()) == e.last_write_time());

  // --resume keeps the ok cells and runs only the failed ones again.
  r = test::nmfx_command("run e2e.yaml --resume", dir);
  CHECK(r.output.find("4 kept from an earlier run") != std::string::npos);
  for (const auto& res : results_in(dir / "out")) {
    const auto path = (dir / "out" / (res["id"].get<std::string>() + ".json")).string();
    if (res["status"] == "ok") CHECK(times.at(path) == test::fs::last_write_time(path));
  }
}

TEST_CASE("--resume on a complete grid reruns nothing and a seed gives every loss the same start") {
  const auto dir = test::temp_dir("resume");
  test::write(dir / "r.yaml",
              "datasets: [{name: synthetic, params: {m: 20, n: 15, rank: 2}}]\n"
              "solvers: [mu]\nlosses: [frobenius, kl]\nranks: 2\nrepeats: 2\n"
              "stopping: {max_iter: 5}\noutput: out\n");
  auto r = test::nmfx_command("run r.yaml", dir);
  CHECK(r.status == 0);
  std::map<std::string, test::fs::file_time_type> times;
  for (const auto& e : test::fs::directory_iterator(dir / "out"))
    if (e.path().extension() == ".json") times[e.path().string()] = e.last_write_time();
  CHECK(times.size() == 4);
  r = test::nmfx_command("run r.yaml --resume", dir);
  CHECK(r.status == 0);
  CHECK(r.output.find("0 ok, 0 failed, 0 skipped, 4 kept") != std::string::npos);
  for (const auto& [path, t] : times) CHECK(test::fs::last_write_time(path) == t);

  // Seeds give distinct starts, and each start is shared by both losses: compare the relative error
  // at iteration 0, which depends only on the start.
  std::map<long long, std::set<double>> start_error;
  for (const auto& [path, t] : times) {
    const json res = json::parse(test::read(path));
    start_error[res["cell"]["seed"].get<long long>()].insert(res["trace"]["relative_error"][0].get<double>());
  }
  CHECK(start_error.size() == 2);
  CHECK(start_error[0].size() == 1);
  CHECK(start_error[1].size() == 1);
  CHECK(*start_error[0].begin() != *start_error[1].begin());
}

TEST_CASE("a rank larger than min(M N) fails its cell with a clear message") {
  const auto dir = test::temp_dir("rank_too_large");
  test::write(dir / "r.yaml",
              "datasets: [{name: synthetic, params: {m: 12, n: 8, rank: 2}}]\n"
              "solvers: [mu]\nranks: [2, 9]\nstopping: {max_iter: 3}\noutput: out\n");
  const auto r = test::nmfx_command("run r.yaml", dir);
  CHECK(r.status == 1);
  CHECK(r.output.find("1 ok, 1 failed") != std::string::npos);
  CHECK(r.output.find("rank 9 exceeds min(M, N) = 8 for this 12 x 8 X") != std::string::npos);
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
