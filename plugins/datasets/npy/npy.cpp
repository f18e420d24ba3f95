// X from a NumPy .npy file or a member of an .npz archive (any real or integer dtype, C or Fortran
// order, optionally gzipped): a 2-D array is X as stored; a 3-D array of N images of h x w becomes
// the h*w x N matrix with one image per column (pixels in row-major order), and the image shape
// is kept in info["image_shape"] so that tools can draw columns of W as pictures. A row and a
// column slice ("start:stop", Python semantics) then select part of it, e.g. the first 100 images.
// Entries NMF cannot take (NaN, Inf, negative) are refused at load with their count and the first
// position in the stored array, so a bad file fails before any run rather than as a NaN loss.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nmfx/dataset_util.hpp>
#include <nmfx/npy.hpp>
#include <nmfx/plugin.hpp>

#include "npz.hpp"

namespace {

// A Python slice "start:stop" of a length-n axis, resolved as Python resolves it: either bound may
// be omitted or negative (counted from the end), and bounds beyond the axis are clipped.
struct Slice {
  std::size_t begin = 0, end = 0;
};

bool parse_bound(const std::string& text, long long& out) {
  std::size_t a = text.find_first_not_of(' '), b = text.find_last_not_of(' ');
  if (a == std::string::npos) return false;
  std::string t = text.substr(a, b - a + 1);
  if (t[0] == '+') t.erase(0, 1);
  const auto r = std::from_chars(t.data(), t.data() + t.size(), out);
  return r.ec == std::errc() && r.ptr == t.data() + t.size() && !t.empty();
}

Slice resolve_slice(const std::string& name, const std::string& text, std::size_t n) {
  auto bad = [&](const std::string& why) -> Slice {
    throw nmfx::Error("parameter " + name + ": '" + text + "' " + why);
  };
  const std::size_t colon = text.find(':');
  if (text.find_first_not_of(' ') == std::string::npos) return {0, n};
  if (colon == std::string::npos) return bad("is not a slice start:stop (write 'i:i+1' for one index)");
  if (text.find(':', colon + 1) != std::string::npos) return bad("has a step; only start:stop is supported");
  const long long len = static_cast<long long>(n);
  auto bound = [&](const std::string& part, long long fallback) {
    if (part.find_first_not_of(' ') == std::string::npos) return fallback;
    long long v = 0;
    if (!parse_bound(part, v)) bad("is not a slice start:stop of integers");
    if (v < 0) v = std::max(0LL, v + len);
    return std::min(v, len);
  };
  const long long start = bound(text.substr(0, colon), 0), stop = bound(text.substr(colon + 1), len);
  return {static_cast<std::size_t>(start), static_cast<std::size_t>(std::max(start, stop))};
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

class Npy final : public nmfx::Dataset {
 public:
  explicit Npy(const nmfx::Params& p)
      : params_(p),
        path_(p.str("path")),
        member_(p.str("member")),
        rows_(p.str("rows")),
        cols_(p.str("cols")),
        clip_(p.str("negative") == "clip") {}

  nmfx::Data load() override {
    // A plain or gzipped .npy is streamed from the file into X, never held whole: the peak memory
    // of a load is X plus a buffer of 1 MiB. An .npz archive is read whole (its directory is at the
    // end) and its member parsed as before.
    nmfx::json info = {{"path", path_}};
    nmfx::FileStream in(path_);
    char magic[4] = {};
    const std::size_t got = in.read(magic, 4);
    if (npz::is_zip(std::string(magic, got))) return load_npz(std::move(info));
    if (!member_.empty())
      throw nmfx::Error(path_ + ": member '" + member_ + "' was asked for, but the file is not an .npz archive");
    std::string prefix(magic, got);
    const nmfx::NpyHeader h = read_header(in, prefix);
    const std::size_t bytes = h.count * h.item;
    // Data bytes already read with the header (only with a header shorter than 2 bytes).
    const std::size_t extra = std::min(prefix.size() - h.data_offset, bytes);
    const std::size_t extra_after = prefix.size() - h.data_offset - extra;
    Shape x = shape_of(h.shape, path_);

    nmfx::Data data;
    data.dense = nmfx::Matrix::from_shape({x.r.end - x.r.begin, x.c.end - x.c.begin});
    Checks checks;
    std::size_t read = 0;
    const bool direct = h.dtype == "f8" && !h.swap_bytes && !h.fortran && h.shape.size() == 2 && x.r.begin == 0 &&
                        x.c.begin == 0 && x.r.end == x.M && x.c.end == x.N;
    if (direct) {
      // Stored as X is kept: read straight into it, then check it in place.
      char* out = reinterpret_cast<char*>(data.dense.data());
      std::copy_n(prefix.begin() + static_cast<long>(h.data_offset), extra, out);
      read = extra + in.read(out + extra, bytes - extra);
      double* v = data.dense.data();
      for (std::size_t k = 0; k < read / 8; ++k) checks.visit(v[k], k, clip_);
    } else {
      read = stream_into(in, prefix, h, x, data.dense.data(), checks);
    }
    if (read < bytes)
      throw nmfx::Error(path_ + ": truncated data: expected " + std::to_string(bytes) + " bytes for shape " +
                        shape_text(h.shape));
    if (const std::size_t after = extra_after + in.skip_rest())
      throw nmfx::Error(path_ + ": " + std::to_string(after) + " bytes after the data of shape " + shape_text(h.shape) +
                        " (more than one array in the file?)");
    checks.report(path_, x, clip_, info);
    return finish(std::move(data), std::move(info), h.shape, x);
  }

  std::pair<std::size_t, std::size_t> shape() override {
    nmfx::FileStream in(path_);
    std::string prefix = first_bytes_of_npy(in);
    const Shape x = shape_of(read_header(in, prefix).shape, path_);
    return nmfx::shape_after_options(params_, x.r.end - x.r.begin, x.c.end - x.c.begin);
  }

  // A plain .npy: each row (or column, whichever the file stores contiguously) of the block read
  // in place by one pread at its offset; a gzipped one: a streaming pass that keeps the block.
  nmfx::Data load_block(const nmfx::Range& rows, const nmfx::Range& cols) override {
    const auto [stored_rows, stored_cols] = nmfx::stored_block("npy", params_, rows, cols);
    nmfx::FileStream in(path_);
    std::string prefix = first_bytes_of_npy(in);
    const nmfx::NpyHeader h = read_header(in, prefix);
    const Shape whole = shape_of(h.shape, path_);
    nmfx::check_block_inside("npy", stored_rows, stored_cols, whole.r.end - whole.r.begin, whole.c.end - whole.c.begin);
    Shape x = whole;  // the selection narrowed to the block
    x.r = {whole.r.begin + stored_rows.begin, whole.r.begin + stored_rows.end};
    x.c = {whole.c.begin + stored_cols.begin, whole.c.begin + stored_cols.end};

    nmfx::Data data;
    data.dense = nmfx::Matrix::from_shape({stored_rows.size(), stored_cols.size()});
    Checks checks;
    const std::size_t bytes = h.count * h.item;
    if (gzipped(path_)) {
      const std::size_t extra = std::min(prefix.size() - h.data_offset, bytes);
      const std::size_t extra_after = prefix.size() - h.data_offset - extra;
      if (stream_into(in, prefix, h, x, data.dense.data(), checks) < bytes)
        throw nmfx::Error(path_ + ": truncated data: expected " + std::to_string(bytes) + " bytes for shape " +
                          shape_text(h.shape));
      if (const std::size_t after = extra_after + in.skip_rest())
        throw nmfx::Error(path_ + ": " + std::to_string(after) + " bytes after the data of shape " +
                          shape_text(h.shape) + " (more than one array in the file?)");
    } else {
      read_in_place(h, x, data.dense.data(), checks);
    }
    nmfx::json info = {{"path", path_},
                       {"block", {{"rows", {rows.begin, rows.end}}, {"cols", {cols.begin, cols.end}}}}};
    checks.report(path_, x, clip_, info);
    data.info = std::move(info);
    nmfx::apply_common_options(data, params_);
    data.info["shape"] = {data.rows(), data.cols()};
    return data;
  }

 private:
  // The stored array as an M x N matrix (a 3-D stack of N images of h x w: one image per column)
  // and the selected rows and columns of it.
  struct Shape {
    bool images = false;
    std::size_t M = 0, N = 0, d1 = 0, d2 = 1;  // stored dims (d0, d1, d2): 2-D arrays have d2 = 1
    Slice r, c;
    std::vector<std::size_t> stored;
  };

  Shape shape_of(const std::vector<std::size_t>& s, const std::string& where) const {
    if (s.size() != 2 && s.size() != 3)
      throw nmfx::Error(where + ": expected a 2-D array (a matrix) or a 3-D array (N images of h x w), got " +
                        std::to_string(s.size()) + " dimensions, shape " + shape_text(s));
    Shape x;
    x.stored = s;
    x.images = s.size() == 3;
    x.M = x.images ? s[1] * s[2] : s[0];
    x.N = x.images ? s[0] : s[1];
    x.d1 = s[1];
    x.d2 = x.images ? s[2] : 1;
    if (x.M == 0 || x.N == 0)
      throw nmfx::Error(where + ": the array is empty (shape " + shape_text(s) +
                        "); NMF needs at least one row and one column");
    x.r = resolve_slice("rows", rows_, x.M);
    x.c = resolve_slice("cols", cols_, x.N);
    if (x.r.begin == x.r.end || x.c.begin == x.c.end)
      throw nmfx::Error(path_ + ": rows '" + rows_ + "' and cols '" + cols_ + "' select " +
                        std::to_string(x.r.end - x.r.begin) + " x " + std::to_string(x.c.end - x.c.begin) + " of the " +
                        std::to_string(x.M) + " x " + std::to_string(x.N) + " matrix; NMF needs at least one of each");
    return x;
  }

  // Entries NMF cannot take, counted with the first of each kind in stored (C) order.
  struct Checks {
    std::size_t nonfinite = 0, negative = 0, first_nonfinite = SIZE_MAX, first_negative = SIZE_MAX;
    // v is the entry at C-order index k of the stored array; clip sets a negative v to 0.
    void visit(double& v, std::size_t k, bool clip) {
      if (!std::isfinite(v)) {
        ++nonfinite;
        first_nonfinite = std::min(first_nonfinite, k);
      } else if (v < 0) {
        ++negative;
        first_negative = std::min(first_negative, k);
        if (clip) v = 0.0;
      }
    }
    void report(const std::string& where, const Shape& x, bool clip, nmfx::json& info) const {
      auto position = [&](std::size_t k) {
        if (!x.images) return "(" + std::to_string(k / x.N) + ", " + std::to_string(k % x.N) + ")";
        const std::size_t n = k / x.M, p = k % x.M;
        return "(" + std::to_string(n) + ", " + std::to_string(p / x.d2) + ", " + std::to_string(p % x.d2) + ")";
      };
      if (nonfinite)
        throw nmfx::Error(where + ": " + std::to_string(nonfinite) + " non-finite (NaN or Inf) " +
                          (nonfinite == 1 ? "entry" : "entries") + ", the first at " + position(first_nonfinite) +
                          "; NMF needs finite X");
      if (negative && !clip)
        throw nmfx::Error(where + ": " + std::to_string(negative) + " negative " +
                          (negative == 1 ? "entry" : "entries") + ", the first at " + position(first_negative) +
                          "; NMF needs X >= 0 (negative: clip sets them to 0)");
      if (clip) info["negative_clipped"] = negative;
    }
  };

  // Puts the stored array's entries, in file order, where they go in X: the selected ones only.
  class Placer {
   public:
    Placer(const nmfx::NpyHeader& h, const Shape& x, double* out)
        : x_(x), fortran_(h.fortran), d0_(h.shape[0]), out_(out), cols_(x.c.end - x.c.begin) {}
    void next(double v, Checks& checks, bool clip) {
      // (i0, i1, i2) is the entry's index in the stored array; X's row and column follow.
      const std::size_t a = i0_, b = i1_ * x_.d2 + i2_;
      const std::size_t row = x_.images ? b : a, col = x_.images ? a : b;
      if (row >= x_.r.begin && row < x_.r.end && col >= x_.c.begin && col < x_.c.end) {
        checks.visit(v, a * (x_.d1 * x_.d2) + b, clip);
        out_[(row - x_.r.begin) * cols_ + (col - x_.c.begin)] = v;
      }
      if (fortran_) {  // the first index varies fastest
        if (++i0_ < d0_) return;
        i0_ = 0;
        if (++i1_ < x_.d1) return;
        i1_ = 0;
        ++i2_;
      } else {
        if (++i2_ < x_.d2) return;
        i2_ = 0;
        if (++i1_ < x_.d1) return;
        i1_ = 0;
        ++i0_;
      }
    }

   private:
    const Shape& x_;
    bool fortran_;
    std::size_t d0_;
    double* out_;
    std::size_t cols_;
    std::size_t i0_ = 0, i1_ = 0, i2_ = 0;
  };

  // The first bytes of a .npy (plain or gzipped) for read_header; an .npz archive is refused,
  // since its members can be neither read in place nor streamed by this reader.
  std::string first_bytes_of_npy(nmfx::FileStream& in) const {
    char magic[4] = {};
    const std::size_t got = in.read(magic, 4);
    if (npz::is_zip(std::string(magic, got)))
      throw nmfx::Error("dataset 'npy': " + path_ +
                        " is an .npz archive, which distributed cells do not read; save the array alone with "
                        "numpy.save (a plain .npy, read in place block by block)");
    if (!member_.empty())
      throw nmfx::Error(path_ + ": member '" + member_ + "' was asked for, but the file is not an .npz archive");
    return std::string(magic, got);
  }

  static bool gzipped(const std::string& path) {
    std::ifstream probe(path, std::ios::binary);
    unsigned char magic[2] = {0, 0};
    probe.read(reinterpret_cast<char*>(magic), 2);
    return probe.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  }

  // The block x.r x x.c of a plain .npy, by positioned reads: the entries of one stored run (a
  // row of the block when the file keeps X's rows contiguous, else a column) at a time, through a
  // buffer of that run. Nothing else of the file is read.
  void read_in_place(const nmfx::NpyHeader& h, const Shape& x, double* out, Checks& checks) const {
    const int fd = open(path_.c_str(), O_RDONLY);
    if (fd < 0) throw nmfx::Error(path_ + ": cannot open file");
    struct Close {
      int fd;
      ~Close() { close(fd); }
    } closer{fd};
    struct stat st {};
    if (fstat(fd, &st) != 0) throw nmfx::Error(path_ + ": cannot read the file's size");
    const std::size_t bytes = h.count * h.item, size = static_cast<std::size_t>(st.st_size);
    // The same refusals as load(), so that every process of a cell agrees with a single one.
    if (size < h.data_offset + bytes)
      throw nmfx::Error(path_ + ": truncated data: expected " + std::to_string(bytes) + " bytes for shape " +
                        shape_text(h.shape));
    if (size > h.data_offset + bytes)
      throw nmfx::Error(path_ + ": " + std::to_string(size - h.data_offset - bytes) +
                        " bytes after the data of shape " + shape_text(h.shape) +
                        " (more than one array in the file?)");
    // Index of X(row, col) among the stored entries, in the file's order, and in C order (as
    // Checks reports positions). A 3-D stack (N, h, w) has X(p, n) = a[n, p / w, p % w].
    const std::size_t d0 = h.shape[0];
    auto file_index = [&](std::size_t row, std::size_t col) -> std::size_t {
      if (!x.images) return h.fortran ? row + x.M * col : row * x.N + col;
      return h.fortran ? col + d0 * (row / x.d2 + x.d1 * (row % x.d2)) : col * x.M + row;
    };
    auto c_index = [&](std::size_t row, std::size_t col) { return x.images ? col * x.M + row : row * x.N + col; };
    // Which of X's indices is contiguous in the file: the column index in a C-order matrix and in
    // a Fortran-order stack of images (whose first index is the image), else the row index.
    const bool along_row = x.images == h.fortran;
    const std::size_t nr = x.r.end - x.r.begin, nc = x.c.end - x.c.begin;
    const std::size_t run = along_row ? nc : nr, runs = along_row ? nr : nc;
    std::vector<char> raw(run * h.item);
    std::vector<double> values(run);
    for (std::size_t k = 0; k < runs; ++k) {
      const std::size_t row0 = x.r.begin + (along_row ? k : 0), col0 = x.c.begin + (along_row ? 0 : k);
      std::size_t at = h.data_offset + file_index(row0, col0) * h.item, done = 0;
      while (done < raw.size()) {
        const ssize_t n = pread(fd, raw.data() + done, raw.size() - done, static_cast<off_t>(at + done));
        if (n <= 0) throw nmfx::Error(path_ + ": read error at byte " + std::to_string(at + done));
        done += static_cast<std::size_t>(n);
      }
      nmfx::npy_convert(h, raw.data(), run, values.data());
      for (std::size_t e = 0; e < run; ++e) {
        const std::size_t row = row0 + (along_row ? 0 : e), col = col0 + (along_row ? e : 0);
        checks.visit(values[e], c_index(row, col), clip_);
        out[(row - x.r.begin) * nc + (col - x.c.begin)] = values[e];
      }
    }
  }

  // The header of a plain or gzipped .npy from `in`, whose first bytes are already in `prefix`;
  // prefix then holds everything read (the header, and data bytes only after a very short one).
  nmfx::NpyHeader read_header(nmfx::FileStream& in, std::string& prefix) const {
    const std::size_t got = prefix.size();
    // The preamble (magic, version, header length), then the header it announces.
    prefix.resize(12);
    prefix.resize(got + in.read(&prefix[got], 12 - got));
    std::size_t header_len = 0, preamble = 0;
    if (prefix.size() >= 10 && prefix[6] == 1) {
      preamble = 10;
      header_len = static_cast<unsigned char>(prefix[8]) | static_cast<unsigned char>(prefix[9]) << 8;
    } else if (prefix.size() >= 12 && (prefix[6] == 2 || prefix[6] == 3)) {
      preamble = 12;
      for (int b = 3; b >= 0; --b) header_len = header_len << 8 | static_cast<unsigned char>(prefix[8 + b]);
    }
    if (preamble && header_len <= (1u << 20) && preamble + header_len > prefix.size()) {
      const std::size_t have = prefix.size();
      prefix.resize(preamble + header_len);
      prefix.resize(have + in.read(&prefix[have], preamble + header_len - have));
    }
    return nmfx::parse_npy_header(prefix.data(), prefix.size(), path_, 0);
  }

  // Converts the data that follow the header in `in` (the first of them perhaps already in
  // prefix) and places the selected entries x.r x x.c at out, 1 MiB at a time; returns the data
  // bytes read (fewer than the array's only for a truncated file).
  std::size_t stream_into(nmfx::FileStream& in, const std::string& prefix, const nmfx::NpyHeader& h, const Shape& x,
                          double* out, Checks& checks) const {
    const std::size_t bytes = h.count * h.item;
    const std::size_t extra = std::min(prefix.size() - h.data_offset, bytes);
    std::size_t read = 0;
    Placer place(h, x, out);
    std::vector<char> raw(1 << 20);
    std::vector<double> values(raw.size() / h.item);  // one per whole entry that raw can hold
    std::size_t pending = extra;  // bytes in raw not yet converted (less than one entry after a round)
    std::copy_n(prefix.begin() + static_cast<long>(h.data_offset), extra, raw.begin());
    for (;;) {
      const std::size_t left = bytes - read;  // not yet converted, the pending bytes included
      const std::size_t want = left > pending ? std::min(raw.size() - pending, left - pending) : 0;
      const std::size_t n = want ? in.read(raw.data() + pending, want) : 0;
      const std::size_t avail = pending + n, entries = avail / h.item;
      nmfx::npy_convert(h, raw.data(), entries, values.data());
      for (std::size_t e = 0; e < entries; ++e) place.next(values[e], checks, clip_);
      pending = avail - entries * h.item;
      std::copy(raw.begin() + static_cast<long>(entries * h.item), raw.begin() + static_cast<long>(avail), raw.begin());
      read += entries * h.item;
      if (n < want || want == 0) {
        read += pending;
        break;
      }
    }
    return read;
  }

  nmfx::Data finish(nmfx::Data data, nmfx::json info, const std::vector<std::size_t>& s, const Shape& x) const {
    info["stored_shape"] = s;
    if (x.images && x.r.begin == 0 && x.r.end == x.M) info["image_shape"] = {s[1], s[2]};
    if (x.r.begin != 0 || x.r.end != x.M) info["rows"] = {x.r.begin, x.r.end};
    if (x.c.begin != 0 || x.c.end != x.N) info["cols"] = {x.c.begin, x.c.end};
    data.info = std::move(info);
    nmfx::apply_common_options(data, params_);
    data.info["shape"] = {data.rows(), data.cols()};
    nmfx::apply_holdout(data, params_);
    return data;
  }

  // An .npz member: the archive is read whole, the member extracted and parsed, then placed.
  nmfx::Data load_npz(nmfx::json info) {
    const std::string bytes = nmfx::read_file_maybe_gz(path_);
    const npz::Member m = choose(npz::members(bytes, path_));
    const std::string where = path_ + ", member '" + npz::printable(m.name) + "'";
    nmfx::NpyArray A = nmfx::parse_npy(npz::extract(bytes, m, path_), where);
    info["member"] = npz::printable(m.name);
    const Shape x = shape_of(A.shape, where);
    nmfx::Data data;
    data.dense = nmfx::Matrix::from_shape({x.r.end - x.r.begin, x.c.end - x.c.begin});
    nmfx::NpyHeader h;  // A.values are in C order
    h.shape = A.shape;
    Placer place(h, x, data.dense.data());
    Checks checks;
    for (double v : A.values) place.next(v, checks, clip_);
    checks.report(where, x, clip_, info);
    return finish(std::move(data), std::move(info), A.shape, x);
  }

  // The member named by `member` ("x" or "x.npy"), or the only member if `member` is empty.
  npz::Member choose(const std::vector<npz::Member>& all) const {
    std::string names;
    for (const auto& m : all) names += (names.empty() ? "" : ", ") + npz::printable(m.name);
    if (all.empty()) throw nmfx::Error(path_ + ": the .npz archive is empty");
    if (member_.empty()) {
      if (all.size() == 1) return all[0];
      throw nmfx::Error(path_ + ": the archive holds " + std::to_string(all.size()) + " arrays (" + names +
                        "); name one with the parameter member");
    }
    const npz::Member* found = nullptr;
    for (const auto& m : all)
      if (m.name == member_ || m.name == member_ + ".npy") {
        if (found) throw nmfx::Error(path_ + ": the archive holds more than one member named '" + member_ + "'");
        found = &m;
      }
    if (!found) throw nmfx::Error(path_ + ": no array '" + member_ + "' in the archive; it holds " + names);
    return *found;
  }

  nmfx::Params params_;
  std::string path_, member_, rows_, cols_;
  bool clip_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Dataset, Npy>(
      "npy", "2.2.0", "X from a NumPy .npy file or .npz member: a 2-D matrix, or a 3-D stack of images as columns");
  d.params = {
      nmfx::param_path("path", "the .npy or .npz file (optionally gzipped) holding X"),
      nmfx::param_string("member", "", "the array inside an .npz archive ('x' or 'x.npy'); empty: its only array"),
      nmfx::param_string("rows", ":", "rows of X to keep, a Python slice 'start:stop' (e.g. ':100'), before transpose"),
      nmfx::param_string("cols", ":", "columns of X to keep (for 3-D arrays: images), a Python slice 'start:stop'"),
      nmfx::param_choice("negative", "error", {"error", "clip"},
                         "negative entries: refuse the file, or clip them to 0 (counted in info)"),
  };
  for (auto& p : nmfx::common_dataset_params()) d.params.push_back(p);
  for (auto& p : nmfx::holdout_params()) d.params.push_back(p);
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::observed};  // observed when holdout > 0
  d.distributed = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
