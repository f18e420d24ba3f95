// The results module (framework/host/results.hpp): the typed result and its JSON, the trace's
// reserved columns, the summary writer, docs/results.md against the module, and --resume that
// reruns a cell whose plugin library changed.
#include <doctest/doctest.h>

#include <regex>
#include <set>

#include <nmfx/host/cell_session.hpp>
#include <nmfx/host/results.hpp>
#include <nmfx/host/stopping.hpp>

#include "support.hpp"

using nmfx::json;

namespace {

// The backquoted names in the first column of the markdown table that follows `heading`.
std::set<std::string> table_names(const std::string& doc, const std::string& heading) {
  const auto at = doc.find(heading);
  REQUIRE_MESSAGE(at != std::string::npos, heading);
  std::set<std::string> names;
  std::istringstream lines(doc.substr(at + heading.size()));
  bool in_table = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("|", 0) != 0) {
      if (in_table) break;
      continue;
    }
    in_table = true;
    static const std::regex cell(R"(^\| `([A-Za-z_]+)` \|)");
    std::smatch m;
    if (std::regex_search(line, m, cell)) names.insert(m[1]);
  }
  return names;
}

std::string section(const std::string& doc, const std::string& heading) {
  const auto at = doc.find(heading);
  REQUIRE_MESSAGE(at != std::string::npos, heading);
  const auto end = doc.find("\n#", at + heading.size());
  return doc.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

}  // namespace

TEST_CASE("results: docs/results.md documents every key and column the module writes, and no other") {
  const std::string doc = test::read(test::fs::path(NMFX_SOURCE_DIR) / "docs" / "results.md");
  const auto& keys = nmfx::result_keys();
  CHECK(table_names(doc, "## `<id>.json`") == std::set<std::string>(keys.begin(), keys.end()));

  // Every reserved trace column is in the trace table, and the table names no other single column.
  const auto& reserved = nmfx::Trace::reserved_columns();
  CHECK(table_names(doc, "### `trace`") == std::set<std::string>(reserved.begin(), reserved.end()));

  // The stop reasons and the statuses are the module's vocabulary.
  const std::string results_table = section(doc, "## `<id>.json`");
  const auto row = [&](const std::string& key) {
    const auto at = results_table.find("| `" + key + "` |");
    REQUIRE(at != std::string::npos);
    return results_table.substr(at, results_table.find('\n', at) - at);
  };
  std::set<std::string> documented_reasons;
  static const std::regex quoted("`([a-z_]+)`");
  const std::string reasons_row = row("stop_reason");
  for (std::sregex_iterator it(reasons_row.begin(), reasons_row.end(), quoted), end; it != end; ++it)
    documented_reasons.insert((*it)[1]);
  documented_reasons.erase("stop_reason");
  const auto& reasons = nmfx::stop_reasons();
  CHECK(documented_reasons == std::set<std::string>(reasons.begin(), reasons.end()));
  for (const char* status : {nmfx::run_status::ok, nmfx::run_status::failed, nmfx::run_status::skipped})
    CHECK(row("status").find(std::string("`") + status + "`") != std::string::npos);

  // The summary's fixed keys, and the plugin record's library hash, are described.
  const std::string summary = section(doc, "## `summary.jsonl`");
  for (const auto& k : nmfx::flat_record_fixed_keys()) {
    CAPTURE(k);
    CHECK(summary.find("`" + k + "`") != std::string::npos);
  }
  CHECK(section(doc, "### `environment`").find("`library_hash`") != std::string::npos);
}

TEST_CASE("results: a RunResult goes to JSON and back unchanged, and to_json writes the documented keys") {
  nmfx::RunResult r;
  r.id = "0123456789abcdef";
  r.spec = {{"name", "s"}, {"file", "s.yaml"}};
  r.cell = {{"rank", 2}};
  r.stop_reason = "target";
  r.data = {{"kind", "dense"}};
  r.skipped_metrics = json::array({"test_rmse"});
  r.factors = {{"W", "x.W.npy"}, {"H", "x.H.npy"}};
  r.restarts = {{"runs", 2}, {"iterations", 5}, {"chosen", 1}, {"objectives", {2.5, 2.0}}};
  r.iterations = 12;
  r.solver_seconds = 0.5;
  r.eval_seconds = 0.25;
  r.trace = {{"iteration", {0, 12}}, {"loss", {2.0, 1.0}}};
  r.final_values = {{"iteration", 12}, {"loss", 1.0}};
  r.environment = {{"host", "h"}};
  const json j = r.to_json();
  std::set<std::string> written;
  for (auto it = j.begin(); it != j.end(); ++it) written.insert(it.key());
  CHECK(written == std::set<std::string>(nmfx::result_keys().begin(), nmfx::result_keys().end()));
  CHECK(nmfx::RunResult::from_json(j).to_json() == j);
  json missing = j;
  missing.erase("iterations");
  CHECK_THROWS_WITH_AS(nmfx::RunResult::from_json(missing), doctest::Contains("'iterations'"), nmfx::Error);
}

TEST_CASE("results: the summary writer appends one flat line per result") {
  const auto dir = test::temp_dir("summary_writer");
  nmfx::RunResult r;
  r.cell = {{"rank", 2},
            {"seed", 0},
            {"init", {{"method", "random"}}},
            {"init_scaling", "none"},
            {"regularization", {{"alpha_W", 0.0}}}};
  for (const char* part : {"dataset", "solver", "loss"}) r.cell[part] = {{"name", part}, {"params", {{"p", 1}}}};
  {
    nmfx::SummaryWriter w((dir / "summary.jsonl").string());
    for (const char* id : {"a", "b", "c"}) {
      r.id = id;
      w.append(r.to_json());
      // Each line is on disk as soon as it is appended.
      const std::string text = test::read(dir / "summary.jsonl");
      CHECK(std::count(text.begin(), text.end(), '\n') == id[0] - 'a' + 1);
    }
  }
  std::istringstream lines(test::read(dir / "summary.jsonl"));
  std::vector<json> records;
  for (std::string line; std::getline(lines, line);) records.push_back(json::parse(line));
  REQUIRE(records.size() == 3);
  CHECK(records[2]["id"] == "c");
  CHECK(records[2]["solver.p"] == 1);
  CHECK(records[2]["file"] == "c.json");
}

