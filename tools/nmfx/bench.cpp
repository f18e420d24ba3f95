// nmfx bench: the time of one outer iteration of each solver on dense X, against the time of the
// two products an iteration cannot avoid (X H^T and W^T X, 2 M N L flops each), measured in the
// same process through the same BLAS; then the same on sparse X against nmfx's sparse products
// (and, for KL, WH at the nonzeros). The ratio is what the design asks to keep near 1.
#include "bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <sys/resource.h>
#include <time.h>

#include <boost/dll/runtime_symbol_info.hpp>

#include <nmfx/clones.hpp>

#include <nmfx/host/grid.hpp>
#include <nmfx/linalg.hpp>
#include <nmfx/rng.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/host/threads.hpp>

namespace nmfx_bench {
namespace {

// The clock of every measurement: the wall clock, or with --cpu-time the calling thread's CPU
// clock, which leaves out the time a single-threaded run waits descheduled on a loaded machine.
bool use_cpu_clock = false;
struct Clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<Clock>;
  static constexpr bool is_steady = true;
  static time_point now() {
    if (!use_cpu_clock)
      return time_point(std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch()));
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return time_point(duration(static_cast<rep>(t.tv_sec) * 1000000000 + t.tv_nsec));
  }
};
using nmfx::json;
using nmfx::Matrix;

double seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// r <- x / r over n entries, on the cell's threads: the exact division X / WH that every KL
// half-step needs at each entry, compiled like the plugins' hot loops.
NMFX_TARGET_CLONES void divide_into(const double* x, double* r, std::size_t n) {
  const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(n);
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t k = 0; k < count; ++k) r[k] = x[k] / r[k];
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

Matrix uniform(std::size_t m, std::size_t n, std::uint64_t seed) {
  nmfx::Rng rng(seed);
  Matrix A = Matrix::from_shape({m, n});
  for (double& v : A) v = rng.uniform();
  return A;
}

// Square DGEMM rate on one core, GFLOP/s: the machine's own yardstick.
double square_gemm_rate(std::size_t n) {
  nmfx::set_threads(1);
  const Matrix A = uniform(n, n, 1), B = uniform(n, n, 2);
  Matrix C = Matrix::from_shape({n, n});
  nmfx::gemm(A, nmfx::Trans::no, B, nmfx::Trans::no, C);  // warm-up
  std::vector<double> t;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = Clock::now();
    nmfx::gemm(A, nmfx::Trans::no, B, nmfx::Trans::no, C);
    t.push_back(seconds(t0));
  }
  const double nd = static_cast<double>(n);
  return 2.0 * nd * nd * nd / median(t) / 1e9;
}

