#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <unistd.h>

#include <xtensor/xview.hpp>

#include <nmfx/host/distributed.hpp>
#include <nmfx/host/init.hpp>
#include <nmfx/host/restarts.hpp>
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
                                   X.sparse.indptr.begin()) -
          1;
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

json plugin_record(const Registry& registry, PluginKind kind, const std::string& name) {
  const LoadedPlugin* p = registry.require(kind, name);
  return {{"name", name}, {"version", p->descriptor->version}, {"file", p->path}, {"library_hash", file_hash(p->path)}};
}

// The statistics result.data records.
json data_record(const Data& X) {
  double max_entry = 0;
  if (X.kind == DataKind::dense) {
    for (double v : X.dense) max_entry = std::max(max_entry, v);
  } else {
    for (double v : X.sparse.values) max_entry = std::max(max_entry, v);
  }
  return {{"kind", to_string(X.kind)},    {"rows", X.rows()}, {"cols", X.cols()}, {"nnz", X.nnz},
          {"norm", std::sqrt(X.norm_sq)}, {"max", max_entry}, {"info", X.info}};
}

const Data& load_data(const Spec& spec, const json& dataset, const Registry& registry, DataCache& cache) {
  // Loaded once per distinct dataset parameters; a dataset that fails, fails its cells.
  const std::string data_key = dataset.dump();
  if (cache.key != data_key) {
    cache = DataCache{data_key, nullptr, ""};
    try {
      const std::string name = dataset["name"];
      const auto* d = registry.require(PluginKind::dataset, name)->descriptor;
      auto loader = registry.create<Dataset>(name, with_paths_resolved(*d, dataset["params"], spec.dir));
      auto data = std::make_shared<Data>(loader->load());
      if (std::find(d->data_kinds.begin(), d->data_kinds.end(), data->kind) == d->data_kinds.end())
        throw Error("dataset '" + name + "' returned " + to_string(data->kind) +
                    " data, which its descriptor does not declare (data_kinds)");
      finalize(*data, name);
      cache.data = data;
    } catch (const std::exception& e) {
      cache.error = e.what();
    }
  }
  if (!cache.data) throw Error(cache.error);
  return *cache.data;
}

void save_npy_atomic(const fs::path& out, const std::string& file, const Matrix& M) {
  // Worker processes may race to write the same data_<hash>.npy: each its own temporary name.
  const std::string tmp = (out / (file + ".tmp." + std::to_string(::getpid()))).string();
  write_npy(tmp, M);
  fs::rename(tmp, out / file);
}

bool accepts(const std::vector<DataKind>& kinds, DataKind kind) {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

// The session's setup from a cell: the plugins with their parameters (paths resolved), the metrics
// that accept this kind of data (the others listed in result.skipped_metrics), rank and penalty.
SessionSetup setup_of(const Spec& spec, const json& c, const Registry& registry, DataKind kind, RunResult& result) {
  const auto* solver_d = registry.require(PluginKind::solver, c["solver"]["name"])->descriptor;
  const auto* loss_d = registry.require(PluginKind::loss, c["loss"]["name"])->descriptor;
  SessionSetup setup;
  setup.solver = c["solver"]["name"];
  setup.solver_params = with_paths_resolved(*solver_d, c["solver"]["params"], spec.dir);
  setup.loss = c["loss"]["name"];
  setup.loss_params = with_paths_resolved(*loss_d, c["loss"]["params"], spec.dir);
  // A metric that does not accept this kind of data is left out, and the result says so.
  for (const auto& m : c["metrics"]) {
    if (!accepts(registry.require(PluginKind::metric, m["name"])->descriptor->data_kinds, kind)) {
      result.skipped_metrics.push_back(m["name"]);
      continue;
    }
    setup.metrics.emplace_back(m["name"], m["params"]);
  }
  setup.rank = c["rank"];
  setup.threads = c["threads"];
  const json& reg = c["regularization"];
  const double l1_ratio = reg["l1_ratio"];
  setup.penalty = {reg["alpha_W"].get<double>() * l1_ratio, reg["alpha_W"].get<double>() * (1 - l1_ratio),
                   reg["alpha_H"].get<double>() * l1_ratio, reg["alpha_H"].get<double>() * (1 - l1_ratio)};
  setup.cell = c;
  return setup;
}

}  // namespace

