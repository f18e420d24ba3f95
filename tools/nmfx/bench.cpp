// nmfx bench: the time of one outer iteration of each solver on dense X, against the time of the
// two products an iteration cannot avoid (X H^T and W^T X, 2 M N L flops each), measured in the
// same process through the same BLAS. The ratio is what the design asks to keep near 1.
#include "bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/dll/runtime_symbol_info.hpp>

#include <nmfx/grid.hpp>
#include <nmfx/linalg.hpp>
#include <nmfx/rng.hpp>
#include <nmfx/runner.hpp>

namespace nmfx_bench {
namespace {

using Clock = std::chrono::steady_clock;
using nmfx::json;
using nmfx::Matrix;

double seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

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
  return 2.0 * static_cast<double>(n) * n * n / median(t) / 1e9;
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
    json problem = {{"M", M}, {"N", N}, {"L", L}, {"two_gemms_seconds", gemms},
                    {"two_gemms_gflops", 4.0 * M * N * L / gemms / 1e9}, {"solvers", json::object()}};
    for (const auto& name : o.solvers) {
      const auto* plugin = registry.find(nmfx::PluginKind::solver, name);
      if (!plugin) {
        problem["solvers"][name] = {{"error", "not found"}};
        continue;
      }
      try {
        auto loss = registry.create<nmfx::Loss>("frobenius", json::object());
        auto solver = registry.create<nmfx::Solver>(name, nmfx::resolve_params(plugin->descriptor->params, json::object()));
        Matrix W = W_start, H = H_start;
        loss->prepare(X, L);
        nmfx::Problem problem_def{X, *loss, "frobenius", L, threads, {}};
        solver->prepare(problem_def, W, H);
        solver->step(W, H);  // warm-up: first touch of every workspace
        std::vector<double> steps;
        for (int r = 0; r < o.repeat; ++r) {
          const auto t0 = Clock::now();
          solver->step(W, H);
          steps.push_back(seconds(t0));
        }
        const double step = median(steps);
        problem["solvers"][name] = {{"iteration_seconds", step}, {"ratio_to_two_gemms", step / gemms}};
        for (const auto& [k, v] : solver->stats()) problem["solvers"][name]["stats"][k] = v;
      } catch (const std::exception& e) {
        problem["solvers"][name] = {{"error", e.what()}};
      }
    }
    out["problems"].push_back(problem);
  }
  return out;
}

void print(const json& figures, const std::string& title) {
  std::cout << title << "\n  BLAS: " << figures["blas"].get<std::string>() << "\n  square DGEMM (n = 2000, 1 core): "
            << std::fixed << std::setprecision(1) << figures["square_dgemm_gflops_per_core"].get<double>()
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
      std::string stats;
      if (it->contains("stats"))
        for (auto s = (*it)["stats"].begin(); s != (*it)["stats"].end(); ++s)
          stats += (stats.empty() ? "" : ", ") + s.key() + "=" + std::to_string(static_cast<long>(s->get<double>()));
      std::cout << std::setprecision(2) << 1e3 * (*it)["iteration_seconds"].get<double>() << " | "
                << 1e3 * p["two_gemms_seconds"].get<double>() << " | " << (*it)["ratio_to_two_gemms"].get<double>()
                << " | " << stats << " |\n";
    }
  }
  std::cout << "\n";
}

}  // namespace

int run(const Options& o) {
  nmfx::Registry registry;
  registry.scan(nmfx::plugin_dirs());
  const json figures = measure(o, registry);
  if (o.child) {
    std::cout << figures.dump() << "\n";
    return 0;
  }
  json all = {{"selected", figures}, {"environment", nmfx::environment()}};
  print(figures, "Kernels nmfx selected:");
  if (o.compare_kernels) {
    // OpenBLAS reads its kernel choice when it is loaded, so the other figures come from a child.
    // The child gets the environment nmfx started with: OPENBLAS_CORETYPE as it was, or unset.
    std::string env = "env -u NMFX_BLAS_REEXECUTED NMFX_BLAS_CORETYPE=openblas ";
    if (const char* before = std::getenv("NMFX_OPENBLAS_CORETYPE_BEFORE"))
      env += *before ? "OPENBLAS_CORETYPE='" + std::string(before) + "' " : "-u OPENBLAS_CORETYPE ";
    std::string cmd = env + "'" + boost::dll::program_location().string() + "' bench --child";
    for (const auto& s : o.solvers) cmd += " --solver " + s;
    for (const auto& s : o.sizes) cmd += " --size " + s;
    cmd += " --threads " + std::to_string(o.threads) + " --repeat " + std::to_string(o.repeat);
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
