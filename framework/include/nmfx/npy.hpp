#pragma once
/// @file npy.hpp
/// NumPy .npy files: 2-D arrays of any real or integer dtype, C or Fortran order, read into a
/// row-major double matrix; written as float64, C order. Errors name the file and what is wrong.
#include <string>

#include <nmfx/types.hpp>

namespace nmfx {

Matrix read_npy(const std::string& path);
void write_npy(const std::string& path, const Matrix& m);

}  // namespace nmfx