json plugin_records(const json& c, const Registry& registry) {
  json plugins = json::object();
  plugins["dataset"] = plugin_record(registry, PluginKind::dataset, c["dataset"]["name"]);
  plugins["solver"] = plugin_record(registry, PluginKind::solver, c["solver"]["name"]);
  plugins["loss"] = plugin_record(registry, PluginKind::loss, c["loss"]["name"]);
  for (const auto& m : c["metrics"])
    plugins["metrics"].push_back(plugin_record(registry, PluginKind::metric, m["name"]));
  return plugins;
}

namespace {

// The result's closing fields from the session (if it started): counts, seconds, trace, finals.
json finished(RunResult& result, const CellSession* session, json env) {
  if (session) {
    result.iterations = session->iteration();
    result.solver_seconds = session->solver_seconds();
    result.eval_seconds = session->eval_seconds();
    result.trace = session->trace().columns();
  }
  if (result.trace.contains("iteration"))
    for (auto it = result.trace.begin(); it != result.trace.end(); ++it) result.final_values[it.key()] = it->back();
  env["finished_at"] = utc_now();
  result.environment = env;
  return result.to_json();
}

}  // namespace

namespace {

// The result's opening fields (id, spec, cell) and the environment with its start time.
json begin_result(const Spec& spec, const Cell& cell, RunResult& result) {
  result.id = cell.id;
  result.spec = {{"name", spec.name}, {"file", spec.file}};
  result.cell = cell.params;
  json env = environment();
  env["started_at"] = utc_now();
  return env;
}

}  // namespace

json run_one_cell(const Spec& spec, const Cell& cell, const Registry& registry, DataCache& cache, const fs::path& out,
                  CellObserver* observer) {
  const json& c = cell.params;
  RunResult result;
  json env = begin_result(spec, cell, result);
  std::unique_ptr<CellSession> session;
  try {
    env["plugins"] = plugin_records(c, registry);
    const Data& X = load_data(spec, c["dataset"], registry, cache);
    result.data = data_record(X);
    if (spec.save_factors && X.kind == DataKind::dense) {
      // X once per dataset, so that figures can show originals beside reconstructions.
      const std::string file = "data_" + stable_hash(c["dataset"]) + ".npy";
      if (!fs::exists(out / file)) save_npy_atomic(out, file, X.dense);
      result.data["file"] = file;
    }

    const auto* solver_d = registry.require(PluginKind::solver, c["solver"]["name"])->descriptor;
    const auto* loss_d = registry.require(PluginKind::loss, c["loss"]["name"])->descriptor;
    for (const auto* d : {solver_d, loss_d})
      if (!accepts(d->data_kinds, X.kind)) {
        result.status = run_status::skipped;
        result.message =
            std::string(to_string(d->kind)) + " '" + d->name + "' does not accept " + to_string(X.kind) + " data";
        result.environment = env;
        return result.to_json();
      }

    const std::size_t rank = c["rank"];
    if (rank > std::min(X.rows(), X.cols()))
      throw Error("rank " + std::to_string(rank) +
                  " exceeds min(M, N) = " + std::to_string(std::min(X.rows(), X.cols())) + " for this " +
                  std::to_string(X.rows()) + " x " + std::to_string(X.cols()) + " X");
    const int threads = c["threads"];
    set_threads(threads);
    env["blas_threads"] = blas_threads();

    SessionSetup setup = setup_of(spec, c, registry, X.kind, result);
    setup.threads = threads;
    auto [W, H] = CellSession::initial_factors(c["init"], c["init_scaling"], X, rank, c["seed"].get<std::uint64_t>(),
                                               spec.dir, threads);
    if (c.contains("restarts")) {  // the best of the short runs is the start
      const std::size_t iterations = c["restarts"]["iterations"];
      RestartsOutcome best =
          best_of_restarts(registry, X, setup, c["init"], c["init_scaling"], c["seed"].get<std::uint64_t>(), spec.dir,
                           c["restarts"]["runs"], iterations);
      W = std::move(best.W), H = std::move(best.H);
      result.restarts = best.to_json(iterations);
    }
    session = std::make_unique<CellSession>(registry, X, std::move(setup), std::move(W), std::move(H));
    auto rules = make_stopping_rules(c["stopping"]);
    result.stop_reason =
        session->run(rules, checkpoint_iterations(c["checkpoints"], c["stopping"]["max_iter"]), observer);
    if (spec.save_factors) {
      // Written before the result that names them, each atomically.
      for (const auto& [name, M] : {std::pair<const char*, const Matrix*>{"W", &session->W()}, {"H", &session->H()}}) {
        const std::string file = cell.id + "." + name + ".npy";
        save_npy_atomic(out, file, *M);
        result.factors[name] = file;
      }
    }
  } catch (const std::exception& e) {
    result.status = run_status::failed;
    result.message = e.what();
    result.stop_reason.reset();
  } catch (...) {
    result.status = run_status::failed;
    result.message = "unknown exception";
    result.stop_reason.reset();
  }
  return finished(result, session.get(), std::move(env));
}

