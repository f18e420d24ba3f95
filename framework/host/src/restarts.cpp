#include <cmath>

#include <nmfx/host/restarts.hpp>
#include <nmfx/rng.hpp>

namespace nmfx {

std::uint64_t restart_seed(std::uint64_t seed, std::size_t i) {
  if (i == 0) return seed;
  Rng rng = Rng::stream("restart", seed);
  std::uint64_t s = 0;
  for (std::size_t k = 0; k < i; ++k) s = rng.next();
  return s;
}

json RestartsOutcome::to_json(std::size_t iterations) const {
  return {{"runs", objectives.size()}, {"iterations", iterations}, {"chosen", chosen},
          {"objectives", objectives},  {"seeds", seeds},           {"solver_seconds", solver_seconds}};
}

RestartsOutcome best_of_restarts(const Registry& registry, const Data& X, SessionSetup setup, const json& init,
                                 const std::string& init_scaling, std::uint64_t seed, const std::string& base_dir,
                                 std::size_t runs, std::size_t iterations) {
  if (runs == 0) throw Error("restarts.runs must be at least 1");
  setup.metrics.clear();  // only the objective decides
  setup.measure_projected_gradient = false;
  RestartsOutcome out;
  for (std::size_t i = 0; i < runs; ++i) {
    const std::uint64_t s = restart_seed(seed, i);
    auto [W, H] = CellSession::initial_factors(init, init_scaling, X, setup.rank, s, base_dir, setup.threads);
    CellSession session(registry, X, setup, std::move(W), std::move(H));
    while (session.iteration() < iterations) session.step();
    const double objective = session.objective();
    if (!std::isfinite(objective))
      throw Error("restart " + std::to_string(i) + " (seed " + std::to_string(s) +
                  "): the objective is not finite after " + std::to_string(iterations) + " iterations (diverged)");
    out.seeds.push_back(s);
    out.objectives.push_back(objective);
    out.solver_seconds += session.solver_seconds();
    if (i == 0 || objective < out.objectives[out.chosen]) {
      out.chosen = i;
      out.W = session.W();
      out.H = session.H();
    }
  }
  return out;
}

}  // namespace nmfx
