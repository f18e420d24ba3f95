#pragma once
/// @file restarts.hpp
/// `restarts: {runs: n, iterations: k}`: n short runs of k iterations from n starts, the one with
/// the lowest objective kept; the cell then runs from its factors as from any start (issue 14: some
/// problems, such as the digits at rank 60, have much better minima than a single start reaches).
#include <cstdint>
#include <vector>

#include <nmfx/host/cell_session.hpp>

namespace nmfx {

/// The seed of restart i of a cell with seed `seed`: the cell's own seed for restart 0 (so that the
/// plain start is one of the candidates), then the i-th draw of the seed's "restart" stream.
std::uint64_t restart_seed(std::uint64_t seed, std::size_t i);

struct RestartsOutcome {
  Matrix W, H;                       ///< the kept restart's factors after its short run
  std::size_t chosen = 0;            ///< its index
  std::vector<double> objectives;    ///< each restart's objective (loss + penalty) after its short run
  std::vector<std::uint64_t> seeds;  ///< each restart's seed (restart_seed)
  double solver_seconds = 0;         ///< the short runs' solver seconds, all together
  /// The result's `restarts` record: {runs, iterations, chosen, objectives, seeds, solver_seconds}.
  json to_json(std::size_t iterations) const;
};

/// Runs `runs` restarts of `iterations` steps each with `setup`'s solver and loss (its metrics are
/// not evaluated), each from `init` with restart_seed(seed, i), and keeps the lowest objective (the
/// first of equal ones).
RestartsOutcome best_of_restarts(const Registry& registry, const Data& X, SessionSetup setup, const json& init,
                                 const std::string& init_scaling, std::uint64_t seed, const std::string& base_dir,
                                 std::size_t runs, std::size_t iterations);

}  // namespace nmfx
