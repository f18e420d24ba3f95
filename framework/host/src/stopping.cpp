#include <cmath>

#include <nmfx/host/stopping.hpp>

namespace nmfx {

bool TolRule::start(const RunState& s) {
  previous_ = s.objective;
  return false;
}

bool TolRule::met(const RunState& s) {
  if (previous_ - s.objective <= tol_ * previous_) return true;
  previous_ = s.objective;
  return false;
}

bool PgTolRule::start(const RunState& s) {
  initial_ = s.projected_gradient;
  return false;
}

bool PgTolRule::met(const RunState& s) { return s.projected_gradient <= pg_tol_ * initial_; }

bool TargetRule::met(const RunState& s) {
  const json* value = s.row && s.row->contains(column_) ? &(*s.row)[column_] : nullptr;
  if (!value) {
    std::string columns;
    if (s.row)
      for (auto it = s.row->begin(); it != s.row->end(); ++it) columns += (columns.empty() ? "" : ", ") + it.key();
    throw Error("stopping.target: the trace has no column '" + column_ + "' (it has: " + columns +
                "); add the metric that writes it");
  }
  return value->is_number() && value->get<double>() <= value_;
}

ConnectivityRule::ConnectivityRule(std::size_t every, std::size_t unchanged) : every_(every), unchanged_(unchanged) {
  if (every_ == 0 || unchanged_ == 0) throw Error("stopping.connectivity: every and unchanged must be at least 1");
}

bool ConnectivityRule::watch(std::size_t iteration, const Matrix&, const Matrix& H) {
  if (iteration % every_ != 0) return false;
  const std::size_t L = H.shape()[0], N = H.shape()[1];
  // Each sample's component, renumbered in order of first appearance: two assignments give the
  // same connectivity matrix exactly when these labels are equal, in O(N) instead of O(N^2).
  current_.assign(N, 0);
  relabel_.assign(L, L);
  std::size_t next = 0;
  for (std::size_t j = 0; j < N; ++j) {
    std::size_t best = 0;
    for (std::size_t l = 1; l < L; ++l)
      if (H(l, j) > H(best, j)) best = l;
    if (relabel_[best] == L) relabel_[best] = next++;
    current_[j] = relabel_[best];
  }
  if (have_previous_ && current_ == previous_) {
    ++unchanged_count_;
  } else {
    previous_.swap(current_);
    have_previous_ = true;
    unchanged_count_ = 0;
  }
  return unchanged_count_ >= unchanged_;
}

const std::vector<std::string>& stop_reasons() {
  static const std::vector<std::string> reasons = {"tol", "pg_tol", "target", "connectivity", "max_time_s", "max_iter"};
  return reasons;
}

std::vector<std::unique_ptr<StoppingRule>> make_stopping_rules(const json& stopping) {
  std::vector<std::unique_ptr<StoppingRule>> rules;
  auto number = [&](const char* key) { return stopping.contains(key) ? stopping[key].get<double>() : 0.0; };
  if (number("tol") > 0) rules.push_back(std::make_unique<TolRule>(number("tol")));
  if (number("pg_tol") > 0) rules.push_back(std::make_unique<PgTolRule>(number("pg_tol")));
  if (stopping.contains("target"))
    for (auto it = stopping["target"].begin(); it != stopping["target"].end(); ++it)
      rules.push_back(std::make_unique<TargetRule>(it.key(), it->get<double>()));
  if (stopping.contains("connectivity")) {
    const json& c = stopping["connectivity"];
    rules.push_back(
        std::make_unique<ConnectivityRule>(c.at("every").get<std::size_t>(), c.at("unchanged").get<std::size_t>()));
  }
  if (number("max_time_s") > 0) rules.push_back(std::make_unique<MaxTimeRule>(number("max_time_s")));
  rules.push_back(std::make_unique<MaxIterRule>(stopping.at("max_iter").get<std::size_t>()));
  return rules;
}

}  // namespace nmfx
