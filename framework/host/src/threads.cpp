#include <omp.h>

#include <nmfx/host/threads.hpp>

// OpenBLAS's own controls; declared here so that another cblas.h still compiles.
extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

namespace nmfx {

void set_threads(int threads) {
  openblas_set_num_threads(threads);
  omp_set_num_threads(threads);
}

int blas_threads() { return openblas_get_num_threads(); }

std::string blas_info() { return std::string(openblas_get_config()) + " (core " + openblas_get_corename() + ")"; }

}  // namespace nmfx