// One outer iteration of `solver` with `loss` from (W_start, H_start): one warm-up step (first touch
// of every workspace), then the median of `repeat` steps.
json time_solver(const nmfx::Registry& registry, const nmfx::Data& X, const std::string& name,
                 const std::string& loss_name, const Matrix& W_start, const Matrix& H_start, int threads, int repeat) {
  const auto* plugin = registry.find(nmfx::PluginKind::solver, name);
  if (!plugin) return {{"error", "not found"}};
  try {
    nmfx::SessionSetup setup;
    setup.solver = name;
    setup.loss = loss_name;
    setup.rank = W_start.shape(1);
    setup.threads = threads;
    nmfx::CellSession session(registry, X, setup, W_start, H_start);
    session.step();
    std::vector<double> steps;
    for (int r = 0; r < repeat; ++r) {
      const auto t0 = Clock::now();
      session.step();
      steps.push_back(seconds(t0));
    }
    json result = {{"iteration_seconds", median(steps)}};
    for (const auto& [k, v] : session.solver().stats()) result["stats"][k] = v;
    return result;
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
}

// A sparse M x N matrix with about density * M * N entries at uniformly random positions (the gaps
// between entries drawn geometric), valued by a planted rank-L product plus noise.
nmfx::Data random_sparse(std::size_t M, std::size_t N, std::size_t L, double density) {
  const Matrix W0 = uniform(M, L, 3), H0t = uniform(N, L, 4);
  nmfx::Rng rng(5);
  nmfx::Data X;
  X.kind = nmfx::DataKind::sparse;
  nmfx::SparseMatrix& S = X.sparse;
  S.rows = M;
  S.cols = N;
  S.indptr.assign(M + 1, 0);
  const double log_q = std::log1p(-density);
  for (std::size_t i = 0; i < M; ++i) {
    for (double j = std::floor(std::log1p(-rng.uniform()) / log_q); j < static_cast<double>(N);
         j += 1.0 + std::floor(std::log1p(-rng.uniform()) / log_q)) {
      const std::size_t c = static_cast<std::size_t>(j);
      double v = 0.1 * rng.uniform();
      for (std::size_t a = 0; a < L; ++a) v += W0(i, a) * H0t(c, a);
      S.indices.push_back(static_cast<std::uint32_t>(c));
      S.values.push_back(v);
    }
    S.indptr[i + 1] = S.values.size();
  }
  nmfx::finalize(X, "bench");
  return X;
}

// (WH)_ij at every stored entry of X, in parallel over rows: the "sampled" product that a KL
// iteration needs twice (once per factor update) and that nothing can avoid.
void sampled_product(const nmfx::SparseMatrix& S, const Matrix& W, const Matrix& Ht, std::vector<double>& out) {
  const std::size_t L = W.shape(1);
  const long rows = static_cast<long>(S.rows);
#pragma omp parallel for schedule(dynamic, 64)
  for (long ii = 0; ii < rows; ++ii) {
    const std::size_t i = static_cast<std::size_t>(ii);
    const double* w = &W(i, 0);
    for (std::size_t e = S.indptr[i]; e < S.indptr[i + 1]; ++e) {
      const double* h = &Ht(S.indices[e], 0);
      double v = 0;
      for (std::size_t a = 0; a < L; ++a) v += w[a] * h[a];
      out[e] = v;
    }
  }
}

// Seconds to read `bytes` bytes once from memory, streaming, on the threads of the run: the
// bandwidth baseline of the sparse products, which must stream X (in both orientations) and the
// factors. The buffer is written once beforehand (first touch) and read twice before timing.
double stream_read_seconds(std::size_t bytes, int repeat) {
  std::vector<std::uint64_t> buffer(std::max<std::size_t>(bytes / 8, 1));
  const long n = static_cast<long>(buffer.size());
  std::uint64_t* b = buffer.data();
#pragma omp parallel for schedule(static)
  for (long k = 0; k < n; ++k) b[k] = static_cast<std::uint64_t>(k);
  std::vector<double> t;
  volatile std::uint64_t sink = 0;
  for (int r = 0; r < repeat + 2; ++r) {
    const auto t0 = Clock::now();
    std::uint64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (long k = 0; k < n; ++k) sum += b[k];
    if (r > 1) t.push_back(seconds(t0));
    sink = sink + sum;
  }
  return median(t);
}

json measure_sparse(const std::string& size, const Options& o, const nmfx::Registry& registry, int threads) {
  std::size_t M = 0, N = 0, L = 0;
  double density = 0;
  if (std::sscanf(size.c_str(), "%zux%zu:%zu:%lf", &M, &N, &L, &density) != 4 || !M || !N || !L ||
      !(density > 0 && density <= 1))
    throw nmfx::Error("bench: sparse size '" + size + "' is not MxN:L:density (e.g. 20000x5000:20:0.01)");
  nmfx::set_threads(threads);
  const nmfx::Data X = random_sparse(M, N, L, density);
  const Matrix W_start = uniform(M, L, 6), H_start = uniform(L, N, 7);
  Matrix XHt = Matrix::from_shape({M, L}), WtX = Matrix::from_shape({L, N});
  Matrix Ht = Matrix::from_shape({N, L});
  for (std::size_t j = 0; j < N; ++j)
    for (std::size_t a = 0; a < L; ++a) Ht(j, a) = H_start(a, j);
  std::vector<double> sampled(X.nnz);
  nmfx::DataProducts products;
  products.prepare(X, L);
  std::vector<double> t_products, t_sampled;
  for (int r = 0; r < o.repeat + 1; ++r) {
    auto t0 = Clock::now();
    products.XHt(H_start, XHt);
    products.WtX(W_start, WtX);
    const double tp = seconds(t0);
    t0 = Clock::now();
    sampled_product(X.sparse, W_start, Ht, sampled);
    sampled_product(X.sparse, W_start, Ht, sampled);
    const double ts = seconds(t0);
    if (r > 0) {
      t_products.push_back(tp);
      t_sampled.push_back(ts);
    }
  }
  const double two_products = median(t_products), two_sampled = median(t_sampled);
  // What the two products must move at the least: X's values and column indices in both
  // orientations and their row offsets, W and H read, X H^T and W^T X written.
  const std::size_t stream_bytes = 2 * X.nnz * (sizeof(double) + sizeof(std::uint32_t)) +
                                   (M + N + 2) * sizeof(std::size_t) + 2 * (M + N) * L * sizeof(double);
  const double stream_read = stream_read_seconds(stream_bytes, o.repeat);
  json problem = {{"M", M},
                  {"N", N},
                  {"L", L},
                  {"nnz", X.nnz},
                  {"density", density},
                  {"two_products_seconds", two_products},
                  {"two_sampled_products_seconds", two_sampled},
                  {"stream_bytes", stream_bytes},
                  {"stream_read_seconds", stream_read},
                  {"runs", json::array()}};
  for (const auto& run : o.sparse_runs) {
    const auto slash = run.find('/');
    const std::string solver = run.substr(0, slash),
                      loss = slash == std::string::npos ? "frobenius" : run.substr(slash + 1);
    json r = time_solver(registry, X, solver, loss, W_start, H_start, threads, o.repeat);
    // Frobenius needs X H^T and W^T X; KL needs them on X ./ (WH), so also WH at the nonzeros, twice.
    const double baseline = loss == "kl" ? two_products + two_sampled : two_products;
    r["solver"] = solver;
    r["loss"] = loss;
    r["baseline_seconds"] = baseline;
    if (r.contains("iteration_seconds")) {
      r["ratio_to_baseline"] = r["iteration_seconds"].get<double>() / baseline;
      r["ratio_to_stream_read"] = r["iteration_seconds"].get<double>() / stream_read;
    }
    problem["runs"].push_back(r);
  }
  return problem;
}

json measure(const Options& o, const nmfx::Registry& registry) {
  json out;
  out["blas"] = nmfx::blas_info();
  out["square_dgemm_gflops_per_core"] = square_gemm_rate(2000);
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  out["threads"] = threads;
  for (const auto& size : o.sizes) {
    std::size_t M = 0, N = 0, L = 0;
    if (std::sscanf(size.c_str(), "%zux%zu:%zu", &M, &N, &L) != 3 || !M || !N || !L)
      throw nmfx::Error("bench: size '" + size + "' is not MxN:L (e.g. 2000x1500:30)");
    nmfx::set_threads(threads);
    nmfx::Data X;
    X.dense = Matrix::from_shape({M, N});
    // A planted rank-L product plus noise: what an NMF iteration sees in practice.
    const Matrix W0 = uniform(M, L, 3), H0 = uniform(L, N, 4);
    nmfx::gemm(W0, nmfx::Trans::no, H0, nmfx::Trans::no, X.dense);
    nmfx::Rng noise(5);
    for (double& v : X.dense) v += 0.1 * noise.uniform();
    nmfx::finalize(X, "bench");
    const Matrix W_start = uniform(M, L, 6), H_start = uniform(L, N, 7);

    // The baseline: X H^T and W^T X.
    Matrix XHt = Matrix::from_shape({M, L}), WtX = Matrix::from_shape({L, N});
    std::vector<double> t;
    for (int r = 0; r < o.repeat + 1; ++r) {
      const auto t0 = Clock::now();
      nmfx::gemm(X.dense, nmfx::Trans::no, H_start, nmfx::Trans::yes, XHt);
      nmfx::gemm(W_start, nmfx::Trans::yes, X.dense, nmfx::Trans::no, WtX);
      if (r > 0) t.push_back(seconds(t0));
    }
    const double gemms = median(t);
    json problem = {{"M", M},
                    {"N", N},
                    {"L", L},
                    {"two_gemms_seconds", gemms},
                    {"two_gemms_gflops",
                     4.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(L) / gemms / 1e9},
                    {"solvers", json::object()}};
    // KL (a "solver/kl" entry) also needs WH, once per half-step: two more GEMMs of the same size,
    // timed here into an M x N matrix.
    double wh_twice = -1, divisions = 0;
    for (const auto& entry : o.solvers) {
      const auto slash = entry.find('/');
      const std::string name = entry.substr(0, slash),
                        loss = slash == std::string::npos ? "frobenius" : entry.substr(slash + 1);
      json r = time_solver(registry, X, name, loss, W_start, H_start, threads, o.repeat);
      if (loss == "frobenius") {
        if (r.contains("iteration_seconds")) r["ratio_to_two_gemms"] = r["iteration_seconds"].get<double>() / gemms;
        problem["solvers"][name] = r;
        continue;
      }
      if (wh_twice < 0) {
        Matrix WH = Matrix::from_shape({M, N});
        std::vector<double> tw, td;
        for (int rep = 0; rep < o.repeat + 1; ++rep) {
          const auto t0 = Clock::now();
          nmfx::gemm(W_start, nmfx::Trans::no, H_start, nmfx::Trans::no, WH);
          nmfx::gemm(W_start, nmfx::Trans::no, H_start, nmfx::Trans::no, WH);
          if (rep > 0) tw.push_back(seconds(t0));
          // The two divisions X / WH per entry (once per half-step), each over a fresh WH.
          double div = 0;
          for (int half = 0; half < 2; ++half) {
            nmfx::gemm(W_start, nmfx::Trans::no, H_start, nmfx::Trans::no, WH);
            const auto t1 = Clock::now();
            divide_into(X.dense.data(), WH.data(), WH.size());
            div += seconds(t1);
          }
          if (rep > 0) td.push_back(div);
        }
        wh_twice = median(tw);
        divisions = median(td);
        problem["two_wh_gemms_seconds"] = wh_twice;
        problem["two_division_passes_seconds"] = divisions;
      }
      const double baseline = loss == "kl" ? gemms + wh_twice : gemms;
      r["solver"] = name;
      r["loss"] = loss;
      r["baseline_seconds"] = baseline;
      if (r.contains("iteration_seconds")) {
        r["ratio_to_baseline"] = r["iteration_seconds"].get<double>() / baseline;
        if (loss == "kl")
          r["ratio_to_baseline_and_divisions"] = r["iteration_seconds"].get<double>() / (baseline + divisions);
      }
      problem["loss_runs"].push_back(r);
    }
    out["problems"].push_back(problem);
  }
  for (const auto& size : o.sparse_sizes)
    if (size != "none") out["sparse_problems"].push_back(measure_sparse(size, o, registry, threads));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  out["peak_rss_bytes"] = static_cast<double>(usage.ru_maxrss) * 1024.0;  // Linux reports KiB
  return out;
}

std::string stats_text(const json& run) {
  std::string stats;
  if (run.contains("stats"))
    for (auto s = run["stats"].begin(); s != run["stats"].end(); ++s)
      stats += (stats.empty() ? "" : ", ") + s.key() + "=" + std::to_string(static_cast<long>(s->get<double>()));
  return stats;
}

void print(const json& figures, const std::string& title) {
  std::cout << title << "\n  BLAS: " << figures["blas"].get<std::string>()
            << "\n  square DGEMM (n = 2000, 1 core): " << std::fixed << std::setprecision(1)
            << figures["square_dgemm_gflops_per_core"].get<double>()
            << " GFLOP/s;  threads for the problems below: " << figures["threads"] << "\n\n";
  std::cout << "| problem | solver | one iteration (ms) | XH^T + W^TX (ms) | ratio | inner statistics |\n"
            << "|---|---|---|---|---|---|\n";
  for (const auto& p : figures["problems"]) {
    std::ostringstream name;
    name << p["M"] << " x " << p["N"] << ", L = " << p["L"];
    for (auto it = p["solvers"].begin(); it != p["solvers"].end(); ++it) {
      std::cout << "| " << name.str() << " | " << it.key() << " | ";
      if (it->contains("error")) {
        std::cout << "- | - | - | " << (*it)["error"].get<std::string>() << " |\n";
        continue;
      }
      const double step = (*it)["iteration_seconds"].get<double>(), gemms = p["two_gemms_seconds"].get<double>();
      std::cout << std::setprecision(2) << 1e3 * step << " | " << 1e3 * gemms << " | " << step / gemms << " | "
                << stats_text(*it) << " |\n";
    }
  }
  std::cout << "\n";
  bool any_loss_runs = false;
  for (const auto& p : figures["problems"]) any_loss_runs = any_loss_runs || p.contains("loss_runs");
  if (any_loss_runs) {
    std::cout
        << "Dense X, other losses. Baseline for KL: X H^T + W^T X and W H twice (once per half-step), the\n"
           "four GEMMs a KL iteration cannot avoid; then also the exact division X / WH at every entry, twice.\n\n"
        << "| problem | solver | loss | one iteration (ms) | baseline (ms) | ratio | divisions (ms) | ratio to "
           "both | inner statistics |\n"
        << "|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& p : figures["problems"]) {
      if (!p.contains("loss_runs")) continue;
      std::ostringstream name;
      name << p["M"] << " x " << p["N"] << ", L = " << p["L"];
      for (const auto& r : p["loss_runs"]) {
        std::cout << "| " << name.str() << " | " << r["solver"].get<std::string>() << " | "
                  << r["loss"].get<std::string>() << " | ";
        if (r.contains("error")) {
          std::cout << "- | - | - | - | - | " << r["error"].get<std::string>() << " |\n";
          continue;
        }
        std::cout << std::setprecision(2) << 1e3 * r["iteration_seconds"].get<double>() << " | "
                  << 1e3 * r["baseline_seconds"].get<double>() << " | " << r["ratio_to_baseline"].get<double>()
                  << " | ";
        if (r.contains("ratio_to_baseline_and_divisions"))
          std::cout << 1e3 * p["two_division_passes_seconds"].get<double>() << " | "
                    << r["ratio_to_baseline_and_divisions"].get<double>() << " | ";
        else
          std::cout << "- | - | ";
        std::cout << stats_text(r) << " |\n";
      }
    }
    std::cout << "\n";
  }
  if (!figures.contains("sparse_problems")) return;
  std::cout << "Sparse X. Baseline: X H^T + W^T X through nmfx's sparse products; for KL also (WH)_ij at the\n"
               "nonzeros, twice (what a KL iteration cannot avoid). Stream: one read, on the same threads, of\n"
               "the bytes the two products must move (X in both orientations, W, H, the two results).\n\n";
  for (const auto& p : figures["sparse_problems"]) {
    const double products = p["two_products_seconds"].get<double>(), stream = p["stream_read_seconds"].get<double>();
    const double flops = 4.0 * p["nnz"].get<double>() * p["L"].get<double>();
    std::cout << "- " << p["M"] << " x " << p["N"] << ", L = " << p["L"] << ", nnz = " << p["nnz"] << ": XH^T + W^TX "
              << std::setprecision(2) << 1e3 * products << " ms (" << std::setprecision(1) << flops / products / 1e9
              << " GFLOP/s); stream read of " << p["stream_bytes"].get<double>() / 1e6 << " MB " << std::setprecision(2)
              << 1e3 * stream << " ms (" << std::setprecision(1) << p["stream_bytes"].get<double>() / stream / 1e9
              << " GB/s); products / stream " << std::setprecision(2) << products / stream << "\n";
  }
  std::cout << "\n| problem | solver | loss | one iteration (ms) | baseline (ms) | ratio | ratio to stream | inner "
               "statistics |\n"
            << "|---|---|---|---|---|---|---|---|\n";
  for (const auto& p : figures["sparse_problems"]) {
    std::ostringstream name;
    name << p["M"] << " x " << p["N"] << ", L = " << p["L"] << ", nnz = " << p["nnz"];
    for (const auto& r : p["runs"]) {
      std::cout << "| " << name.str() << " | " << r["solver"].get<std::string>() << " | "
                << r["loss"].get<std::string>() << " | ";
      if (r.contains("error")) {
        std::cout << "- | - | - | - | " << r["error"].get<std::string>() << " |\n";
        continue;
      }
      std::cout << std::setprecision(2) << 1e3 * r["iteration_seconds"].get<double>() << " | "
                << 1e3 * r["baseline_seconds"].get<double>() << " | " << r["ratio_to_baseline"].get<double>() << " | "
                << r["ratio_to_stream_read"].get<double>() << " | " << stats_text(r) << " |\n";
    }
  }
  std::cout << "\n";
}

}  // namespace

