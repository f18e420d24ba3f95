#pragma once
/// @file online_passes.hpp
/// What the online solvers for observed data (`pa`, `sgd`) share: the training entries as
/// (user, item, rating) triplets, the order in which they are revealed (a new seeded shuffle each
/// pass, one shuffle kept for every pass, or the stored user-major order), and the step size: one
/// full pass per step(), or the next `stream_every` entries of the same endless sequence of passes.
/// Header-only, included by the pa and sgd plugins and by the tests.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <nmfx/clones.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx/rng.hpp>
#include <nmfx_common/factor_shapes.hpp>

namespace nmfx_online {

/// One observed rating r of item i by user u (row u, column i of X).
struct Entry {
  std::uint32_t u, i;
  double r;
};

enum class Order { reshuffle, shuffle_once, csr };

inline Order parse_order(const std::string& s) {
  if (s == "reshuffle") return Order::reshuffle;
  if (s == "shuffle_once") return Order::shuffle_once;
  if (s == "csr") return Order::csr;
  throw nmfx::Error("order: unknown value '" + s + "' (reshuffle, shuffle_once or csr)");
}

/// The parameters every online solver declares, with one wording.
inline std::vector<nmfx::ParamSpec> stream_params() {
  return {
      nmfx::param_choice("order", "reshuffle", {"reshuffle", "shuffle_once", "csr"},
                         "order of the training entries: a new seeded shuffle each pass, one shuffle for every "
                         "pass, or the stored order (user by user, items ascending)"),
      nmfx::param_int("seed", -1,
                      "seed of the shuffles; -1 derives it from the initial W and H, so it follows the run's seed", -1),
      nmfx::param_int("stream_every", 0,
                      "0: one step is one pass over the training entries; k > 0: one step is the next k entries "
                      "of the same sequence of passes (the online setting: metrics every k entries)",
                      0),
      nmfx::param_int("stream_passes", 0,
                      "with stream_every: the stream ends after this many passes (later steps do nothing), so "
                      "max_iter = ceil(passes * |train| / k) steps end exactly at the last entry; 0: no end",
                      0),
  };
}

/// The shuffle seed: `seed` if >= 0, else a hash of the bits of the initial W and H (which the
/// framework draws from the run's seed), so that each run seed also gets its own entry order.
inline std::uint64_t resolve_seed(long long seed, const nmfx::Matrix& W, const nmfx::Matrix& H) {
  if (seed >= 0) return static_cast<std::uint64_t>(seed);
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  auto mix = [&h](double v) {
    std::uint64_t b;
    static_assert(sizeof b == sizeof v);
    __builtin_memcpy(&b, &v, sizeof b);
    h ^= b + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  };
  for (double v : W) mix(v);
  for (double v : H) mix(v);
  return h;
}

/// An integer uniform on [0, n), by Lemire's multiply-shift of one 64-bit draw (no rejection: the
/// bias is below n / 2^64, under 1e-11 for any n this code meets).
inline std::size_t bounded(nmfx::Rng& rng, std::size_t n) {
  return static_cast<std::size_t>((static_cast<unsigned __int128>(rng.next()) * n) >> 64);
}

/// Fisher-Yates shuffle in place (i from n-1 down to 1, swap a[i] and a[j], j uniform on [0, i]).
/// The random j of the next `ahead` swaps are drawn early so that their cache lines can be
/// prefetched; the draws and swaps are exactly those of the plain algorithm.
template <class T>
void shuffle(std::vector<T>& a, nmfx::Rng& rng) {
  const std::size_t n = a.size();
  if (n < 2) return;
  constexpr std::size_t ahead = 16;
  std::size_t ring[ahead];
  const std::size_t swaps = n - 1;  // swap s exchanges a[n-1-s] and a[j_s], j_s uniform on [0, n-1-s]
  for (std::size_t s = 0; s < std::min(ahead, swaps); ++s) {
    ring[s] = bounded(rng, n - s);
    __builtin_prefetch(&a[ring[s]], 1);
  }
  for (std::size_t s = 0; s < swaps; ++s) {
    const std::size_t j = ring[s % ahead];
    if (s + ahead < swaps) {
      const std::size_t next = bounded(rng, n - (s + ahead));
      ring[s % ahead] = next;
      __builtin_prefetch(&a[next], 1);
    }
    std::swap(a[n - 1 - s], a[j]);
  }
}

/// The training entries and the order they are revealed in. The sequence of entries is fixed by
/// (data, order, seed): pass 1, pass 2, ... each a permutation of the training entries. A step()
/// takes the next pass (stream_every = 0) or the next k entries of that sequence (stream_every = k),
/// crossing pass boundaries as needed, so both modes visit the same entries in the same order and
/// end, after the same number of entries, with bit-identical factors.
class EntryStream {
 public:
  void prepare(const nmfx::SparseMatrix& S, Order order, std::uint64_t seed, std::size_t every,
               std::uint64_t stream_passes = 0) {
    entries_.resize(S.nnz());
    for (std::size_t u = 0; u < S.rows; ++u)
      for (std::size_t k = S.indptr[u]; k < S.indptr[u + 1]; ++k)
        entries_[k] = Entry{static_cast<std::uint32_t>(u), S.indices[k], S.values[k]};
    order_ = order;
    rng_ = nmfx::Rng(seed);
    every_ = every;
    limit_ = every > 0 && stream_passes > 0 ? stream_passes * entries_.size() : 0;
    pos_ = entries_.size();  // the first step starts pass 1
    passes_ = 0;
    processed_ = 0;
  }

