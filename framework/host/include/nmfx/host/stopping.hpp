#pragma once
/// @file stopping.hpp
/// Stopping rules: each one small class that looks at the run at its checkpoints and says whether
/// to stop. A run records, as `stop_reason`, the name of the rule that stopped it; the names are a
/// fixed vocabulary (stop_reasons(), docs/results.md).
#include <memory>
#include <string>
#include <vector>

#include <nmfx/types.hpp>

namespace nmfx {

/// What a rule sees at a checkpoint (the clock stopped).
struct RunState {
  std::size_t iteration = 0;
  double solver_seconds = 0;
  double objective = 0;           ///< loss + penalty
  double projected_gradient = 0;  ///< ||grad^P f||, when a rule asked for it (needs_projected_gradient)
  const json* row = nullptr;      ///< this checkpoint's trace row: {column: value}
};

class StoppingRule {
 public:
  virtual ~StoppingRule() = default;
  /// The stop_reason this rule gives: one of stop_reasons().
  virtual const char* name() const = 0;
  /// At the checkpoint before the first step: true to take no step at all.
  virtual bool start(const RunState& state) {
    (void)state;
    return false;
  }
  /// After every step: true when a checkpoint must be taken now (a budget is spent).
  virtual bool due(std::size_t iteration, double solver_seconds) const {
    (void)iteration, (void)solver_seconds;
    return false;
  }
  /// After every step, with the solver's clock stopped: a rule that watches the factors themselves
  /// rather than the trace looks at them here. True: take a checkpoint now (met() then decides).
  virtual bool watch(std::size_t iteration, const Matrix& W, const Matrix& H) {
    (void)iteration, (void)W, (void)H;
    return false;
  }
  /// At a checkpoint after a step: true to stop.
  virtual bool met(const RunState& state) = 0;
  virtual bool needs_projected_gradient() const { return false; }
};

/// max_iter: stop after this many outer iterations (0: take none).
class MaxIterRule : public StoppingRule {
 public:
  explicit MaxIterRule(std::size_t max_iter) : max_iter_(max_iter) {}
  const char* name() const override { return "max_iter"; }
  bool start(const RunState&) override { return max_iter_ == 0; }
  bool due(std::size_t iteration, double) const override { return iteration >= max_iter_; }
  bool met(const RunState& s) override { return s.iteration >= max_iter_; }

 private:
  std::size_t max_iter_;
};

/// max_time_s: stop once the solver's own seconds (evaluation excluded) reach the limit.
class MaxTimeRule : public StoppingRule {
 public:
  explicit MaxTimeRule(double seconds) : seconds_(seconds) {}
  const char* name() const override { return "max_time_s"; }
  bool due(std::size_t, double solver_seconds) const override { return solver_seconds >= seconds_; }
  bool met(const RunState& s) override { return s.solver_seconds >= seconds_; }

 private:
  double seconds_;
};

/// tol: stop when the objective decreased by no more than tol times its value since the previous
/// checkpoint.
class TolRule : public StoppingRule {
 public:
  explicit TolRule(double tol) : tol_(tol) {}
  const char* name() const override { return "tol"; }
  bool start(const RunState& s) override;
  bool met(const RunState& s) override;

 private:
  double tol_, previous_ = 0;
};

/// pg_tol (Lin 2007): stop when ||grad^P f|| <= pg_tol * ||grad^P f|| at the start.
class PgTolRule : public StoppingRule {
 public:
  explicit PgTolRule(double pg_tol) : pg_tol_(pg_tol) {}
  const char* name() const override { return "pg_tol"; }
  bool start(const RunState& s) override;
  bool met(const RunState& s) override;
  bool needs_projected_gradient() const override { return true; }

 private:
  double pg_tol_, initial_ = 0;
};

/// target: stop when a trace column (a metric's, or loss / objective / projected_gradient) reaches
/// a value, i.e. is <= it; checked at every checkpoint, the one at iteration 0 included. For
/// time-to-target studies.
class TargetRule : public StoppingRule {
 public:
  TargetRule(std::string column, double value) : column_(std::move(column)), value_(value) {}
  const char* name() const override { return "target"; }
  bool start(const RunState& s) override { return met(s); }
  bool met(const RunState& s) override;

 private:
  std::string column_;
  double value_;
};

/// connectivity (Brunet et al. 2004; R NMF's nmf.stop.connectivity, the stop of its "brunet"):
/// every `every` iterations each sample (column j of H) is assigned to the component of its largest
/// entry H(l, j) (the first, on ties), and the partition of the samples this gives (the connectivity
/// matrix, which does not depend on how the components are numbered) is compared with the one of the
/// previous check. The run stops at the `unchanged`-th consecutive check that found it unchanged. The
/// first check, at iteration `every`, has nothing to compare with. R NMF stops when its count of
/// unchanged checks exceeds stopconv = 40, checking every 10 iterations: {every: 10, unchanged: 41}.
class ConnectivityRule : public StoppingRule {
 public:
  ConnectivityRule(std::size_t every, std::size_t unchanged);
  const char* name() const override { return "connectivity"; }
  bool watch(std::size_t iteration, const Matrix& W, const Matrix& H) override;
  bool met(const RunState&) override { return unchanged_count_ >= unchanged_; }
  /// Checks since the partition last changed.
  std::size_t unchanged_count() const { return unchanged_count_; }

 private:
  std::size_t every_, unchanged_, unchanged_count_ = 0;
  bool have_previous_ = false;
  std::vector<std::size_t> previous_, current_, relabel_;
};

/// The stop reasons, in the order rules are consulted at a checkpoint.
const std::vector<std::string>& stop_reasons();

/// The rules of a cell's `stopping` ({"max_iter", "max_time_s", "tol", "pg_tol", "target",
/// "connectivity": {"every", "unchanged"}}): a rule
/// whose value is 0 is off, max_iter is always on. Ordered as stop_reasons(), so that at a checkpoint
/// where several hold, the first names the stop.
std::vector<std::unique_ptr<StoppingRule>> make_stopping_rules(const json& stopping);

}  // namespace nmfx
