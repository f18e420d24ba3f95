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

/// An array of any number of dimensions: its shape as stored, and its values converted to double
/// in C (row-major) order whatever the file's order, so that values[((i * s1) + j) * s2 + k] is
/// a[i, j, k].
struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<double> values;
};

/// Parses the bytes of a whole .npy file, e.g. a member of an .npz archive. `name` starts every
/// error message (a path, or "a.npz, member 'x.npy'"). Trailing bytes after the data are refused.
NpyArray parse_npy(const std::string& bytes, const std::string& name);
/// The array in the .npy file `path`, of any number of dimensions.
NpyArray read_npy_array(const std::string& path);

}  // namespace nmfx
