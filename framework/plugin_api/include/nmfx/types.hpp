#pragma once
/// @file types.hpp
/// The matrix and data types that cross the plugin boundary.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xtensor.hpp>

namespace nmfx {

/// Dense row-major matrix of doubles: X (M x N), W (M x L), H (L x N), and every workspace.
using Matrix = xt::xtensor<double, 2, xt::layout_type::row_major>;
using json = nlohmann::json;

/// What kind of matrix a dataset returned. Solvers and losses declare the kinds they support.
/// dense and sparse: X is known everywhere (a sparse X is zero where nothing is stored).
/// observed: only the stored entries of X are known (ratings); the rest are missing, not zero.
enum class DataKind { dense, sparse, observed };
const char* to_string(DataKind kind);

/// Compressed sparse rows: the entries of row i are values[indptr[i] .. indptr[i+1]), in columns
/// indices[...], sorted and unique within a row. Zeros of X are not stored.
struct SparseMatrix {
  std::size_t rows = 0, cols = 0;
  std::vector<std::size_t> indptr;     ///< rows + 1 offsets
  std::vector<std::uint32_t> indices;  ///< column of each entry
  std::vector<double> values;
  std::size_t nnz() const { return values.size(); }
  /// The transpose, also in CSR (that is, this matrix in CSC).
  SparseMatrix transposed() const;
};

/// The data matrix X of one problem, with statistics the framework fills in once after loading.
/// X is M x N with one column per sample (seed 004: "the columns of an n x m matrix V").
struct Data {
  DataKind kind = DataKind::dense;
  Matrix dense;                ///< kind dense: M x N
  SparseMatrix sparse;         ///< kind sparse: X in CSR; kind observed: the training entries in CSR
  SparseMatrix test;           ///< kind observed: held-out entries (same shape), possibly empty
  json info = json::object();  ///< free-form facts a dataset wants kept with the results

  // Filled by the framework (finalize()), never by the dataset.
  SparseMatrix sparse_t;  ///< kinds sparse and observed: the transpose in CSR (column access)
  double norm_sq = 0.0;   ///< ||X||_F^2 (observed: over the training entries)
  double mean = 0.0;      ///< mean of all M*N entries, zeros included (observed: of the training entries)
  std::size_t nnz = 0;    ///< nonzero entries, P in Gillis & Glineur's cost model (observed: training entries)

  std::size_t rows() const { return kind == DataKind::dense ? dense.shape(0) : sparse.rows; }
  std::size_t cols() const { return kind == DataKind::dense ? dense.shape(1) : sparse.cols; }
  bool is_sparse_storage() const { return kind != DataKind::dense; }
};

/// The one exception type plugins and the framework throw for a user-facing error. Its message is
/// one line saying what is wrong and naming the file, key or value.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what);
  ~Error() override;
};

}  // namespace nmfx
