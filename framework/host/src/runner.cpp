#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include <unistd.h>

#include <nmfx/host/init.hpp>
#include <nmfx/kkt.hpp>
#include <nmfx/linalg.hpp>
#include <nmfx/npy.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/host/scheduler.hpp>
#include <nmfx/host/threads.hpp>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace nmfx {
namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

void finalize(Data& X, const std::string& dataset) {
  if (X.rows() == 0 || X.cols() == 0) throw Error("dataset '" + dataset + "' returned an empty matrix");
  const bool sparse = X.is_sparse_storage();
  auto check_csr = [&](const SparseMatrix& S, const char* what) {
    if (S.indptr.size() != S.rows + 1 || S.indptr.front() != 0 || S.indptr.back() != S.values.size() ||
        S.indices.size() != S.values.size())
      throw Error("dataset '" + dataset + "' returned a malformed " + what + " (indptr/indices/values disagree)");
    for (std::size_t i = 0; i < S.rows; ++i) {
      if (S.indptr[i] > S.indptr[i + 1])
        throw Error("dataset '" + dataset + "': " + what + " row offsets decrease at row " + std::to_string(i));
      for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k)
        if (S.indices[k] >= S.cols || (k > S.indptr[i] && S.indices[k] <= S.indices[k - 1]))
          throw Error("dataset '" + dataset + "': " + what + " row " + std::to_string(i) +
                      " has a column index out of range or out of order");
    }
  };
  if (sparse) check_csr(X.sparse, X.kind == DataKind::observed ? "set of training entries" : "sparse matrix");
  if (X.kind == DataKind::observed && X.test.rows + X.test.cols > 0) {
    if (X.test.rows != X.sparse.rows || X.test.cols != X.sparse.cols)
      throw Error("dataset '" + dataset + "': the test entries' shape differs from the training entries'");
    check_csr(X.test, "set of test entries");
    for (double v : X.test.values)
      if (!std::isfinite(v)) throw Error("dataset '" + dataset + "' has a NaN/Inf test entry");
  }
  const double* values = sparse ? X.sparse.values.data() : X.dense.data();
  const std::size_t count = sparse ? X.sparse.values.size() : X.dense.size();
  double sum = 0, sq = 0;
  std::size_t nnz = 0, negatives = 0, nonfinite = 0;
  std::size_t first_bad = count;
  for (std::size_t k = 0; k < count; ++k) {
    const double v = values[k];
    if (!std::isfinite(v)) {
      ++nonfinite;
      first_bad = std::min(first_bad, k);
    } else if (v < 0) {
      ++negatives;
      first_bad = std::min(first_bad, k);
    }
    sum += v;
    sq += v * v;
    nnz += v != 0.0;
  }
  if (nonfinite || negatives) {
    std::size_t i = first_bad / X.cols(), j = first_bad % X.cols();
    if (sparse) {
      i = static_cast<std::size_t>(std::upper_bound(X.sparse.indptr.begin(), X.sparse.indptr.end(), first_bad) -
                                   X.sparse.indptr.begin()) - 1;
      j = X.sparse.indices[first_bad];
    }
    throw Error("dataset '" + dataset + "' has " + std::to_string(nonfinite) + " NaN/Inf and " +
                std::to_string(negatives) + " negative entries, the first at (" + std::to_string(i) + ", " +
                std::to_string(j) + "); NMF needs a finite X >= 0");
  }
  if (nnz == 0) throw Error("dataset '" + dataset + "' is all zeros");
  X.norm_sq = sq;
  X.mean = sum / (static_cast<double>(X.rows()) * static_cast<double>(X.cols()));
  X.nnz = nnz;
  if (X.kind == DataKind::observed) {  // missing entries are unknown, not zero
    X.mean = sum / static_cast<double>(count);
    X.nnz = count;
  }
  if (sparse) X.sparse_t = X.sparse.transposed();
}

