// nmfx check-plugin: the conformance suite. Every property runs in a child process (fork), so a
// plugin that crashes or hangs fails that property and the suite goes on. The plugin is loaded
// through the same Registry as `nmfx run`; the runner's own properties (rank refused, max_time_s)
// are checked by running a real grid through run_grid.
#include "check_plugin.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <nmfx/host/grid.hpp>
#include <nmfx/host/init.hpp>
#include <nmfx/linalg.hpp>
#include <nmfx/rng.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/host/threads.hpp>

namespace fs = std::filesystem;

namespace nmfx_check {
namespace {

using nmfx::Data;
using nmfx::DataKind;
using nmfx::json;
using nmfx::Matrix;
using nmfx::PluginKind;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Results

enum class Status { pass, fail, skip, warn };

struct Line {
  Status status;
  std::string property;
  std::string reason;
};
using Lines = std::vector<Line>;

Line pass(std::string p, std::string r) { return {Status::pass, std::move(p), std::move(r)}; }
Line fail(std::string p, std::string r) { return {Status::fail, std::move(p), std::move(r)}; }
Line skip(std::string p, std::string r) { return {Status::skip, std::move(p), std::move(r)}; }
Line warn(std::string p, std::string r) { return {Status::warn, std::move(p), std::move(r)}; }

const char* tag(Status s) {
  switch (s) {
    case Status::pass:
      return "PASS";
    case Status::fail:
      return "FAIL";
    case Status::skip:
      return "SKIP";
    case Status::warn:
      return "WARN";
  }
  return "?";
}

json to_json(const Lines& lines) {
  json out = json::array();
  for (const auto& l : lines) out.push_back({static_cast<int>(l.status), l.property, l.reason});
  return out;
}

Lines from_json(const json& j) {
  Lines out;
  for (const auto& l : j) out.push_back({static_cast<Status>(l[0].get<int>()), l[1], l[2]});
  return out;
}

std::string num(double v, int precision = 3) {
  std::ostringstream os;
  os << std::setprecision(precision) << v;
  return os.str();
}

std::string sci(double v) {
  std::ostringstream os;
  os << std::scientific << std::setprecision(2) << v;
  return os.str();
}

// Runs one property, turning any exception into a failure with its message.
Lines guarded(const std::function<Lines()>& fn, const std::string& property) {
  try {
    return fn();
  } catch (const nmfx::Error& e) {
    return {fail(property, std::string("threw nmfx::Error: ") + e.what())};
  } catch (const std::exception& e) {
    return {fail(property, std::string("threw ") + e.what())};
  } catch (...) {
    return {fail(property, "threw something that is not a std::exception")};
  }
}

// Runs fn in a child process: a crash or a hang fails the property instead of the whole suite.
Lines isolated(const std::function<Lines()>& fn, const std::string& property, const Options& options) {
  if (!options.isolate) return guarded(fn, property);
  int fds[2];
  if (pipe(fds) != 0) return guarded(fn, property);
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return guarded(fn, property);
  }
  if (pid == 0) {
    close(fds[0]);
    const std::string text = to_json(guarded(fn, property)).dump();
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    close(fds[1]);
    std::cout.flush();
    std::fflush(nullptr);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  bool timed_out = false;
  const auto deadline = Clock::now() + std::chrono::duration<double>(options.timeout_s);
  for (;;) {
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(std::min(left, 1.0) * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return {fail(property, "did not finish within " + num(options.timeout_s) + " s (killed)")};
  if (WIFSIGNALED(status))
    return {fail(property,
                 "crashed: signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")")};
  try {
    return from_json(json::parse(text));
  } catch (...) {
    return {fail(property, "the check's process ended without a result (exit status " +
                               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")")};
  }
}

// ---------------------------------------------------------------------------------------------
// Matrices and data

Matrix uniform(std::size_t m, std::size_t n, nmfx::Rng& rng, double lo, double hi) {
  Matrix A = Matrix::from_shape({m, n});
  for (double& v : A) v = lo + (hi - lo) * rng.uniform();
  return A;
}

Matrix product(const Matrix& W, const Matrix& H) {
  Matrix P = Matrix::from_shape({W.shape(0), H.shape(1)});
  nmfx::gemm(W, nmfx::Trans::no, H, nmfx::Trans::no, P);
  return P;
}

std::string shape(const Matrix& A) { return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1)); }

// A planted nonnegative rank-r product, with a little nonnegative noise so that no loss is exactly 0.
Matrix planted(std::size_t m, std::size_t n, std::size_t r, std::uint64_t seed, double noise = 0.01) {
  nmfx::Rng rng(seed);
  const Matrix W = uniform(m, r, rng, 0.0, 1.0), H = uniform(r, n, rng, 0.0, 1.0);
  Matrix X = product(W, H);
  for (double& v : X) v += noise * rng.uniform();
  return X;
}

nmfx::SparseMatrix csr(const Matrix& X, const std::function<bool(std::size_t, std::size_t)>& keep) {
  nmfx::SparseMatrix S;
  S.rows = X.shape(0);
  S.cols = X.shape(1);
  S.indptr.push_back(0);
  for (std::size_t i = 0; i < S.rows; ++i) {
    for (std::size_t j = 0; j < S.cols; ++j)
      if (keep(i, j)) {
        S.indices.push_back(static_cast<std::uint32_t>(j));
        S.values.push_back(X(i, j));
      }
    S.indptr.push_back(S.values.size());
  }
  return S;
}

// X as the given kind, finalized as the runner does. sparse: the nonzeros of X (with `holes`, a
// fraction of entries set to zero first); observed: a random `holes`-complement of the entries is
// known (train), and a few others are held out (test).
Data make_data(const Matrix& X0, DataKind kind, std::uint64_t seed, double holes = 0.3) {
  Data d;
  d.kind = kind;
  nmfx::Rng rng(seed ^ 0x9e3779b97f4a7c15ull);
  Matrix X = X0;
  if (kind == DataKind::dense) {
    d.dense = X;
  } else if (kind == DataKind::sparse) {
    for (double& v : X)
      if (rng.uniform() < holes) v = 0;
    d.sparse = csr(X, [&](std::size_t i, std::size_t j) { return X(i, j) != 0.0; });
  } else {
    Matrix mark = uniform(X.shape(0), X.shape(1), rng, 0, 1);
    d.sparse = csr(X, [&](std::size_t i, std::size_t j) { return mark(i, j) >= holes; });
    d.test = csr(X, [&](std::size_t i, std::size_t j) { return mark(i, j) < holes * 0.3; });
  }
  nmfx::finalize(d, "check-plugin");
  return d;
}

// The same matrix with row `row` (or column `col`) all zero; for observed data, unobserved.
Data with_zero_line(const Matrix& X0, DataKind kind, std::uint64_t seed, bool row, std::size_t index) {
  Matrix X = X0;
  if (row) {
    for (std::size_t j = 0; j < X.shape(1); ++j) X(index, j) = 0;
  } else {
    for (std::size_t i = 0; i < X.shape(0); ++i) X(i, index) = 0;
  }
  if (kind != DataKind::observed) return make_data(X, kind, seed);
  // Observed: the line has no known entry at all.
  Data o;
  o.kind = DataKind::observed;
  nmfx::Rng rng(seed ^ 0x9e3779b97f4a7c15ull);
  const Matrix mark = uniform(X.shape(0), X.shape(1), rng, 0, 1);
  auto on_line = [&](std::size_t i, std::size_t j) { return row ? i == index : j == index; };
  o.sparse = csr(X, [&](std::size_t i, std::size_t j) { return mark(i, j) >= 0.3 && !on_line(i, j); });
  nmfx::finalize(o, "check-plugin");
  return o;
}

DataKind kind_from(const std::string& s) {
  if (s == "dense") return DataKind::dense;
  if (s == "sparse") return DataKind::sparse;
  return DataKind::observed;
}

// "" when every entry is finite and >= 0, else where the first offender is.
std::string nonneg_finite(const Matrix& A, const char* name) {
  for (std::size_t i = 0; i < A.shape(0); ++i)
    for (std::size_t j = 0; j < A.shape(1); ++j) {
      const double v = A(i, j);
      if (!std::isfinite(v) || v < 0)
        return std::string(name) + "(" + std::to_string(i) + ", " + std::to_string(j) + ") = " + num(v);
    }
  return "";
}

double max_abs_diff(const Matrix& A, const Matrix& B) {
  double d = 0;
  for (std::size_t k = 0; k < A.size(); ++k) {
    const double x = A.data()[k], y = B.data()[k];
    if (std::isnan(x) != std::isnan(y)) return HUGE_VAL;
    if (!std::isnan(x)) d = std::max(d, std::abs(x - y));
  }
  return d;
}

double min_entry(const Matrix& A) {
  double m = HUGE_VAL;
  for (double v : A) m = std::min(m, v);
  return m;
}

// ---------------------------------------------------------------------------------------------
// The plugin under test

struct Target {
  const nmfx::LoadedPlugin* plugin = nullptr;
  json params;                       ///< resolved
  std::vector<std::string> missing;  ///< required parameters not given
};

struct Context {
  const nmfx::Registry& registry;
  const Options& options;
  fs::path tmp;  ///< scratch folder of this check
};

const nmfx::PluginDescriptor& desc(const Target& t) { return *t.plugin->descriptor; }

json default_params(const nmfx::Registry& registry, PluginKind kind, const std::string& name) {
  return nmfx::resolve_params(registry.require(kind, name)->descriptor->params, json::object());
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A descriptor's data kinds by name ("dense", "sparse", "observed"; anything else is not a kind).
std::vector<std::string> kind_names(const std::vector<DataKind>& kinds) {
  std::vector<std::string> names;
  for (DataKind k : kinds) names.push_back(to_string(k));
  return names;
}

// ---------------------------------------------------------------------------------------------
// Properties every plugin has

Lines check_descriptor(const Target& t) {
  const auto& d = desc(t);
  std::vector<std::string> problems;
  if (d.version.empty()) problems.push_back("empty version");
  if (d.description.empty()) problems.push_back("empty description");
  for (char c : d.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      problems.push_back("name '" + d.name + "' has characters other than letters, digits, '_', '-', '.'");
      break;
    }
  {
    if (d.data_kinds.empty()) problems.push_back("declares no data kind");
    for (const auto& k : kind_names(d.data_kinds))
      if (k != "dense" && k != "sparse" && k != "observed")
        problems.push_back("unknown data kind '" + k + "' (dense, sparse, observed)");
  }
  if (d.kind == PluginKind::solver && d.losses.empty()) problems.push_back("a solver that declares no loss");
  if (d.kind != PluginKind::solver && d.penalties)
    problems.push_back("penalties = true on a " + std::string(to_string(d.kind)));
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return {fail("descriptor", all)};
  }
  std::string what =
      "ABI " + std::to_string(d.abi_version) + ", " + std::string(to_string(d.kind)) + " '" + d.name + "' " + d.version;
  if (d.kind == PluginKind::solver) {
    std::string losses;
    for (const auto& l : d.losses) losses += (losses.empty() ? "" : ",") + l;
    what += ", losses " + losses;
  }
  {
    std::string kinds;
    for (const auto& k : kind_names(d.data_kinds)) kinds += (kinds.empty() ? "" : ",") + k;
    what += d.kind == PluginKind::dataset ? ", produces " + kinds : ", data " + kinds;
  }
  if (d.penalties) what += ", penalties";
  return {pass("descriptor", what)};
}

Lines check_schema(const Target& t) {
  const auto& d = desc(t);
  std::vector<std::string> problems;
  std::set<std::string> names;
  for (const auto& s : d.params) {
    if (s.name.empty()) problems.push_back("a parameter with no name");
    if (!names.insert(s.name).second) problems.push_back("'" + s.name + "' declared twice");
    if (s.doc.empty()) problems.push_back("'" + s.name + "' has no doc line");
    if (s.min && s.max && *s.min > *s.max) problems.push_back("'" + s.name + "' has min > max");
    if (s.type == nmfx::ParamType::choice && s.choices.empty())
      problems.push_back("'" + s.name + "' is a choice with no choices");
    if (s.default_value.is_null()) continue;  // required
    try {
      nmfx::resolve_params({s}, json{{s.name, s.default_value}});
    } catch (const nmfx::ParamError& e) {
      problems.push_back("default of '" + s.name + "' is invalid: " + e.what());
    }
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return {fail("parameter schema", all)};
  }
  return {pass("parameter schema", std::to_string(d.params.size()) + " parameter" + (d.params.size() == 1 ? "" : "s") +
                                       ", each with a type, a valid default (or required) and a doc line")};
}

template <class Interface>
Lines check_create(const Context& c, const Target& t) {
  auto object = c.registry.create<Interface>(desc(t).name, t.params);
  if (!object) return {fail("creates", "the factory returned null")};
  return {pass("creates", "an instance from its parameters " + t.params.dump())};
}

// ---------------------------------------------------------------------------------------------
// Analyses: a survey of ranks 2..4, four runs each, factors of a planted rank-3 matrix plus noise,
// with the final values rank-selection analyses read (loss, relative_error, train/test_rmse).

std::vector<nmfx::RunGroup> analysis_survey(std::vector<std::vector<std::pair<Matrix, Matrix>>>& factors) {
  std::vector<nmfx::RunGroup> groups;
  const std::size_t M = 20, N = 16, runs = 4;
  factors.clear();
  for (std::size_t rank = 2; rank <= 4; ++rank) {
    nmfx::RunGroup g;
    g.rank = rank;
    g.key = {{"rank", rank}};
    factors.emplace_back();
    for (std::size_t r = 0; r < runs; ++r) {
      nmfx::Rng rng(1000 * rank + r);
      Matrix W = uniform(M, rank, rng, 0.0, 1.0), H = uniform(rank, N, rng, 0.0, 1.0);
      factors.back().push_back({W, H});
      const double e = 1.0 / static_cast<double>(rank) + 0.01 * static_cast<double>(r);
      g.runs.push_back({{"id", "run" + std::to_string(rank) + "_" + std::to_string(r)},
                        {"cell", {{"rank", rank}, {"seed", r}}},
                        {"final",
                         {{"loss", e},
                          {"relative_error", e},
                          {"train_rmse", e},
                          {"test_rmse", e + 0.1 * static_cast<double>(rank)}}}});
    }
    const std::size_t index = factors.size() - 1;
    g.factor = [&factors, index](std::size_t run, const std::string& which) {
      return which == "W" ? factors[index][run].first : factors[index][run].second;
    };
    groups.push_back(std::move(g));
  }
  return groups;
}

Lines check_analysis(const Context& c, const Target& t) {
  const std::string p = "values on a survey of random runs";
  std::vector<std::vector<std::pair<Matrix, Matrix>>> factors;
  auto groups = analysis_survey(factors);
  auto analysis = c.registry.create<nmfx::Analysis>(desc(t).name, t.params);
  std::vector<nmfx::RankResult> results;
  for (auto& g : groups) {
    g.output_dir = c.tmp.string();
    g.file_prefix = "rank" + std::to_string(g.rank) + "_";
    const json first = analysis->analyze(g), second = analysis->analyze(g);
    if (!first.is_object() || !first.contains("values") || !first["values"].is_object())
      return {fail(p, "analyze() returned no \"values\" object: " + first.dump().substr(0, 200))};
    for (auto it = first["values"].begin(); it != first["values"].end(); ++it)
      if (!it->is_null() && !(it->is_number() && std::isfinite(it->get<double>())))
        return {fail(p, "value '" + it.key() + "' is neither a finite number nor null: " + it->dump())};
    if (first != second) return {fail(p, "two calls on the same group gave different results")};
    results.push_back({g.rank, first});
  }
  std::string why;
  const std::size_t chosen = analysis->choose(results, why);
  if (chosen != 0 && (chosen < 2 || chosen > 4))
    return {fail(p, "choose() returned rank " + std::to_string(chosen) + ", not one of the ranks 2..4 (or 0)")};
  return {pass(p, "finite, repeatable values at ranks 2..4; chooses " + (chosen ? std::to_string(chosen) : "none") +
                      (why.empty() ? "" : " (" + why + ")"))};
}

// ---------------------------------------------------------------------------------------------
// Solvers

constexpr std::size_t kM = 40, kN = 30, kRank = 4;

json random_init() { return {{"method", "random"}, {"distribution", "uniform"}, {"scale", "auto"}}; }

// A solver prepared on X with a loss, from the random initialisation of `seed`: the cell session
// every driver uses.
using SolverRun = nmfx::CellSession;

std::unique_ptr<SolverRun> start(const Context& c, const Target& t, const Data& X, const std::string& loss_name,
                                 std::size_t rank, std::uint64_t seed, nmfx::Penalty penalty = {}) {
  nmfx::SessionSetup setup;
  setup.solver = desc(t).name;
  setup.solver_params = t.params;
  setup.loss = loss_name;
  setup.rank = rank;
  setup.penalty = penalty;
  auto [W, H] = SolverRun::initial_factors(random_init(), "none", X, rank, seed, c.tmp.string(), 1);
  return std::make_unique<SolverRun>(c.registry, X, setup, std::move(W), std::move(H));
}

// "" if W and H keep their shapes and stay finite and nonnegative.
std::string factors_ok(const SolverRun& r, const Data& X, std::size_t rank) {
  if (r.W().shape(0) != X.rows() || r.W().shape(1) != rank || r.H().shape(0) != rank || r.H().shape(1) != X.cols())
    return "W is " + shape(r.W()) + " and H " + shape(r.H()) + " (expected " + std::to_string(X.rows()) + "x" +
           std::to_string(rank) + " and " + std::to_string(rank) + "x" + std::to_string(X.cols()) + ")";
  std::string bad = nonneg_finite(r.W(), "W");
  if (bad.empty()) bad = nonneg_finite(r.H(), "H");
  return bad;
}

struct Combo {
  DataKind kind;
  std::string loss;
  std::string label() const { return std::string("[") + to_string(kind) + ", " + loss + "]"; }
};

Lines solver_nonnegative(const Context& c, const Target& t, const Combo& k) {
  const std::string p = "nonnegative and finite " + k.label();
  const Data X = make_data(planted(kM, kN, kRank, 1), k.kind, 1);
  auto r = start(c, t, X, k.loss, kRank, 0);
  const int iterations = 30;
  for (int it = 1; it <= iterations; ++it) {
    r->step();
    const std::string bad = factors_ok(*r, X, kRank);
    if (!bad.empty()) return {fail(p, "after iteration " + std::to_string(it) + ": " + bad)};
  }
  return {pass(p, std::to_string(iterations) + " iterations on a " + std::to_string(kM) + "x" + std::to_string(kN) +
                      " planted problem: W, H >= 0 and finite (min W " + sci(min_entry(r->W())) + ", min H " +
                      sci(min_entry(r->H())) + ")")};
}

Lines solver_deterministic(const Context& c, const Target& t, const Combo& k) {
  const std::string p = "same seed, same iterates " + k.label();
  const Data X = make_data(planted(kM, kN, kRank, 2), k.kind, 2);
  auto a = start(c, t, X, k.loss, kRank, 7);
  auto b = start(c, t, X, k.loss, kRank, 7);
  for (int it = 1; it <= 10; ++it) {
    a->step();
    b->step();
    const double d = std::max(max_abs_diff(a->W(), b->W()), max_abs_diff(a->H(), b->H()));
    if (d != 0)
      return {fail(p, "two fresh instances from the same start differ by " + sci(d) + " after iteration " +
                          std::to_string(it) +
                          " (a solver that draws random numbers must seed them from a parameter, never from "
                          "the clock or std::random_device)")};
  }
  return {pass(p, "two fresh instances from the same start: identical W and H over 10 iterations")};
}

// The objective at iteration 0 and every 5th of 100, from the same random start.
Lines solver_decreases(const Context& c, const Target& t, const Combo& k, bool penalized) {
  const std::string p = std::string(penalized ? "objective with penalties decreases " : "loss decreases ") + k.label();
  const Data X = make_data(planted(kM, kN, kRank, 3), k.kind, 3);
  nmfx::Penalty penalty;
  if (penalized) penalty = {0.05, 0.05, 0.05, 0.05};
  auto r = start(c, t, X, k.loss, kRank, 3, penalty);
  const int iterations = 100, every = 5;
  std::vector<double> f{r->objective()};
  if (!std::isfinite(f[0])) return {skip(p, "the loss is not finite at the random start (" + num(f[0]) + ")")};
  for (int it = 1; it <= iterations; ++it) {
    r->step();
    if (it % every == 0) {
      f.push_back(r->objective());
      if (!std::isfinite(f.back()))
        return {fail(p, "the objective is " + num(f.back()) + " after iteration " + std::to_string(it))};
    }
  }
  const double f0 = f.front(), fe = f.back();
  if (!(fe < f0))
    return {fail(p, "from " + sci(f0) + " to " + sci(fe) + " in " + std::to_string(iterations) +
                        " iterations: no decrease on a planted rank-" + std::to_string(kRank) + " problem")};
  // Monotone at the checkpoints (descent methods are; stochastic or extrapolating ones need not be).
  int rises = 0;
  double worst = 0;
  std::size_t worst_at = 0;
  for (std::size_t i = 1; i < f.size(); ++i) {
    const double rise = (f[i] - f[i - 1]) / f0;
    if (rise > 1e-9) {
      ++rises;
      if (rise > worst) {
        worst = rise;
        worst_at = i * every;
      }
    }
  }
  Lines out{pass(p, "from " + sci(f0) + " to " + sci(fe) + " in " + std::to_string(iterations) + " iterations" +
                        (rises == 0 ? ", monotone at every 5th" : ""))};
  if (rises > 0)
    out.push_back(warn("monotone " + k.label(),
                       "rose " + std::to_string(rises) + " time(s) between checkpoints 5 iterations apart, at most " +
                           sci(worst) + " x the initial value (at iteration " + std::to_string(worst_at) +
                           "): fine for a stochastic or extrapolated method, a bug in a descent method"));
  return out;
}

Lines solver_zero_line(const Context& c, const Target& t, const Combo& k, bool row) {
  const std::string p = std::string("survives an all-zero ") + (row ? "row" : "column") + " of X " + k.label();
  const Data X = with_zero_line(planted(kM, kN, kRank, 4), k.kind, 4, row, 5);
  std::unique_ptr<SolverRun> r;
  const int iterations = 30;
  try {
    r = start(c, t, X, k.loss, kRank, 4);
    for (int it = 1; it <= iterations; ++it) {
      r->step();
      const std::string bad = factors_ok(*r, X, kRank);
      if (!bad.empty()) return {fail(p, "after iteration " + std::to_string(it) + ": " + bad)};
    }
  } catch (const nmfx::Error& e) {
    return {pass(p, std::string("refused with nmfx::Error: ") + e.what())};
  } catch (const std::exception& e) {
    return {fail(p, std::string("threw an exception that is not nmfx::Error: ") + e.what())};
  }
  const double f = r->objective();
  if (!std::isfinite(f))
    return {fail(p, "the loss is " + num(f) + " after " + std::to_string(iterations) + " iterations")};
  return {pass(p, std::to_string(iterations) + " iterations, W and H finite and >= 0, loss " + sci(f))};
}

Lines solver_stats(const Context& c, const Target& t, const Combo& k) {
  const std::string p = "inner statistics";
  const Data X = make_data(planted(kM, kN, kRank, 5), k.kind, 5);
  auto r = start(c, t, X, k.loss, kRank, 5);
  nmfx::Values v;
  for (int it = 0; it < 3; ++it) {
    r->step();
    v = r->solver().stats();
    for (const auto& [name, value] : v)
      if (!std::isfinite(value)) return {fail(p, "stats() reports " + name + " = " + num(value))};
  }
  const auto& columns = nmfx::Trace::reserved_columns();
  const std::set<std::string> reserved(columns.begin(), columns.end());
  std::string names;
  for (const auto& [name, value] : v) {
    if (reserved.count(name)) return {fail(p, "stats() reports '" + name + "', a column the runner writes itself")};
    names += (names.empty() ? "" : ", ") + name;
  }
  return {pass(p, v.empty() ? "stats() reports nothing (allowed)" : "stats() reports finite " + names)};
}

// The runner's view of the solver: a grid of one cell on the built-in synthetic dataset.
struct Grid {
  std::string status, message, stop_reason;
  double solver_seconds = 0;
  std::size_t iterations = 0;
};

// A generator dataset plugin for the runner's checks, giving `kind` data of about m x n: synthetic
// (dense) or synthetic_ratings (observed), when installed and taking these parameters.
struct Generator {
  std::string name;
  json params;
  std::string kind;
};

std::optional<Generator> generator(const nmfx::Registry& registry, DataKind kind, bool tiny) {
  Generator g;
  g.kind = to_string(kind);
  if (kind == DataKind::dense) {
    g.name = "synthetic";
    g.params = tiny ? json{{"m", 8}, {"n", 6}, {"rank", 2}} : json{{"m", 300}, {"n", 200}, {"rank", 10}, {"seed", 1}};
  } else if (kind == DataKind::observed) {
    g.name = "synthetic_ratings";
    g.params = tiny ? json{{"users", 8}, {"items", 6}, {"ratings", 30}, {"rank", 2}, {"min_user_ratings", 1}}
                    : json{{"users", 300}, {"items", 200}, {"ratings", 8000}, {"rank", 10}, {"min_user_ratings", 5}};
  } else {
    return std::nullopt;
  }
  const nmfx::LoadedPlugin* p = registry.find(PluginKind::dataset, g.name);
  if (!p) return std::nullopt;
  try {
    g.params = nmfx::resolve_params(p->descriptor->params, g.params);
  } catch (const nmfx::ParamError&) {
    return std::nullopt;  // another dataset of that name, with other parameters
  }
  return g;
}

Grid run_one_cell(const Context& c, const Target& t, const std::string& loss, const Generator& data, long long rank,
                  const json& stopping, const std::string& folder) {
  const fs::path dir = c.tmp / folder;
  fs::create_directories(dir);
  // A grid needs a metric: relative_error, or the first that declares this data kind.
  std::string metric;
  std::vector<std::string> metrics = c.registry.names(PluginKind::metric);
  metrics.insert(metrics.begin(), "relative_error");
  for (const auto& m : metrics)
    if (const auto* mp = c.registry.find(PluginKind::metric, m);
        mp && contains(kind_names(mp->descriptor->data_kinds), data.kind)) {
      metric = m;
      break;
    }
  if (metric.empty())
    throw nmfx::Error(std::string("no metric plugin accepts ") + data.kind + " data; a grid needs one");
  std::ofstream(dir / "spec.yaml") << "# written by nmfx check-plugin\n"
                                   << "name: check\n"
                                   << "datasets: [{name: " << json(data.name).dump()
                                   << ", params: " << data.params.dump() << "}]\n"
                                   << "solvers: [{name: " << json(desc(t).name).dump()
                                   << ", params: " << t.params.dump() << "}]\n"
                                   << "losses: [" << json(loss).dump() << "]\n"
                                   << "metrics: [" << json(metric).dump() << "]\n"
                                   << "ranks: [" << rank << "]\n"
                                   << "seeds: [0]\n"
                                   << "stopping: " << stopping.dump() << "\n"
                                   << "checkpoints: {every: " << stopping.value("max_iter", 100) << "}\n"
                                   << "threads: 1\n"
                                   << "output: out\n";
  const nmfx::Spec spec = nmfx::parse_spec((dir / "spec.yaml").string());
  nmfx::validate_spec(spec, c.registry);
  const auto cells = nmfx::expand_grid(spec, c.registry);
  std::ostringstream progress;
  nmfx::RunOptions options;
  options.force = true;
  options.output = (dir / "out").string();
  const auto summary = nmfx::run_grid(spec, cells, c.registry, options, progress);
  const nmfx::CellOutcome& r = summary.outcomes.at(0);
  Grid g;
  g.status = r.status;
  g.message = r.message;
  g.stop_reason = r.stop_reason;
  g.solver_seconds = r.solver_seconds;
  g.iterations = static_cast<std::size_t>(r.iterations);
  return g;
}

Lines solver_rank_refused(const Context& c, const Target& t, const Combo& k) {
  const std::string p = "rank > min(M, N) refused (runner) " + k.label();
  const auto data = generator(c.registry, k.kind, true);
  if (!data) return {skip(p, "needs the built-in generator dataset for this data kind")};
  const Grid g = run_one_cell(c, t, k.loss, *data, 7, {{"max_iter", 5}}, "rank");
  if (g.status == "failed" && g.message.find("rank") != std::string::npos)
    return {pass(p, "rank 7 on a " + data->name + " X of min(M, N) = 6: the cell failed cleanly: " + g.message)};
  return {fail(p, "rank 7 on a " + data->name + " X of min(M, N) = 6: status " + g.status +
                      (g.message.empty() ? "" : ": " + g.message))};
}

Lines solver_max_time(const Context& c, const Target& t, const Combo& k) {
  const std::string p = "honours max_time_s (runner) " + k.label();
  const auto data = generator(c.registry, k.kind, false);
  if (!data) return {skip(p, "needs the built-in generator dataset for this data kind")};
  const long long rank = 10;
  // The longest of a few steps, measured directly on the same problem.
  double longest = 0;
  {
    auto dataset = c.registry.create<nmfx::Dataset>(data->name, data->params);
    Data X = dataset->load();
    nmfx::finalize(X, data->name);
    auto r = start(c, t, X, k.loss, rank, 0);
    for (int i = 0; i < 10; ++i) {
      const auto t0 = Clock::now();
      r->step();
      longest = std::max(longest, std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  const double limit = 0.2;
  const Grid g = run_one_cell(c, t, k.loss, *data, rank, {{"max_iter", 100000000}, {"max_time_s", limit}}, "time");
  if (g.status != "ok") return {fail(p, "the cell " + g.status + ": " + g.message)};
  const double bound = limit + 5 * longest + 0.1;  // 0.1 s of slack for a loaded machine
  const std::string facts = "max_time_s " + num(limit) + " on " + data->name + ": stopped by " + g.stop_reason +
                            " after " + std::to_string(g.iterations) + " iterations, " + num(g.solver_seconds) +
                            " solver seconds (longest step " + sci(longest) + " s, bound " + num(bound) + ")";
  if (g.stop_reason != "max_time_s" || g.solver_seconds > bound) return {fail(p, facts)};
  return {pass(p, facts)};
}

// ---------------------------------------------------------------------------------------------
// Datasets

bool same_csr(const nmfx::SparseMatrix& a, const nmfx::SparseMatrix& b) {
  return a.rows == b.rows && a.cols == b.cols && a.indptr == b.indptr && a.indices == b.indices && a.values == b.values;
}

Lines check_dataset(const Context& c, const Target& t) {
  Lines out;
  const std::string name = desc(t).name;
  auto load = [&] {
    auto ds = c.registry.create<nmfx::Dataset>(name, t.params);
    return ds->load();
  };
  const auto t0 = Clock::now();
  Data X;
  try {
    X = load();
  } catch (const std::exception& e) {
    return {fail("loads", std::string("load() threw: ") + e.what())};
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  out.push_back(pass("loads", std::string(to_string(X.kind)) + " X in " + num(seconds) + " s"));
  if (!contains(kind_names(desc(t).data_kinds), to_string(X.kind)))
    out.push_back(fail(
        "declared kind", std::string("load() returned ") + to_string(X.kind) + " data; the descriptor declares " + [&] {
          std::string all;
          for (const auto& k : kind_names(desc(t).data_kinds)) all += (all.empty() ? "" : ", ") + k;
          return all;
        }()));

  // Shape.
  std::string bad;
  const bool sparse = X.is_sparse_storage();
  auto check_csr = [&](const nmfx::SparseMatrix& S, const char* what) -> std::string {
    if (S.indptr.size() != S.rows + 1)
      return std::string(what) + ": indptr has " + std::to_string(S.indptr.size()) + " entries for " +
             std::to_string(S.rows) + " rows";
    if (S.indptr.front() != 0 || S.indptr.back() != S.values.size() || S.indices.size() != S.values.size())
      return std::string(what) + ": indptr, indices and values disagree";
    for (std::size_t i = 0; i < S.rows; ++i) {
      if (S.indptr[i] > S.indptr[i + 1]) return std::string(what) + ": indptr decreases at row " + std::to_string(i);
      for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k)
        if (S.indices[k] >= S.cols || (k > S.indptr[i] && S.indices[k] <= S.indices[k - 1]))
          return std::string(what) + ": row " + std::to_string(i) + " has a column index out of range or out of order";
    }
    return "";
  };
  if (X.rows() == 0 || X.cols() == 0)
    bad = "X is empty (" + std::to_string(X.rows()) + "x" + std::to_string(X.cols()) + ")";
  if (bad.empty() && sparse) bad = check_csr(X.sparse, X.kind == DataKind::observed ? "training entries" : "CSR");
  if (bad.empty() && X.kind == DataKind::observed && X.test.rows + X.test.cols > 0) {
    if (X.test.rows != X.sparse.rows || X.test.cols != X.sparse.cols) bad = "test entries have another shape than X";
    if (bad.empty()) bad = check_csr(X.test, "test entries");
  }
  if (bad.empty() && !sparse && X.dense.dimension() != 2) bad = "dense X is not 2-D";
  if (!bad.empty()) {
    out.push_back(fail("shape consistent", bad));
  } else {
    out.push_back(
        pass("shape consistent", std::to_string(X.rows()) + "x" + std::to_string(X.cols()) +
                                     (sparse ? ", " + std::to_string(X.sparse.nnz()) + " stored entries" : "")));
  }
  // Finite, nonnegative.
  std::size_t nonfinite = 0, negative = 0;
  auto scan = [&](const double* v, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
      nonfinite += !std::isfinite(v[k]);
      negative += v[k] < 0;
    }
  };
  if (sparse) {
    scan(X.sparse.values.data(), X.sparse.values.size());
    scan(X.test.values.data(), X.test.values.size());
  } else {
    scan(X.dense.data(), X.dense.size());
  }
  out.push_back(nonfinite ? fail("finite", std::to_string(nonfinite) + " NaN/Inf entries")
                          : pass("finite", "every entry"));
  out.push_back(negative ? fail("nonnegative", std::to_string(negative) + " negative entries")
                         : pass("nonnegative", "every entry"));
  // The framework's own checks.
  try {
    Data copy = X;
    nmfx::finalize(copy, name);
    out.push_back(pass("accepted by the runner (finalize)", "||X||_F = " + sci(std::sqrt(copy.norm_sq)) + ", mean " +
                                                                sci(copy.mean) + ", nnz " + std::to_string(copy.nnz)));
  } catch (const std::exception& e) {
    out.push_back(fail("accepted by the runner (finalize)", e.what()));
  }
  // Deterministic.
  try {
    const Data Y = load();
    std::string diff;
    if (Y.kind != X.kind)
      diff = "kind differs";
    else if (Y.rows() != X.rows() || Y.cols() != X.cols())
      diff = "shape differs";
    else if (!sparse && !(Y.dense == X.dense))
      diff = "dense values differ";
    else if (sparse && !same_csr(X.sparse, Y.sparse))
      diff = "stored entries differ";
    else if (sparse && !same_csr(X.test, Y.test))
      diff = "test entries differ";
    else if (Y.info != X.info)
      diff = "info differs";
    out.push_back(diff.empty() ? pass("deterministic", "a second fresh instance loads the same X (and info)")
                               : fail("deterministic", "a second fresh instance with the same parameters: " + diff));
  } catch (const std::exception& e) {
    out.push_back(fail("deterministic", std::string("the second load() threw: ") + e.what()));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Losses

constexpr std::size_t kLM = 12, kLN = 9, kLRank = 3;

Lines check_loss(const Context& c, const Target& t, DataKind kind) {
  const std::string sfx = std::string(" [") + to_string(kind) + "]";
  Lines out;
  nmfx::Rng rng(11);
  const Matrix X0 = uniform(kLM, kLN, rng, 0.1, 2.0);
  const Data X = make_data(X0, kind, 11);
  const Matrix W = uniform(kLM, kLRank, rng, 0.1, 1.1), H = uniform(kLRank, kLN, rng, 0.1, 1.1);
  auto loss = c.registry.create<nmfx::Loss>(desc(t).name, t.params);
  loss->prepare(X, kLRank);

  // Value.
  const double f = loss->value(X, W, H);
  if (!std::isfinite(f) || f < 0) {
    out.push_back(fail("value >= 0" + sfx, "value " + num(f) + " at random factors"));
    return out;
  }
  out.push_back(pass("value >= 0" + sfx, "value " + sci(f) + " at random " + std::to_string(kLM) + "x" +
                                             std::to_string(kLRank) + " and " + std::to_string(kLRank) + "x" +
                                             std::to_string(kLN) + " factors"));

  // The split.
  Matrix pW = Matrix::from_shape({kLM, kLRank}), nW = pW, pH = Matrix::from_shape({kLRank, kLN}), nH = pH;
  loss->gradient_W(X, W, H, pW, nW);
  loss->gradient_H(X, W, H, pH, nH);
  std::string bad = nonneg_finite(pW, "pos_W");
  if (bad.empty()) bad = nonneg_finite(nW, "neg_W");
  if (bad.empty()) bad = nonneg_finite(pH, "pos_H");
  if (bad.empty()) bad = nonneg_finite(nH, "neg_H");
  out.push_back(bad.empty() ? pass("gradient split nonnegative" + sfx, "pos >= 0 and neg >= 0, finite, for W and H")
                            : fail("gradient split nonnegative" + sfx, bad + " (both parts must be >= 0 elementwise)"));

  // Gradient against central finite differences of the value: along a random direction, and entrywise.
  auto fd_check = [&](bool of_W) {
    const Matrix& A = of_W ? W : H;
    const Matrix G = of_W ? Matrix(pW - nW) : Matrix(pH - nH);
    double gmax = 0;
    for (double g : G) gmax = std::max(gmax, std::abs(g));
    double amean = 0;
    for (double a : A) amean += a;
    amean /= static_cast<double>(A.size());
    const double h = 1e-5 * amean;
    auto value_at = [&](const Matrix& D, double step) {
      Matrix B = A + step * D;
      return of_W ? loss->value(X, B, H) : loss->value(X, W, B);
    };
    double worst = 0;  // error / tolerance
    std::string where;
    double worst_rel = 0;
    auto compare = [&](const Matrix& D, const std::string& what, double scale) {
      const double exact = xt::sum(G * D)();
      const double fd = (value_at(D, h) - value_at(D, -h)) / (2 * h);
      const double err = std::abs(fd - exact);
      const double tol = 1e-5 * std::max(std::abs(exact), std::abs(fd)) + 1e-7 * gmax * scale;
      const double rel = err / std::max({std::abs(exact), std::abs(fd), 1e-300});
      worst_rel = std::max(worst_rel, rel);
      if (err / tol > worst) {
        worst = err / tol;
        where = what + ": gradient " + sci(exact) + ", finite difference " + sci(fd);
      }
    };
    nmfx::Rng drng(of_W ? 21 : 22);
    Matrix D = uniform(A.shape(0), A.shape(1), drng, -1, 1);
    double dnorm = 0;
    for (double d : D) dnorm += std::abs(d);
    compare(D, "along a random direction", dnorm);
    for (int e = 0; e < 6; ++e) {
      const std::size_t i = static_cast<std::size_t>(drng.uniform() * static_cast<double>(A.shape(0)));
      const std::size_t j = static_cast<std::size_t>(drng.uniform() * static_cast<double>(A.shape(1)));
      Matrix E = xt::zeros<double>(A.shape());
      E(i, j) = 1;
      compare(E, std::string(of_W ? "W" : "H") + "(" + std::to_string(i) + ", " + std::to_string(j) + ")", 1);
    }
    return std::make_tuple(worst <= 1.0, worst_rel, where);
  };
  for (bool of_W : {true, false}) {
    const std::string prop = std::string("gradient matches value, ") + (of_W ? "W" : "H") + sfx;
    const auto [ok, rel, where] = fd_check(of_W);
    out.push_back(
        ok ? pass(prop,
                  "central differences along a random direction and 6 entries, largest relative error " + sci(rel))
           : fail(prop, "pos - neg disagrees with central differences of value(): " + where));
  }

  // Zero (or minimal) at an exact factorization.
  {
    nmfx::Rng erng(33);
    const Matrix W0 = uniform(kLM, kLRank, erng, 0.1, 1.1), H0 = uniform(kLRank, kLN, erng, 0.1, 1.1);
    const Data E = make_data(product(W0, H0), kind, 33, 0.0);
    auto l2 = c.registry.create<nmfx::Loss>(desc(t).name, t.params);
    l2->prepare(E, kLRank);
    const double f0 = l2->value(E, W0, H0);
    const double fr = l2->value(E, W, H);
    const std::string prop = "minimal at an exact factorization" + sfx;
    if (!std::isfinite(f0) || f0 < 0) {
      out.push_back(fail(prop, "value " + num(f0) + " at X = W0 H0"));
    } else if (f0 <= 1e-10 * fr) {
      Matrix gp = Matrix::from_shape({kLM, kLRank}), gn = gp;
      l2->gradient_W(E, W0, H0, gp, gn);
      double diff = 0, size = 0;
      for (std::size_t k = 0; k < gp.size(); ++k) {
        diff += std::pow(gp.data()[k] - gn.data()[k], 2);
        size += std::pow(gp.data()[k], 2) + std::pow(gn.data()[k], 2);
      }
      const double rel = std::sqrt(diff / std::max(size, 1e-300));
      out.push_back(
          rel <= 1e-8
              ? pass(prop, "value " + sci(f0) + " at X = W0 H0 (" + sci(fr) + " at random factors), gradient " +
                               sci(rel) + " relative")
              : fail(prop, "value " + sci(f0) +
                               " at X = W0 H0, but the gradient there is not zero: ||pos - neg|| / ||(pos, neg)|| = " +
                               sci(rel)));
    } else {
      // Not zero: it must at least be a local minimum (a loss with a built-in regularizer).
      double lowest = HUGE_VAL;
      for (int k = 0; k < 10; ++k) {
        Matrix Wp = W0, Hp = H0;
        for (double& v : Wp) v *= 1 + 0.01 * (2 * erng.uniform() - 1);
        for (double& v : Hp) v *= 1 + 0.01 * (2 * erng.uniform() - 1);
        lowest = std::min(lowest, l2->value(E, Wp, Hp));
      }
      out.push_back(
          lowest >= f0 * (1 - 1e-9)
              ? pass(prop, "value " + sci(f0) + " at X = W0 H0 is not zero, but no nearby point is lower")
              : fail(prop, "value " + sci(f0) + " at X = W0 H0, and a point 1% away is lower (" + sci(lowest) + ")"));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Metrics

Lines check_metric(const Context& c, const Target& t, DataKind kind) {
  const std::string sfx = std::string(" [") + to_string(kind) + "]";
  const std::string prop = "finite on random factors" + sfx;
  // The cell's loss: frobenius, or the first loss that accepts this kind of data.
  std::string loss_name;
  std::vector<std::string> losses = c.registry.names(PluginKind::loss);
  losses.insert(losses.begin(), "frobenius");
  for (const auto& n : losses)
    if (const auto* lp = c.registry.find(PluginKind::loss, n);
        lp && contains(kind_names(lp->descriptor->data_kinds), to_string(kind))) {
      loss_name = n;
      break;
    }
  if (loss_name.empty()) return {skip(prop, std::string("no loss plugin accepts ") + to_string(kind) + " data")};
  nmfx::Rng rng(44);
  const std::size_t M = 15, N = 12, L = 3;
  const Data X = make_data(planted(M, N, L, 44, 0.1), kind, 44);
  Matrix W = uniform(M, L, rng, 0.0, 1.0), H = uniform(L, N, rng, 0.0, 1.0);
  auto loss = c.registry.create<nmfx::Loss>(loss_name, default_params(c.registry, PluginKind::loss, loss_name));
  loss->prepare(X, L);
  auto metric = c.registry.create<nmfx::Metric>(desc(t).name, t.params);
  std::map<std::string, std::shared_ptr<nmfx::Loss>> others;
  auto loss_of = [&](const std::string& name) {
    auto& l = others[name];
    if (!l) {
      l = c.registry.create<nmfx::Loss>(name, default_params(c.registry, PluginKind::loss, name));
      l->prepare(X, L);
    }
    return l->value(X, W, H);
  };
  const nmfx::Penalty penalty;
  const json cell = {{"dataset", {{"name", "check"}, {"params", json::object()}}},
                     {"solver", {{"name", "check"}, {"params", json::object()}}},
                     {"loss", {{"name", loss_name}, {"params", json::object()}}},
                     {"rank", L},
                     {"seed", 0},
                     {"init", random_init()},
                     {"init_scaling", "none"},
                     {"regularization", {{"alpha_W", 0.0}, {"alpha_H", 0.0}, {"l1_ratio", 0.0}}},
                     {"stopping", {{"max_iter", 20}, {"max_time_s", 0.0}, {"tol", 0.0}, {"pg_tol", 0.0}}},
                     {"checkpoints", {{"every", 10}}},
                     {"metrics", json::array({{{"name", desc(t).name}, {"params", t.params}}})},
                     {"threads", 1}};
  json trace = json::object();
  nmfx::Values v;
  // Three checkpoints, as the runner makes them: the trace already holds this row's loss.
  for (std::size_t row = 0; row < 3; ++row) {
    const std::size_t iteration = row * 10;
    if (row > 0) {
      for (double& w : W) w *= 0.9 + 0.2 * rng.uniform();
      for (double& h : H) h *= 0.9 + 0.2 * rng.uniform();
    }
    const double value = loss->value(X, W, H);
    trace["iteration"].push_back(iteration);
    trace["solver_seconds"].push_back(0.001 * static_cast<double>(row));
    trace["loss"].push_back(value);
    nmfx::MetricContext context{X, W, H, iteration, value, loss_name, *loss, penalty, L, cell, trace, loss_of};
    v = metric->evaluate(context);
    for (const auto& [name, x] : v) {
      if (!std::isfinite(x))
        return {fail(prop, name + " = " + num(x) + " at checkpoint " + std::to_string(row) + " (iteration " +
                               std::to_string(iteration) + ")")};
      trace[name].push_back(x);
    }
    trace["eval_seconds"].push_back(0.0);
  }
  const auto& columns = nmfx::Trace::reserved_columns();
  const std::set<std::string> reserved(columns.begin(), columns.end());
  std::string names;
  for (const auto& [name, x] : v) {
    if (reserved.count(name)) return {fail(prop, "returns '" + name + "', a trace column the runner writes itself")};
    names += (names.empty() ? "" : ", ") + name + " = " + num(x, 4);
  }
  if (v.empty()) return {warn(prop, "evaluate() returns no values")};
  return {pass(prop, "3 checkpoints on a " + std::to_string(M) + "x" + std::to_string(N) + " X, rank " +
                         std::to_string(L) + ", loss " + loss_name + "; last: " + names)};
}

// ---------------------------------------------------------------------------------------------
// One plugin

struct Tally {
  int passed = 0, failed = 0, skipped = 0, warned = 0;
};

void print(std::ostream& out, const Lines& lines, Tally& tally) {
  for (const auto& l : lines) {
    out << "  " << tag(l.status) << "  " << l.property << ": " << l.reason << std::endl;
    switch (l.status) {
      case Status::pass:
        ++tally.passed;
        break;
      case Status::fail:
        ++tally.failed;
        break;
      case Status::skip:
        ++tally.skipped;
        break;
      case Status::warn:
        ++tally.warned;
        break;
    }
  }
}

// Converts "key=value" to the schema's type.
json parse_params(const nmfx::PluginDescriptor& d, const std::vector<std::string>& given) {
  json out = json::object();
  for (const auto& kv : given) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw nmfx::Error("--param '" + kv + "': expected key=value");
    const std::string key = kv.substr(0, eq), text = kv.substr(eq + 1);
    const nmfx::ParamSpec* spec = nullptr;
    for (const auto& s : d.params)
      if (s.name == key) spec = &s;
    if (!spec) {
      std::vector<std::string> names;
      for (const auto& s : d.params) names.push_back(s.name);
      const std::string near = nmfx::nearest(key, names);
      throw nmfx::Error("--param " + key + ": unknown parameter of " + to_string(d.kind) + " '" + d.name + "'" +
                        (near.empty() ? "" : "; did you mean '" + near + "'?"));
    }
    json v = text;
    try {
      switch (spec->type) {
        case nmfx::ParamType::integer: {
          std::size_t used = 0;
          v = std::stoll(text, &used);
          if (used != text.size()) v = std::stod(text);
          break;
        }
        case nmfx::ParamType::real:
          v = std::stod(text);
          break;
        case nmfx::ParamType::boolean:
          if (text == "true" || text == "1")
            v = true;
          else if (text == "false" || text == "0")
            v = false;
          break;
        case nmfx::ParamType::path:
          if (!text.empty() && fs::path(text).is_relative()) v = fs::absolute(text).lexically_normal().string();
          break;
        default:
          break;
      }
    } catch (const std::exception&) {
      // left as a string: resolve_params names the type it expected
    }
    out[key] = v;
  }
  return out;
}

Target resolve_target(const nmfx::LoadedPlugin* p, const Options& options) {
  Target t;
  t.plugin = p;
  const json given = parse_params(*p->descriptor, options.params);
  json with_missing = given;
  for (const auto& s : p->descriptor->params)
    if (s.default_value.is_null() && !given.contains(s.name)) {
      t.missing.push_back(s.name);
      // A placeholder of the right type, so that the rest of the schema is still checked.
      with_missing[s.name] = s.type == nmfx::ParamType::integer || s.type == nmfx::ParamType::real ? json(0) : json("");
    }
  try {
    t.params = nmfx::resolve_params(p->descriptor->params, with_missing);
  } catch (const nmfx::ParamError& e) {
    if (std::find(t.missing.begin(), t.missing.end(), e.key) == t.missing.end())
      throw nmfx::Error(std::string("--param: ") + e.what() + " of " + to_string(p->descriptor->kind) + " '" +
                        p->descriptor->name + "'");
  }
  return t;
}

Tally check_one(const nmfx::Registry& registry, const nmfx::LoadedPlugin* p, const Options& options,
                const fs::path& tmp, std::ostream& out) {
  const auto& d = *p->descriptor;
  out << to_string(d.kind) << " '" << d.name << "' " << d.version << " (" << p->path << ")" << std::endl;
  Tally tally;
  const Target t = resolve_target(p, options);
  const fs::path dir = tmp / (std::string(to_string(d.kind)) + "_" + d.name);
  fs::create_directories(dir);
  const Context c{registry, options, dir};
  auto run = [&](const std::string& property, const std::function<Lines()>& fn) {
    print(out, isolated(fn, property, options), tally);
  };
  run("descriptor", [&] { return check_descriptor(t); });
  run("parameter schema", [&] { return check_schema(t); });
  if (!t.missing.empty()) {
    std::string names;
    for (const auto& m : t.missing) names += (names.empty() ? "" : ", ") + m;
    print(out, {skip("behaviour", "needs parameters: " + names + " (pass them with --param key=value)")}, tally);
    return tally;
  }

  switch (d.kind) {
    case PluginKind::dataset:
      run("loads", [&] { return check_dataset(c, t); });
      break;

    case PluginKind::loss:
      run("creates", [&] { return check_create<nmfx::Loss>(c, t); });
      for (const auto& k : kind_names(d.data_kinds))
        if (k == "dense" || k == "sparse" || k == "observed")
          run(std::string("loss properties [") + k + "]", [&] { return check_loss(c, t, kind_from(k)); });
      break;

    case PluginKind::metric:
      run("creates", [&] { return check_create<nmfx::Metric>(c, t); });
      for (const auto& k : kind_names(d.data_kinds))
        if (k == "dense" || k == "sparse" || k == "observed")
          run(std::string("finite on random factors [") + k + "]", [&] { return check_metric(c, t, kind_from(k)); });
      break;

    case PluginKind::analysis:
      run("creates", [&] { return check_create<nmfx::Analysis>(c, t); });
      run("values on a survey of random runs", [&] { return check_analysis(c, t); });
      break;

    case PluginKind::solver: {
      run("creates", [&] { return check_create<nmfx::Solver>(c, t); });
      // The losses to try: those declared (frobenius and kl for "any"), as far as they are installed.
      std::vector<std::string> losses;
      if (contains(d.losses, "*")) {
        losses = {"frobenius", "kl"};
      } else {
        losses = d.losses;
      }
      std::vector<std::string> available;
      for (const auto& l : losses) {
        if (registry.find(PluginKind::loss, l)) {
          available.push_back(l);
        } else {
          print(out, {skip("loss '" + l + "'", "no loss plugin of that name is installed")}, tally);
        }
      }
      std::vector<Combo> combos;
      for (const auto& k : kind_names(d.data_kinds)) {
        if (k != "dense" && k != "sparse" && k != "observed") continue;
        bool any = false;
        for (const auto& l : available)
          if (contains(kind_names(registry.require(PluginKind::loss, l)->descriptor->data_kinds), k)) {
            combos.push_back({kind_from(k), l});
            any = true;
          }
        if (!any) print(out, {skip(k + " data", "no declared loss that is installed accepts " + k + " data")}, tally);
      }
      if (combos.empty()) break;
      for (const auto& k : combos) {
        run("nonnegative and finite " + k.label(), [&] { return solver_nonnegative(c, t, k); });
        run("same seed, same iterates " + k.label(), [&] { return solver_deterministic(c, t, k); });
        run("loss decreases " + k.label(), [&] { return solver_decreases(c, t, k, false); });
        run("survives an all-zero row of X " + k.label(), [&] { return solver_zero_line(c, t, k, true); });
        run("survives an all-zero column of X " + k.label(), [&] { return solver_zero_line(c, t, k, false); });
      }
      const Combo first = combos.front();
      if (d.penalties)
        run("objective with penalties decreases " + first.label(), [&] { return solver_decreases(c, t, first, true); });
      run("inner statistics", [&] { return solver_stats(c, t, first); });
      // Through the runner, on the first combination a built-in generator dataset can feed.
      const Combo* runner_combo = nullptr;
      for (const auto& k : combos)
        if (generator(registry, k.kind, false)) {
          runner_combo = &k;
          break;
        }
      if (!runner_combo) {
        print(out,
              {skip("runner properties",
                    "no built-in generator dataset (synthetic: dense, synthetic_ratings: "
                    "observed) gives data this solver accepts")},
              tally);
      } else {
        const Combo k = *runner_combo;
        run("rank > min(M, N) refused (runner) " + k.label(), [&] { return solver_rank_refused(c, t, k); });
        run("honours max_time_s (runner) " + k.label(), [&] { return solver_max_time(c, t, k); });
      }
      break;
    }
  }
  return tally;
}

}  // namespace

int run(const Options& options, std::ostream& out) {
  if (options.targets.empty() && !options.all)
    throw nmfx::Error("check-plugin: give a plugin library or name, or --all");
  if (!options.kind.empty() && options.kind != "dataset" && options.kind != "loss" && options.kind != "solver" &&
      options.kind != "metric" && options.kind != "analysis")
    throw nmfx::Error("check-plugin: --kind must be dataset, loss, solver, metric or analysis, not '" + options.kind +
                      "'");

  // A scratch folder: links to the libraries given by path (the registry scans folders), and the
  // runner's spec and results.
  std::string pattern = (fs::temp_directory_path() / "nmfx-check-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw nmfx::Error("check-plugin: cannot create a temporary folder");
  const fs::path tmp = pattern;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{tmp};
  const fs::path links = tmp / "plugins";
  fs::create_directories(links);

  std::vector<std::string> paths;  // canonical paths of the libraries given by path
  std::vector<std::string> names;
  int n = 0;
  for (const auto& target : options.targets) {
    const bool looks_like_path = target.find('/') != std::string::npos || fs::path(target).extension() == ".so";
    if (looks_like_path || fs::exists(target)) {
      if (!fs::is_regular_file(target)) throw nmfx::Error("check-plugin: no such file: " + target);
      const std::string canonical = fs::canonical(target).string();
      fs::create_symlink(canonical, links / (std::to_string(n++) + "_" + fs::path(target).filename().string()));
      paths.push_back(canonical);
    } else {
      names.push_back(target);
    }
  }

  // The checks run single-threaded, so that iterates are reproducible to the last bit.
  nmfx::set_threads(1);
  std::vector<std::string> dirs = nmfx::plugin_dirs({links.string()});
  nmfx::Registry registry;
  registry.scan(dirs);

  std::vector<const nmfx::LoadedPlugin*> chosen;
  int refused = 0;
  for (const auto& path : paths) {
    const nmfx::LoadedPlugin* found = nullptr;
    for (const auto* p : registry.list())
      if (fs::weakly_canonical(p->path).string() == path) found = p;
    if (found) {
      chosen.push_back(found);
      continue;
    }
    // Not loaded: say why, as a failed "loads" property.
    std::string why = "exports no nmfx_abi_version: not an nmfx plugin (does it end with NMFX_EXPORT_PLUGIN?)";
    for (const auto& problem : registry.problems())
      if (problem.find(path) != std::string::npos) why = problem;
    out << path << std::endl << "  FAIL  loads: " << why << std::endl;
    ++refused;
  }
  for (const auto& name : names) {
    std::vector<const nmfx::LoadedPlugin*> matches;
    for (const auto* p : registry.list())
      if (p->descriptor->name == name && (options.kind.empty() || options.kind == to_string(p->descriptor->kind)))
        matches.push_back(p);
    if (matches.empty()) {
      std::vector<std::string> all;
      for (const auto* p : registry.list()) all.push_back(p->descriptor->name);
      const std::string near = nmfx::nearest(name, all);
      throw nmfx::Error("check-plugin: no plugin named '" + name + "'" +
                        (options.kind.empty() ? "" : " of kind " + options.kind) +
                        (near.empty() ? "" : "; did you mean '" + near + "'?") + " (see nmfx list)");
    }
    if (matches.size() > 1)
      throw nmfx::Error("check-plugin: '" + name + "' names several plugins (" +
                        to_string(matches[0]->descriptor->kind) + ", " + to_string(matches[1]->descriptor->kind) +
                        "); choose one with --kind");
    chosen.push_back(matches[0]);
  }
  if (options.all)
    for (const auto* p : registry.list())
      if (std::find(chosen.begin(), chosen.end(), p) == chosen.end()) chosen.push_back(p);
  if (options.all && chosen.empty() && refused == 0)
    throw nmfx::Error("check-plugin: no plugins found in: " + json(dirs).dump());
  if (!options.params.empty() && chosen.size() + refused > 1)
    throw nmfx::Error("check-plugin: --param applies to one plugin; give exactly one");

  int failed_plugins = refused;
  Tally total;
  for (const auto* p : chosen) {
    const Tally t = check_one(registry, p, options, tmp, out);
    out << "  " << t.passed << " passed, " << t.failed << " failed, " << t.skipped << " skipped";
    if (t.warned) out << ", " << t.warned << " warning" << (t.warned == 1 ? "" : "s");
    out << std::endl;
    failed_plugins += t.failed > 0;
    total.passed += t.passed;
    total.failed += t.failed;
  }
  if (chosen.size() + refused > 1)
    out << chosen.size() + refused << " plugins checked, " << failed_plugins << " with failures" << std::endl;
  return failed_plugins > 0 ? 1 : 0;
}

}  // namespace nmfx_check
