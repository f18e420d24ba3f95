#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <zlib.h>

#include <nmfx/dataset_util.hpp>
#include <nmfx/rng.hpp>

namespace nmfx {

std::string read_file_maybe_gz(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f || static_cast<unsigned char>(raw[1]) != 0x8b)
    return raw;
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) throw Error(path + ": cannot start gzip decompression");
  std::string out;
  char buf[1 << 16];
  z.next_in = reinterpret_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw Error(path + ": corrupt gzip data (" + (z.msg ? z.msg : "zlib error " + std::to_string(rc)) + ")");
    }
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      throw Error(path + ": truncated gzip file");
    }
    // Concatenated gzip members (as `cat a.gz b.gz` makes) continue after a stream end.
    if (rc == Z_STREAM_END && z.avail_in > 0) {
      inflateReset(&z);
      rc = Z_OK;
    }
  }
  inflateEnd(&z);
  return out;
}

FileStream::FileStream(const std::string& path) : path_(path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open file");
  gzbuffer(f, 1 << 17);
  file_ = f;
}

FileStream::~FileStream() { gzclose(static_cast<gzFile>(file_)); }

void FileStream::fail(void* file) {
  int err = 0;
  const char* msg = gzerror(static_cast<gzFile>(file), &err);
  if (err == Z_BUF_ERROR) throw Error(path_ + ": truncated gzip file");
  if (err == Z_ERRNO) throw Error(path_ + ": read error");
  throw Error(path_ + ": corrupt gzip data (" + std::string(msg && *msg ? msg : "zlib error") + ")");
}

std::size_t FileStream::read(char* to, std::size_t n) {
  gzFile f = static_cast<gzFile>(file_);
  std::size_t done = 0;
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, std::size_t{1} << 30));
    const int r = gzread(f, to + done, chunk);
    if (r < 0) fail(f);
    done += static_cast<std::size_t>(r);
    if (static_cast<unsigned>(r) < chunk) {
      int err = 0;
      gzerror(f, &err);
      if (err != Z_OK) fail(f);
      break;
    }
  }
  return done;
}

std::size_t FileStream::skip_rest() {
  char buf[1 << 14];
  std::size_t total = 0;
  while (const std::size_t n = read(buf, sizeof buf)) total += n;
  return total;
}

std::size_t FileStream::content_size() {
  std::ifstream probe(path_, std::ios::binary);
  unsigned char magic[2] = {0, 0};
  probe.read(reinterpret_cast<char*>(magic), 2);
  if (!(probe.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b)) {
    probe.clear();
    probe.seekg(0, std::ios::end);
    return static_cast<std::size_t>(probe.tellg());
  }
  FileStream again(path_);
  return again.skip_rest();
}

std::vector<ParamSpec> common_dataset_params() {
  return {param_bool("transpose", false, "swap rows and columns after loading (samples become rows)"),
          param_choice("scale", "none", {"none", "max", "minmax"},
                       "rescale to [0, 1]: max divides by max(X); minmax maps [min, max] to [0, 1] (dense only)"),
          param_choice("normalize", "none", {"none", "lee_seung"},
                       "lee_seung: each column's mean and standard deviation set to 0.25, then clipped to [0, 1]"),
          param_string("title", "", "a human-readable name of the data for reports and figures (info.title)")};
}

void apply_common_options(Data& X, const Params& params) {
  if (!params.str("title").empty()) X.info["title"] = params.str("title");
  if (params.str("normalize") == "lee_seung") {
    // Lee & Seung (1999), Methods: "the pixel mean and standard deviation were set to 0.25, and the
    // pixel values clipped to the range [0, 1]" — per image, i.e. per column of X.
    if (X.kind != DataKind::dense) throw Error("normalize: lee_seung needs dense data (images)");
    const std::size_t M = X.dense.shape(0), N = X.dense.shape(1);
    std::size_t constant = 0;
    for (std::size_t j = 0; j < N; ++j) {
      double mean = 0, sq = 0;
      for (std::size_t i = 0; i < M; ++i) mean += X.dense(i, j);
      mean /= static_cast<double>(M);
      for (std::size_t i = 0; i < M; ++i) sq += (X.dense(i, j) - mean) * (X.dense(i, j) - mean);
      // A constant image (all pixels equal) has sd 0; rounding can leave ~1e-16, so test equality.
      bool flat = true;
      for (std::size_t i = 1; i < M && flat; ++i) flat = X.dense(i, j) == X.dense(0, j);
      const double sd = flat ? 0.0 : std::sqrt(sq / static_cast<double>(M));
      constant += sd == 0;
      for (std::size_t i = 0; i < M; ++i) {
        const double v = sd > 0 ? 0.25 + 0.25 * (X.dense(i, j) - mean) / sd : 0.25;
        X.dense(i, j) = std::clamp(v, 0.0, 1.0);
      }
    }
    X.info["normalize"] = {{"method", "lee_seung"}, {"constant_columns", constant}};
  }
  const std::string scale = params.str("scale");
  if (scale != "none") {
    const bool dense = X.kind == DataKind::dense;
    if (!dense && scale == "minmax")
      throw Error("scale: minmax would turn the zeros of a sparse X into nonzeros; use scale: max");
    std::vector<double>* sparse_values = dense ? nullptr : &X.sparse.values;
    double* v = dense ? X.dense.data() : sparse_values->data();
    const std::size_t n = dense ? X.dense.size() : sparse_values->size();
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t k = 0; k < n; ++k) {
      lo = std::min(lo, v[k]);
      hi = std::max(hi, v[k]);
    }
    if (scale == "max") lo = 0;
    if (n > 0 && hi > lo)
      for (std::size_t k = 0; k < n; ++k) v[k] = (v[k] - lo) / (hi - lo);
    X.info["scale"] = {{"method", scale}, {"min", lo}, {"max", hi}};
  }
  if (params.boolean("transpose")) {
    if (X.kind == DataKind::dense) {
      Matrix t = Matrix::from_shape({X.dense.shape(1), X.dense.shape(0)});
      for (std::size_t i = 0; i < X.dense.shape(0); ++i)
        for (std::size_t j = 0; j < X.dense.shape(1); ++j) t(j, i) = X.dense(i, j);
      X.dense = std::move(t);
    } else {
      X.sparse = X.sparse.transposed();
      if (X.test.rows + X.test.cols > 0) X.test = X.test.transposed();
    }
    X.info["transposed"] = true;
  }
}

