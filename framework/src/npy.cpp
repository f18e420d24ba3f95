// A strict .npy reader: every malformed, truncated or unsupported file gives one line naming the
// file and what is wrong. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#include <cstdint>
#include <cstring>
#include <fstream>
#include <regex>
#include <vector>

#include <nmfx/npy.hpp>

namespace nmfx {
namespace {

template <class T>
void convert_into(const std::vector<char>& raw, bool swap_bytes, std::vector<double>& out) {
  const std::size_t n = raw.size() / sizeof(T);
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, raw.data() + i * sizeof(T), sizeof(T));
    if (swap_bytes)
      for (std::size_t b = 0; b < sizeof(T) / 2; ++b) std::swap(bytes[b], bytes[sizeof(T) - 1 - b]);
    T v;
    std::memcpy(&v, bytes, sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

}  // namespace

Matrix read_npy(const std::string& path) {
  auto fail = [&](const std::string& what) -> Matrix { throw Error(path + ": " + what); };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open file");
  char magic[8];
  if (!in.read(magic, 8)) return fail("not a .npy file (shorter than its 8-byte preamble)");
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0) return fail("not a .npy file (bad magic string)");
  const int major = static_cast<unsigned char>(magic[6]);
  std::uint32_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) return fail("truncated header");
    header_len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) return fail("truncated header");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
  } else {
    return fail("unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > (1u << 20)) return fail("header length " + std::to_string(header_len) + " is implausible");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) return fail("truncated header");

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([<>|=])([a-z])(\d+)')")))
    return fail("header has no readable 'descr' (structured dtypes are not supported)");
  const char order = m[1].str()[0];
  const char code = m[2].str()[0];
  const int size = std::stoi(m[3].str());
  if (!std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")))
    return fail("header has no 'fortran_order'");
  const bool fortran = m[1] == "True";
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    return fail("header has no 'shape'");
  std::vector<std::size_t> shape;
  const std::string dims = m[1];
  const std::regex digits(R"(\d+)");
  for (std::sregex_iterator it(dims.begin(), dims.end(), digits), end; it != end; ++it)
    shape.push_back(std::stoull(it->str()));
  if (shape.size() != 2)
    return fail("expected a 2-D array, got " + std::to_string(shape.size()) + " dimensions");

  const bool big_endian = order == '>';
  std::vector<double> values;
  const std::size_t count = shape[0] * shape[1];
  if (shape[0] != 0 && count / shape[0] != shape[1]) return fail("shape overflows");
  if (count > (std::size_t(1) << 36)) return fail("array of " + std::to_string(count) + " entries is too large");
  std::vector<char> raw(count * static_cast<std::size_t>(size));
  if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size())))
    return fail("truncated data: expected " + std::to_string(raw.size()) + " bytes for shape (" +
                std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + ")");
  const std::string dtype = std::string(1, code) + std::to_string(size);
  if (dtype == "f8") convert_into<double>(raw, big_endian, values);
  else if (dtype == "f4") convert_into<float>(raw, big_endian, values);
  else if (dtype == "i8") convert_into<std::int64_t>(raw, big_endian, values);
  else if (dtype == "i4") convert_into<std::int32_t>(raw, big_endian, values);
  else if (dtype == "i2") convert_into<std::int16_t>(raw, big_endian, values);
  else if (dtype == "i1") convert_into<std::int8_t>(raw, big_endian, values);
  else if (dtype == "u8") convert_into<std::uint64_t>(raw, big_endian, values);
  else if (dtype == "u4") convert_into<std::uint32_t>(raw, big_endian, values);
  else if (dtype == "u2") convert_into<std::uint16_t>(raw, big_endian, values);
  else if (dtype == "u1" || dtype == "b1") convert_into<std::uint8_t>(raw, big_endian, values);
  else return fail("unsupported dtype '" + dtype + "' (real and integer dtypes are read)");

  Matrix out = Matrix::from_shape({shape[0], shape[1]});
  if (fortran) {
    for (std::size_t j = 0; j < shape[1]; ++j)
      for (std::size_t i = 0; i < shape[0]; ++i) out(i, j) = values[j * shape[0] + i];
  } else {
    std::copy(values.begin(), values.end(), out.begin());
  }
  return out;
}

void write_npy(const std::string& path, const Matrix& m) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(m.shape(0)) +
                       ", " + std::to_string(m.shape(1)) + "), }";
  // Pad so that the data starts on a 64-byte boundary, ending the header with a newline.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write");
  out.write("\x93NUMPY\x01\x00", 8);
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(m.size() * sizeof(double)));
  if (!out) throw Error(path + ": write failed");
}

}  // namespace nmfx
