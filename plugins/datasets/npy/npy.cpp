// X from a NumPy .npy file (any real or integer dtype, C or Fortran order), optionally
// transposed. Entries NMF cannot take (NaN, Inf, negative) are refused at load with their count
// and the first position, so a bad file fails before any run rather than as a NaN loss.
#include <cmath>
#include <string>

#include <nmfx/npy.hpp>
#include <nmfx/plugin.hpp>

namespace {

class Npy final : public nmfx::Dataset {
 public:
  explicit Npy(const nmfx::Params& p) : path_(p.str("path")), transpose_(p.boolean("transpose")) {}

  nmfx::Data load() override {
    nmfx::Matrix A = nmfx::read_npy(path_);
    const std::size_t rows = A.shape(0), cols = A.shape(1);
    if (rows == 0 || cols == 0)
      throw nmfx::Error(path_ + ": the array is empty (" + std::to_string(rows) + " x " + std::to_string(cols) +
                        "); NMF needs at least one row and one column");
    // Positions are reported as (row, col) of the array in the file, before any transpose, so
    // they can be looked up with numpy directly.
    refuse(A, [](double v) { return !std::isfinite(v); }, "non-finite (NaN or Inf)", "finite X");
    refuse(A, [](double v) { return v < 0.0; }, "negative", "X >= 0");

    nmfx::Data data;
    if (transpose_) {
      data.dense.resize({cols, rows});
      const double* a = A.data();
      double* x = data.dense.data();
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) x[j * rows + i] = a[i * cols + j];
    } else {
      data.dense = std::move(A);
    }
    data.info = {{"path", path_}, {"shape", {data.rows(), data.cols()}}};
    return data;
  }

 private:
  template <class Bad>
  void refuse(const nmfx::Matrix& A, Bad bad, const char* what, const char* need) const {
    const double* a = A.data();
    const std::size_t size = A.size(), cols = A.shape(1);
    std::size_t count = 0, first = 0;
    for (std::size_t k = 0; k < size; ++k)
      if (bad(a[k]) && count++ == 0) first = k;
    if (count == 0) return;
    throw nmfx::Error(path_ + ": " + std::to_string(count) + " " + what + (count == 1 ? " entry" : " entries") +
                      ", the first at (" + std::to_string(first / cols) + ", " + std::to_string(first % cols) +
                      "); NMF needs " + need);
  }

  std::string path_;
  bool transpose_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Dataset, Npy>("npy", "1.0.0",
                                              "X read from a 2-D NumPy .npy file (any real or integer dtype)");
  d.params = {
      nmfx::param_path("path", "the .npy file holding X (M x N, one column per sample)"),
      nmfx::param_bool("transpose", false, "use the transpose of the stored array as X"),
  };
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
