#pragma once
/// @file scheduler.hpp
/// The execution engine: every cell runs in a worker process of its own (fork after the spec is
/// parsed and the plugins are loaded); the worker streams its checkpoint rows to the parent over a
/// pipe, and the parent, which never runs plugin code, turns whatever happens to the worker (a
/// result, a signal, too much memory, too much time, Ctrl-C) into a result document. Cells run side
/// by side when the cores allow: jobs x threads <= cores.
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <sys/types.h>

#include <nmfx/host/runner.hpp>

namespace nmfx {

/// Statuses a worker's fate gives, beside the cell's own ok / failed / skipped.
inline constexpr const char* kCrashed = "crashed";
inline constexpr const char* kOutOfMemory = "out_of_memory";
inline constexpr const char* kTimeout = "timeout";
inline constexpr const char* kInterrupted = "interrupted";
/// Under mpirun: the cell's rank was lost (nothing heard from it for --rank-timeout) twice.
inline constexpr const char* kRankLost = "rank_lost";

/// True for the statuses --resume keeps unless --retry-failed: the worker died of the cell itself.
bool is_worker_failure(const std::string& status);

/// The result document of a cell that ended without one of its own (status and message say why),
/// its trace the checkpoint rows received (possibly none).
json unfinished_result(const Spec& spec, const Cell& cell, const std::vector<json>& rows, const std::string& status,
                       const std::string& message, const std::string& started_at, int threads);

/// One cell to run, with the threads it gets (<= the cell's own `threads`).
struct Placement {
  std::size_t index = 0;  ///< into the grid's cells
  int threads = 1;
};

struct ExecutionPlan {
  std::vector<Placement> cells;  ///< in the order they start
  int cores = 1;                 ///< jobs x threads of the cells running at once stays <= cores
  int max_jobs = 1;              ///< at most this many workers at once
  double wall_s = 0;             ///< per cell; 0: no limit
  double memory_bytes = 0;       ///< per worker (resident set, watched by the parent; RLIMIT_AS backstop)
  std::string rule;              ///< one line saying how jobs and threads were chosen
};

/// M*N*L from which a cell gets all the threads instead of one (see docs/scheduling.md for the
/// measurements behind it).
inline constexpr double kThreadCrossoverMNL = 5.0e8;

/// Chooses threads per cell and the number of cells at once. `jobs` > 0 is the user's choice
/// (--jobs or the spec's jobs); 0 lets the rule decide from each cell's M*N*L (the datasets'
/// shapes are read in a probe process once per dataset).
ExecutionPlan plan_execution(const Spec& spec, const std::vector<Cell>& cells, const std::vector<std::size_t>& todo,
                             const Registry& registry, int jobs);

/// Live progress: one line per finished cell (finishing order, ETA); on a terminal also a status
/// line for the running cells; or one JSON object per event; or nothing.
class Progress {
 public:
  Progress(std::ostream& out, ProgressMode mode, std::size_t total, std::size_t already_done);
  void started(const Cell& cell, int threads);
  void checkpoint(const Cell& cell, const json& row);
  void finished(const Cell& cell, const json& result);
  void note(const std::string& line);
  ~Progress();

 private:
  struct Impl;
  Impl* impl_;
};

/// Runs the plan's cells in workers; `sink` gets each result in the parent, in finishing order.
/// Returns false when SIGINT or SIGTERM stopped the run (the cells running then are given to the
/// sink as `interrupted`, the others not at all).
bool execute_cells(const Spec& spec, const std::vector<Cell>& cells, const Registry& registry, const std::string& out,
                   const ExecutionPlan& plan, Progress& progress, const std::function<void(std::size_t, json)>& sink);

/// Starts the worker launcher (launcher.cpp): a fork of this process as it is now, from which
/// execute_cells then forks every worker. Call it after the plugins are loaded and before a large
/// grid is expanded: fork's cost grows with the forking process's resident memory, and the parent
/// holds every cell. Without it (tests, check-plugin, MPI ranks, where it does nothing)
/// execute_cells forks its workers itself.
void start_worker_launcher(const Spec& spec, const Registry& registry);
bool worker_launcher_running();
/// Starts a worker for `cell` in the launcher; returns its pid and the read end of its pipe in fd.
pid_t launch_worker(const Cell& cell, int threads, const std::string& out, double memory_bytes, int* fd);
/// The wait status of a worker started by launch_worker, once it has ended (waitpid in the launcher).
int wait_launched_worker(pid_t pid);

/// What the worker process does: runs one cell, writing "C <row>" lines and a final "R <result>"
/// line to fd. Never returns.
[[noreturn]] void worker_main(const Spec& spec, const Cell& cell, int threads, const Registry& registry,
                              const std::string& out, int fd, double memory_bytes);

}  // namespace nmfx

namespace nmfx {

/// How often a rank tells rank 0 it is alive, and how long rank 0 waits by default (--rank-timeout)
/// before it counts a silent rank as lost.
inline constexpr double kHeartbeatSeconds = 1.0;
inline constexpr double kRankTimeoutSeconds = 30.0;

/// MPI, when nmfx is built with it and started by mpirun with more than one rank.
struct MpiContext {
  bool built = false;   ///< nmfx was built with MPI
  bool active = false;  ///< this process is one of several ranks
  int rank = 0, size = 1;
  int local_size = 1;   ///< ranks on this machine (they share its cores)
  std::string library;  ///< the MPI library's version string
};

/// Initialises MPI on first use when the environment says mpirun started this process
/// (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK); MPI_Finalize runs at exit.
const MpiContext& mpi_context();
void mpi_barrier();

/// Spreads the cells over the ranks. Rank 0 hands out the cells in `todo` one at a time, largest
/// estimated cost (M*N*L*max_iter) first, to whichever rank asks; the other ranks run each in a
/// worker process (with the wall and memory limits), write its result file into `out` and send the
/// result back. On rank 0 `sink` and `progress` get every result; the other ranks ignore them.
/// SIGINT or SIGTERM (mpirun passes Ctrl-C on as SIGTERM): the running cells are recorded
/// interrupted, rank 0 hands out no more and waits half a second for their reports (a cell whose
/// result file is there but whose report is not is listed from its file). Returns false then.
/// Every other rank sends rank 0 a heartbeat each kHeartbeatSeconds; a rank not heard from for
/// `rank_timeout_s` is lost: rank 0 sends it nothing more, hands its cell once to another rank,
/// and records the cell `rank_lost` if that rank is lost too (docs/results.md).
bool mpi_execute(const Spec& spec, const std::vector<Cell>& cells, const std::vector<std::size_t>& todo,
                 const Registry& registry, const std::string& out, const ExecutionPlan& limits, Progress& progress,
                 const std::function<void(std::size_t, json)>& sink, double rank_timeout_s = kRankTimeoutSeconds);

/// A cell's estimated cost, M*N*L*max_iter (each dataset's shape probed once, in a throwaway process).
double estimated_cost(const Spec& spec, const Cell& cell, const Registry& registry);

}  // namespace nmfx
