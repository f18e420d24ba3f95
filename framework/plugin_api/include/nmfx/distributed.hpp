#pragma once
/// @file distributed.hpp
/// One cell factored by p processes together, laid out as in PLANC (Kannan, Ballard & Park,
/// "MPI-FAUN"; Eswar et al., ACM TOMS 47(3), 2021): the processes form a pr x pc grid; process
/// (i, j) holds block (i, j) of X (about M/pr x N/pc), 1/p of the rows of W (its share of row
/// block i) and 1/p of the columns of H (its share of column block j).
///
/// Plugins see three things here: the Layout (which rows and columns are where), the Communicator
/// (sums, gathers and reduce-scatters over the grid, provided by the host over MPI) and, in
/// linalg.hpp, DataProducts, which turns them into X H^T, W^T X and the Gram matrices. On one
/// process the layout is the whole matrix and the communicator is the identity, so a solver written
/// against DataProducts runs unchanged on one process or many.
#include <cstddef>
#include <string>
#include <vector>

#include <nmfx/types.hpp>

namespace nmfx {

/// The half-open index range [begin, end).
struct Range {
  std::size_t begin = 0, end = 0;
  std::size_t size() const { return end - begin; }
  bool operator==(const Range& o) const { return begin == o.begin && end == o.end; }
};

/// Part `part` of `parts` of [0, n) split as evenly as possible, the first n % parts parts one
/// longer (so shapes that do not divide evenly still give every part n / parts or one more).
Range split_range(std::size_t n, int parts, int part);

/// Where the pieces of one distributed cell lie, as seen from one process.
struct Layout {
  std::size_t M = 0, N = 0;  ///< the whole X
  int pr = 1, pc = 1;        ///< the process grid
  int row = 0, col = 0;      ///< this process's place in it; its rank in the cell is row * pc + col
  Range x_rows, x_cols;      ///< the block of X held here: split_range(M, pr, row) x split_range(N, pc, col)
  Range w_rows;              ///< W's rows held here: part `col` of x_rows split pc ways
  Range h_cols;              ///< H's columns held here: part `row` of x_cols split pr ways

  int processes() const { return pr * pc; }
  bool distributed() const { return processes() > 1; }
  /// The layout of process `process` (row-major in the grid) on a pr x pc grid for an M x N X.
  static Layout of(std::size_t M, std::size_t N, int pr, int pc, int process);
  /// One process holding everything.
  static Layout whole(std::size_t M, std::size_t N) { return of(M, N, 1, 1, 0); }
  /// W's rows held by process (row, c) for each c of this row: the pieces a row gather joins.
  std::vector<Range> w_rows_in_row() const;
  /// H's columns held by process (r, col) for each r of this column.
  std::vector<Range> h_cols_in_column() const;
};

/// The pr x pc grid for p processes that minimises PLANC's per-iteration words,
/// (pc-1)/pc M L/pr + (pr-1)/pr N L/pc (both factors' gathers and reduce-scatters), over every
/// factorisation p = pr pc; ties go to the squarer grid.
void choose_grid(int processes, std::size_t M, std::size_t N, int& pr, int& pc);

/// PLANC's words (doubles) sent by one process per outer iteration of an alternating solver on a
/// pr x pc grid with bandwidth-optimal (ring) collectives: for each factor one gather of the
/// other factor along the grid, one reduce-scatter of the product, and one all-reduce of the
/// L x L Gram matrix,
///     2 [ (pc-1)/pc * M L / pr + (pr-1)/pr * N L / pc ] + 4 (p-1)/p * L^2,
/// with M/pr and N/pc rounded as the layout splits them (process 0's blocks).
double planc_words_per_iteration(std::size_t M, std::size_t N, std::size_t L, int pr, int pc);

/// Communication among the processes of one distributed cell. The host implements it over MPI
/// with ring algorithms (bandwidth-optimal, and with a fixed order of summation for a given grid,
/// so a run is bit-for-bit repeatable and every process gets the same bits); on one process it is
/// the identity. Every call is collective over its group: all processes of the group call it
/// with the same sizes.
class Communicator {
 public:
  enum class Group {
    all,     ///< every process of the cell
    row,     ///< the pc processes of this grid row, ordered by grid column
    column,  ///< the pr processes of this grid column, ordered by grid row
  };
  virtual ~Communicator();
  /// Number of processes in the group and this process's index in it.
  virtual int size(Group group) const = 0;
  virtual int index(Group group) const = 0;
  /// data[0..n) <- the sum over the group of every process's data, the same bits everywhere.
  virtual void sum(Group group, double* data, std::size_t n) = 0;
  /// data[0..n) <- the elementwise maximum over the group.
  virtual void max(Group group, double* data, std::size_t n) = 0;
  /// out <- the group's pieces concatenated in group order; process k's piece has counts[k] doubles.
  virtual void gather(Group group, const double* piece, const std::vector<std::size_t>& counts, double* out) = 0;
  /// piece <- part k (counts[k] doubles, k = this process's index) of the sum over the group of
  /// every process's `data` (sum of counts doubles).
  virtual void sum_scatter(Group group, const double* data, const std::vector<std::size_t>& counts, double* piece) = 0;
  /// text <- the text of the group's process `root`, on every process of the group.
  virtual void broadcast(Group group, std::string& text, int root = 0) = 0;

  /// What this process has sent so far through this communicator, and the wall seconds spent in it.
  std::size_t bytes_sent() const { return bytes_sent_; }
  double seconds() const { return seconds_; }

 protected:
  std::size_t bytes_sent_ = 0;
  double seconds_ = 0;
};

/// The communicator of a single process: every group is just this process.
class SingleProcess final : public Communicator {
 public:
  int size(Group) const override { return 1; }
  int index(Group) const override { return 0; }
  void sum(Group, double*, std::size_t) override {}
  void max(Group, double*, std::size_t) override {}
  void gather(Group, const double* piece, const std::vector<std::size_t>& counts, double* out) override;
  void sum_scatter(Group, const double* data, const std::vector<std::size_t>& counts, double* piece) override;
  void broadcast(Group, std::string&, int) override {}
};

/// A distributed cell as a plugin sees it: this process's layout and the cell's communicator.
struct Distribution {
  Layout layout;
  Communicator* comm = nullptr;
  bool distributed() const { return layout.distributed(); }
  /// The sum of a number over all processes (the identity on one).
  double sum(double local) const;
};

}  // namespace nmfx