std::vector<ParamSpec> holdout_params() {
  return {param_real("holdout", 0.0, "fraction of the entries hidden for cross-validation (0: none)", 0.0, 0.999),
          param_int("holdout_fold", 0, "which disjoint block of `holdout` entries is hidden (0, 1, ...)", 0),
          param_int("holdout_seed", 0, "seeds the choice of the hidden entries", 0)};
}

void apply_holdout(Data& X, const Params& params) {
  const double f = params.real("holdout");
  if (f <= 0) return;
  const auto fold = static_cast<std::size_t>(params.integer("holdout_fold"));
  if (static_cast<double>(fold + 1) * f > 1.0 + 1e-12)
    throw Error("holdout_fold: fold " + std::to_string(fold) + " of holdout " + std::to_string(f) +
                " is past the last (there are " + std::to_string(static_cast<long long>(1.0 / f + 1e-9)) +
                " disjoint folds)");
  if (X.kind != DataKind::dense) throw Error("holdout: needs dense data (sparse or observed X has its own split)");
  const std::size_t M = X.dense.shape(0), N = X.dense.shape(1);
  const double lo = static_cast<double>(fold) * f, hi = lo + f;
  Rng rng = Rng::stream("holdout", static_cast<std::uint64_t>(params.integer("holdout_seed")));
  SparseMatrix train, test;
  train.rows = test.rows = M;
  train.cols = test.cols = N;
  train.indptr.assign(1, 0);
  test.indptr.assign(1, 0);
  for (std::size_t i = 0; i < M; ++i) {
    for (std::size_t j = 0; j < N; ++j) {
      const double u = rng.uniform();
      SparseMatrix& S = (u >= lo && u < hi) ? test : train;
      S.indices.push_back(static_cast<std::uint32_t>(j));
      S.values.push_back(X.dense(i, j));
    }
    train.indptr.push_back(train.values.size());
    test.indptr.push_back(test.values.size());
  }
  X.info["holdout"] = {{"fraction", f},
                       {"fold", fold},
                       {"seed", params.integer("holdout_seed")},
                       {"test_entries", test.values.size()},
                       {"train_entries", train.values.size()}};
  X.kind = DataKind::observed;
  X.sparse = std::move(train);
  X.test = std::move(test);
  X.dense = Matrix();
}

namespace {
bool has_param(const Params& params, const char* name) { return params.values().contains(name); }
}  // namespace

std::pair<Range, Range> stored_block(const std::string& dataset, const Params& params, const Range& rows,
                                     const Range& cols) {
  auto refuse = [&](const std::string& option, const std::string& value) {
    throw Error("dataset '" + dataset + "': option " + option + ": " + value +
                " is not supported for distributed cells (it needs the whole X on one process)");
  };
  if (has_param(params, "scale") && params.str("scale") != "none") refuse("scale", params.str("scale"));
  if (has_param(params, "normalize") && params.str("normalize") != "none") refuse("normalize", params.str("normalize"));
  if (has_param(params, "holdout") && params.real("holdout") > 0) {
    std::ostringstream value;
    value << params.real("holdout");
    refuse("holdout", value.str());
  }
  if (has_param(params, "transpose") && params.boolean("transpose")) return {cols, rows};
  return {rows, cols};
}

std::pair<std::size_t, std::size_t> shape_after_options(const Params& params, std::size_t M, std::size_t N) {
  if (has_param(params, "transpose") && params.boolean("transpose")) return {N, M};
  return {M, N};
}

void check_block_inside(const std::string& dataset, const Range& rows, const Range& cols, std::size_t M,
                        std::size_t N) {
  if (rows.begin < rows.end && cols.begin < cols.end && rows.end <= M && cols.end <= N) return;
  throw Error("dataset '" + dataset + "': block rows [" + std::to_string(rows.begin) + ", " + std::to_string(rows.end) +
              ") x columns [" + std::to_string(cols.begin) + ", " + std::to_string(cols.end) +
              ") is empty or outside the stored " + std::to_string(M) + " x " + std::to_string(N) + " matrix");
}

}  // namespace nmfx