namespace {

// Path parameters written relative to the spec are made absolute before the plugin sees them.
json with_paths_resolved(const PluginDescriptor& d, json params, const std::string& base_dir) {
  for (const auto& s : d.params)
    if (s.type == ParamType::path && params.contains(s.name) && params[s.name].is_string()) {
      const fs::path p = params[s.name].get<std::string>();
      if (p.is_relative()) params[s.name] = (fs::path(base_dir) / p).lexically_normal().string();
    }
  return params;
}

std::set<std::size_t> checkpoint_iterations(const json& checkpoints, std::size_t max_iter) {
  std::set<std::size_t> out{0, max_iter};
  if (checkpoints.contains("every")) {
    const std::size_t k = checkpoints["every"];
    for (std::size_t i = 0; i <= max_iter; i += k) out.insert(i);
  } else {
    const double n = checkpoints["log"];
    for (int j = 0; j < static_cast<int>(n); ++j)
      out.insert(static_cast<std::size_t>(std::llround(std::pow(static_cast<double>(max_iter), j / (n - 1)))));
  }
  return out;
}

// Appends value to trace column `key` at row `row`, padding with null where the column started late.
void put(json& trace, const std::string& key, const json& value, std::size_t row) {
  json& column = trace[key];
  if (column.is_null()) column = json::array();
  while (column.size() < row) column.push_back(nullptr);
  column.push_back(value);
}

json plugin_record(const Registry& registry, PluginKind kind, const std::string& name) {
  const LoadedPlugin* p = registry.require(kind, name);
  return {{"name", name}, {"version", p->descriptor->version}, {"file", p->path}};
}

}  // namespace

