#pragma once
/// @file results.hpp
/// The results format in one place: the schema version, the typed result of one run and its JSON,
/// the trace with its reserved columns, the flat summary record, and the files they are written to.
/// docs/results.md describes this module; tests/test_results.cpp checks that the two agree.
#include <cstddef>
#include <fstream>
#include <optional>
#include <filesystem>
#include <string>
#include <vector>

#include <nmfx/types.hpp>

namespace nmfx {

/// Raised when a field changes meaning or disappears.
constexpr int kResultsSchemaVersion = 1;

/// The statuses a run ends with.
namespace run_status {
inline constexpr const char* ok = "ok";            ///< ran to a stopping rule
inline constexpr const char* failed = "failed";    ///< an error; `message` says which
inline constexpr const char* skipped = "skipped";  ///< a solver or loss that does not accept the data's kind
}  // namespace run_status

/// The columnar trace of a run: one array per quantity, one element per checkpoint. The session
/// writes the reserved columns; metrics and solver statistics add their own, and a name that is
/// reserved, or that another source already wrote in the same row, is refused with an error naming
/// the source, so that no column is ever misaligned.
class Trace {
 public:
  /// The columns the cell session writes itself (docs/results.md, "trace").
  static const std::vector<std::string>& reserved_columns();

  /// Starts a checkpoint's row; returns its index.
  std::size_t begin_row();
  /// A reserved column's value in the current row.
  void put_reserved(const std::string& column, const json& value);
  /// A value from `source` (e.g. "metric 'rho'"); throws nmfx::Error if `column` is reserved or
  /// already written in this row.
  void put(const std::string& source, const std::string& column, const json& value);
  /// The current row, as {column: value} (null where a column has no value in it).
  json last_row() const;
  std::size_t rows() const { return rows_; }
  const json& columns() const { return columns_; }
  json& columns() { return columns_; }

 private:
  void append(const std::string& column, const json& value);
  json columns_ = json::object();
  std::size_t rows_ = 0;
  std::vector<std::string> written_;  // columns written in the current row
};

/// The result of one run, as `<id>.json` holds it (docs/results.md).
struct RunResult {
  int schema_version = kResultsSchemaVersion;
  std::string id;
  json spec = json::object();  ///< {"name", "file"}
  json cell = json::object();
  std::string status = run_status::ok;
  std::string message;
  std::optional<std::string> stop_reason;  ///< one of stop_reasons() (stopping.hpp); none unless ok
  json data;                               ///< null when the data did not load
  json skipped_metrics;                    ///< null when none
  json factors;                            ///< null unless save_factors
  json restarts;                           ///< null unless the cell has restarts (restarts.hpp)
  std::size_t iterations = 0;
  double solver_seconds = 0, eval_seconds = 0;
  json trace = json::object();
  json final_values = json::object();  ///< "final": the last element of every trace column
  json environment = json::object();

  json to_json() const;
  /// Throws nmfx::Error naming the missing or mistyped field.
  static RunResult from_json(const json& j);
};

/// Every top-level key to_json() may write, in the order docs/results.md lists them.
const std::vector<std::string>& result_keys();

/// One flat record of a result (what summary.jsonl holds): id, status, plugin names and their
/// parameters as "solver.eps", rank, seed, init, regularization, and every final value.
json flat_record(const json& result);

/// The keys of a flat record that are not parameters or final values.
const std::vector<std::string>& flat_record_fixed_keys();

/// summary.jsonl: one flat record per finished run, appended (a line per run, never a rewrite),
/// and flushed so that a reader, or a crash, sees whole lines. The constructor truncates the file.
class SummaryWriter {
 public:
  explicit SummaryWriter(const std::string& path);
  void append(const json& result);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

/// Writes `text` to `path` through a temporary file and a rename, so a reader never sees half.
/// durable: the data is synced to disk before the rename (a crash leaves the old file or the new
/// one). Without it a crash may leave an empty or partial file under the new name, which costs
/// nothing when a reader checks it anyway (--resume parses every result; the runner syncs its
/// folder once at the end of a grid).
void write_file_atomic(const std::string& path, const std::string& text, bool durable = true);

/// Flushes every file of the file system holding `folder` to disk (syncfs).
void sync_folder(const std::string& folder);

/// The result files of a results folder: those summary.jsonl lists (the grid's last run there), in
/// its order, or, without a summary, every *.json in name order. Throws nmfx::Error naming `dir`
/// when it is not a folder. The one listing that `nmfx report` and `nmfx analyze` read through.
std::vector<std::filesystem::path> result_files(const std::string& dir);

/// A content hash (64-bit FNV-1a, hex) of a file, e.g. a plugin library; "" if it cannot be read.
std::string file_hash(const std::string& path);

}  // namespace nmfx
