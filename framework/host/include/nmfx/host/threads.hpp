#pragma once
/// @file threads.hpp
/// The host's control of the BLAS and OpenMP threads. Plugins never call these: a solver learns its
/// cell's thread count from Problem::threads.
#include <string>

namespace nmfx {

/// Number of threads the BLAS and nmfx's own parallel loops (OpenMP) use from now on. The runner
/// calls it with the cell's `threads` before anything of the cell runs.
void set_threads(int threads);
/// The BLAS's current thread count, and its build and kernel ("OpenBLAS 0.3.21 ... (core SkylakeX)").
int blas_threads();
std::string blas_info();

}  // namespace nmfx
