// nmfx bench --distributed: under `mpirun -np p`, one distributed cell of a solver on a synthetic X
// (dense, generated block by block from its seed), stepped `repeat` times; prints each process's
// seconds per iteration split into communication and local compute, the bytes it sent per
// iteration beside PLANC's formula for the grid (Kannan, Ballard & Park; distributed.hpp), and the
// formula's bytes for 4 to 64 processes on this problem.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "bench.hpp"

#include <nmfx/host/cell_session.hpp>
#include <nmfx/host/distributed.hpp>
#include <nmfx/host/grid.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/host/scheduler.hpp>
#include <nmfx/host/threads.hpp>

namespace nmfx_bench {

namespace {

void print_formula(std::size_t M, std::size_t N, std::size_t L) {
  std::cout << "\nPLANC's formula for " << M << " x " << N << " at L = " << L
            << ", best grid (bytes per iteration per process):\n| processes | grid | bytes |\n|---|---|---|\n";
  for (int p : {1, 2, 4, 6, 8, 16, 32, 64}) {
    int r = 1, c = 1;
    if (static_cast<std::size_t>(p) > std::min(M, N)) continue;
    nmfx::choose_grid(p, M, N, r, c);
    std::cout << "| " << p << " | " << r << "x" << c << " | " << std::setprecision(6)
              << 8 * nmfx::planc_words_per_iteration(M, N, L, r, c) << " |\n";
  }
}

}  // namespace

int run_distributed(const Options& o) {
  using nmfx::json;
  using G = nmfx::Communicator::Group;
  const nmfx::MpiContext& mpi = nmfx::mpi_context();
  nmfx::Registry registry;
  registry.scan(nmfx::plugin_dirs());
  nmfx::set_threads(std::max(1, o.threads));
  const std::vector<std::string> sizes = o.sizes.empty() ? std::vector<std::string>{"4000x3000:20"} : o.sizes;
  // The solvers asked for that can run distributed (the others are named and left out).
  std::vector<std::string> solvers;
  for (const std::string& s : o.solvers) {
    const auto* plugin = registry.find(nmfx::PluginKind::solver, s.substr(0, s.find('/')));
    if (plugin && plugin->descriptor->distributed)
      solvers.push_back(s);
    else if (mpi.rank == 0)
      std::cout << "(" << s << " is left out: it does not run distributed)\n";
  }
  const bool root = mpi.rank == 0;
  for (const std::string& size : sizes) {
    std::size_t M = 0, N = 0, L = 0;
    char x = 0, colon = 0;
    std::istringstream in(size);
    if (!(in >> M >> x >> N >> colon >> L) || x != 'x' || colon != ':')
      throw nmfx::Error("--size '" + size + "': expected MxN:L, e.g. 4000x3000:20");
    if (o.formula_only) {
      if (root) print_formula(M, N, L);
      continue;
    }
    int pr = 1, pc = 1;
    nmfx::grid_for(o.grid == "auto" ? json("auto") : json::parse("[" + o.grid + "]"), mpi.size, M, N, pr, pc);
    std::unique_ptr<nmfx::Communicator> comm =
        mpi.active ? nmfx::mpi_grid_communicator(pr, pc) : std::make_unique<nmfx::SingleProcess>();
    nmfx::Distribution distribution{nmfx::Layout::of(M, N, pr, pc, mpi.rank), comm.get()};
    auto dataset = registry.create<nmfx::Dataset>("synthetic", {{"m", M}, {"n", N}, {"rank", L}, {"seed", 1}});
    nmfx::Data X = nmfx::load_block_of(*dataset, "synthetic", distribution);
    if (root)
      std::cout << "X " << M << " x " << N << ", L = " << L << ", " << mpi.size << " processes on a " << pr << " x "
                << pc << " grid; each holds a " << X.rows() << " x " << X.cols() << " block\n";
    for (const std::string& spec : solvers) {
      const std::string solver = spec.substr(0, spec.find('/'));
      const std::string loss = spec.find('/') == std::string::npos ? "frobenius" : spec.substr(spec.find('/') + 1);
      nmfx::Matrix W, H;
      nmfx::random_init_block(X, distribution, L, 0, {{"distribution", "uniform"}, {"scale", "auto"}}, W, H);
      nmfx::SessionSetup setup;
      setup.solver = solver;
      setup.loss = loss;
      setup.rank = L;
      setup.threads = std::max(1, o.threads);
      if (mpi.active) setup.distribution = &distribution;
      nmfx::CellSession session(registry, X, setup, std::move(W), std::move(H));
      session.step();  // warm-up
      const double seconds0 = session.solver_seconds(), comm0 = session.comm_seconds();
      const std::size_t bytes0 = session.comm_bytes();
      for (int r = 0; r < o.repeat; ++r) session.step();
      const double n = std::max(1, o.repeat);
      // Per process: seconds per iteration (the slowest process's, as the session keeps them),
      // communication seconds and bytes per iteration.
      double mine[3] = {(session.solver_seconds() - seconds0) / n, (session.comm_seconds() - comm0) / n,
                        static_cast<double>(session.comm_bytes() - bytes0) / n};
      std::vector<double> all(3 * static_cast<std::size_t>(mpi.size));
      comm->gather(G::all, mine, std::vector<std::size_t>(static_cast<std::size_t>(mpi.size), 3), all.data());
      if (!root) continue;
      const double planc = 8 * nmfx::planc_words_per_iteration(M, N, L, pr, pc);
      std::cout
          << "\n"
          << solver << "/" << loss << ": per iteration\n"
          << "| process | seconds | communication s | compute s | bytes sent | PLANC's bytes | measured / PLANC |\n"
          << "|---|---|---|---|---|---|---|\n";
      for (int k = 0; k < mpi.size; ++k) {
        const double* f = &all[3 * static_cast<std::size_t>(k)];
        std::cout << "| " << k << " | " << std::setprecision(4) << f[0] << " | " << f[1] << " | " << f[0] - f[1]
                  << " | " << std::setprecision(6) << f[2] << " | " << planc << " | " << std::setprecision(3)
                  << (planc > 0 ? f[2] / planc : 0.0) << " |\n";
      }
    }
    if (root) print_formula(M, N, L);
  }
  return 0;
}

}  // namespace nmfx_bench
