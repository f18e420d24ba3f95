#include <cmath>
#include <filesystem>

#include <nmfx/init.hpp>
#include <nmfx/npy.hpp>
#include <nmfx/rng.hpp>

namespace nmfx {

const char* const kInitMethods[] = {"random", "file", nullptr};

void initialize(const json& init, const Data& X, std::size_t rank, std::uint64_t seed,
                const std::string& base_dir, Matrix& W, Matrix& H) {
  const std::size_t M = X.rows(), N = X.cols();
  const std::string method = init.at("method");
  if (method == "file") {
    auto load = [&](const char* key, std::size_t rows, std::size_t cols) {
      std::filesystem::path path = init.at(key).get<std::string>();
      if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
      Matrix m = read_npy(path.string());
      if (m.shape(0) != rows || m.shape(1) != cols)
        throw Error(path.string() + ": init " + key + " has shape (" + std::to_string(m.shape(0)) + ", " +
                    std::to_string(m.shape(1)) + "), this cell needs (" + std::to_string(rows) + ", " +
                    std::to_string(cols) + ")");
      for (double v : m)
        if (!(v >= 0.0) || !std::isfinite(v))
          throw Error(path.string() + ": init " + key + " has a negative or non-finite entry");
      return m;
    };
    W = load("W", M, rank);
    H = load("H", rank, N);
    return;
  }
  // random: W first, then H, row-major, from one stream, so a seed fixes both.
  W = Matrix::from_shape({M, rank});
  H = Matrix::from_shape({rank, N});
  Rng rng(seed);
  const bool halfnormal = init.at("distribution") == "halfnormal";
  // sqrt(mean(X) / rank) makes E[WH] match the scale of X (scikit-learn's random init).
  const double scale = init.at("scale") == "auto" ? std::sqrt(X.mean / static_cast<double>(rank)) : 1.0;
  for (auto* m : {&W, &H})
    for (double& v : *m) v = scale * (halfnormal ? std::abs(rng.normal()) : rng.uniform());
}

}  // namespace nmfx
