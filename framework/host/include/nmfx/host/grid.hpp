#pragma once
/// @file grid.hpp
/// A spec expands into cells: the cartesian product of every list in it. A cell is pure data, and
/// the hash of its canonical JSON names its result file.
#include <string>
#include <vector>

#include <nmfx/host/spec.hpp>

namespace nmfx {

struct Cell {
  json params;     ///< {dataset, solver, loss, rank, seed, init, stopping, checkpoints, metrics, threads}
  std::string id;  ///< 16 hex digits, stable across runs, machines and compilers
};

/// Expands a validated spec. Plugin parameters are resolved (defaults filled in) so that a cell's
/// identity includes them. Order: datasets outermost (so one dataset is loaded once), seeds innermost.
std::vector<Cell> expand_grid(const Spec& spec, const Registry& registry);

/// Cartesian product of the lists found at the top level of `object`; scalars are kept.
std::vector<json> expand_lists(const json& object);

/// FNV-1a 64 of the canonical (key-sorted, compact) JSON text, as 16 hex digits.
std::string stable_hash(const json& value);

/// "mu(eps=1e-16)" with only the parameters listed in `shown`.
std::string label(const json& plugin, const std::vector<std::string>& shown = {});

}  // namespace nmfx
