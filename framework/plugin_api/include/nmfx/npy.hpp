#pragma once
/// @file npy.hpp
/// NumPy .npy files: arrays of any real or integer dtype, C or Fortran order, either byte order,
/// read into doubles; matrices written as float64, C order. Errors name the file and what is wrong.
#include <cstddef>
#include <string>
#include <vector>

#include <nmfx/types.hpp>

namespace nmfx {

/// A 2-D array as a row-major double matrix. Any other number of dimensions is refused.
Matrix read_npy(const std::string& path);
void write_npy(const std::string& path, const Matrix& m);
/// The bytes of a .npy file before the data of a rows x cols float64 C-order matrix (magic,
/// version 1.0, header padded to 64 bytes): the data of row i starts at size() + 8 cols i.
std::string npy_prefix(std::size_t rows, std::size_t cols);

/// An array of any number of dimensions: its shape as stored, and its values converted to double
/// in C (row-major) order whatever the file's order, so that values[((i * s1) + j) * s2 + k] is
/// a[i, j, k].
struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<double> values;
};

/// What a .npy header says: the array's shape, its dtype (e.g. "f8") and item size, whether it is
/// in Fortran order and big-endian, and where its data start. For readers that stream the data
/// into their own storage (npy_convert) instead of holding the file's bytes.
struct NpyHeader {
  std::vector<std::size_t> shape;
  std::string dtype;
  std::size_t item = 0;         ///< bytes per entry
  std::size_t count = 0;        ///< entries: the product of the shape
  bool fortran = false;         ///< the first index varies fastest in the file
  bool swap_bytes = false;      ///< stored big-endian
  std::size_t data_offset = 0;  ///< bytes before the data (preamble and header)
};

/// Parses the header at the start of [data, data + size), which must hold at least the whole
/// header (data_offset bytes; the first 10 bytes give its length). required_dims > 0 refuses any
/// other dimension count. Errors start with `name`, as parse_npy's.
NpyHeader parse_npy_header(const char* data, std::size_t size, const std::string& name, std::size_t required_dims);
/// Converts n entries of the header's dtype and byte order, stored at raw, into doubles at out.
void npy_convert(const NpyHeader& header, const char* raw, std::size_t n, double* out);

/// Parses the bytes of a whole .npy file, e.g. a member of an .npz archive. `name` starts every
/// error message (a path, or "a.npz, member 'x.npy'"). Trailing bytes after the data are refused.
NpyArray parse_npy(const std::string& bytes, const std::string& name);
/// The array in the .npy file `path`, of any number of dimensions.
NpyArray read_npy_array(const std::string& path);

}  // namespace nmfx
