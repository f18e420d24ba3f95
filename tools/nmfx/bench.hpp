#pragma once
#include <string>
#include <vector>

namespace nmfx_bench {

struct Options {
  std::vector<std::string> solvers;  ///< solver plugins to time (default parameters): "name" (Frobenius) or "name/loss"
  std::vector<std::string> sizes;    ///< "MxN:L" problems
  std::vector<std::string> sparse_sizes;  ///< "MxN:L:density" sparse problems
  std::vector<std::string> sparse_runs;   ///< "solver/loss" pairs timed on the sparse problems
  int threads = 0;                        ///< 0: all cores
  int repeat = 5;                         ///< timed iterations per solver (after one warm-up), median reported
  bool cpu_time = false;                  ///< --cpu-time: time by the thread's CPU clock (needs threads = 1)
  bool compare_kernels = true;            ///< also run with OpenBLAS's own kernel choice, in a child process
  std::string json_out;                   ///< write the figures as JSON here
  bool child = false;                     ///< internal: print only the JSON figures
  bool distributed = false;               ///< one distributed cell under mpirun (bench_distributed.cpp)
  std::string grid = "auto";              ///< --grid: "auto" or "pr,pc"
  bool formula_only = false;              ///< --formula-only: print PLANC's bytes for each --size, run nothing
};

int run(const Options& options);
/// nmfx bench --distributed: communication and compute per iteration, against PLANC's formula.
int run_distributed(const Options& options);

}  // namespace nmfx_bench