json run_distributed_cell(const Spec& spec, const Cell& cell, const Registry& registry, const fs::path& out) {
  const json& c = cell.params;
  RunResult result;
  json env = begin_result(spec, cell, result);
  // Every phase ends with all processes agreeing whether it worked (all_ok), so that a failure on
  // one process fails the cell on all of them instead of leaving the others in a collective.
  const int processes = mpi_context().size, me = mpi_context().rank;
  std::unique_ptr<Communicator> world = mpi_grid_communicator(processes, 1), grid;
  Communicator* agree = world.get();
  bool ok = true;
  std::string message;
  const auto phase = [&](auto&& work) {
    if (!ok) return;
    try {
      work();
    } catch (const std::exception& e) {
      ok = false;
      message = e.what();
    }
    ok = all_ok(*agree, ok, message);
  };
  std::shared_ptr<Dataset> loader;
  std::size_t M = 0, N = 0;
  int pr = 1, pc = 1;
  phase([&] {
    env["plugins"] = plugin_records(c, registry);
    const std::string name = c["dataset"]["name"];
    const auto* d = registry.require(PluginKind::dataset, name)->descriptor;
    loader = registry.create<Dataset>(name, with_paths_resolved(*d, c["dataset"]["params"], spec.dir));
    std::tie(M, N) = loader->shape();
    grid_for(spec.distribute["grid"], processes, M, N, pr, pc);
  });
  phase([&] { grid = mpi_grid_communicator(pr, pc); });
  Distribution distribution;
  if (grid) {
    agree = grid.get();
    distribution = {Layout::of(M, N, pr, pc, me), grid.get()};
  }
  Data X;
  phase([&] { X = load_block_of(*loader, c["dataset"]["name"], distribution); });
  std::unique_ptr<CellSession> session;
  phase([&] {
    const double* values = X.is_sparse_storage() ? X.sparse.values.data() : X.dense.data();
    const std::size_t count = X.is_sparse_storage() ? X.sparse.values.size() : X.dense.size();
    double max_entry = count ? *std::max_element(values, values + count) : 0.0;
    grid->max(Communicator::Group::all, &max_entry, 1);
    result.data = {{"kind", to_string(X.kind)},    {"rows", M},        {"cols", N},     {"nnz", X.nnz},
                   {"norm", std::sqrt(X.norm_sq)}, {"max", max_entry}, {"info", X.info}};
    const std::size_t rank = c["rank"];
    if (rank > std::min(M, N))
      throw Error("rank " + std::to_string(rank) + " exceeds min(M, N) = " + std::to_string(std::min(M, N)) +
                  " for this " + std::to_string(M) + " x " + std::to_string(N) + " X");
    set_threads(c["threads"]);
    env["blas_threads"] = blas_threads();
    SessionSetup setup = setup_of(spec, c, registry, X.kind, result);
    setup.distribution = &distribution;
    Matrix W, H;
    if (c["init"]["method"] == "file") {
      // The whole initial factors are read (they are small beside X) and this process's part kept.
      Matrix W0, H0;
      initialize(c["init"], X, rank, c["seed"].get<std::uint64_t>(), spec.dir, W0, H0, M, N);
      const Layout& l = distribution.layout;
      W = xt::view(W0, xt::range(l.w_rows.begin, l.w_rows.end), xt::all());
      H = xt::view(H0, xt::all(), xt::range(l.h_cols.begin, l.h_cols.end));
    } else {
      random_init_block(X, distribution, rank, c["seed"].get<std::uint64_t>(), c["init"], W, H);
    }
    session = std::make_unique<CellSession>(registry, X, std::move(setup), std::move(W), std::move(H));
  });
  phase([&] {
    auto rules = make_stopping_rules(c["stopping"]);
    result.stop_reason = session->run(rules, checkpoint_iterations(c["checkpoints"], c["stopping"]["max_iter"]));
  });
  phase([&] {
    if (!spec.save_factors) return;
    for (const char* name : {"W", "H"}) {
      const std::string file = cell.id + "." + name + ".npy";
      const bool is_W = name[0] == 'W';
      write_npy_distributed((out / file).string(), is_W ? session->W() : session->H(), is_W, distribution);
      result.factors[name] = file;
    }
  });
  if (!ok) {
    result.status = run_status::failed;
    result.message = message;
    result.stop_reason.reset();
  }
  if (grid && session) {
    // Each process's communication and compute over the run, in process order.
    double mine[3] = {static_cast<double>(session->comm_bytes()), session->comm_seconds(),
                      session->solver_seconds() - session->comm_seconds()};
    std::vector<double> all(3 * static_cast<std::size_t>(processes));
    grid->gather(Communicator::Group::all, mine, std::vector<std::size_t>(static_cast<std::size_t>(processes), 3),
                 all.data());
    json per_process = json::array();
    for (int k = 0; k < processes; ++k)
      per_process.push_back(
          {{"bytes_sent", all[3 * k]}, {"comm_seconds", all[3 * k + 1]}, {"compute_seconds", all[3 * k + 2]}});
    env["distributed"] = {{"processes", processes},
                          {"grid", {pr, pc}},
                          {"planc_bytes_per_iteration", 8 * planc_words_per_iteration(M, N, c["rank"], pr, pc)},
                          {"per_process", per_process}};
  }
  return finished(result, session.get(), std::move(env));
}

