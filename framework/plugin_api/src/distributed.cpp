#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <nmfx/distributed.hpp>
#include <nmfx/plugin.hpp>

namespace nmfx {

Range split_range(std::size_t n, int parts, int part) {
  const std::size_t q = n / static_cast<std::size_t>(parts), r = n % static_cast<std::size_t>(parts);
  const std::size_t k = static_cast<std::size_t>(part);
  const std::size_t begin = k * q + std::min(k, r);
  return {begin, begin + q + (k < r ? 1 : 0)};
}

Layout Layout::of(std::size_t M, std::size_t N, int pr, int pc, int process) {
  if (pr < 1 || pc < 1 || process < 0 || process >= pr * pc)
    throw Error("process " + std::to_string(process) + " is not on a " + std::to_string(pr) + "x" + std::to_string(pc) +
                " grid");
  Layout l;
  l.M = M;
  l.N = N;
  l.pr = pr;
  l.pc = pc;
  l.row = process / pc;
  l.col = process % pc;
  l.x_rows = split_range(M, pr, l.row);
  l.x_cols = split_range(N, pc, l.col);
  const Range w = split_range(l.x_rows.size(), pc, l.col);
  l.w_rows = {l.x_rows.begin + w.begin, l.x_rows.begin + w.end};
  const Range h = split_range(l.x_cols.size(), pr, l.row);
  l.h_cols = {l.x_cols.begin + h.begin, l.x_cols.begin + h.end};
  return l;
}

std::vector<Range> Layout::w_rows_in_row() const {
  std::vector<Range> out;
  for (int c = 0; c < pc; ++c) out.push_back(of(M, N, pr, pc, row * pc + c).w_rows);
  return out;
}

std::vector<Range> Layout::h_cols_in_column() const {
  std::vector<Range> out;
  for (int r = 0; r < pr; ++r) out.push_back(of(M, N, pr, pc, r * pc + col).h_cols);
  return out;
}

void choose_grid(int processes, std::size_t M, std::size_t N, int& pr, int& pc) {
  if (processes < 1) throw Error("a process grid needs at least one process, got " + std::to_string(processes));
  double best = std::numeric_limits<double>::infinity();
  int best_skew = 0;
  for (int r = 1; r <= processes; ++r) {
    if (processes % r != 0) continue;
    const int c = processes / r;
    // Rows and columns of X must each give every process at least one row of W / column of H.
    if (static_cast<std::size_t>(processes) > M || static_cast<std::size_t>(processes) > N) {
      if (static_cast<std::size_t>(r) > M || static_cast<std::size_t>(c) > N) continue;
    }
    const double words = planc_words_per_iteration(M, N, 1, r, c);
    const int skew = std::abs(r - c);
    if (words < best * (1 - 1e-12) || (words <= best * (1 + 1e-12) && skew < best_skew)) {
      best = words;
      best_skew = skew;
      pr = r;
      pc = c;
    }
  }
  if (!std::isfinite(best)) throw Error("no process grid fits a " + std::to_string(M) + "x" + std::to_string(N) + " X");
}

double planc_words_per_iteration(std::size_t M, std::size_t N, std::size_t L, int pr, int pc) {
  const double p = static_cast<double>(pr) * pc;
  const double m = static_cast<double>(split_range(M, pr, 0).size());
  const double n = static_cast<double>(split_range(N, pc, 0).size());
  const double l = static_cast<double>(L);
  return 2 * ((pc - 1.0) / pc * m * l + (pr - 1.0) / pr * n * l) + 4 * (p - 1) / p * l * l;
}

Communicator::~Communicator() = default;

void SingleProcess::gather(Group, const double* piece, const std::vector<std::size_t>& counts, double* out) {
  if (out != piece && !counts.empty()) std::memmove(out, piece, counts[0] * sizeof(double));
}

void SingleProcess::sum_scatter(Group, const double* data, const std::vector<std::size_t>& counts, double* piece) {
  if (piece != data && !counts.empty()) std::memmove(piece, data, counts[0] * sizeof(double));
}

double Distribution::sum(double local) const {
  if (comm) comm->sum(Communicator::Group::all, &local, 1);
  return local;
}

std::pair<std::size_t, std::size_t> Dataset::shape() {
  throw Error("this dataset cannot be distributed (it does not implement shape() and load_block())");
}

Data Dataset::load_block(const Range&, const Range&) {
  throw Error("this dataset cannot be distributed (it does not implement shape() and load_block())");
}

void Loss::prepare_distributed(const Data&, std::size_t, const Distribution&) {
  throw Error("this loss cannot be distributed (it does not implement prepare_distributed())");
}

}  // namespace nmfx
