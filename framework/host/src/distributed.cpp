// Distributed cells: the MPI communicator (ring collectives over MPI_Sendrecv), block loading,
// block-wise random initialisation and the parallel .npy writer. See host/distributed.hpp.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

#include <nmfx/host/distributed.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/npy.hpp>
#include <nmfx/rng.hpp>

#ifdef NMFX_HAVE_MPI
#include <mpi.h>
#endif

namespace nmfx {

#ifdef NMFX_HAVE_MPI
namespace {

using Clock = std::chrono::steady_clock;

class MpiGrid final : public Communicator {
 public:
  MpiGrid(int pr, int pc) {
    int size = 0, rank = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (pr * pc != size)
      throw Error("distribute.grid " + std::to_string(pr) + "x" + std::to_string(pc) + " needs " +
                  std::to_string(pr * pc) + " MPI processes, this run has " + std::to_string(size));
    MPI_Comm_dup(MPI_COMM_WORLD, &groups_[0]);
    MPI_Comm_split(MPI_COMM_WORLD, rank / pc, rank % pc, &groups_[1]);  // row: ordered by grid column
    MPI_Comm_split(MPI_COMM_WORLD, rank % pc, rank / pc, &groups_[2]);  // column: ordered by grid row
    for (int g = 0; g < 3; ++g) {
      MPI_Comm_size(groups_[g], &sizes_[g]);
      MPI_Comm_rank(groups_[g], &indices_[g]);
    }
  }
  ~MpiGrid() override {
    for (MPI_Comm& c : groups_) MPI_Comm_free(&c);
  }
  MpiGrid(const MpiGrid&) = delete;
  MpiGrid& operator=(const MpiGrid&) = delete;

  int size(Group g) const override { return sizes_[at(g)]; }
  int index(Group g) const override { return indices_[at(g)]; }

  void sum(Group g, double* data, std::size_t n) override { reduce(g, data, n, false); }
  void max(Group g, double* data, std::size_t n) override { reduce(g, data, n, true); }

  void gather(Group g, const double* piece, const std::vector<std::size_t>& counts, double* out) override {
    const auto t0 = Clock::now();
    const int q = size(g), me = index(g);
    const std::vector<std::size_t> offsets = offsets_of(counts);
    if (out + offsets[static_cast<std::size_t>(me)] != piece)
      std::memmove(out + offsets[static_cast<std::size_t>(me)], piece, counts[static_cast<std::size_t>(me)] * 8);
    ring_gather(g, q, me, counts, offsets, out);
    seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  void sum_scatter(Group g, const double* data, const std::vector<std::size_t>& counts, double* piece) override {
    const auto t0 = Clock::now();
    const int q = size(g), me = index(g);
    const std::vector<std::size_t> offsets = offsets_of(counts);
    acc_.assign(data, data + offsets.back());
    ring_reduce_scatter(g, q, me, counts, offsets, acc_.data(), false);
    std::memcpy(piece, acc_.data() + offsets[static_cast<std::size_t>(me)], counts[static_cast<std::size_t>(me)] * 8);
    seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  void broadcast(Group g, std::string& text, int root) override {
    const auto t0 = Clock::now();
    unsigned long long length = text.size();
    MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, groups_[at(g)]);
    text.resize(length);
    MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, groups_[at(g)]);
    if (index(g) == root) bytes_sent_ += (length + 8) * static_cast<std::size_t>(size(g) - 1);
    seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }

 private:
  static int at(Group g) { return g == Group::all ? 0 : g == Group::row ? 1 : 2; }

  static std::vector<std::size_t> offsets_of(const std::vector<std::size_t>& counts) {
    std::vector<std::size_t> offsets(counts.size() + 1, 0);
    for (std::size_t k = 0; k < counts.size(); ++k) offsets[k + 1] = offsets[k] + counts[k];
    return offsets;
  }

  void exchange(Group g, const double* send, std::size_t send_count, int to, double* receive, std::size_t receive_count,
                int from) {
    MPI_Sendrecv(send, static_cast<int>(send_count), MPI_DOUBLE, to, 0, receive, static_cast<int>(receive_count),
                 MPI_DOUBLE, from, 0, groups_[at(g)], MPI_STATUS_IGNORE);
    bytes_sent_ += send_count * 8;
  }

  // Ring all-gather: in step s, send block (me - s) to the next process and receive block
  // (me - s - 1) from the previous one; q - 1 steps, each process sending all blocks but one.
  void ring_gather(Group g, int q, int me, const std::vector<std::size_t>& counts,
                   const std::vector<std::size_t>& offsets, double* out) {
    const int next = (me + 1) % q, prev = (me + q - 1) % q;
    for (int s = 0; s + 1 < q; ++s) {
      const std::size_t send = static_cast<std::size_t>((me - s + q) % q);
      const std::size_t receive = static_cast<std::size_t>((me - s - 1 + 2 * q) % q);
      exchange(g, out + offsets[send], counts[send], next, out + offsets[receive], counts[receive], prev);
    }
  }

