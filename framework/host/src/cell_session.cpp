#include <cmath>

#include <nmfx/host/cell_session.hpp>
#include <nmfx/host/init.hpp>

namespace nmfx {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

CellSession::CellSession(const Registry& registry, const Data& X, SessionSetup setup, Matrix W, Matrix H)
    : registry_(registry), X_(X), setup_(std::move(setup)), W_(std::move(W)), H_(std::move(H)) {
  if (setup_.distribution) {
    // Only plugins that say so may run distributed: any other would work on its piece alone.
    std::vector<std::pair<PluginKind, std::string>> plugins = {{PluginKind::solver, setup_.solver},
                                                               {PluginKind::loss, setup_.loss}};
    for (const auto& m : setup_.metrics) plugins.emplace_back(PluginKind::metric, m.first);
    for (const auto& [kind, name] : plugins)
      if (!registry_.require(kind, name)->descriptor->distributed)
        throw Error(std::string(to_string(kind)) + " '" + name +
                    "' cannot run distributed (its descriptor does not say distributed)");
  }
  loss_ = registry_.create<Loss>(setup_.loss, setup_.loss_params);
  solver_ = registry_.create<Solver>(setup_.solver, setup_.solver_params);
  for (const auto& [name, params] : setup_.metrics) metrics_.emplace_back(name, registry_.create<Metric>(name, params));
  const Distribution* d = setup_.distribution;
  if (d)
    loss_->prepare_distributed(X_, setup_.rank, *d);
  else
    loss_->prepare(X_, setup_.rank);
  problem_ =
      std::make_unique<Problem>(Problem{X_, *loss_, setup_.loss, setup_.rank, setup_.threads, setup_.penalty, d});
  solver_->prepare(*problem_, W_, H_);
}

// The solver goes first: it may point to the problem and the loss.
CellSession::~CellSession() { solver_.reset(); }

std::pair<Matrix, Matrix> CellSession::initial_factors(const json& init, const std::string& init_scaling, const Data& X,
                                                       std::size_t rank, std::uint64_t seed,
                                                       const std::string& base_dir, int threads) {
  Matrix W, H;
  initialize(init, X, rank, seed, base_dir, W, H);
  if (init_scaling == "optimal") scale_optimally(X, W, H, threads);
  return {std::move(W), std::move(H)};
}

void CellSession::step() {
  const Distribution* d = setup_.distribution;
  if (!d) {
    const auto t0 = Clock::now();
    solver_->step(W_, H_);
    solver_seconds_ += seconds_since(t0);
    ++iteration_;
    return;
  }
  // Distributed: the step's time is the slowest process's, so that every process's clock, and so
  // every time-based stopping decision, is the same.
  const double comm_before = d->comm->seconds();
  const std::size_t bytes_before = d->comm->bytes_sent();
  const auto t0 = Clock::now();
  solver_->step(W_, H_);
  double seconds = seconds_since(t0);
  comm_seconds_ += d->comm->seconds() - comm_before;
  comm_bytes_ += d->comm->bytes_sent() - bytes_before;
  d->comm->max(Communicator::Group::all, &seconds, 1);
  solver_seconds_ += seconds;
  ++iteration_;
}

double CellSession::penalty_value() const {
  const double local = setup_.penalty.any() ? setup_.penalty.value(W_, H_) : 0.0;
  return setup_.distribution ? setup_.distribution->sum(local) : local;
}

double CellSession::objective() const { return loss_->value(X_, W_, H_) + penalty_value(); }

double CellSession::projected_gradient() {
  if (!meter_) {
    meter_ = std::make_unique<StationarityMeter>();
    meter_->prepare(W_.shape(0), H_.shape(1), setup_.rank);
  }
  const Stationarity s = meter_->measure(X_, *loss_, setup_.penalty, W_, H_, setup_.distribution);
  return std::hypot(s.projected_gradient_W, s.projected_gradient_H);
}

double CellSession::loss_of(const std::string& name) {
  auto& l = other_losses_[name];
  if (!l) {
    l = registry_.create<Loss>(name, json::object());
    if (setup_.distribution)
      l->prepare_distributed(X_, setup_.rank, *setup_.distribution);
    else
      l->prepare(X_, setup_.rank);
  }
  return l->value(X_, W_, H_);
}

json CellSession::checkpoint(bool after_step) {
  const auto t0 = Clock::now();
  trace_.begin_row();
  const double value = loss_->value(X_, W_, H_);
  const double objective = value + penalty_value();
  trace_.put_reserved("iteration", iteration_);
  trace_.put_reserved("solver_seconds", solver_seconds_);
  trace_.put_reserved("loss", value);
  if (setup_.penalty.any()) trace_.put_reserved("objective", objective);
  if (setup_.measure_projected_gradient) trace_.put_reserved("projected_gradient", projected_gradient());
  MetricContext context{X_,
                        W_,
                        H_,
                        iteration_,
                        value,
                        setup_.loss,
                        *loss_,
                        setup_.penalty,
                        setup_.rank,
                        setup_.cell,
                        trace_.columns(),
                        [this](const std::string& name) { return loss_of(name); },
                        setup_.distribution};
  for (auto& [name, metric] : metrics_)
    for (const auto& [k, v] : metric->evaluate(context)) trace_.put("metric '" + name + "'", k, v);
  if (after_step)
    for (const auto& [k, v] : solver_->stats()) trace_.put("solver '" + setup_.solver + "' (stats)", k, v);
  if (setup_.distribution) {
    // Per iteration since the last checkpoint, the most any process sent; and in all, the most
    // seconds any process spent communicating and computing in the steps.
    const double iterations = static_cast<double>(std::max<std::size_t>(iteration_ - iteration_at_checkpoint_, 1));
    double most[3] = {static_cast<double>(comm_bytes_ - bytes_at_checkpoint_) / iterations, comm_seconds_,
                      solver_seconds_ - comm_seconds_};
    setup_.distribution->comm->max(Communicator::Group::all, most, 3);
    trace_.put_reserved("comm_bytes_per_iteration", after_step ? most[0] : 0.0);
    trace_.put_reserved("comm_seconds", most[1]);
    trace_.put_reserved("compute_seconds", most[2]);
    bytes_at_checkpoint_ = comm_bytes_;
    iteration_at_checkpoint_ = iteration_;
  }
  eval_seconds_ += seconds_since(t0);
  trace_.put_reserved("eval_seconds", eval_seconds_);
  if (!std::isfinite(objective))
    throw Error("loss is " + std::string(std::isnan(objective) ? "NaN" : "infinite") + " at iteration " +
                std::to_string(iteration_) + " (diverged)");
  return trace_.last_row();
}

std::string CellSession::run(std::vector<std::unique_ptr<StoppingRule>>& rules,
                             const std::set<std::size_t>& checkpoints, CellObserver* observer) {
  for (const auto& r : rules) setup_.measure_projected_gradient |= r->needs_projected_gradient();
  auto take = [&](bool after_step) {
    json row = checkpoint(after_step);
    if (observer) observer->on_checkpoint(row);
    RunState state{iteration_, solver_seconds_, 0, 0, nullptr};
    state.objective = row.contains("objective") ? row["objective"].get<double>() : row["loss"].get<double>();
    if (row.contains("projected_gradient") && row["projected_gradient"].is_number())
      state.projected_gradient = row["projected_gradient"].get<double>();
    return std::make_pair(std::move(row), state);
  };
  {
    auto [row, state] = take(false);
    state.row = &row;
    std::string stop;
    for (const auto& r : rules)  // every rule sees the start
      if (r->start(state) && stop.empty()) stop = r->name();
    if (!stop.empty()) return stop;
  }
  for (;;) {
    step();
    bool due = checkpoints.count(iteration_) > 0;
    for (const auto& r : rules) due = due || r->due(iteration_, solver_seconds_);
    const auto t0 = Clock::now();
    for (const auto& r : rules) due = r->watch(iteration_, W_, H_) || due;  // every rule watches every step
    eval_seconds_ += seconds_since(t0);
    if (!due) continue;
    auto [row, state] = take(true);
    state.row = &row;
    for (const auto& r : rules)
      if (r->met(state)) return r->name();
  }
}

std::set<std::size_t> checkpoint_iterations(const json& checkpoints, std::size_t max_iter) {
  std::set<std::size_t> out{0, max_iter};
  if (checkpoints.contains("every")) {
    const std::size_t k = checkpoints["every"];
    for (std::size_t i = 0; i <= max_iter; i += k) out.insert(i);
  } else {
    const double n = checkpoints["log"];
    for (int j = 0; j < static_cast<int>(n); ++j)
      out.insert(static_cast<std::size_t>(std::llround(std::pow(static_cast<double>(max_iter), j / (n - 1)))));
  }
  return out;
}

}  // namespace nmfx
