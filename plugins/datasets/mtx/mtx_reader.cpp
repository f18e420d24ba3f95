// Matrix Market reader (NIST, "The Matrix Market Exchange Formats: Initial Design", 1996):
//   %%MatrixMarket matrix <coordinate|array> <real|integer|pattern> <general|symmetric>
//   % comments
//   M N NNZ            (coordinate)  or  M N  (array)
//   i j [value]        one entry per line, 1-based (coordinate)
//   value              one per line, column by column (array; symmetric: the lower triangle only)
// Strict: every malformed line is one error naming the file and the line. Coordinate files become
// CSR as scipy.io.mmread(...).tocsr() does: symmetric off-diagonal entries are mirrored, repeated
// (i, j) entries are summed. Explicit zeros are then dropped (X's CSR stores no zeros).
#include "mtx_reader.hpp"

#include <nmfx/dataset_util.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

namespace mtx {
namespace {

using std::string_view;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// A token for a one-line message: printable ASCII only, at most 30 characters.
std::string printable(string_view s) {
  std::string out;
  for (char c : s.substr(0, 30)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 30) out += "...";
  return out;
}

std::string lower(string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

std::vector<string_view> split(string_view line) {
  std::vector<string_view> out;
  std::size_t p = 0;
  while (p < line.size()) {
    while (p < line.size() && is_blank(line[p])) ++p;
    const std::size_t start = p;
    while (p < line.size() && !is_blank(line[p])) ++p;
    if (p > start) out.push_back(line.substr(start, p - start));
  }
  return out;
}

// The lines of the file, numbered from 1; '\n' ends a line, a '\r' before it is a blank. The
// bytes come from `read` a chunk at a time, so the file is never held whole: a line is valid
// until the next call.
class Lines {
 public:
  using Read = std::function<std::size_t(char*, std::size_t)>;
  Lines(Read read, std::size_t total) : read_(std::move(read)), total_(total), buf_(1 << 16) {}
  bool next(string_view& line) {
    for (;;) {
      const char* begin = buf_.data() + pos_;
      const char* nl = static_cast<const char*>(std::memchr(begin, '\n', end_ - pos_));
      if (nl || (eof_ && pos_ < end_)) {
        const std::size_t len = nl ? static_cast<std::size_t>(nl - begin) : end_ - pos_;
        line = string_view(begin, len);
        const std::size_t used = nl ? len + 1 : len;
        pos_ += used;
        consumed_ += used;
        ++number_;
        return true;
      }
      if (eof_) return false;
      refill();
    }
  }
  // The next line holding something other than blanks or a % comment.
  bool next_content(string_view& line) {
    while (next(line)) {
      std::size_t p = 0;
      while (p < line.size() && is_blank(line[p])) ++p;
      if (p < line.size() && line[p] != '%') return true;
    }
    return false;
  }
  std::size_t number() const { return number_; }
  std::size_t remaining() const { return total_ > consumed_ ? total_ - consumed_ : 0; }
  // The first n bytes of the file (or all of it, if shorter), before any line is read.
  string_view peek(std::size_t n) {
    while (end_ < n && !eof_) refill();
    return string_view(buf_.data(), std::min(n, end_));
  }

 private:
  // Keeps the unread bytes, at the front, and reads more after them (a longer buffer for a line
  // longer than the buffer).
  void refill() {
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(2 * buf_.size());
    const std::size_t n = read_(buf_.data() + end_, buf_.size() - end_);
    end_ += n;
    if (n == 0) eof_ = true;
  }
  Read read_;
  std::size_t total_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0, consumed_ = 0, number_ = 0;
  bool eof_ = false;
};

bool parse_unsigned(string_view t, std::uint64_t& out) {
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  const auto r = std::from_chars(t.data(), t.data() + t.size(), out);
  return !t.empty() && r.ec == std::errc() && r.ptr == t.data() + t.size();
}

class Reader {
 public:
  Reader(Lines::Read read, std::size_t total, const std::string& path, const Options& o)
      : lines_(std::move(read), total), path_(path), o_(o) {}

  nmfx::Data run() {
    const string_view start = lines_.peek(263);
    if (start.empty()) fail_file("the file is empty, not a Matrix Market file");
    if (start.size() > 262 && start.compare(257, 5, "ustar") == 0)
      fail_file("this is a tar archive; extract the .mtx file from it first (SuiteSparse ships .tar.gz archives)");
    header();
    size_line();
    if (o_.block &&
        (o_.rows.begin >= o_.rows.end || o_.cols.begin >= o_.cols.end || o_.rows.end > M_ || o_.cols.end > N_))
      fail_file("block rows [" + std::to_string(o_.rows.begin) + ", " + std::to_string(o_.rows.end) + ") x columns [" +
                std::to_string(o_.cols.begin) + ", " + std::to_string(o_.cols.end) + ") is empty or outside the " +
                std::to_string(M_) + " x " + std::to_string(N_) + " matrix");
    nmfx::Data data = array_ ? read_array() : read_coordinate();
    string_view extra;
    if (lines_.next_content(extra))
      fail("more data than the size line (line " + std::to_string(size_line_) + ") declares: '" + printable(extra) +
           "'");
    if (negatives_ && !o_.clip_negative)
      fail_file(std::to_string(negatives_) + " negative " + (negatives_ == 1 ? "entry" : "entries") +
                ", the first on line " + std::to_string(first_negative_line_) + " at " + first_negative_at_ +
                "; NMF needs X >= 0 (negative: clip sets them to 0)");
    const bool any = data.kind == nmfx::DataKind::dense
                         ? std::any_of(data.dense.begin(), data.dense.end(), [](double v) { return v != 0.0; })
                         : data.sparse.nnz() > 0;
    if (!any && !o_.block) fail_file("every entry is zero; NMF needs a nonzero X");  // a block may be
    data.info["path"] = path_;
    data.info["format"] = array_ ? "array" : "coordinate";
    data.info["field"] = field_;
    data.info["symmetry"] = symmetric_ ? "symmetric" : "general";
    if (o_.clip_negative) data.info["negative_clipped"] = negatives_;
    return data;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw nmfx::Error(path_ + ":" + std::to_string(lines_.number()) + ": " + what);
  }
  [[noreturn]] void fail_file(const std::string& what) const { throw nmfx::Error(path_ + ": " + what); }

 public:
  std::pair<std::size_t, std::size_t> shape() {
    header();
    size_line();
    return {M_, N_};
  }

 private:
  // The shape of what is returned (the block, or the whole matrix), and whether the 0-based entry
  // (i, j) of the file is in it.
  std::uint64_t rows_out() const { return o_.block ? o_.rows.size() : M_; }
  std::uint64_t cols_out() const { return o_.block ? o_.cols.size() : N_; }
  bool inside(std::uint64_t i, std::uint64_t j) const {
    return !o_.block || (i >= o_.rows.begin && i < o_.rows.end && j >= o_.cols.begin && j < o_.cols.end);
  }
  std::uint64_t row0() const { return o_.block ? o_.rows.begin : 0; }
  std::uint64_t col0() const { return o_.block ? o_.cols.begin : 0; }

  void header() {
    string_view line;
    lines_.next(line);
    const auto t = split(line);
    const char* usage = "'%%MatrixMarket matrix <coordinate|array> <real|integer|pattern> <general|symmetric>'";
    if (t.empty() || lower(t[0]) != "%%matrixmarket")
      fail(std::string("not a Matrix Market file: the first line must be ") + usage);
    if (t.size() != 5) fail(std::string("the header must have 5 words, ") + usage);
    if (lower(t[1]) != "matrix") fail("object '" + printable(t[1]) + "' is not supported: only 'matrix' (not vectors)");
    const std::string format = lower(t[2]);
    field_ = lower(t[3]);
    const std::string symmetry = lower(t[4]);
    if (format == "array")
      array_ = true;
    else if (format != "coordinate")
      fail("format '" + printable(t[2]) + "' is neither coordinate nor array");
    if (field_ == "complex") fail("complex matrices are not supported (NMF needs a real X)");
    if (field_ != "real" && field_ != "integer" && field_ != "pattern")
      fail("field '" + printable(t[3]) + "' is not one of real, integer, pattern");
    if (field_ == "pattern" && array_) fail("field pattern is only valid for coordinate files");
    if (symmetry == "symmetric")
      symmetric_ = true;
    else if (symmetry == "skew-symmetric")
      fail("skew-symmetric matrices are not supported: the mirrored entries are negated, and NMF needs X >= 0");
    else if (symmetry == "hermitian")
      fail("hermitian matrices are not supported (they are complex)");
    else if (symmetry != "general")
      fail("symmetry '" + printable(t[4]) + "' is not one of general, symmetric");
  }

  void size_line() {
    string_view line;
    if (!lines_.next_content(line)) fail_file("truncated: no size line after the header");
    size_line_ = lines_.number();
    const auto t = split(line);
    const std::size_t want = array_ ? 2 : 3;
    const char* what = array_ ? "'rows columns'" : "'rows columns entries'";
    if (t.size() != want)
      fail(std::string("the size line must be ") + what + ", found " + std::to_string(t.size()) + " fields");
    std::uint64_t v[3] = {0, 0, 0};
    for (std::size_t k = 0; k < want; ++k)
      if (!parse_unsigned(t[k], v[k])) fail("size '" + printable(t[k]) + "' is not a nonnegative integer");
    M_ = v[0];
    N_ = v[1];
    declared_ = v[2];
    if (M_ == 0 || N_ == 0)
      fail("the matrix is empty (" + std::to_string(M_) + " x " + std::to_string(N_) +
           "); NMF needs at least one row and one column");
    if (M_ > o_.max_dim || N_ > o_.max_dim)
      fail("shape " + std::to_string(M_) + " x " + std::to_string(N_) + " is too large (at most " +
           std::to_string(o_.max_dim) + " rows and columns)");
    if (symmetric_ && M_ != N_)
      fail("a symmetric matrix must be square, not " + std::to_string(M_) + " x " + std::to_string(N_));
    // Each entry needs at least 2 bytes (array) or 4 (coordinate, "1 1\n"): a count the rest of
    // the file cannot hold is truncation, found before any memory is reserved for it.
    const std::uint64_t min_bytes = array_ ? 2 : 4;
    if (array_) {
      if (N_ > (std::uint64_t(1) << 62) / M_) fail("shape overflows");
      declared_ = symmetric_ ? N_ * (N_ + 1) / 2 : M_ * N_;
    }
    if (declared_ > (lines_.remaining() + 1) / min_bytes)
      fail_file("truncated: the size line (line " + std::to_string(size_line_) + ") declares " +
                std::to_string(declared_) + " entries, more than the remaining " + std::to_string(lines_.remaining()) +
                " bytes can hold");
  }

  // A value token of the header's field, checked finite; negatives are counted (and clipped).
  double value(string_view t, std::uint64_t i, std::uint64_t j) {
    double v = 0;
    string_view s = t;
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    if (field_ == "integer") {
      long long n = 0;
      const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
      if (s.empty() || r.ptr != s.data() + s.size() || r.ec == std::errc::invalid_argument)
        fail("'" + printable(t) + "' is not an integer (the header says integer)");
      if (r.ec == std::errc::result_out_of_range) fail("integer '" + printable(t) + "' is out of range");
      v = static_cast<double>(n);
    } else {
      const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || r.ptr != s.data() + s.size() || r.ec == std::errc::invalid_argument)
        fail("'" + printable(t) + "' is not a number");
      if (r.ec == std::errc::result_out_of_range) {
        // from_chars reports underflow too: keep a value that rounds to a subnormal or zero.
        v = std::strtod(std::string(s).c_str(), nullptr);
        if (!std::isfinite(v)) fail("'" + printable(t) + "' is out of the range of a double");
      }
      if (!std::isfinite(v)) fail("'" + printable(t) + "' is not finite (NaN or Inf); NMF needs a finite X");
    }
    if (v < 0) {
      if (negatives_++ == 0) {
        first_negative_line_ = lines_.number();
        first_negative_at_ = "(" + std::to_string(i) + ", " + std::to_string(j) + ")";
      }
      if (o_.clip_negative) v = 0.0;
    }
    return v;
  }

  std::uint64_t index(string_view t, std::uint64_t limit, const char* what) {
    std::uint64_t v = 0;
    if (!parse_unsigned(t, v)) fail(std::string(what) + " index '" + printable(t) + "' is not a positive integer");
    if (v < 1 || v > limit)
      fail(std::string(what) + " index " + std::to_string(v) + " is out of range 1.." + std::to_string(limit));
    return v;
  }

  nmfx::Data read_array() {
    nmfx::Data data;
    data.kind = nmfx::DataKind::dense;
    data.dense = nmfx::Matrix::from_shape({rows_out(), cols_out()});
    data.dense.fill(0.0);
    double* x = data.dense.data();
    const std::uint64_t n = cols_out(), r0 = row0(), c0 = col0();
    std::uint64_t i = 0, j = 0;  // column by column; symmetric: i from j
    for (std::uint64_t k = 0; k < declared_; ++k) {
      string_view line;
      if (!lines_.next_content(line))
        fail_file("truncated: expected " + std::to_string(declared_) + " values, found " + std::to_string(k));
      const auto t = split(line);
      if (t.size() != 1) fail("expected one value per line, found " + std::to_string(t.size()) + " fields");
      const double v = value(t[0], i + 1, j + 1);
      if (inside(i, j)) x[(i - r0) * n + (j - c0)] = v;
      if (symmetric_ && inside(j, i)) x[(j - r0) * n + (i - c0)] = v;
      if (++i == M_) {
        ++j;
        i = symmetric_ ? j : 0;
      }
    }
    return data;
  }

  nmfx::Data read_coordinate() {
    const bool pattern = field_ == "pattern";
    nmfx::Data data;
    data.info["entries"] = declared_;
    if (o_.dense) {
      if (cols_out() > (std::uint64_t(1) << 36) / rows_out())
        fail_file("dense: true would need " + std::to_string(rows_out()) + " x " + std::to_string(cols_out()) +
                  " doubles; read the file as sparse");
      data.kind = nmfx::DataKind::dense;
      data.dense = nmfx::Matrix::from_shape({rows_out(), cols_out()});
      data.dense.fill(0.0);
      double* x = data.dense.data();
      const std::size_t n = cols_out(), r0 = row0(), c0 = col0();
      entries(pattern, [&](std::uint32_t i, std::uint32_t j, double v) {
        if (inside(i, j)) x[(i - r0) * n + (j - c0)] += v;
      });  // duplicates summed in file order
      return data;
    }

    // The entries, as read (mirrored ones included), in three arrays; pages reserved but never
    // written cost no memory, so reserving for every entry mirrored is free when few are.
    std::vector<std::uint32_t> rows, cols;
    std::vector<double> values;
    // A block reserves nothing: it keeps a share of the entries that the file does not announce.
    const std::size_t most = o_.block ? 0 : static_cast<std::size_t>(declared_) * (symmetric_ ? 2 : 1);
    rows.reserve(most);
    cols.reserve(most);
    values.reserve(most);
    const std::uint32_t r0 = static_cast<std::uint32_t>(row0()), c0 = static_cast<std::uint32_t>(col0());
    entries(pattern, [&](std::uint32_t i, std::uint32_t j, double v) {
      if (!inside(i, j)) return;
      rows.push_back(i - r0);
      cols.push_back(j - c0);
      values.push_back(v);
    });
    const std::size_t M = rows_out(), N = cols_out();

    // CSR in place, with no second copy of the entries: a counting sort on rows that swaps each
    // entry into its row's range (American flag sort), then each row sorted by column and its
    // repeated entries summed (in the order the sort leaves them) and zeros dropped, compacted
    // towards the front. The row array is then freed; cols and values become X's CSR.
    nmfx::SparseMatrix& S = data.sparse;
    S.rows = M;
    S.cols = N;
    std::vector<std::size_t> start(M + 1, 0);
    for (const std::uint32_t r : rows) ++start[r + 1];
    for (std::size_t r = 0; r < M; ++r) start[r + 1] += start[r];
    {
      std::vector<std::size_t> next(start.begin(), start.end() - 1);
      for (std::size_t r = 0; r < M; ++r)
        while (next[r] < start[r + 1]) {
          const std::size_t p = next[r];
          const std::uint32_t home = rows[p];
          if (home == r) {
            ++next[r];
            continue;
          }
          const std::size_t q = next[home]++;
          std::swap(rows[p], rows[q]);
          std::swap(cols[p], cols[q]);
          std::swap(values[p], values[q]);
        }
    }
    std::vector<std::uint32_t>().swap(rows);
    S.indptr.assign(M + 1, 0);
    std::vector<std::pair<std::uint32_t, double>> row;  // one row at a time
    std::size_t duplicates = 0, zeros = 0, kept = 0;
    for (std::size_t r = 0; r < M; ++r) {
      row.clear();
      for (std::size_t k = start[r]; k < start[r + 1]; ++k) row.emplace_back(cols[k], values[k]);
      // By column, then repeated entries by value: the swaps above leave them in an order that
      // depends on every other row's entries, and a sum of three or more depends on its order, so
      // sorting them by value makes each sum a function of the entry's values alone (the same in
      // a block as in the whole matrix).
      std::sort(row.begin(), row.end());
      for (auto it = row.begin(); it != row.end();) {
        const std::uint32_t col = it->first;
        double sum = it->second;
        for (++it; it != row.end() && it->first == col; ++it) {
          sum += it->second;
          ++duplicates;
        }
        if (sum == 0.0) {
          ++zeros;
          continue;
        }
        cols[kept] = col;  // kept <= start[r]: never past what this row has read
        values[kept] = sum;
        ++kept;
      }
      S.indptr[r + 1] = kept;
    }
    cols.resize(kept);
    values.resize(kept);
    S.indices = std::move(cols);
    S.values = std::move(values);
    data.kind = nmfx::DataKind::sparse;
    data.info["duplicates_summed"] = duplicates;
    data.info["explicit_zeros_dropped"] = zeros;
    return data;
  }

  // Reads the declared entries, calling add(row, column, value) (0-based) for each, and again
  // mirrored for a symmetric file's off-diagonal ones.
  template <class Add>
  void entries(bool pattern, Add&& add) {
    for (std::uint64_t k = 0; k < declared_; ++k) {
      string_view line;
      if (!lines_.next_content(line))
        fail_file("truncated: the size line (line " + std::to_string(size_line_) + ") declares " +
                  std::to_string(declared_) + " entries, found " + std::to_string(k));
      const auto t = split(line);
      const std::size_t want = pattern ? 2 : 3;
      if (t.size() != want)
        fail("expected " + std::to_string(want) + (pattern ? " fields (row column)" : " fields (row column value)") +
             ", found " + std::to_string(t.size()));
      const std::uint64_t i = index(t[0], M_, "row"), j = index(t[1], N_, "column");
      const double v = pattern ? 1.0 : value(t[2], i, j);
      add(static_cast<std::uint32_t>(i - 1), static_cast<std::uint32_t>(j - 1), v);
      if (symmetric_ && i != j) add(static_cast<std::uint32_t>(j - 1), static_cast<std::uint32_t>(i - 1), v);
    }
  }

  Lines lines_;
  const std::string& path_;
  const Options& o_;
  bool array_ = false, symmetric_ = false;
  std::string field_;
  std::uint64_t M_ = 0, N_ = 0, declared_ = 0;
  std::size_t size_line_ = 0;
  std::size_t negatives_ = 0, first_negative_line_ = 0;
  std::string first_negative_at_;
};

}  // namespace

nmfx::Data parse(const std::string& bytes, const std::string& path, const Options& options) {
  std::size_t at = 0;
  Reader reader(
      [&](char* to, std::size_t n) {
        const std::size_t k = std::min(n, bytes.size() - at);
        std::memcpy(to, bytes.data() + at, k);
        at += k;
        return k;
      },
      bytes.size(), path, options);
  return reader.run();
}

std::pair<std::size_t, std::size_t> read_shape(const std::string& path, const Options& options) {
  nmfx::FileStream in(path);
  // No content_size(): a gzipped file would be inflated whole to count its bytes. The size line's
  // check against the bytes left is then left to the read of a block.
  Reader reader([&](char* to, std::size_t n) { return in.read(to, n); }, SIZE_MAX, path, options);
  return reader.shape();
}

nmfx::Data parse_file(const std::string& path, const Options& options) {
  nmfx::FileStream in(path);
  const std::size_t total = in.content_size();
  Reader reader([&](char* to, std::size_t n) { return in.read(to, n); }, total, path, options);
  return reader.run();
}

}  // namespace mtx