  // Ring reduce-scatter on acc (every block): in step s, send the partial block (me - s - 1) to
  // the next process and add the received partial block (me - s - 2) into acc; after q - 1 steps
  // block `me` holds the whole sum, added in the order me+1, me+2, ..., me (fixed by the grid).
  void ring_reduce_scatter(Group g, int q, int me, const std::vector<std::size_t>& counts,
                           const std::vector<std::size_t>& offsets, double* acc, bool take_max) {
    const int next = (me + 1) % q, prev = (me + q - 1) % q;
    std::size_t largest = 0;
    for (std::size_t c : counts) largest = std::max(largest, c);
    incoming_.resize(largest);
    for (int s = 0; s + 1 < q; ++s) {
      const std::size_t send = static_cast<std::size_t>((me - s - 1 + 2 * q) % q);
      const std::size_t receive = static_cast<std::size_t>((me - s - 2 + 2 * q) % q);
      exchange(g, acc + offsets[send], counts[send], next, incoming_.data(), counts[receive], prev);
      double* a = acc + offsets[receive];
      for (std::size_t k = 0; k < counts[receive]; ++k)
        a[k] = take_max ? std::max(incoming_[k], a[k]) : incoming_[k] + a[k];
    }
  }

  // All-reduce: a ring reduce-scatter and a ring all-gather over an even split of the n numbers
  // when there are at least as many as processes; otherwise every process gathers all of them
  // and adds them in process order. Either way every process ends with the same bits.
  void reduce(Group g, double* data, std::size_t n, bool take_max) {
    const auto t0 = Clock::now();
    const int q = size(g), me = index(g);
    if (q > 1) {
      if (n >= static_cast<std::size_t>(q)) {
        std::vector<std::size_t> counts;
        for (int k = 0; k < q; ++k) counts.push_back(split_range(n, q, k).size());
        const std::vector<std::size_t> offsets = offsets_of(counts);
        ring_reduce_scatter(g, q, me, counts, offsets, data, take_max);
        ring_gather(g, q, me, counts, offsets, data);
      } else {
        const std::vector<std::size_t> counts(static_cast<std::size_t>(q), n);
        const std::vector<std::size_t> offsets = offsets_of(counts);
        acc_.resize(n * static_cast<std::size_t>(q));
        std::memcpy(acc_.data() + offsets[static_cast<std::size_t>(me)], data, n * 8);
        ring_gather(g, q, me, counts, offsets, acc_.data());
        for (std::size_t k = 0; k < n; ++k) {
          double v = acc_[k];
          for (int r = 1; r < q; ++r) {
            const double x = acc_[static_cast<std::size_t>(r) * n + k];
            v = take_max ? std::max(v, x) : v + x;
          }
          data[k] = v;
        }
      }
    }
    seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  MPI_Comm groups_[3];
  int sizes_[3] = {1, 1, 1}, indices_[3] = {0, 0, 0};
  std::vector<double> acc_, incoming_;
};

}  // namespace

std::unique_ptr<Communicator> mpi_grid_communicator(int pr, int pc) { return std::make_unique<MpiGrid>(pr, pc); }

#else

std::unique_ptr<Communicator> mpi_grid_communicator(int, int) {
  throw Error("distributed cells need MPI, and this nmfx was built without it");
}

#endif

bool all_ok(Communicator& comm, bool ok, std::string& message) {
  using G = Communicator::Group;
  const int p = comm.size(G::all), me = comm.index(G::all);
  // The lowest failing process has the largest p - index.
  double worst = ok ? 0.0 : static_cast<double>(p - me);
  comm.max(G::all, &worst, 1);
  if (worst == 0.0) return true;
  const int root = p - static_cast<int>(worst);
  std::string text = message;
  comm.broadcast(G::all, text, root);
  message = p > 1 ? "process " + std::to_string(root) + ": " + text : text;
  return false;
}

void grid_for(const json& grid, int processes, std::size_t M, std::size_t N, int& pr, int& pc) {
  // Every process must hold at least one row of W and one column of H.
  const std::size_t p = static_cast<std::size_t>(processes);
  if (M < p || N < p)
    throw Error("a " + std::to_string(M) + "x" + std::to_string(N) + " X cannot be spread over " +
                std::to_string(processes) + " processes (each needs a row of W and a column of H)");
  if (grid.is_string()) return choose_grid(processes, M, N, pr, pc);
  pr = grid.at(0).get<int>();
  pc = grid.at(1).get<int>();
  if (pr * pc != processes)
    throw Error("distribute.grid [" + std::to_string(pr) + ", " + std::to_string(pc) + "] needs " +
                std::to_string(pr * pc) + " processes, this run has " + std::to_string(processes));
}

Data load_block_of(Dataset& dataset, const std::string& name, const Distribution& distribution) {
  const Layout& l = distribution.layout;
  Data X = dataset.load_block(l.x_rows, l.x_cols);
  if (X.rows() != l.x_rows.size() || X.cols() != l.x_cols.size())
    throw Error("dataset '" + name + "' returned a " + std::to_string(X.rows()) + "x" + std::to_string(X.cols()) +
                " block where rows " + std::to_string(l.x_rows.begin) + ".." + std::to_string(l.x_rows.end) +
                " x columns " + std::to_string(l.x_cols.begin) + ".." + std::to_string(l.x_cols.end) + " were asked");
  if (X.kind == DataKind::observed) throw Error("dataset '" + name + "': observed data cannot be distributed");
  // The block's own checks and statistics; an all-zero block is fine, an all-zero X is not.
  double sums[3] = {0, 0, 0};  // ||X||^2, sum, nnz
  const double* values = X.is_sparse_storage() ? X.sparse.values.data() : X.dense.data();
  const std::size_t count = X.is_sparse_storage() ? X.sparse.values.size() : X.dense.size();
  for (std::size_t k = 0; k < count; ++k) {
    const double v = values[k];
    if (!std::isfinite(v) || v < 0)
      throw Error("dataset '" + name + "' has a NaN/Inf or negative entry in rows " + std::to_string(l.x_rows.begin) +
                  ".." + std::to_string(l.x_rows.end) + "; NMF needs a finite X >= 0");
    sums[0] += v * v;
    sums[1] += v;
    sums[2] += v != 0.0;
  }
  distribution.comm->sum(Communicator::Group::all, sums, 3);
  if (sums[2] == 0) throw Error("dataset '" + name + "' is all zeros");
  X.norm_sq = sums[0];
  X.mean = sums[1] / (static_cast<double>(l.M) * static_cast<double>(l.N));
  X.nnz = static_cast<std::size_t>(sums[2]);
  if (X.is_sparse_storage()) X.sparse_t = X.sparse.transposed();
  return X;
}

void random_init_block(const Data& X_block, const Distribution& distribution, std::size_t rank, std::uint64_t seed,
                       const json& init, Matrix& W, Matrix& H) {
  const Layout& l = distribution.layout;
  const std::size_t L = rank;
  const bool halfnormal = init.at("distribution") == "halfnormal";
  const unsigned long long draws = halfnormal ? 2 : 1;  // engine draws per value
  const double scale = init.at("scale") == "auto" ? std::sqrt(X_block.mean / static_cast<double>(L)) : 1.0;
  Rng rng = Rng::stream("init", seed);
  auto value = [&] { return scale * (halfnormal ? std::abs(rng.normal()) : rng.uniform()); };
  // W (M x L) first, then H (L x N), row-major: as initialize() draws the whole of them.
  W = Matrix::from_shape({l.w_rows.size(), L});
  rng.discard(draws * l.w_rows.begin * L);
  for (double& v : W) v = value();
  rng.discard(draws * (l.M - l.w_rows.end) * L);
  H = Matrix::from_shape({L, l.h_cols.size()});
  for (std::size_t a = 0; a < L; ++a) {
    rng.discard(draws * l.h_cols.begin);
    for (std::size_t j = 0; j < l.h_cols.size(); ++j) H(a, j) = value();
    rng.discard(draws * (l.N - l.h_cols.end));
  }
}

void write_npy_distributed(const std::string& path, const Matrix& part, bool is_W, const Distribution& distribution) {
  using G = Communicator::Group;
  Communicator& comm = *distribution.comm;
  const Layout& l = distribution.layout;
  const std::size_t L = is_W ? part.shape(1) : part.shape(0);
  const std::size_t rows = is_W ? l.M : L, cols = is_W ? L : l.N;
  const std::string prefix = npy_prefix(rows, cols);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  comm.broadcast(G::all, tmp, 0);  // one temporary name, process 0's
  std::string message;
  bool ok = true;
  if (comm.index(G::all) == 0) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ok = fd >= 0 && ::pwrite(fd, prefix.data(), prefix.size(), 0) == static_cast<ssize_t>(prefix.size()) &&
         ::ftruncate(fd, static_cast<off_t>(prefix.size() + rows * cols * 8)) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) message = tmp + ": cannot write";
  }
  if (!all_ok(comm, ok, message)) throw Error(message);
  const int fd = ::open(tmp.c_str(), O_WRONLY);
  ok = fd >= 0;
  const auto put = [&](const double* data, std::size_t count, std::size_t at) {
    const std::size_t bytes = count * 8;
    ok = ok && ::pwrite(fd, data, bytes, static_cast<off_t>(prefix.size() + at * 8)) == static_cast<ssize_t>(bytes);
  };
  if (is_W) {
    put(part.data(), part.size(), l.w_rows.begin * L);  // this process's rows, contiguous in the file
  } else {
    for (std::size_t a = 0; a < L; ++a) put(&part(a, 0), l.h_cols.size(), a * l.N + l.h_cols.begin);
  }
  if (fd >= 0) {
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
  }
  if (!ok) message = tmp + ": cannot write this process's part";
  if (!all_ok(comm, ok, message)) throw Error(message);
  if (comm.index(G::all) == 0) std::filesystem::rename(tmp, path);
}

}  // namespace nmfx