  /// Runs this step's entries through f(const Entry* first, std::size_t count, std::uint64_t t0),
  /// in consecutive chunks (one per pass touched); t0 is the number of entries processed before
  /// `first` since prepare(). Returns the number of entries processed.
  template <class F>
  std::size_t step(F&& f) {
    const std::size_t n = entries_.size();
    if (n == 0) return 0;
    std::size_t todo = every_ == 0 ? n : every_;
    if (limit_ > 0) todo = static_cast<std::size_t>(std::min<std::uint64_t>(todo, limit_ - processed_));
    const std::size_t total = todo;
    while (todo > 0) {
      if (pos_ == n) start_pass();
      const std::size_t take = std::min(todo, n - pos_);
      f(entries_.data() + pos_, take, processed_);
      pos_ += take;
      todo -= take;
      processed_ += take;
    }
    return total;
  }

  std::size_t size() const { return entries_.size(); }
  std::uint64_t passes_started() const { return passes_; }
  std::uint64_t processed() const { return processed_; }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  void start_pass() {
    if (order_ == Order::reshuffle || (order_ == Order::shuffle_once && passes_ == 0)) shuffle(entries_, rng_);
    pos_ = 0;
    ++passes_;
  }

  std::vector<Entry> entries_;
  Order order_ = Order::reshuffle;
  nmfx::Rng rng_{0};
  std::size_t every_ = 0, pos_ = 0;
  std::uint64_t limit_ = 0, passes_ = 0, processed_ = 0;
};

/// H (L x N) into rows q_i (N x L, contiguous), and back: the online solvers work on H^T so that
/// each q_i is one contiguous row, like p_u in W.
inline void to_rows(const nmfx::Matrix& H, std::vector<double>& Ht) {
  const std::size_t L = H.shape(0), N = H.shape(1);
  Ht.resize(N * L);
  for (std::size_t a = 0; a < L; ++a)
    for (std::size_t j = 0; j < N; ++j) Ht[j * L + a] = H(a, j);
}
inline void from_rows(const std::vector<double>& Ht, nmfx::Matrix& H) {
  const std::size_t L = H.shape(0), N = H.shape(1);
  for (std::size_t a = 0; a < L; ++a)
    for (std::size_t j = 0; j < N; ++j) H(a, j) = Ht[j * L + a];
}

/// Prefetches the rows p_u and q_i (rank L) of an entry a few iterations before it is processed:
/// with entries in random order these two rows are the whole cost of a pass. Rows longer than 32
/// get their first four cache lines and their last one. Always inlined and written without a loop:
/// GCC otherwise finds that a function (or loop) whose only effect is a prefetch has no side
/// effect, and deletes its calls.
__attribute__((always_inline)) inline void prefetch_row(const double* p, std::size_t L) {
  __builtin_prefetch(p, 1);
  if (L > 8) __builtin_prefetch(p + 8, 1);
  if (L > 16) __builtin_prefetch(p + 16, 1);
  if (L > 24) __builtin_prefetch(p + 24, 1);
  __builtin_prefetch(p + L - 1, 1);
}
__attribute__((always_inline)) inline void prefetch_rows(const double* W, const double* Ht, const Entry& e,
                                                         std::size_t L) {
  prefetch_row(W + static_cast<std::size_t>(e.u) * L, L);
  prefetch_row(Ht + static_cast<std::size_t>(e.i) * L, L);
}

/// x . y with four interleaved partial sums, ((s0 + s1) + (s2 + s3)): without -ffast-math the
/// compiler keeps a single sum strictly in order, a chain of L dependent additions that costs more
/// than the memory access of a row. The order is fixed, so results stay reproducible.
inline double dot(const double* x, const double* y, std::size_t L) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::size_t a = 0;
  for (; a + 4 <= L; a += 4) {
    s0 += x[a] * y[a];
    s1 += x[a + 1] * y[a + 1];
    s2 += x[a + 2] * y[a + 2];
    s3 += x[a + 3] * y[a + 3];
  }
  for (; a < L; ++a) s0 += x[a] * y[a];
  return (s0 + s1) + (s2 + s3);
}

inline void check_shapes(const char* solver, const nmfx::Problem& problem, const nmfx::Matrix& W,
                         const nmfx::Matrix& H) {
  if (problem.X.kind != nmfx::DataKind::observed)
    throw nmfx::Error(std::string(solver) + ": needs observed data (ratings), got " + nmfx::to_string(problem.X.kind) +
                      " data");
  nmfx_common::check_factor_shapes(solver, problem, W, H);
}

}  // namespace nmfx_online
