// nmfx_bench_ratings: the seconds of one pass of each rating solver over the training entries of
// synthetic_ratings (MovieLens10M shape by default), the median of a few passes after a warm-up
// pass, against the same-run baseline of one plain sweep over the training entries computing only
// the predictions p_u . q_i (user by user, so each p_u is read once: the memory-bound floor of a
// pass), and the same sweep in a random order (what an online pass must pay for its accesses).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <nmfx/linalg.hpp>
#include <nmfx/host/registry.hpp>
#include <nmfx/rng.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/host/threads.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using nmfx::json;

double seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

struct Timing {
  double wall = 0, cpu = 0;
};

// Median wall and CPU seconds of `repeats` calls of f, after one warm-up call.
template <class F>
Timing time_median(int repeats, F&& f) {
  f();
  std::vector<double> wall, cpu;
  for (int r = 0; r < repeats; ++r) {
    const double c0 = cpu_seconds();
    const auto t0 = Clock::now();
    f();
    wall.push_back(seconds(t0));
    cpu.push_back(cpu_seconds() - c0);
  }
  return {median(wall), median(cpu)};
}

double test_rmse(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
  const std::size_t L = W.shape(1);
  double s = 0;
  for (std::size_t u = 0; u < X.test.rows; ++u)
    for (std::size_t k = X.test.indptr[u]; k < X.test.indptr[u + 1]; ++k) {
      double pred = 0;
      for (std::size_t a = 0; a < L; ++a) pred += W(u, a) * H(a, X.test.indices[k]);
      s += (X.test.values[k] - pred) * (X.test.values[k] - pred);
    }
  return std::sqrt(s / static_cast<double>(std::max<std::size_t>(X.test.nnz(), 1)));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nmfx_bench_ratings: seconds per pass of pa, sgd and ccd on synthetic ratings"};
  long long users = 69878, items = 10677, ratings = 10000054, rank = 20;
  int repeats = 3, threads = 2;
  std::string solvers = "pa,sgd,ccd";
  app.add_option("--users", users, "users (rows)");
  app.add_option("--items", items, "items (columns)");
  app.add_option("--ratings", ratings, "ratings (80% train, 20% test)");
  app.add_option("--rank", rank, "factorization rank");
  app.add_option("--repeats", repeats, "timed passes per solver (after one warm-up pass); the median is shown");
  app.add_option("--threads", threads, "cores for ccd (pa and sgd are sequential); ccd is also shown on 1");
  app.add_option("--solvers", solvers, "comma-separated solvers");
  CLI11_PARSE(app, argc, argv);

  try {
    nmfx::Registry registry;
    registry.scan(nmfx::plugin_dirs());
    auto resolved = [&](nmfx::PluginKind kind, const std::string& name, const json& given) {
      return nmfx::resolve_params(registry.require(kind, name)->descriptor->params, given);
    };

    // The data, through the plugin, as a run would load it.
    auto t0 = Clock::now();
    double c0 = cpu_seconds();
    auto dataset = registry.create<nmfx::Dataset>(
        "synthetic_ratings", resolved(nmfx::PluginKind::dataset, "synthetic_ratings",
                                      json{{"users", users}, {"items", items}, {"ratings", ratings}, {"rank", 20}}));
    nmfx::Data X = dataset->load();
    const double generate = seconds(t0), generate_cpu = cpu_seconds() - c0;
    t0 = Clock::now();
    nmfx::finalize(X, "synthetic_ratings");
    const double finalize = seconds(t0);
    const std::size_t M = X.rows(), N = X.cols(), L = static_cast<std::size_t>(rank), n = X.sparse.nnz();
    std::printf(
        "synthetic_ratings: %zu users x %zu items, %zu train + %zu test ratings, generated in %.2f s "
        "(%.2f s cpu; + %.2f s framework finalize); oracle test RMSE %.4f\n",
        M, N, n, X.test.nnz(), generate, generate_cpu, finalize, X.info["oracle_test_rmse"].get<double>());
    std::printf("ratings per user %s, per item %s\n", X.info["ratings_per_user"].dump().c_str(),
                X.info["ratings_per_item"].dump().c_str());

    // The same start for every solver: uniform entries scaled by sqrt(mean / L) (init scale auto).
    nmfx::Matrix W0 = nmfx::Matrix::from_shape({M, L}), H0 = nmfx::Matrix::from_shape({L, N});
    nmfx::Rng rng(0);
    const double scale = std::sqrt(X.mean / static_cast<double>(L));
    for (double& v : W0) v = scale * rng.uniform();
    for (double& v : H0) v = scale * rng.uniform();

    // Baselines: predictions only, user by user (CSR order), then in a shuffled order.
    std::vector<double> Ht(N * L);
    for (std::size_t a = 0; a < L; ++a)
      for (std::size_t j = 0; j < N; ++j) Ht[j * L + a] = H0(a, j);
    double sink = 0;
    const Timing sweep = time_median(repeats, [&] {
      double s = 0;
      for (std::size_t u = 0; u < M; ++u) {
        const double* p = &W0(u, 0);
        for (std::size_t k = X.sparse.indptr[u]; k < X.sparse.indptr[u + 1]; ++k) {
          const double* q = &Ht[static_cast<std::size_t>(X.sparse.indices[k]) * L];
          double d = 0;
          for (std::size_t a = 0; a < L; ++a) d += p[a] * q[a];
          s += d;
        }
      }
      sink += s;
    });
    struct Pair {
      std::uint32_t u, i;
    };
    std::vector<Pair> shuffled(n);
    for (std::size_t u = 0; u < M; ++u)
      for (std::size_t k = X.sparse.indptr[u]; k < X.sparse.indptr[u + 1]; ++k)
        shuffled[k] = Pair{static_cast<std::uint32_t>(u), X.sparse.indices[k]};
    for (std::size_t k = n; k > 1; --k) std::swap(shuffled[k - 1], shuffled[static_cast<std::size_t>(rng.next() % k)]);
    const Timing random_sweep = time_median(repeats, [&] {
      double s = 0;
      const double* w = W0.data();
      for (std::size_t k = 0; k < n; ++k) {
        if (k + 8 < n) {
          __builtin_prefetch(w + shuffled[k + 8].u * L);
          __builtin_prefetch(w + shuffled[k + 8].u * L + L - 1);
          __builtin_prefetch(&Ht[shuffled[k + 8].i * L]);
          __builtin_prefetch(&Ht[shuffled[k + 8].i * L + L - 1]);
        }
        const double* p = w + shuffled[k].u * L;
        const double* q = &Ht[shuffled[k].i * L];
        double d = 0;
        for (std::size_t a = 0; a < L; ++a) d += p[a] * q[a];
        s += d;
      }
      sink += s;
    });

    struct Row {
      std::string name;
      Timing t;
      double rmse;
    };
    std::vector<Row> rows = {{"sweep (csr order)", sweep, std::nan("")},
                             {"sweep (random order)", random_sweep, std::nan("")}};
    std::vector<std::pair<std::string, int>> runs;
    std::stringstream list(solvers);
    for (std::string s; std::getline(list, s, ',');) {
      runs.emplace_back(s, s == "ccd" ? threads : 1);
      if (s == "ccd" && threads != 1) runs.emplace_back(s, 1);
    }
    for (const auto& [name, cores] : runs) {
      nmfx::set_threads(cores);
      nmfx::SessionSetup setup;
      setup.solver = name;
      setup.solver_params = name == "pa" || name == "sgd" ? json{{"seed", 0}} : json::object();
      setup.rank = L;
      setup.threads = cores;
      nmfx::CellSession session(registry, X, setup, W0, H0);
      const Timing t = time_median(repeats, [&] { session.step(); });
      const std::string label =
          name + (name == "ccd" ? " (" + std::to_string(cores) + " thread" + (cores > 1 ? "s)" : ")") : "");
      rows.push_back({label, t, test_rmse(X, session.W(), session.H())});
    }

    std::string load = "?";
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
      char buf[64] = "";
      if (std::fgets(buf, sizeof buf, f)) load = std::string(buf).substr(0, std::string(buf).find(' '));
      std::fclose(f);
    }
    std::printf(
        "\nrank %zu, %zu training ratings; median of %d passes after a warm-up pass; load average %s "
        "(wall times grow with other processes' load, CPU times much less)\n\n",
        L, n, repeats, load.c_str());
    std::printf("| %-22s | %12s | %12s | %14s | %16s | %21s |\n", "solver", "s / pass", "cpu s / pass",
                "ratio to sweep", "ratings / s",
                ("test RMSE after " + std::to_string(repeats + 1) + " passes").c_str());
    std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(24, '-').c_str(), std::string(14, '-').c_str(),
                std::string(14, '-').c_str(), std::string(16, '-').c_str(), std::string(18, '-').c_str(),
                std::string(23, '-').c_str());
    for (const auto& r : rows) {
      char rmse[32] = "";
      if (!std::isnan(r.rmse)) std::snprintf(rmse, sizeof rmse, "%.4f", r.rmse);
      std::printf("| %-22s | %12.3f | %12.3f | %14.2f | %16.3g | %21s |\n", r.name.c_str(), r.t.wall, r.t.cpu,
                  r.t.wall / sweep.wall, static_cast<double>(n) / r.t.wall, rmse);
    }
    if (sink == 12345.678) std::printf(" ");  // keeps the sweeps from being optimized away
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "nmfx_bench_ratings: " << e.what() << "\n";
    return 2;
  }
}
