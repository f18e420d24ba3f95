// libFuzzer target for the `mtx` dataset's Matrix Market reader (plugins/datasets/mtx/mtx_reader.cpp).
// The first input byte chooses the options (dense, negative: clip); the rest is the file. The
// result must be a valid X: a CSR with sorted unique in-range columns and positive finite values,
// or a dense matrix of finite nonnegative values. Not part of the CMake build; see fuzz/README.md.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmfx/types.hpp>

#include "../plugins/datasets/mtx/mtx_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  mtx::Options o;
  o.dense = data[0] & 1;
  o.clip_negative = data[0] & 2;
  // Headers may declare any shape; keep the offsets (sparse) or the matrix (dense) an honest size
  // so that libFuzzer's memory limit measures the parser, not a legitimately huge declaration.
  o.max_dim = o.dense ? 4096 : (1u << 20);
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const nmfx::Data X = mtx::parse(bytes, "fuzz.mtx", o);
    if (X.kind == nmfx::DataKind::sparse) {
      const nmfx::SparseMatrix& S = X.sparse;
      if (S.indptr.size() != S.rows + 1 || S.indptr.front() != 0 || S.indptr.back() != S.values.size() ||
          S.indices.size() != S.values.size())
        __builtin_trap();
      for (std::size_t i = 0; i < S.rows; ++i) {
        if (S.indptr[i] > S.indptr[i + 1]) __builtin_trap();
        for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) {
          if (S.indices[k] >= S.cols || (k > S.indptr[i] && S.indices[k] <= S.indices[k - 1])) __builtin_trap();
          if (!(S.values[k] > 0.0) || !std::isfinite(S.values[k])) __builtin_trap();
        }
      }
    } else {
      for (double v : X.dense)
        if (!(v >= 0.0) || !std::isfinite(v)) __builtin_trap();
    }
  } catch (const nmfx::Error&) {
  }
  return 0;
}
