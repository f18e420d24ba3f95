#pragma once
/// @file types.hpp
/// The matrix and data types that cross the plugin boundary.
#include <cstddef>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>
#include <xtensor/xtensor.hpp>

namespace nmfx {

/// Dense row-major matrix of doubles: X (M x N), W (M x L), H (L x N), and every workspace.
using Matrix = xt::xtensor<double, 2, xt::layout_type::row_major>;
using json = nlohmann::json;

/// What kind of matrix a dataset returned. Solvers and losses declare the kinds they support.
enum class DataKind { dense };
const char* to_string(DataKind kind);

/// The data matrix X of one problem, with statistics the framework fills in once after loading.
struct Data {
  DataKind kind = DataKind::dense;
  Matrix dense;  ///< M x N, one column per sample (seed 004: "the columns of an n x m matrix V")
  json info = json::object();  ///< free-form facts a dataset wants kept with the results

  // Filled by the framework (finalize()), never by the dataset.
  double norm_sq = 0.0;  ///< ||X||_F^2
  double mean = 0.0;     ///< mean of all M*N entries
  std::size_t nnz = 0;   ///< number of nonzero entries

  std::size_t rows() const { return dense.shape(0); }
  std::size_t cols() const { return dense.shape(1); }
};

/// The one exception type plugins and the framework throw for a user-facing error. Its message is
/// one line saying what is wrong and naming the file, key or value.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what);
  ~Error() override;
};

}  // namespace nmfx