json run_one_cell(const Spec& spec, const Cell& cell, const Registry& registry, DataCache& cache, const fs::path& out,
                  CellObserver* observer) {
  const json& c = cell.params;
  json result = {{"schema_version", kResultsSchemaVersion},
                 {"id", cell.id},
                 {"spec", {{"name", spec.name}, {"file", spec.file}}},
                 {"cell", c},
                 {"status", "ok"},
                 {"message", ""},
                 {"stop_reason", nullptr}};
  json env = environment();
  env["started_at"] = utc_now();
  json trace = json::object();
  std::size_t iteration = 0;
  double solver_seconds = 0, eval_seconds = 0;
  try {
    env["plugins"]["dataset"] = plugin_record(registry, PluginKind::dataset, c["dataset"]["name"]);
    env["plugins"]["solver"] = plugin_record(registry, PluginKind::solver, c["solver"]["name"]);
    env["plugins"]["loss"] = plugin_record(registry, PluginKind::loss, c["loss"]["name"]);
    for (const auto& m : c["metrics"])
      env["plugins"]["metrics"].push_back(plugin_record(registry, PluginKind::metric, m["name"]));

    // Data: loaded once per distinct dataset parameters; a dataset that fails, fails its cells.
    const std::string data_key = c["dataset"].dump();
    if (cache.key != data_key) {
      cache = DataCache{data_key, nullptr, ""};
      try {
        const std::string name = c["dataset"]["name"];
        const auto* d = registry.require(PluginKind::dataset, name)->descriptor;
        auto dataset = registry.create<Dataset>(name, with_paths_resolved(*d, c["dataset"]["params"], spec.dir));
        auto data = std::make_shared<Data>(dataset->load());
        finalize(*data, name);
        cache.data = data;
      } catch (const std::exception& e) {
        cache.error = e.what();
      }
    }
    if (!cache.data) throw Error(cache.error);
    const Data& X = *cache.data;
    double max_entry = 0;
    if (X.kind == DataKind::dense) {
      for (double v : X.dense) max_entry = std::max(max_entry, v);
    } else {
      for (double v : X.sparse.values) max_entry = std::max(max_entry, v);
    }
    result["data"] = {{"kind", to_string(X.kind)}, {"rows", X.rows()}, {"cols", X.cols()}, {"nnz", X.nnz},
                      {"norm", std::sqrt(X.norm_sq)}, {"max", max_entry}, {"info", X.info}};
    if (spec.save_factors && X.kind == DataKind::dense) {
      // X once per dataset, so that figures can show originals beside reconstructions.
      const std::string file = "data_" + stable_hash(c["dataset"]) + ".npy";
      if (!fs::exists(out / file)) {
        const std::string tmp = (out / (file + ".tmp." + std::to_string(::getpid()))).string();  // workers race here
        write_npy(tmp, X.dense);
        fs::rename(tmp, out / file);
      }
      result["data"]["file"] = file;
    }

    const auto* solver_d = registry.require(PluginKind::solver, c["solver"]["name"])->descriptor;
    const auto* loss_d = registry.require(PluginKind::loss, c["loss"]["name"])->descriptor;
    for (const auto* d : {solver_d, loss_d}) {
      const auto& kinds = d->data_kinds;
      if (std::find(kinds.begin(), kinds.end(), to_string(X.kind)) == kinds.end()) {
        result["status"] = "skipped";
        result["message"] = std::string(to_string(d->kind)) + " '" + d->name + "' does not accept " +
                            to_string(X.kind) + " data";
        result["environment"] = env;
        return result;
      }
    }

    const std::size_t rank = c["rank"];
    if (rank > std::min(X.rows(), X.cols()))
      throw Error("rank " + std::to_string(rank) + " exceeds min(M, N) = " + std::to_string(std::min(X.rows(), X.cols())) +
                  " for this " + std::to_string(X.rows()) + " x " + std::to_string(X.cols()) + " X");
    const int threads = c["threads"];
    set_threads(threads);
    env["blas_threads"] = blas_threads();
    const std::string loss_name = c["loss"]["name"];
    auto loss = registry.create<Loss>(loss_name, with_paths_resolved(*loss_d, c["loss"]["params"], spec.dir));
    auto solver = registry.create<Solver>(c["solver"]["name"],
                                          with_paths_resolved(*solver_d, c["solver"]["params"], spec.dir));
    // A metric that does not accept this kind of data is left out, and the result says so.
    std::vector<std::shared_ptr<Metric>> metrics;
    for (const auto& m : c["metrics"]) {
      const auto& kinds = registry.require(PluginKind::metric, m["name"])->descriptor->data_kinds;
      if (std::find(kinds.begin(), kinds.end(), to_string(X.kind)) == kinds.end()) {
        result["skipped_metrics"].push_back(m["name"]);
        continue;
      }
      metrics.push_back(registry.create<Metric>(m["name"], m["params"]));
    }

    const json& reg = c["regularization"];
    const double l1_ratio = reg["l1_ratio"];
    const Penalty penalty{reg["alpha_W"].get<double>() * l1_ratio, reg["alpha_W"].get<double>() * (1 - l1_ratio),
                          reg["alpha_H"].get<double>() * l1_ratio, reg["alpha_H"].get<double>() * (1 - l1_ratio)};

    Matrix W, H;
    initialize(c["init"], X, rank, c["seed"].get<std::uint64_t>(), spec.dir, W, H);
    if (c["init_scaling"] == "optimal") scale_optimally(X, W, H, threads);
    loss->prepare(X, rank);
    Problem problem{X, *loss, loss_name, rank, threads, penalty};
    solver->prepare(problem, W, H);
    StationarityMeter stationarity;
    const double pg_tol = c["stopping"]["pg_tol"];
    if (pg_tol > 0) stationarity.prepare(X.rows(), X.cols(), rank);
    double initial_pg = 0;

    // Other losses a metric asks for, each prepared once.
    std::map<std::string, std::shared_ptr<Loss>> other_losses;
    auto loss_of = [&](const std::string& name) {
      auto& l = other_losses[name];
      if (!l) {
        l = registry.create<Loss>(name, resolve_params(registry.require(PluginKind::loss, name)->descriptor->params,
                                                       json::object()));
        l->prepare(X, rank);
      }
      return l->value(X, W, H);
    };

    // Checkpoint: the clock is stopped; loss, metrics and the solver's inner statistics are recorded.
    // Returns the objective, loss + penalty, which tol watches.
    bool stationary = false;
    auto evaluate = [&](bool after_step) {
      const auto t0 = Clock::now();
      const std::size_t row = trace.contains("iteration") ? trace["iteration"].size() : 0;
      const double value = loss->value(X, W, H);
      const double objective = value + penalty.value(W, H);
      put(trace, "iteration", iteration, row);
      put(trace, "solver_seconds", solver_seconds, row);
      put(trace, "loss", value, row);
      if (penalty.any()) put(trace, "objective", objective, row);
      if (pg_tol > 0) {
        // Lin (2007): stop when ||grad^P f|| <= pg_tol * ||grad^P f|| at the start.
        const Stationarity s = stationarity.measure(X, *loss, penalty, W, H);
        const double pg = std::hypot(s.projected_gradient_W, s.projected_gradient_H);
        if (row == 0) initial_pg = pg;
        put(trace, "projected_gradient", pg, row);
        stationary = row > 0 && pg <= pg_tol * initial_pg;
      }
      MetricContext context{X, W, H, iteration, value, loss_name, *loss, penalty, rank, c, trace, loss_of};
      for (auto& m : metrics)
        for (const auto& [k, v] : m->evaluate(context)) put(trace, k, v, row);
      if (after_step)
        for (const auto& [k, v] : solver->stats()) put(trace, k, v, row);
      eval_seconds += seconds_since(t0);
      put(trace, "eval_seconds", eval_seconds, row);
      if (observer) {
        json checkpoint = json::object();
        for (auto it = trace.begin(); it != trace.end(); ++it)
          if (it->size() > row) checkpoint[it.key()] = (*it)[row];
        observer->on_checkpoint(checkpoint);
      }
      if (!std::isfinite(objective))
        throw Error("loss is " + std::string(std::isnan(objective) ? "NaN" : "infinite") + " at iteration " +
                    std::to_string(iteration) + " (diverged)");
      return objective;
    };

    const std::size_t max_iter = c["stopping"]["max_iter"];
    const double max_time = c["stopping"]["max_time_s"];
    const double tol = c["stopping"]["tol"];
    const auto checkpoints = checkpoint_iterations(c["checkpoints"], max_iter);
    double previous = evaluate(false);
    std::string stop_reason = "max_iter";
    while (iteration < max_iter) {
      const auto t0 = Clock::now();
      solver->step(W, H);
      solver_seconds += seconds_since(t0);
      ++iteration;
      const bool out_of_time = max_time > 0 && solver_seconds >= max_time;
      if (checkpoints.count(iteration) || out_of_time) {
        const double value = evaluate(true);
        // tol: relative decrease of the loss since the previous checkpoint.
        if (tol > 0 && previous - value <= tol * previous) {
          stop_reason = "tol";
          break;
        }
        if (stationary) {
          stop_reason = "pg_tol";
          break;
        }
        previous = value;
      }
      if (out_of_time) {
        stop_reason = "max_time_s";
        break;
      }
    }
    result["stop_reason"] = stop_reason;
    if (spec.save_factors) {
      // Written before the result that names them, each atomically.
      for (const auto& [name, M] : {std::pair<const char*, const Matrix*>{"W", &W}, {"H", &H}}) {
        const std::string file = cell.id + "." + name + ".npy";
        const std::string tmp = (out / (file + ".tmp")).string();
        write_npy(tmp, *M);
        fs::rename(tmp, out / file);
        result["factors"][name] = file;
      }
    }
  } catch (const std::exception& e) {
    result["status"] = "failed";
    result["message"] = e.what();
  } catch (...) {
    result["status"] = "failed";
    result["message"] = "unknown exception";
  }
  result["iterations"] = iteration;
  result["solver_seconds"] = solver_seconds;
  result["eval_seconds"] = eval_seconds;
  result["trace"] = trace;
  json final_values = json::object();
  if (trace.contains("iteration"))
    for (auto it = trace.begin(); it != trace.end(); ++it) final_values[it.key()] = it->back();
  result["final"] = final_values;
  env["finished_at"] = utc_now();
  result["environment"] = env;
  return result;
}

