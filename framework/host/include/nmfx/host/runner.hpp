#pragma once
/// @file runner.hpp
/// Runs the cells of a grid (each in a worker process, see scheduler.hpp) and writes one JSON result per cell.
#include <cmath>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <nmfx/host/cell_session.hpp>
#include <nmfx/host/grid.hpp>
#include <nmfx/host/results.hpp>

namespace nmfx {

/// The last dataset loaded (cells are ordered dataset-outermost, so one is enough), or its error.
struct DataCache {
  std::string key;
  std::shared_ptr<Data> data;
  std::string error;
};

/// Runs one cell of a grid in a CellSession and returns its complete result document
/// (RunResult::to_json()). Never throws for a failing cell: the result says failed, and why.
json run_one_cell(const Spec& spec, const Cell& cell, const Registry& registry, DataCache& cache,
                  const std::filesystem::path& out, CellObserver* observer);

/// Runs one cell on all MPI processes together (spec.distribute; issue 13's distributed cells):
/// each process loads its block of X, draws its part of the start, and steps the solver with the
/// others through the MPI communicator; factors are written in parallel. Every process returns the
/// same result document (rank 0 writes it). Never throws for a failing cell: a failure on any
/// process fails the cell on all of them, with that process's message.
json run_distributed_cell(const Spec& spec, const Cell& cell, const Registry& registry,
                          const std::filesystem::path& out);

/// environment.plugins of a cell: name, version, library file and library_hash of its dataset,
/// solver, loss and metrics.
json plugin_records(const json& cell, const Registry& registry);

/// Whether the result at `path` may be kept by --resume: complete, schema current, status ok, and
/// made by the same plugins (names, versions and library hashes) as `plugins` (plugin_records).
enum class Reuse { missing, stale, fresh };
Reuse reusable(const std::string& path, const json& plugins, json* result);

/// How progress is reported while a grid runs.
enum class ProgressMode { automatic, plain, live, json_lines, quiet };

/// What the parent keeps of a finished cell: what the summary table and the exit status need. Not
/// the result document: workers are forked from the parent, so every byte the parent holds per cell
/// is paid again at every fork, and the runner's cost per cell would grow with the grid.
struct CellOutcome {
  std::size_t cell = 0;  ///< index in the grid
  std::string status, message, stop_reason;
  double solver_seconds = 0, iterations = 0;
  double final_relative_error = NAN, final_loss = NAN;  ///< NaN where the result has no such final value

  static CellOutcome of(std::size_t cell, const json& result);
};

struct RunOptions {
  bool resume = false;         ///< keep cells whose result is complete (status ok) and whose plugins are unchanged
  bool force = false;          ///< run cells again even if their result exists
  std::string output;          ///< overrides the spec's output folder when not empty
  bool retry_failed = false;   ///< with resume: also rerun crashed, out_of_memory and timeout cells
  int jobs = 0;                ///< cells at once; 0: the spec's jobs, else chosen by the scheduler
  double rank_timeout_s = 30;  ///< under mpirun: a rank not heard from for this long is lost
  ProgressMode progress = ProgressMode::automatic;
};

struct RunSummary {
  int ok = 0, failed = 0, skipped = 0, resumed = 0;
  int stale = 0;        ///< results found by --resume but made by a plugin that has changed since: run again
  int interrupted = 0;  ///< cells stopped by SIGINT/SIGTERM (then the run exits 130)
  bool stopped_by_signal = false;
  int mpi_rank = 0;  ///< under mpirun, only rank 0's summary holds the results
  std::string output;
  /// What the run keeps of each result of the grid, in grid order (the full results are in the
  /// output folder).
  std::vector<CellOutcome> outcomes;
};

/// Runs every cell, each in its own worker process (see scheduler.hpp). A failing cell is recorded
/// and the grid goes on. Throws SpecError only before anything runs (e.g. results already present without --resume or
/// --force).
RunSummary run_grid(const Spec& spec, const std::vector<Cell>& cells, const Registry& registry,
                    const RunOptions& options, std::ostream& progress);

/// The table printed after a run: one row per (dataset, solver, loss, rank), mean +- sd over seeds.
std::string summary_table(const std::vector<Cell>& cells, const std::vector<CellOutcome>& outcomes);

/// The checks every dataset's X gets (finite, nonnegative, not empty, not all zero; errors name the
/// dataset, the count and the first position) and the statistics solvers rely on (norm_sq, mean, nnz).
void finalize(Data& X, const std::string& dataset);

/// Facts about this build and machine, recorded in every result.
json environment();

/// Makes the BLAS use the fastest kernels this processor supports. OpenBLAS 0.3.21 picks its
/// kernels when it is loaded, from OPENBLAS_CORETYPE or its own CPU detection, which takes an AVX-512
/// AMD Zen 4 for Haswell. So nmfx reads the CPU flags and, if the kernels loaded are not the ones
/// wanted, executes itself again with OPENBLAS_CORETYPE set (once; argv is kept).
/// NMFX_BLAS_CORETYPE: unset or "auto" (the default): SKYLAKEX when the CPU has AVX-512
/// F/CD/BW/DQ/VL, else OpenBLAS's own choice; "openblas": OpenBLAS's own choice (honouring
/// OPENBLAS_CORETYPE); any other value: that core type. Call first thing in main().
void select_blas_kernels(char** argv);

}  // namespace nmfx