TEST_CASE("results: a metric returning a reserved column, or one already written, is refused naming it") {
  nmfx::Trace t;
  t.begin_row();
  t.put_reserved("loss", 1.0);
  CHECK_THROWS_WITH_AS(t.put("metric 'm'", "iteration", 1.0),
                       doctest::Contains("metric 'm' returns a column named 'iteration'"), nmfx::Error);
  t.put("metric 'a'", "x", 1.0);
  CHECK_THROWS_WITH_AS(t.put("metric 'b'", "x", 2.0), doctest::Contains("metric 'b' returns a column named 'x'"),
                       nmfx::Error);

  // Through the session, with the test plugin reserved_column.
  const nmfx::Data X = test::make_data(test::random_matrix(20, 15, 1, 0.1, 1.0));
  for (const char* column : {"loss", "iteration", "eval_seconds"}) {
    CAPTURE(column);
    nmfx::SessionSetup setup;
    setup.solver = "mu";
    setup.rank = 2;
    setup.metrics = {{"reserved_column", {{"column", column}}}};
    nmfx::CellSession s(test::registry(), X, setup, test::random_matrix(20, 2, 2, 0.1, 1.0),
                        test::random_matrix(2, 15, 3, 0.1, 1.0));
    const std::string expected = std::string("metric 'reserved_column' returns a column named '") + column + "'";
    CHECK_THROWS_WITH_AS(s.checkpoint(false), doctest::Contains(expected.c_str()), nmfx::Error);
  }
  // A name of its own is accepted.
  nmfx::SessionSetup setup;
  setup.solver = "mu";
  setup.rank = 2;
  setup.metrics = {{"reserved_column", {{"column", "mine"}}}};
  nmfx::CellSession s(test::registry(), X, setup, test::random_matrix(20, 2, 2, 0.1, 1.0),
                      test::random_matrix(2, 15, 3, 0.1, 1.0));
  CHECK(s.checkpoint(false)["mine"] == 1.0);
}

TEST_CASE("results: a run whose metric returns a reserved column fails with a message naming the metric") {
  const auto dir = test::temp_dir("reserved_run");
  test::write(dir / "r.yaml",
              "name: r\ndatasets: [{name: synthetic, params: {m: 20, n: 15, rank: 2}}]\nsolvers: [mu]\n"
              "losses: [frobenius]\nranks: [2]\nstopping: {max_iter: 3}\nthreads: 1\noutput: out\n"
              "metrics: [relative_error, reserved_column]\nplugin_paths: ['" NMFX_TEST_PLUGIN_DIR "']\n");
  const auto r = test::nmfx_command("run r.yaml", dir);
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("metric 'reserved_column' returns a column named 'loss'") != std::string::npos);
}

TEST_CASE("results: --resume reruns the cells whose plugin library changed, and says how many") {
  const auto dir = test::temp_dir("resume_stale");
  const auto plugins = dir / "plugins";
  test::fs::create_directories(plugins);
  test::fs::copy_file(test::fs::path(NMFX_TEST_PLUGIN_DIR) / "failing_solver.so", plugins / "failing_solver.so");
  test::write(dir / "s.yaml",
              "name: s\ndatasets: [{name: synthetic, params: {m: 20, n: 15, rank: 2}}]\n"
              "solvers: [mu, {name: failing, params: {fail_at: 1000}}]\nlosses: [frobenius]\nranks: [2]\n"
              "seeds: [0, 1]\nstopping: {max_iter: 3}\nthreads: 1\noutput: out\nmetrics: [relative_error]\n"
              "plugin_paths: [plugins]\n");
  auto first = test::nmfx_command("run s.yaml", dir);
  INFO(first.output);
  REQUIRE(first.status == 0);
  // The plugin record names the library and its hash.
  for (const auto& e : test::fs::directory_iterator(dir / "out"))
    if (e.path().extension() == ".json") {
      const json r = json::parse(test::read(e.path()));
      CHECK(r["environment"]["plugins"]["solver"]["library_hash"].get<std::string>().size() == 16);
    }

  auto same = test::nmfx_command("run s.yaml --resume", dir);
  INFO(same.output);
  CHECK(same.output.find("4 kept from an earlier run") != std::string::npos);
  CHECK(same.output.find("run again") == std::string::npos);

  // The same library with other bytes (a rebuild): its two cells run again, mu's are kept.
  std::ofstream(plugins / "failing_solver.so", std::ios::app) << "rebuilt";
  auto changed = test::nmfx_command("run s.yaml --resume", dir);
  INFO(changed.output);
  CHECK(changed.status == 0);
  CHECK(changed.output.find("2 ok, 0 failed, 0 skipped, 2 kept from an earlier run, 2 run again because a plugin "
                            "changed") != std::string::npos);
  // And the rerun results carry the new hash, so a further --resume keeps all four.
  auto again = test::nmfx_command("run s.yaml --resume", dir);
  INFO(again.output);
  CHECK(again.output.find("4 kept from an earlier run") != std::string::npos);
  // summary.jsonl lists every cell once.
  const std::string summary = test::read(dir / "out" / "summary.jsonl");
  CHECK(std::count(summary.begin(), summary.end(), '\n') == 4);
}
