// Dense numeric CSV/TSV reader. Fields are split as RFC 4180 says (a field may be quoted with
// '"', a quote inside it doubled, and a quoted field may hold delimiters and line breaks), so
// that label columns with any text can be dropped; every kept field must then be one number.
// Strict: ragged rows, empty cells and non-numbers are errors naming the file, line and column.
#include "csv_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include <sys/mman.h>

#include <nmfx/dataset_util.hpp>

namespace csv {
namespace {

std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 30)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 30) out += "...";
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && is_space(s[a])) ++a;
  while (b > a && is_space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

// The values of X as read, in blocks of 4 MiB mapped from the system one at a time and unmapped as
// soon as they are copied into X: the whole matrix is never held twice (a growing vector would
// hold it up to three times while it reallocates, then once more beside X).
class Blocks {
 public:
  static constexpr std::size_t per_block = std::size_t{1} << 19;
  Blocks() = default;
  Blocks(const Blocks&) = delete;
  Blocks& operator=(const Blocks&) = delete;
  ~Blocks() {
    for (double* b : blocks_)
      if (b) munmap(b, per_block * sizeof(double));
  }
  void push_back(double v) {
    if (size_ % per_block == 0) {
      void* p = mmap(nullptr, per_block * sizeof(double), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      blocks_.push_back(static_cast<double*>(p));
    }
    blocks_.back()[size_ % per_block] = v;
    ++size_;
  }
  // Moves every value to out (room for size() of them), freeing each block once copied.
  void move_to(double* out) {
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
      const std::size_t n = std::min(per_block, size_ - b * per_block);
      std::memcpy(out + b * per_block, blocks_[b], n * sizeof(double));
      munmap(blocks_[b], per_block * sizeof(double));
      blocks_[b] = nullptr;
    }
  }
  std::size_t size() const { return size_; }

 private:
  std::vector<double*> blocks_;
  std::size_t size_ = 0;
};

struct Field {
  std::string text;
  std::size_t line = 0;
  bool quoted = false;
};

// The file's bytes read once from start to end, a chunk at a time: positions are offsets in the
// whole content, and only the bytes from the start of the record being parsed on are held.
class Text {
 public:
  using Read = std::function<std::size_t(char*, std::size_t)>;
  explicit Text(Read read) : read_(std::move(read)) {}
  // Whether the content has a byte at position p (reading on as far as p).
  bool has(std::size_t p) {
    while (p >= base_ + buf_.size() && !eof_) fill();
    return p < base_ + buf_.size();
  }
  // The byte at p, which has(p) said is there and which forget() has not dropped.
  char operator[](std::size_t p) const { return buf_[p - base_]; }
  std::string substr(std::size_t p, std::size_t n) const { return buf_.substr(p - base_, n); }
  // Bytes before p will not be asked for again.
  void forget(std::size_t p) {
    if (p - base_ < (std::size_t{1} << 20)) return;  // in steps of 1 MiB, not at every record
    buf_.erase(0, p - base_);
    base_ = p;
  }

 private:
  void fill() {
    const std::size_t have = buf_.size(), chunk = std::size_t{1} << 16;
    buf_.resize(have + chunk);
    const std::size_t n = read_(&buf_[have], chunk);
    buf_.resize(have + n);
    if (n == 0) eof_ = true;
  }
  Read read_;
  std::string buf_;
  std::size_t base_ = 0;  // the content position of buf_[0]
  bool eof_ = false;
};

class Reader {
 public:
  Reader(Text::Read read, const std::string& path, const Options& o) : b_(std::move(read)), path_(path), o_(o) {}

  // The file's data rows and kept columns, after run().
  std::size_t rows() const { return rows_; }
  std::size_t kept() const { return kept_; }

  nmfx::Data run() {
    if (b_.has(2) && b_[0] == '\xEF' && b_[1] == '\xBB' && b_[2] == '\xBF')
      pos_ = 3;  // a UTF-8 byte order mark, as Excel writes
    skip_lines();
    choose_delimiter();

    std::vector<Field> fields;
    Blocks values;  // the whole X, whose number of rows is known only at the end
    // A block's shape is known: its values go straight into it.
    nmfx::Matrix block_values;
    if (o_.block && !o_.shape_only) block_values = nmfx::Matrix::from_shape({o_.rows.size(), o_.cols.size()});
    std::vector<bool> keep;
    std::size_t columns = 0, first_line = 0, rows = 0, kept = 0;
    std::size_t negatives = 0, negative_line = 0, negative_column = 0;
    // Distributed cells: only the values of rows o_.rows and kept columns o_.cols are kept, but
    // every field is parsed and checked, so all processes of a cell refuse a bad file alike.
    const nmfx::Range keep_rows = o_.block ? o_.rows : nmfx::Range{0, SIZE_MAX};
    const nmfx::Range keep_cols = o_.block ? o_.cols : nmfx::Range{0, SIZE_MAX};
    while (record(fields)) {
      b_.forget(pos_);
      if (blank(fields)) continue;
      const std::size_t line = fields.front().line;
      if (rows == 0) {
        columns = fields.size();
        first_line = line;
        keep = kept_columns(columns);
        kept = static_cast<std::size_t>(std::count(keep.begin(), keep.end(), true));
      } else if (fields.size() != columns) {
        fail(line, std::to_string(fields.size()) + (fields.size() == 1 ? " column" : " columns") +
                       ", but the first data line (line " + std::to_string(first_line) + ") has " +
                       std::to_string(columns) + " (ragged rows)");
      }
      const bool row_kept = !o_.shape_only && rows >= keep_rows.begin && rows < keep_rows.end;
      for (std::size_t c = 0, kc = 0; c < columns; ++c) {
        if (!keep[c]) continue;
        double v = number(fields[c], c + 1, rows == 0);
        if (v < 0) {
          if (negatives++ == 0) {
            negative_line = fields[c].line;
            negative_column = c + 1;
          }
          if (o_.clip_negative) v = 0.0;
        }
        if (row_kept && kc >= keep_cols.begin && kc < keep_cols.end) {
          if (o_.block)
            block_values(rows - keep_rows.begin, kc - keep_cols.begin) = v;
          else
            values.push_back(v);
        }
        ++kc;
      }
      ++rows;
    }
    rows_ = rows;
    kept_ = kept;
    if (rows == 0)
      throw nmfx::Error(path_ + ": no data lines" +
                        (o_.skip_rows ? " after the " + std::to_string(o_.skip_rows) + " skipped by skip_rows" : ""));
    if (negatives && !o_.clip_negative)
      throw nmfx::Error(path_ + ": " + std::to_string(negatives) + " negative " +
                        (negatives == 1 ? "entry" : "entries") + ", the first on line " +
                        std::to_string(negative_line) + ", column " + std::to_string(negative_column) +
                        "; NMF needs X >= 0 (negative: clip sets them to 0)");

    nmfx::Data data;
    data.kind = nmfx::DataKind::dense;
    if (o_.shape_only) return data;
    if (o_.block && (keep_rows.begin >= keep_rows.end || keep_cols.begin >= keep_cols.end || keep_rows.end > rows ||
                     keep_cols.end > kept))
      throw nmfx::Error(path_ + ": block rows [" + std::to_string(keep_rows.begin) + ", " +
                        std::to_string(keep_rows.end) + ") x columns [" + std::to_string(keep_cols.begin) + ", " +
                        std::to_string(keep_cols.end) + ") is empty or outside the " + std::to_string(rows) + " x " +
                        std::to_string(kept) + " matrix");
    if (o_.block) {
      data.dense = std::move(block_values);
    } else {
      data.dense = nmfx::Matrix::from_shape({rows, kept});
      values.move_to(data.dense.data());
    }
    std::vector<std::size_t> dropped;
    for (std::size_t c = 0; c < columns; ++c)
      if (!keep[c]) dropped.push_back(c);
    data.info = {{"path", path_},
                 {"delimiter", delimiter_name_},
                 {"skip_rows", o_.skip_rows},
                 {"dropped_columns", dropped},
                 {"file_shape", {rows, columns}}};
    if (o_.clip_negative) data.info["negative_clipped"] = negatives;
    return data;
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& what) const {
    throw nmfx::Error(path_ + ":" + std::to_string(line) + ": " + what);
  }

  void skip_lines() {
    for (std::size_t k = 0; k < o_.skip_rows; ++k) {
      if (!b_.has(pos_))
        throw nmfx::Error(path_ + ": skip_rows " + std::to_string(o_.skip_rows) + " drops every line (the file has " +
                          std::to_string(k) + ")");
      while (b_.has(pos_) && b_[pos_] != '\n') ++pos_;
      if (b_.has(pos_)) ++pos_;
      b_.forget(pos_);
      ++line_;
    }
  }

  void choose_delimiter() {
    const std::string& d = o_.delimiter;
    if (d == "auto") {
      // From the first line that is not blank: tab if it holds one, else comma, else semicolon,
      // else runs of spaces.
      std::size_t p = pos_;
      std::string first;
      while (b_.has(p)) {
        first.clear();
        while (b_.has(p) && b_[p] != '\n') first.push_back(b_[p++]);
        if (!trim(first).empty()) break;
        ++p;
      }
      if (first.find('\t') != std::string::npos)
        delim_ = '\t';
      else if (first.find(',') != std::string::npos)
        delim_ = ',';
      else if (first.find(';') != std::string::npos)
        delim_ = ';';
      else
        delim_ = 0;
    } else if (d == "comma")
      delim_ = ',';
    else if (d == "tab")
      delim_ = '\t';
    else if (d == "semicolon")
      delim_ = ';';
    else if (d == "space")
      delim_ = 0;
    else
      throw nmfx::Error(path_ + ": unknown delimiter '" + d + "'");
    delimiter_name_ = delim_ == ',' ? "comma" : delim_ == '\t' ? "tab" : delim_ == ';' ? "semicolon" : "space";
  }

  // A field separator inside the record: the delimiter, or (space mode) a run of blanks.
  bool separator(char c) const { return delim_ ? c == delim_ : (c == ' ' || c == '\t'); }
  // Blanks around a field: spaces, and tabs unless tab is the delimiter.
  bool pad(char c) const { return c == ' ' || c == '\r' || (c == '\t' && delim_ != '\t'); }

  // The next record's fields; false at the end of the file.
  bool record(std::vector<Field>& fields) {
    fields.clear();
    if (!b_.has(pos_)) return false;
    for (;;) {
      while (b_.has(pos_) && pad(b_[pos_])) ++pos_;
      if (!delim_ && (!b_.has(pos_) || b_[pos_] == '\n')) break;  // space mode: trailing blanks end the record
      Field f;
      f.line = line_;
      if (b_.has(pos_) && b_[pos_] == '"') {
        f.quoted = true;
        ++pos_;
        for (;;) {
          if (!b_.has(pos_))
            fail(f.line, "column " + std::to_string(fields.size() + 1) + ": unterminated quoted field");
          const char c = b_[pos_++];
          if (c == '"') {
            if (b_.has(pos_) && b_[pos_] == '"') {
              f.text.push_back('"');
              ++pos_;
            } else {
              break;
            }
          } else {
            if (c == '\n') ++line_;
            f.text.push_back(c);
          }
        }
        if (delim_)
          while (b_.has(pos_) && pad(b_[pos_])) ++pos_;
        const bool line_end =
            !b_.has(pos_) || b_[pos_] == '\n' || (b_[pos_] == '\r' && (!b_.has(pos_ + 1) || b_[pos_ + 1] == '\n'));
        if (!line_end && !separator(b_[pos_]))
          fail(line_, "column " + std::to_string(fields.size() + 1) + ": text after a closing quote");
      } else {
        const std::size_t start = pos_;
        while (b_.has(pos_) && b_[pos_] != '\n' && !separator(b_[pos_])) ++pos_;
        f.text = trim(b_.substr(start, pos_ - start));
      }
      fields.push_back(std::move(f));
      if (b_.has(pos_) && separator(b_[pos_])) {
        ++pos_;  // in space mode the rest of a run of blanks is skipped as padding
        continue;
      }
      break;  // '\n' or the end
    }
    if (b_.has(pos_ + 1) && b_[pos_] == '\r' && b_[pos_ + 1] == '\n') ++pos_;
    if (b_.has(pos_) && b_[pos_] == '\n') {
      ++pos_;
      ++line_;
    }
    return true;
  }

  bool blank(const std::vector<Field>& fields) const {
    return fields.empty() || (fields.size() == 1 && !fields[0].quoted && fields[0].text.empty());
  }

  double number(const Field& f, std::size_t column, bool first_row) const {
    const std::string t = trim(f.text);
    const std::string where = "column " + std::to_string(column) + ": ";
    if (t.empty()) fail(f.line, where + "empty cell");
    const char* s = t.data();
    const char* end = s + t.size();
    if (*s == '+') ++s;
    double v = 0;
    const auto r = std::from_chars(s, end, v);
    if (s == end || r.ptr != end || r.ec == std::errc::invalid_argument)
      fail(f.line,
           where + "'" + printable(t) + "' is not a number" +
               (first_row ? " (a header line? skip_rows: 1 drops it)" : " (a label column? drop_columns drops it)"));
    if (r.ec == std::errc::result_out_of_range) {
      v = std::strtod(std::string(s, end).c_str(), nullptr);  // underflow to a subnormal or 0 is kept
      if (!std::isfinite(v)) fail(f.line, where + "'" + printable(t) + "' is out of the range of a double");
    }
    if (!std::isfinite(v))
      fail(f.line, where + "'" + printable(t) + "' is not finite (NaN or Inf); NMF needs a finite X");
    return v;
  }

  // drop_columns: comma-separated 0-based indices or start:stop slices (Python semantics, negative
  // from the end), e.g. "0", "-1", "0,3", "1:3".
  std::vector<bool> kept_columns(std::size_t columns) const {
    std::vector<bool> keep(columns, true);
    const std::string& spec = o_.drop_columns;
    const long long n = static_cast<long long>(columns);
    auto bad = [&](const std::string& why) -> std::vector<bool> {
      throw nmfx::Error(path_ + ": drop_columns '" + spec + "': " + why);
    };
    auto integer = [&](const std::string& text, long long& out) {
      std::string t = trim(text);
      if (!t.empty() && t[0] == '+') t.erase(0, 1);
      const auto r = std::from_chars(t.data(), t.data() + t.size(), out);
      return !t.empty() && r.ec == std::errc() && r.ptr == t.data() + t.size();
    };
    if (trim(spec).empty()) return keep;
    std::size_t p = 0;
    for (;;) {
      const std::size_t comma = std::min(spec.find(',', p), spec.size());
      const std::string item = trim(spec.substr(p, comma - p));
      const std::size_t colon = item.find(':');
      if (item.empty()) return bad("has an empty item");
      if (colon == std::string::npos) {
        long long c = 0;
        if (!integer(item, c)) return bad("'" + item + "' is not a column index or a start:stop slice");
        if (c < -n || c >= n)
          return bad("column " + item + " does not exist (the file has " + std::to_string(columns) + " columns, 0.." +
                     std::to_string(columns - 1) + ")");
        keep[static_cast<std::size_t>(c < 0 ? c + n : c)] = false;
      } else {
        if (item.find(':', colon + 1) != std::string::npos) return bad("'" + item + "' has a step; only start:stop");
        long long bounds[2] = {0, n};
        const std::string parts[2] = {item.substr(0, colon), item.substr(colon + 1)};
        for (int k = 0; k < 2; ++k) {
          if (trim(parts[k]).empty()) continue;
          if (!integer(parts[k], bounds[k])) return bad("'" + item + "' is not a start:stop slice of integers");
          if (bounds[k] < 0) bounds[k] = std::max(0LL, bounds[k] + n);
          bounds[k] = std::min(bounds[k], n);
        }
        for (long long c = bounds[0]; c < bounds[1]; ++c) keep[static_cast<std::size_t>(c)] = false;
      }
      if (comma == spec.size()) break;
      p = comma + 1;
    }
    if (std::none_of(keep.begin(), keep.end(), [](bool k) { return k; }))
      return bad("drops all " + std::to_string(columns) + " columns");
    return keep;
  }

  Text b_;
  const std::string& path_;
  const Options& o_;
  std::size_t pos_ = 0, line_ = 1;
  std::size_t rows_ = 0, kept_ = 0;
  char delim_ = ',';
  std::string delimiter_name_;
};

}  // namespace

nmfx::Data parse(const std::string& bytes, const std::string& path, const Options& options) {
  std::size_t at = 0;
  return Reader(
             [&](char* to, std::size_t n) {
               const std::size_t k = std::min(n, bytes.size() - at);
               std::memcpy(to, bytes.data() + at, k);
               at += k;
               return k;
             },
             path, options)
      .run();
}

nmfx::Data parse_file(const std::string& path, const Options& options) {
  // Streamed (and gunzipped on the fly): only the record being parsed and a buffer are held.
  nmfx::FileStream in(path);
  return Reader([&](char* to, std::size_t n) { return in.read(to, n); }, path, options).run();
}

std::pair<std::size_t, std::size_t> read_shape(const std::string& path, const Options& options) {
  Options count = options;
  count.shape_only = true;
  nmfx::FileStream in(path);
  Reader reader([&](char* to, std::size_t n) { return in.read(to, n); }, path, count);
  reader.run();
  return {reader.rows(), reader.kept()};
}

}  // namespace csv
