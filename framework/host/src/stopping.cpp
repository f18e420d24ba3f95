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

const std::vector<std::string>& stop_reasons() {
  static const std::vector<std::string> reasons = {"tol", "pg_tol", "target", "max_time_s", "max_iter"};
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
  if (number("max_time_s") > 0) rules.push_back(std::make_unique<MaxTimeRule>(number("max_time_s")));
  rules.push_back(std::make_unique<MaxIterRule>(stopping.at("max_iter").get<std::size_t>()));
  return rules;
}

}  // namespace nmfx