namespace {

bool read_result(const std::string& path, json* out) {
  std::ifstream in(path);
  if (!in) return false;
  try {
    json j = json::parse(in);
    if (j.value("schema_version", 0) != kResultsSchemaVersion || !j.contains("status")) return false;
    if (out) *out = std::move(j);
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

// One flat record per run, for pandas: pd.read_json("summary.jsonl", lines=True).
json flat_record(const json& r) {
  json f = {{"id", r["id"]},
            {"status", r["status"]},
            {"message", r["message"]},
            {"stop_reason", r["stop_reason"]},
            {"iterations", r["iterations"]},
            {"solver_seconds", r["solver_seconds"]},
            {"eval_seconds", r["eval_seconds"]},
            {"rank", r["cell"]["rank"]},
            {"seed", r["cell"]["seed"]},
            {"file", r["id"].get<std::string>() + ".json"}};
  for (const char* part : {"dataset", "solver", "loss"}) {
    f[part] = r["cell"][part]["name"];
    for (auto it = r["cell"][part]["params"].begin(); it != r["cell"][part]["params"].end(); ++it)
      f[std::string(part) + "." + it.key()] = *it;
  }
  for (auto it = r["cell"]["init"].begin(); it != r["cell"]["init"].end(); ++it) f["init." + it.key()] = *it;
  f["init_scaling"] = r["cell"]["init_scaling"];
  for (auto it = r["cell"]["regularization"].begin(); it != r["cell"]["regularization"].end(); ++it) f[it.key()] = *it;
  for (auto it = r["final"].begin(); it != r["final"].end(); ++it)
    if (!f.contains(it.key())) f[it.key()] = *it;
  return f;
}

RunSummary run_grid(const Spec& spec, const std::vector<Cell>& cells, const Registry& registry,
                    const RunOptions& options, std::ostream& progress_stream) {
  RunSummary summary;
  summary.output = options.output.empty() ? spec.output : options.output;
  const fs::path out = summary.output;

  // Nothing already written is lost: earlier results are kept (--resume) or replaced on request (--force).
  int existing = 0;
  for (const auto& cell : cells) existing += fs::exists(out / (cell.id + ".json"));
  if (existing > 0 && !options.resume && !options.force)
    throw SpecError(spec.file, spec.line_of("output"), "output",
                    summary.output + " already holds " + std::to_string(existing) + " of this grid's " +
                        std::to_string(cells.size()) +
                        " results; pass --resume to keep them and run the rest, or --force to run them again");
  // Under MPI every rank reads, rank 0 alone writes, and the others wait until it has.
  const MpiContext& mpi = mpi_context();
  summary.mpi_rank = mpi.rank;
  std::error_code ec;
  if (mpi.rank == 0) {
    fs::create_directories(out, ec);
    if (ec) throw Error(summary.output + ": cannot create the output folder (" + ec.message() + ")");
    std::ifstream in(spec.file);
    std::stringstream text;
    text << in.rdbuf();
    write_file_atomic((out / "spec.yaml").string(), text.str());
    // A run killed with -9 may have left a temporary file behind; nothing reads them, remove them.
    for (const auto& entry : fs::directory_iterator(out, ec))
      if (entry.path().filename().string().find(".tmp") != std::string::npos) fs::remove(entry.path(), ec);
  }
  mpi_barrier();

  // What to keep from an earlier run: ok results, and (unless --retry-failed) the cells whose
  // worker crashed, ran out of memory or time: rerunning them would only crash again.
  std::vector<json> results(cells.size());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string path = (out / (cells[i].id + ".json")).string();
    json earlier;
    if (options.resume && read_result(path, &earlier)) {
      const std::string status = earlier["status"];
      if (status == "ok" || (is_worker_failure(status) && !options.retry_failed)) {
        ++summary.resumed;
        if (status != "ok") ++summary.failed;
        results[i] = std::move(earlier);
        continue;
      }
    }
    todo.push_back(i);
  }

  auto write_summary = [&] {
    std::string text;
    for (const auto& r : results)
      if (!r.is_null()) text += flat_record(r).dump() + "\n";
    write_file_atomic((out / "summary.jsonl").string(), text);
  };

  // Under MPI the ranks write their results themselves; rank 0 counts them and writes the summary.
  auto record = [&](std::size_t i, json result) {
    if (!mpi.active) write_file_atomic((out / (cells[i].id + ".json")).string(), result.dump(1));
    const std::string status = result["status"];
    summary.ok += status == "ok";
    summary.skipped += status == "skipped";
    summary.interrupted += status == kInterrupted;
    summary.failed += status != "ok" && status != "skipped" && status != kInterrupted;
    results[i] = std::move(result);
    write_summary();
  };
  Progress progress(progress_stream, mpi.rank == 0 ? options.progress : ProgressMode::quiet, cells.size(),
                    cells.size() - todo.size());
  if (mpi.active) {
    ExecutionPlan limits = plan_execution(spec, cells, {}, registry, 1);
    progress.note("nmfx: " + std::to_string(todo.size()) + " cells to run on " + std::to_string(mpi.size - 1) +
                  " MPI ranks, largest first");
    mpi_execute(spec, cells, todo, registry, summary.output, limits, progress, record);
    if (mpi.rank != 0) return summary;
    write_summary();
  } else {
    const ExecutionPlan plan = plan_execution(spec, cells, todo, registry, options.jobs);
    if (!todo.empty() && cells.size() > 1)
      progress.note("nmfx: " + std::to_string(todo.size()) + " cells to run; " + plan.rule);
    summary.stopped_by_signal = !execute_cells(spec, cells, registry, summary.output, plan, progress, record);
    write_summary();
  }
  for (auto& r : results)
    if (!r.is_null()) summary.results.push_back(std::move(r));
  return summary;
}

std::string summary_table(const std::vector<json>& results) {
  // Show, in a label, only the plugin parameters that vary across the grid.
  auto varying = [&](const char* part) {
    std::map<std::string, std::set<std::string>> values;
    for (const auto& r : results)
      for (auto it = r["cell"][part]["params"].begin(); it != r["cell"][part]["params"].end(); ++it)
        values[r["cell"][part]["name"].get<std::string>() + "." + it.key()].insert(it->dump());
    std::vector<std::string> keys;
    for (const auto& [k, v] : values)
      if (v.size() > 1) keys.push_back(k.substr(k.find('.') + 1));
    return keys;
  };
  const auto dv = varying("dataset"), sv = varying("solver"), lv = varying("loss");
  const bool has_re = std::any_of(results.begin(), results.end(),
                                  [](const json& r) { return r["final"].contains("relative_error"); });
  const std::string metric = has_re ? "relative_error" : "loss";

  struct Group {
    std::vector<double> values, seconds, iterations;
    int failed = 0, skipped = 0;
  };
  std::vector<std::pair<std::vector<std::string>, Group>> groups;
  for (const auto& r : results) {
    std::vector<std::string> key = {label(r["cell"]["dataset"], dv), label(r["cell"]["solver"], sv),
                                    label(r["cell"]["loss"], lv), r["cell"]["rank"].dump()};
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) it = groups.insert(groups.end(), {key, Group{}});
    Group& g = it->second;
    const std::string status = r["status"];
    if (status != "ok" && status != "skipped") ++g.failed;  // failed, crashed, out_of_memory, timeout, interrupted
    if (status == "skipped") ++g.skipped;
    if (status != "ok" || !r["final"].contains(metric)) continue;
    g.values.push_back(r["final"][metric]);
    g.seconds.push_back(r["solver_seconds"]);
    g.iterations.push_back(r["iterations"]);
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? NAN : s / static_cast<double>(v.size());
  };
  auto sd = [&](const std::vector<double>& v) {
    if (v.size() < 2) return 0.0;
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
  };
  std::vector<std::vector<std::string>> rows = {
      {"dataset", "solver", "loss", "rank", "n", metric + " (mean ± sd)", "iterations", "seconds"}};
  for (const auto& [key, g] : groups) {
    std::ostringstream value, secs, its, n;
    if (g.values.empty()) {
      value << "-";
    } else {
      value << std::scientific << std::setprecision(3) << mean(g.values) << " ± " << std::setprecision(1) << sd(g.values);
    }
    secs << std::fixed << std::setprecision(3) << mean(g.seconds);
    its << std::fixed << std::setprecision(0) << mean(g.iterations);
    n << g.values.size();
    if (g.failed) n << " (" << g.failed << " failed)";
    if (g.skipped) n << " (" << g.skipped << " skipped)";
    rows.push_back({key[0], key[1], key[2], key[3], n.str(), value.str(), its.str(), secs.str()});
  }
  // Width in characters, counting the 2-byte "±" once.
  auto width = [](const std::string& s) {
    std::size_t w = 0;
    for (unsigned char ch : s) w += (ch & 0xC0) != 0x80;
    return w;
  };
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows)
    for (std::size_t j = 0; j < row.size(); ++j) widths[j] = std::max(widths[j], width(row[j]));
  std::ostringstream os;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    os << "|";
    for (std::size_t j = 0; j < rows[r].size(); ++j)
      os << " " << rows[r][j] << std::string(widths[j] - width(rows[r][j]), ' ') << " |";
    os << "\n";
    if (r == 0) {
      os << "|";
      for (std::size_t j = 0; j < widths.size(); ++j) os << std::string(widths[j] + 2, '-') << "|";
      os << "\n";
    }
  }
  return os.str();
}

}  // namespace nmfx