Reuse reusable(const std::string& path, const json& plugins, json* out) {
  std::ifstream in(path);
  if (!in) return Reuse::missing;
  try {
    json j = json::parse(in);
    if (j.value("schema_version", 0) != kResultsSchemaVersion || j.value("status", "") != "ok") return Reuse::missing;
    // The same plugins by name, version and library content; a record without hashes (older
    // results) cannot show that it is, so it is stale too.
    auto same = [](const json& x, const json& y) {
      return x.is_object() && y.is_object() && x.value("name", "") == y.value("name", "") &&
             x.value("version", "") == y.value("version", "") && !y.value("library_hash", "").empty() &&
             x.value("library_hash", "") == y.value("library_hash", "");
    };
    const json& recorded = j["environment"]["plugins"];
    bool fresh = recorded.is_object();
    for (const char* part : {"dataset", "solver", "loss"}) fresh = fresh && same(recorded[part], plugins[part]);
    const json none = json::array();
    const json& rm = fresh && recorded.contains("metrics") ? recorded["metrics"] : none;
    const json& pm = plugins.contains("metrics") ? plugins["metrics"] : none;
    fresh = fresh && rm.size() == pm.size();
    for (std::size_t k = 0; fresh && k < rm.size(); ++k) fresh = same(rm[k], pm[k]);
    if (!fresh) return Reuse::stale;
    if (out) *out = std::move(j);
    return Reuse::fresh;
  } catch (...) {
    return Reuse::missing;
  }
}

