#pragma once
// The Matrix Market reader of the mtx dataset, on a file streamed, or on the file's bytes (already
// gunzipped), so that the fuzz target (fuzz/mtx_fuzz.cpp) can call it without a file.
#include <cstdint>
#include <string>

#include <nmfx/types.hpp>

namespace mtx {

struct Options {
  bool dense = false;          ///< densify a coordinate file (array files are always dense)
  bool clip_negative = false;  ///< set negative entries to 0 instead of refusing the file
  /// Largest number of rows or columns accepted. The default is what CSR's 32-bit column indices
  /// can address; the fuzz target lowers it so that a header cannot ask for gigabytes of offsets.
  std::uint64_t max_dim = 0xFFFFFFFFull;
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

}  // namespace mtx
