#pragma once
/// @file dataset_util.hpp
/// What every dataset plugin needs besides its own parser: reading a file that may be gzipped,
/// and the options common to all datasets (transpose, scale to [0, 1]), declared once here so that
/// every dataset documents and applies them the same way.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nmfx/distributed.hpp>
#include <nmfx/params.hpp>
#include <nmfx/types.hpp>

namespace nmfx {

/// The whole content of `path`, gunzipped if it is gzip-compressed (by its magic bytes, whatever
/// its name). Throws nmfx::Error naming the file on any failure (missing, unreadable, truncated gzip).
std::string read_file_maybe_gz(const std::string& path);

/// A file read once from start to end, gunzipped on the fly if it is gzip-compressed (by its magic
/// bytes, whatever its name; concatenated members too), so that a reader can parse a file without
/// holding it: the memory it takes is a buffer of 128 KiB, and large reads of a plain file go
/// straight into the caller's buffer. Errors name the file.
class FileStream {
 public:
  explicit FileStream(const std::string& path);
  ~FileStream();
  FileStream(const FileStream&) = delete;
  FileStream& operator=(const FileStream&) = delete;
  /// Reads up to n bytes into `to`; fewer only at the end of the content.
  std::size_t read(char* to, std::size_t n);
  /// Skips what is left and returns how many bytes that was.
  std::size_t skip_rest();
  /// The size of the whole (decompressed) content: the file's size, or, for a gzipped file, one
  /// pass of inflation that counts the bytes (holding none of them).
  std::size_t content_size();
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(void* file);
  std::string path_;
  void* file_ = nullptr;  ///< zlib's gzFile
};

/// Parameters `transpose` (bool, false), `scale` (choice none | max | minmax), `normalize` (choice
/// none | lee_seung) and `title` (string, "": the data's name in reports and figures, as info.title):
/// append them to a dataset's schema.
std::vector<ParamSpec> common_dataset_params();

/// Applies the common options to X after loading, in this order: `normalize: lee_seung` sets each
/// column's (image's) mean and standard deviation to 0.25 and clips to [0, 1] (Lee & Seung 1999,
/// Methods; dense only); `scale: max` divides by max(X) (X >= 0 stays in [0, 1]); `scale: minmax`
/// maps [min, max] to [0, 1] (dense only: it would fill a sparse X);
/// `transpose` swaps rows and columns (samples become rows). Keeps info["image_shape"] meaningful by
/// recording info["transposed"].
void apply_common_options(Data& X, const Params& params);

/// Parameters `holdout` (real in [0, 1), 0), `holdout_fold` (int, 0) and `holdout_seed` (int, 0):
/// the spec-level way to hide a random fraction of the entries for cross-validation. Append them
/// to a dataset's schema and call apply_holdout after loading.
std::vector<ParamSpec> holdout_params();

/// With holdout = f > 0, turns a dense X into observed data: entry (i, j) draws u_ij uniform in
/// [0, 1) from holdout_seed, and is held out (a test entry) when fold*f <= u_ij < (fold+1)*f, so
/// folds 0, 1, ... are disjoint, each about f*M*N entries (Kanagal & Sindhwani 2010's hold-out;
/// RcppML's speckled test set). All other entries, zeros included, are the training entries.
/// Records info["holdout"]. Throws for non-dense X or (fold+1)*f > 1.
void apply_holdout(Data& X, const Params& params);

/// Distributed cells (Dataset::load_block): the block of the stored X, as the dataset reads it
/// before the common options, that gives block rows x cols of X: the same block, or under
/// `transpose` the swapped one (block (r, c) of X^T is block (c, r) of X, transposed; then
/// apply_common_options on the block read transposes it back). Refuses, with a one-line error
/// naming `dataset` and the option, the options that need the whole X: scale, normalize and
/// holdout ("dataset 'npy': option scale: max is not supported for distributed cells ...").
std::pair<Range, Range> stored_block(const std::string& dataset, const Params& params, const Range& rows,
                                     const Range& cols);

/// Distributed cells (Dataset::shape): X's shape from the stored one (M, N), swapped under `transpose`.
std::pair<std::size_t, std::size_t> shape_after_options(const Params& params, std::size_t M, std::size_t N);

/// Refuses a block that is empty or reaches past the stored M x N matrix, naming `dataset`.
void check_block_inside(const std::string& dataset, const Range& rows, const Range& cols, std::size_t M, std::size_t N);

}  // namespace nmfx