namespace {

// A complete result of any status, or false.
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

CellOutcome CellOutcome::of(std::size_t cell, const json& result) {
  CellOutcome o;
  o.cell = cell;
  auto text = [&](const char* key) {
    return result.contains(key) && result[key].is_string() ? result[key].get<std::string>() : std::string();
  };
  auto number = [](const json& object, const char* key, double otherwise) {
    return object.is_object() && object.contains(key) && object[key].is_number() ? object[key].get<double>()
                                                                                 : otherwise;
  };
  o.status = text("status");
  o.message = text("message");
  o.stop_reason = text("stop_reason");
  o.solver_seconds = number(result, "solver_seconds", 0);
  o.iterations = number(result, "iterations", 0);
  const json none;
  const json& finals = result.contains("final") ? result["final"] : none;
  o.final_relative_error = number(finals, "relative_error", NAN);
  o.final_loss = number(finals, "loss", NAN);
  return o;
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

  // summary.jsonl: the kept results, then one line appended per finished cell (in finishing order),
  // so a grid of any size never rewrites it. Under MPI, rank 0 alone writes it.
  std::unique_ptr<SummaryWriter> summary_file;
  if (mpi.rank == 0) summary_file = std::make_unique<SummaryWriter>((out / "summary.jsonl").string());

  // What to keep from an earlier run: ok results made by the same plugins, and (unless
  // --retry-failed) the cells whose worker crashed, ran out of memory or time: rerunning them would
  // only crash again. An ok result whose plugin library has changed since is stale: run again.
  std::vector<std::optional<CellOutcome>> outcomes(cells.size());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string path = (out / (cells[i].id + ".json")).string();
    json earlier;
    if (options.resume) {
      const Reuse reuse = reusable(path, plugin_records(cells[i].params, registry), &earlier);
      if (reuse == Reuse::fresh) {
        ++summary.resumed;
        outcomes[i] = CellOutcome::of(i, earlier);
        if (summary_file) summary_file->append(earlier);
        continue;
      }
      summary.stale += reuse == Reuse::stale;
      if (reuse == Reuse::missing && !options.retry_failed && read_result(path, &earlier) &&
          is_worker_failure(earlier["status"].get<std::string>())) {
        ++summary.resumed;
        ++summary.failed;
        outcomes[i] = CellOutcome::of(i, earlier);
        if (summary_file) summary_file->append(earlier);
        continue;
      }
    }
    todo.push_back(i);
  }