int run(const Options& o) {
  if (o.cpu_time && o.threads != 1)
    throw nmfx::Error("bench: --cpu-time needs --threads 1 (a thread's CPU clock does not count the other threads)");
  use_cpu_clock = o.cpu_time;
  nmfx::Registry registry;
  registry.scan(nmfx::plugin_dirs());
  const json figures = measure(o, registry);
  if (o.child) {
    std::cout << figures.dump() << "\n";
    return 0;
  }
  json all = {{"selected", figures}, {"environment", nmfx::environment()}};
  if (o.cpu_time) std::cout << "Times are the thread's CPU time (--cpu-time), not wall-clock time.\n";
  print(figures, "Kernels nmfx selected:");
  std::cout << "Peak resident size of this run (getrusage ru_maxrss): " << std::setprecision(1)
            << figures["peak_rss_bytes"].get<double>() / 1e6 << " MB\n\n";
  if (o.compare_kernels) {
    // OpenBLAS reads its kernel choice when it is loaded, so the other figures come from a child.
    // The child gets the environment nmfx started with: OPENBLAS_CORETYPE as it was, or unset.
    std::string env = "env -u NMFX_BLAS_REEXECUTED NMFX_BLAS_CORETYPE=openblas ";
    if (const char* before = std::getenv("NMFX_OPENBLAS_CORETYPE_BEFORE"))
      env += *before ? "OPENBLAS_CORETYPE='" + std::string(before) + "' " : "-u OPENBLAS_CORETYPE ";
    std::string cmd = env + "'" + boost::dll::program_location().string() + "' bench --child";
    for (const auto& s : o.solvers) cmd += " --solver " + s;
    for (const auto& s : o.sizes) cmd += " --size " + s;
    for (const auto& s : o.sparse_sizes) cmd += " --sparse " + s;
    for (const auto& s : o.sparse_runs) cmd += " --sparse-run " + s;
    cmd += " --threads " + std::to_string(o.threads) + " --repeat " + std::to_string(o.repeat);
    if (o.cpu_time) cmd += " --cpu-time";
    if (FILE* pipe = popen(cmd.c_str(), "r")) {
      std::string text;
      char buf[4096];
      while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
      pclose(pipe);
      try {
        const json other = json::parse(text.substr(text.find('{')));
        all["openblas_default"] = other;
        print(other, "Kernels OpenBLAS chose by itself (NMFX_BLAS_CORETYPE=openblas):");
        std::cout << "square DGEMM per core, selected / OpenBLAS's own choice: " << std::setprecision(2)
                  << figures["square_dgemm_gflops_per_core"].get<double>() /
                         other["square_dgemm_gflops_per_core"].get<double>()
                  << "x\n";
      } catch (const std::exception&) {
        std::cout << "(the comparison run gave no figures)\n";
      }
    }
  }
  if (!o.json_out.empty()) nmfx::write_file_atomic(o.json_out, all.dump(1));
  return 0;
}

}  // namespace nmfx_bench
