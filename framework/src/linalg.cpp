#include <cblas.h>

#include <nmfx/linalg.hpp>

// Declared by OpenBLAS's cblas.h; named here so a different cblas.h still compiles.
extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

namespace nmfx {

void gemm(const Matrix& A, Trans ta, const Matrix& B, Trans tb, Matrix& C, double alpha, double beta) {
  const std::size_t m = ta == Trans::no ? A.shape(0) : A.shape(1);
  const std::size_t k = ta == Trans::no ? A.shape(1) : A.shape(0);
  const std::size_t kb = tb == Trans::no ? B.shape(0) : B.shape(1);
  const std::size_t n = tb == Trans::no ? B.shape(1) : B.shape(0);
  if (k != kb || C.shape(0) != m || C.shape(1) != n)
    throw Error("gemm: shapes do not match (" + std::to_string(m) + "x" + std::to_string(k) + " times " +
                std::to_string(kb) + "x" + std::to_string(n) + " into " + std::to_string(C.shape(0)) + "x" +
                std::to_string(C.shape(1)) + ")");
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, ta == Trans::no ? CblasNoTrans : CblasTrans,
              tb == Trans::no ? CblasNoTrans : CblasTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, A.data(), static_cast<int>(A.shape(1)), B.data(),
              static_cast<int>(B.shape(1)), beta, C.data(), static_cast<int>(C.shape(1)));
}

double inner(const Matrix& A, const Matrix& B) {
  if (A.shape() != B.shape()) throw Error("inner: shapes do not match");
  return cblas_ddot(static_cast<int>(A.size()), A.data(), 1, B.data(), 1);
}

void set_blas_threads(int threads) { openblas_set_num_threads(threads); }
int blas_threads() { return openblas_get_num_threads(); }
std::string blas_info() {
  return std::string("OpenBLAS ") + openblas_get_config() + " (core " + openblas_get_corename() + ")";
}

}  // namespace nmfx