  // Under MPI the ranks write their results themselves; rank 0 counts them and writes the summary.
  // Result files are not synced one by one (a result is small, a sync costs milliseconds, and
  // --resume checks every file it keeps): the folder is synced once at the end.
  auto record = [&](std::size_t i, json result) {
    if (!mpi.active) write_file_atomic((out / (cells[i].id + ".json")).string(), result.dump(1), false);
    const std::string status = result["status"];
    summary.ok += status == "ok";
    summary.skipped += status == "skipped";
    summary.interrupted += status == kInterrupted;
    summary.failed += status != "ok" && status != "skipped" && status != kInterrupted;
    if (summary_file) summary_file->append(result);
    outcomes[i] = CellOutcome::of(i, result);
  };
  Progress progress(progress_stream, mpi.rank == 0 ? options.progress : ProgressMode::quiet, cells.size(),
                    cells.size() - todo.size());
  if (mpi.active && !spec.distribute.is_null()) {
    // Distributed cells: one at a time, each on every process; rank 0 writes the results.
    progress.note("nmfx: " + std::to_string(todo.size()) + " cells to run, each over all " + std::to_string(mpi.size) +
                  " MPI processes");
    for (std::size_t i : todo) {
      if (mpi.rank == 0) progress.started(cells[i], 0);
      json result = run_distributed_cell(spec, cells[i], registry, out);
      if (mpi.rank != 0) continue;
      write_file_atomic((out / (cells[i].id + ".json")).string(), result.dump(1), false);
      progress.finished(cells[i], result);
      record(i, std::move(result));
    }
    if (mpi.rank != 0) return summary;
  } else if (mpi.active) {
    ExecutionPlan limits = plan_execution(spec, cells, {}, registry, 1);
    progress.note("nmfx: " + std::to_string(todo.size()) + " cells to run on " + std::to_string(mpi.size - 1) +
                  " MPI ranks, largest first");
    summary.stopped_by_signal =
        !mpi_execute(spec, cells, todo, registry, summary.output, limits, progress, record, options.rank_timeout_s);
    if (mpi.rank != 0) return summary;
  } else {
    const ExecutionPlan plan = plan_execution(spec, cells, todo, registry, options.jobs);
    if (!todo.empty() && cells.size() > 1)
      progress.note("nmfx: " + std::to_string(todo.size()) + " cells to run; " + plan.rule);
    summary.stopped_by_signal = !execute_cells(spec, cells, registry, summary.output, plan, progress, record);
  }
  summary_file.reset();
  sync_folder(out.string());
  for (auto& o : outcomes)
    if (o) summary.outcomes.push_back(std::move(*o));
  return summary;
}

std::string summary_table(const std::vector<Cell>& cells, const std::vector<CellOutcome>& outcomes) {
  // Show, in a label, only the plugin parameters that vary across the grid.
  auto varying = [&](const char* part) {
    std::map<std::string, std::set<std::string>> values;
    for (const auto& o : outcomes) {
      const json& plugin = cells.at(o.cell).params[part];
      for (auto it = plugin["params"].begin(); it != plugin["params"].end(); ++it)
        values[plugin["name"].get<std::string>() + "." + it.key()].insert(it->dump());
    }
    std::vector<std::string> keys;
    for (const auto& [k, v] : values)
      if (v.size() > 1) keys.push_back(k.substr(k.find('.') + 1));
    return keys;
  };
  const auto dv = varying("dataset"), sv = varying("solver"), lv = varying("loss");
  const bool has_re = std::any_of(outcomes.begin(), outcomes.end(),
                                  [](const CellOutcome& o) { return !std::isnan(o.final_relative_error); });
  const std::string metric = has_re ? "relative_error" : "loss";

  struct Group {
    std::vector<double> values, seconds, iterations;
    int failed = 0, skipped = 0;
  };
  std::vector<std::pair<std::vector<std::string>, Group>> groups;
  for (const auto& o : outcomes) {
    const json& c = cells.at(o.cell).params;
    std::vector<std::string> key = {label(c["dataset"], dv), label(c["solver"], sv), label(c["loss"], lv),
                                    c["rank"].dump()};
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) it = groups.insert(groups.end(), {key, Group{}});
    Group& g = it->second;
    if (o.status != "ok" && o.status != "skipped") ++g.failed;  // failed, crashed, out_of_memory, timeout, interrupted
    if (o.status == "skipped") ++g.skipped;
    const double value = has_re ? o.final_relative_error : o.final_loss;
    if (o.status != "ok" || std::isnan(value)) continue;
    g.values.push_back(value);
    g.seconds.push_back(o.solver_seconds);
    g.iterations.push_back(o.iterations);
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
      value << std::scientific << std::setprecision(3) << mean(g.values) << " ± " << std::setprecision(1)
            << sd(g.values);
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
