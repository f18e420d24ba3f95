#pragma once
/// @file distributed.hpp
/// The host's side of distributed cells (issue: matrices larger than one machine): the MPI
/// communicator behind nmfx::Communicator, the loading of this process's block of X, the
/// initial factors drawn block by block, and the factors written in parallel into one .npy each.
#include <memory>
#include <string>

#include <nmfx/distributed.hpp>
#include <nmfx/host/registry.hpp>
#include <nmfx/plugin.hpp>

namespace nmfx {

/// A communicator over all MPI processes (MPI_COMM_WORLD) arranged as a pr x pc grid, process
/// k at grid row k / pc and column k % pc. Sums, gathers and reduce-scatters are ring algorithms
/// over MPI_Sendrecv: bandwidth-optimal, so the bytes each process sends are PLANC's, and each
/// sum is added in an order fixed by the grid, so every process gets the same bits and a run
/// repeats exactly. Throws nmfx::Error if this nmfx was built without MPI or the grid does not
/// match the number of processes.
std::unique_ptr<Communicator> mpi_grid_communicator(int pr, int pc);

/// True on every process if `ok` on every process; otherwise false everywhere, with `message` the
/// message of the lowest-numbered failing process (prefixed with its number when p > 1).
bool all_ok(Communicator& comm, bool ok, std::string& message);

/// The grid for p processes from a spec's `distribute.grid`: "auto" (choose_grid) or [pr, pc].
void grid_for(const json& grid, int processes, std::size_t M, std::size_t N, int& pr, int& pc);

/// This process's block of X from the dataset: load_block on the layout's rows and columns, then
/// the checks and statistics of finalize(), with norm_sq, mean and nnz of the whole X (sums over
/// all processes). Throws nmfx::Error naming the dataset.
Data load_block_of(Dataset& dataset, const std::string& name, const Distribution& distribution);

/// The random initial factors of a cell, drawn as in init.hpp's `random` method for the whole W
/// and H, but keeping only this process's rows of W and columns of H: the start is the same for
/// any grid. (mean(X) is the whole X's.)
void random_init_block(const Data& X_block, const Distribution& distribution, std::size_t rank, std::uint64_t seed,
                       const json& init, Matrix& W, Matrix& H);

/// Writes the whole W (M x L, this process holding rows w_rows) or H (L x N, columns h_cols) as
/// one .npy at `path`: process 0 writes the header, each process its own rows or columns at
/// their offsets (pwrite, on a file system all processes share), then process 0 renames the
/// temporary file into place, so no process ever holds the whole factor and no reader sees a torn file.
void write_npy_distributed(const std::string& path, const Matrix& part, bool is_W, const Distribution& distribution);

}  // namespace nmfx
