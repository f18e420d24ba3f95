#pragma once
// The Matrix Market reader of the mtx dataset, on a file streamed, or on the file's bytes (already
// gunzipped), so that the fuzz target (fuzz/mtx_fuzz.cpp) can call it without a file.
#include <cstdint>
#include <string>
#include <utility>

#include <nmfx/distributed.hpp>
#include <nmfx/types.hpp>

namespace mtx {

struct Options {
  bool dense = false;          ///< densify a coordinate file (array files are always dense)
  bool clip_negative = false;  ///< set negative entries to 0 instead of refusing the file
  /// Largest number of rows or columns accepted. The default is what CSR's 32-bit column indices
  /// can address; the fuzz target lowers it so that a header cannot ask for gigabytes of offsets.
  std::uint64_t max_dim = 0xFFFFFFFFull;
  /// Distributed cells: keep only the entries in rows x cols (0-based, inside the file's shape)
  /// and return that block, with indices relative to its first row and column. The whole file is
  /// still read and checked, so every process of a cell refuses a bad file with the same error.
  bool block = false;
  nmfx::Range rows, cols;
};

/// Parses a whole Matrix Market file. `path` starts every error message, followed by the line
/// number where one applies ("data/x.mtx:7: ..."). Returns kind sparse (CSR, sorted unique
/// column indices, duplicates summed, explicit zeros dropped) for coordinate files unless
/// options.dense, and kind dense for array files; info holds what was read.
nmfx::Data parse(const std::string& bytes, const std::string& path, const Options& options);
/// The same on the file `path` (plain or gzipped), streamed: the file is never held whole, and a
/// coordinate file's entries become CSR in place, so the peak memory of a load is X's CSR plus
/// its row indices (4 bytes per entry) and a buffer.
nmfx::Data parse_file(const std::string& path, const Options& options);
/// The shape (M, N) from the header and size line of the file `path`, reading nothing after them.
std::pair<std::size_t, std::size_t> read_shape(const std::string& path, const Options& options);

}  // namespace mtx
