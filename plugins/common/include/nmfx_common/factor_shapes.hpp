#pragma once
/// @file factor_shapes.hpp
/// The one check every solver makes in prepare(): W is M x L and H is L x N for the problem's X and rank
/// (in a distributed cell, this process's rows of W and columns of H).
#include <string>

#include <nmfx/plugin.hpp>

namespace nmfx_common {

inline std::string shape_of(const nmfx::Matrix& A) {
  return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1));
}

/// Throws nmfx::Error("<solver>: W is .. and H is .., expected MxL and LxN") on a mismatch, and on rank 0.
inline void check_factor_shapes(const std::string& solver, const nmfx::Problem& problem, const nmfx::Matrix& W,
                                const nmfx::Matrix& H) {
  const std::size_t M = problem.rows_of_W(), N = problem.cols_of_H(), L = problem.rank;
  if (L == 0) throw nmfx::Error(solver + ": rank must be at least 1");
  if (W.shape(0) != M || W.shape(1) != L || H.shape(0) != L || H.shape(1) != N)
    throw nmfx::Error(solver + ": W is " + shape_of(W) + " and H is " + shape_of(H) + ", expected " +
                      std::to_string(M) + "x" + std::to_string(L) + " and " + std::to_string(L) + "x" +
                      std::to_string(N));
}

}  // namespace nmfx_common
