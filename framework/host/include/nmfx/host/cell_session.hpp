#pragma once
/// @file cell_session.hpp
/// One solver prepared on one data set and stepped: the plugin objects, the initial factors,
/// prepare(), step(), the checkpoints and the trace. Everything that drives a solver (the runner's
/// cells, `nmfx check-plugin`, `nmfx bench`, nmfx_bench_ratings and the tests) goes through it.
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nmfx/host/registry.hpp>
#include <nmfx/host/results.hpp>
#include <nmfx/host/stopping.hpp>
#include <nmfx/kkt.hpp>
#include <nmfx/plugin.hpp>

namespace nmfx {

/// Told of each checkpoint in the process that runs the cell (e.g. to stream rows elsewhere).
struct CellObserver {
  virtual ~CellObserver() = default;
  /// One trace row: {"iteration": .., "loss": .., ...}.
  virtual void on_checkpoint(const json& row) { (void)row; }
};

/// What a session runs. Plugin parameters are resolved (defaults filled in) by Registry::create.
struct SessionSetup {
  std::string solver;
  json solver_params = json::object();
  std::string loss = "frobenius";
  json loss_params = json::object();
  std::vector<std::pair<std::string, json>> metrics;  ///< (name, params), evaluated at checkpoints
  std::size_t rank = 0;
  int threads = 1;
  Penalty penalty;
  bool measure_projected_gradient = false;  ///< add the projected_gradient column at checkpoints
  json cell = json::object();               ///< the cell's parameters, shown to metrics
  /// A distributed cell (host/distributed.hpp): X is this process's block, W and H its rows and
  /// columns; the loss is prepared with prepare_distributed, the solver and metrics see the
  /// distribution, and the trace gains the communication columns. Null on one process.
  const Distribution* distribution = nullptr;
};

class CellSession {
 public:
  /// Creates the loss, solver and metrics, and prepares the loss, then the solver, on X from (W, H).
  /// X must outlive the session. Throws nmfx::Error (e.g. a solver that refuses the loss).
  CellSession(const Registry& registry, const Data& X, SessionSetup setup, Matrix W, Matrix H);
  ~CellSession();
  CellSession(const CellSession&) = delete;
  CellSession& operator=(const CellSession&) = delete;

  /// The initial factors of a cell: `init` from `seed` (paths against base_dir), then, with
  /// init_scaling "optimal", W scaled to the best multiple (init.hpp).
  static std::pair<Matrix, Matrix> initial_factors(const json& init, const std::string& init_scaling, const Data& X,
                                                   std::size_t rank, std::uint64_t seed, const std::string& base_dir,
                                                   int threads);

  /// One solver step; only it is timed into solver_seconds().
  void step();
  /// A checkpoint with the solver's clock stopped: appends a trace row (iteration, solver_seconds,
  /// loss, objective with a penalty, projected_gradient when asked, the metrics, and after a step the
  /// solver's statistics, then eval_seconds). Throws nmfx::Error if the objective is not finite, or
  /// a metric or statistic uses a reserved or already written column. Returns the row.
  json checkpoint(bool after_step);
  /// Steps until a rule stops the run, with checkpoints at iteration 0, at `checkpoints` and where a
  /// rule needs one; returns the stopping rule's name (the stop_reason).
  std::string run(std::vector<std::unique_ptr<StoppingRule>>& rules, const std::set<std::size_t>& checkpoints,
                  CellObserver* observer = nullptr);

  /// loss + penalty at the current factors (not recorded).
  double objective() const;
  /// The penalty's value at the current factors (0 without one), of the whole W and H.
  double penalty_value() const;
  /// Distributed cells: what this process sent and the seconds it spent communicating in the steps.
  std::size_t comm_bytes() const { return comm_bytes_; }
  double comm_seconds() const { return comm_seconds_; }
  /// ||grad^P f|| at the current factors (Lin 2007), not recorded.
  double projected_gradient();

  const Matrix& W() const { return W_; }
  const Matrix& H() const { return H_; }
  Matrix& W() { return W_; }
  Matrix& H() { return H_; }
  Solver& solver() { return *solver_; }
  Loss& loss() { return *loss_; }
  const Data& data() const { return X_; }
  std::size_t iteration() const { return iteration_; }
  double solver_seconds() const { return solver_seconds_; }
  double eval_seconds() const { return eval_seconds_; }
  const Trace& trace() const { return trace_; }

 private:
  double loss_of(const std::string& name);

  const Registry& registry_;
  const Data& X_;
  SessionSetup setup_;
  Matrix W_, H_;
  // Declared before the solver so that they outlive it: a solver may point to its problem and loss.
  std::shared_ptr<Loss> loss_;
  std::unique_ptr<Problem> problem_;
  std::map<std::string, std::shared_ptr<Loss>> other_losses_;
  std::vector<std::pair<std::string, std::shared_ptr<Metric>>> metrics_;
  std::shared_ptr<Solver> solver_;
  std::unique_ptr<StationarityMeter> meter_;
  Trace trace_;
  std::size_t iteration_ = 0;
  double solver_seconds_ = 0, eval_seconds_ = 0;
  // Distributed cells: this process's communication in the steps (bytes, seconds), in all and at
  // the last checkpoint, for the trace's per-iteration columns.
  double comm_seconds_ = 0;
  std::size_t comm_bytes_ = 0, bytes_at_checkpoint_ = 0, iteration_at_checkpoint_ = 0;
};

/// The checkpoint iterations of `checkpoints` ({"every": k} or {"log": n}) up to max_iter, with 0
/// and max_iter.
std::set<std::size_t> checkpoint_iterations(const json& checkpoints, std::size_t max_iter);

}  // namespace nmfx
