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
#include <string>

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
    const std::string bytes = nmfx::read_file_maybe_gz(path_);
    nmfx::json info = {{"path", path_}};
    nmfx::NpyArray A;
    std::string where = path_;  // names the array in messages
    if (npz::is_zip(bytes)) {
      const npz::Member m = choose(npz::members(bytes, path_));
      where = path_ + ", member '" + npz::printable(m.name) + "'";
      A = nmfx::parse_npy(npz::extract(bytes, m, path_), where);
      info["member"] = npz::printable(m.name);
    } else {
      if (!member_.empty())
        throw nmfx::Error(path_ + ": member '" + member_ + "' was asked for, but the file is not an .npz archive");
      A = nmfx::parse_npy(bytes, path_);
    }

    // The stored array as an M x N matrix: values[n * h * w + p] is X(p, n) for 3-D arrays.
    const auto& s = A.shape;
    if (s.size() != 2 && s.size() != 3)
      throw nmfx::Error(where + ": expected a 2-D array (a matrix) or a 3-D array (N images of h x w), got " +
                        std::to_string(s.size()) + " dimensions, shape " + shape_text(s));
    const bool images = s.size() == 3;
    const std::size_t M = images ? s[1] * s[2] : s[0], N = images ? s[0] : s[1];
    if (M == 0 || N == 0)
      throw nmfx::Error(where + ": the array is empty (shape " + shape_text(s) +
                        "); NMF needs at least one row and one column");
    const Slice r = resolve_slice("rows", rows_, M), c = resolve_slice("cols", cols_, N);
    if (r.begin == r.end || c.begin == c.end)
      throw nmfx::Error(path_ + ": rows '" + rows_ + "' and cols '" + cols_ + "' select " +
                        std::to_string(r.end - r.begin) + " x " + std::to_string(c.end - c.begin) + " of the " +
                        std::to_string(M) + " x " + std::to_string(N) + " matrix; NMF needs at least one of each");

    // Stored flat index of X(i, j) for the selected entries, visited in increasing stored order
    // so that "the first" bad entry is the first numpy would find.
    auto stored = [&](std::size_t i, std::size_t j) { return images ? j * M + i : i * N + j; };
    auto position = [&](std::size_t k) {
      if (!images) return "(" + std::to_string(k / N) + ", " + std::to_string(k % N) + ")";
      const std::size_t n = k / M, p = k % M;
      return "(" + std::to_string(n) + ", " + std::to_string(p / s[2]) + ", " + std::to_string(p % s[2]) + ")";
    };
    std::size_t nonfinite = 0, negative = 0, first_nonfinite = 0, first_negative = 0;
    auto visit = [&](std::size_t k) {
      const double v = A.values[k];
      if (!std::isfinite(v)) {
        if (nonfinite++ == 0) first_nonfinite = k;
      } else if (v < 0) {
        if (negative++ == 0) first_negative = k;
        if (clip_) A.values[k] = 0.0;
      }
    };
    if (images) {
      for (std::size_t j = c.begin; j < c.end; ++j)
        for (std::size_t i = r.begin; i < r.end; ++i) visit(stored(i, j));
    } else {
      for (std::size_t i = r.begin; i < r.end; ++i)
        for (std::size_t j = c.begin; j < c.end; ++j) visit(stored(i, j));
    }
    if (nonfinite)
      throw nmfx::Error(where + ": " + std::to_string(nonfinite) + " non-finite (NaN or Inf) " +
                        (nonfinite == 1 ? "entry" : "entries") + ", the first at " + position(first_nonfinite) +
                        "; NMF needs finite X");
    if (negative && !clip_)
      throw nmfx::Error(where + ": " + std::to_string(negative) + " negative " + (negative == 1 ? "entry" : "entries") +
                        ", the first at " + position(first_negative) + "; NMF needs X >= 0 (negative: clip sets them to 0)");
    if (clip_) info["negative_clipped"] = negative;

    nmfx::Data data;
    const std::size_t m = r.end - r.begin, n = c.end - c.begin;
    data.dense = nmfx::Matrix::from_shape({m, n});
    double* x = data.dense.data();
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) x[i * n + j] = A.values[stored(r.begin + i, c.begin + j)];

    info["stored_shape"] = s;
    if (images && r.begin == 0 && r.end == M) info["image_shape"] = {s[1], s[2]};
    if (r.begin != 0 || r.end != M) info["rows"] = {r.begin, r.end};
    if (c.begin != 0 || c.end != N) info["cols"] = {c.begin, c.end};
    data.info = std::move(info);
    nmfx::apply_common_options(data, params_);
    data.info["shape"] = {data.rows(), data.cols()};
    nmfx::apply_holdout(data, params_);
    return data;
  }

 private:
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
      "npy", "2.1.0", "X from a NumPy .npy file or .npz member: a 2-D matrix, or a 3-D stack of images as columns");
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
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
