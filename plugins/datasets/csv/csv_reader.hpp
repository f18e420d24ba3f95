#pragma once
// The CSV/TSV reader of the csv dataset, on the file's bytes (already gunzipped), so that the fuzz
// target (fuzz/csv_fuzz.cpp) can call it without a file.
#include <cstddef>
#include <string>
#include <utility>

#include <nmfx/distributed.hpp>
#include <nmfx/types.hpp>

namespace csv {

struct Options {
  std::string delimiter = "auto";  ///< auto | comma | tab | semicolon | space
  std::size_t skip_rows = 0;       ///< physical lines dropped from the top (header lines)
  std::string drop_columns;        ///< e.g. "0", "-1", "0,3", "1:3"; 0-based, negative from the end
  bool clip_negative = false;      ///< set negative entries to 0 instead of refusing the file
  /// Distributed cells: keep only rows x cols (0-based, of the data rows and the kept columns)
  /// and return that block. The whole file is still parsed and checked.
  bool block = false;
  nmfx::Range rows, cols;
  bool shape_only = false;  ///< parse and check, keeping no value (read_shape)
};

/// Parses a whole CSV/TSV file into a dense X, one file row per row of X. `path` starts every
/// error message, followed by the line and column where one applies ("x.csv:7: column 3: ...";
/// both counted from 1, as editors count them).
nmfx::Data parse(const std::string& bytes, const std::string& path, const Options& options);
/// The same on the file `path` (plain or gzipped), streamed: the peak memory of a load is X (or
/// the block) and a buffer of about 1 MiB plus the longest record.
nmfx::Data parse_file(const std::string& path, const Options& options);
/// The shape (data rows, kept columns) of X in the file `path`: one pass that parses and checks
/// every field and keeps none.
std::pair<std::size_t, std::size_t> read_shape(const std::string& path, const Options& options);

}  // namespace csv
