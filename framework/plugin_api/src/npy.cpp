// A strict .npy reader: every malformed, truncated or unsupported file gives one line naming the
// file and what is wrong. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
// The header (a Python dict literal) is scanned by hand, in linear time, rather than with
// std::regex, whose recursive matcher can exhaust the stack on long hostile headers.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include <nmfx/npy.hpp>

namespace nmfx {
namespace {

template <class T>
void convert_into(const char* raw, std::size_t n, bool swap_bytes, double* out) {
  for (std::size_t i = 0; i < n; ++i) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, raw + i * sizeof(T), sizeof(T));
    if (swap_bytes)
      for (std::size_t b = 0; b < sizeof(T) / 2; ++b) std::swap(bytes[b], bytes[sizeof(T) - 1 - b]);
    T v;
    std::memcpy(&v, bytes, sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

// Text from a header, safe to put in a one-line message: printable ASCII only, at most 40 chars.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 40)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 40) out += "...";
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The position just after "'key'" and the ':' that follows it (blanks allowed), or npos.
std::size_t value_of(const std::string& header, const std::string& key) {
  for (const char q : {'\'', '"'}) {
    const std::string quoted = std::string(1, q) + key + q;
    std::size_t at = header.find(quoted);
    while (at != std::string::npos) {
      std::size_t p = at + quoted.size();
      while (p < header.size() && is_space(header[p])) ++p;
      if (p < header.size() && header[p] == ':') {
        ++p;
        while (p < header.size() && is_space(header[p])) ++p;
        return p;
      }
      at = header.find(quoted, at + 1);
    }
  }
  return std::string::npos;
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

NpyHeader parse_npy_header(const char* data, std::size_t size, const std::string& name, std::size_t required_dims) {
  auto fail = [&](const std::string& what) -> NpyHeader { throw Error(name + ": " + what); };
  if (size < 8) return fail("not a .npy file (shorter than its 8-byte preamble)");
  if (std::memcmp(data, "\x93NUMPY", 6) != 0) return fail("not a .npy file (bad magic string)");
  const int major = static_cast<unsigned char>(data[6]);
  std::size_t pos = 8;
  std::uint32_t header_len = 0;
  const auto* u = reinterpret_cast<const unsigned char*>(data);
  if (major == 1) {
    if (size < pos + 2) return fail("truncated header");
    header_len = u[8] | (u[9] << 8);
    pos += 2;
  } else if (major == 2 || major == 3) {
    if (size < pos + 4) return fail("truncated header");
    header_len = u[8] | (u[9] << 8) | (u[10] << 16) | (static_cast<std::uint32_t>(u[11]) << 24);
    pos += 4;
  } else {
    return fail("unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > (1u << 20)) return fail("header length " + std::to_string(header_len) + " is implausible");
  if (size - pos < header_len) return fail("truncated header");
  const std::string header(data + pos, header_len);
  pos += header_len;

  // 'descr': '<f8' -- a byte order, a kind letter and a size in bytes.
  std::size_t p = value_of(header, "descr");
  if (p == std::string::npos || p >= header.size() || (header[p] != '\'' && header[p] != '"'))
    return fail("header has no readable 'descr' (structured dtypes are not supported)");
  const std::size_t close = header.find(header[p], p + 1);
  if (close == std::string::npos) return fail("header has no readable 'descr' (structured dtypes are not supported)");
  const std::string descr = header.substr(p + 1, close - p - 1);
  const bool descr_ok = descr.size() >= 3 && descr.size() <= 4 && std::strchr("<>|=", descr[0]) && descr[1] >= 'a' &&
                        descr[1] <= 'z' &&
                        std::all_of(descr.begin() + 2, descr.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!descr_ok) return fail("unsupported dtype '" + printable(descr) + "' (real and integer dtypes are read)");
  const char order = descr[0];
  const std::string dtype = descr.substr(1);
  std::size_t item = 0;
  for (const char* t : {"f8", "i8", "u8"})
    if (dtype == t) item = 8;
  for (const char* t : {"f4", "i4", "u4"})
    if (dtype == t) item = 4;
  for (const char* t : {"i2", "u2"})
    if (dtype == t) item = 2;
  for (const char* t : {"i1", "u1", "b1"})
    if (dtype == t) item = 1;

  p = value_of(header, "fortran_order");
  bool fortran = false;
  if (p != std::string::npos && header.compare(p, 4, "True") == 0)
    fortran = true;
  else if (p != std::string::npos && header.compare(p, 5, "False") == 0)
    fortran = false;
  else
    return fail("header has no 'fortran_order'");

  p = value_of(header, "shape");
  const std::size_t end = p == std::string::npos ? p : header.find(')', p);
  if (p == std::string::npos || header[p] != '(' || end == std::string::npos) return fail("header has no 'shape'");
  std::vector<std::size_t> shape;
  std::size_t count = 1;
  bool overflow = false;
  for (std::size_t q = p + 1; q < end;) {
    while (q < end && (is_space(header[q]) || header[q] == ',')) ++q;
    if (q == end) break;
    std::size_t dim = 0;
    const std::size_t start = q;
    while (q < end && header[q] >= '0' && header[q] <= '9') {
      if (dim > (std::size_t(1) << 48))
        overflow = true;
      else
        dim = dim * 10 + static_cast<std::size_t>(header[q] - '0');
      ++q;
    }
    if (q < end && header[q] == 'L') ++q;  // Python 2 wrote (3L, 4L)
    if (q == start || (q < end && !is_space(header[q]) && header[q] != ','))
      return fail("header has an unreadable 'shape' " + printable(header.substr(p, end - p + 1)));
    shape.push_back(dim);
    if (dim != 0 && count > (std::size_t(1) << 48) / dim)
      overflow = true;
    else
      count *= dim;
  }
  if (required_dims > 0 && shape.size() != required_dims)
    return fail("expected a " + std::to_string(required_dims) + "-D array, got " + std::to_string(shape.size()) +
                " dimensions");
  if (overflow) return fail("shape overflows");
  if (count > (std::size_t(1) << 36)) return fail("array of " + std::to_string(count) + " entries is too large");
  if (item == 0) return fail("unsupported dtype '" + dtype + "' (real and integer dtypes are read)");

  NpyHeader h;
  h.shape = shape;
  h.dtype = dtype;
  h.item = item;
  h.count = count;
  h.fortran = fortran;
  h.swap_bytes = order == '>';
  h.data_offset = pos;
  return h;
}

void npy_convert(const NpyHeader& h, const char* raw, std::size_t n, double* out) {
  const std::string& dtype = h.dtype;
  const bool swap = h.swap_bytes;
  if (dtype == "f8")
    convert_into<double>(raw, n, swap, out);
  else if (dtype == "f4")
    convert_into<float>(raw, n, swap, out);
  else if (dtype == "i8")
    convert_into<std::int64_t>(raw, n, swap, out);
  else if (dtype == "i4")
    convert_into<std::int32_t>(raw, n, swap, out);
  else if (dtype == "i2")
    convert_into<std::int16_t>(raw, n, swap, out);
  else if (dtype == "i1")
    convert_into<std::int8_t>(raw, n, swap, out);
  else if (dtype == "u8")
    convert_into<std::uint64_t>(raw, n, swap, out);
  else if (dtype == "u4")
    convert_into<std::uint32_t>(raw, n, swap, out);
  else if (dtype == "u2")
    convert_into<std::uint16_t>(raw, n, swap, out);
  else
    convert_into<std::uint8_t>(raw, n, swap, out);  // u1, b1
}

namespace {

// Parses the .npy bytes [data, data + size). required_dims > 0 refuses any other dimension count
// before the data are read; strict_end refuses bytes after the data.
NpyArray parse(const char* data, std::size_t size, const std::string& name, std::size_t required_dims,
               bool strict_end) {
  auto fail = [&](const std::string& what) -> NpyArray { throw Error(name + ": " + what); };
  const NpyHeader h = parse_npy_header(data, size, name, required_dims);
  const std::size_t count = h.count, pos = h.data_offset;
  const std::vector<std::size_t>& shape = h.shape;
  const std::size_t bytes = count * h.item;
  if (size - pos < bytes)
    return fail("truncated data: expected " + std::to_string(bytes) + " bytes for shape " + shape_text(shape));
  if (strict_end && size - pos > bytes)
    return fail(std::to_string(size - pos - bytes) + " bytes after the data of shape " + shape_text(shape) +
                " (more than one array in the file?)");
  NpyArray out;
  out.shape = shape;
  std::vector<double> values(count);
  npy_convert(h, data + pos, count, values.data());
  if (h.fortran && shape.size() > 1) {
    // Fortran order: the first index varies fastest. Reorder into C order.
    out.values.resize(count);
    const std::size_t nd = shape.size();
    std::vector<std::size_t> index(nd, 0), fstride(nd, 1);
    for (std::size_t d = 1; d < nd; ++d) fstride[d] = fstride[d - 1] * shape[d - 1];
    for (std::size_t c = 0; c < count; ++c) {  // c walks C order; index is its multi-index
      std::size_t f = 0;
      for (std::size_t d = 0; d < nd; ++d) f += index[d] * fstride[d];
      out.values[c] = values[f];
      for (std::size_t d = nd; d-- > 0;) {
        if (++index[d] < shape[d]) break;
        index[d] = 0;
      }
    }
  } else {
    out.values = std::move(values);
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": read error");
  return bytes;
}

}  // namespace

NpyArray parse_npy(const std::string& bytes, const std::string& name) {
  return parse(bytes.data(), bytes.size(), name, 0, true);
}

NpyArray read_npy_array(const std::string& path) { return parse_npy(slurp(path), path); }

Matrix read_npy(const std::string& path) {
  const std::string bytes = slurp(path);
  NpyArray a = parse(bytes.data(), bytes.size(), path, 2, false);
  Matrix out = Matrix::from_shape({a.shape[0], a.shape[1]});
  std::copy(a.values.begin(), a.values.end(), out.begin());
  return out;
}

std::string npy_prefix(std::size_t rows, std::size_t cols) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  // Pad so that the data starts on a 64-byte boundary, ending the header with a newline.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  std::string prefix("\x93NUMPY\x01\x00", 8);
  prefix.push_back(static_cast<char>(len & 0xff));
  prefix.push_back(static_cast<char>(len >> 8));
  return prefix + header;
}

void write_npy(const std::string& path, const Matrix& m) {
  const std::string prefix = npy_prefix(m.shape(0), m.shape(1));
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write");
  out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  out.write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(m.size() * sizeof(double)));
  if (!out) throw Error(path + ": write failed");
}

}  // namespace nmfx
