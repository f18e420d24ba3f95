// "No allocation inside an iteration" (design card; issue on the solvers): every solver's step(),
// after prepare() and a first step, allocates nothing, on every data kind it declares. The test
// replaces the global operator new (which the plugins' code reaches too: the executable's
// definition interposes on libstdc++'s) and counts the calls made during the steps.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "ratings_support.hpp"
#include "support.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};

void* allocate(std::size_t n, std::size_t align) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p =
      align <= alignof(std::max_align_t) ? std::malloc(n) : std::aligned_alloc(align, (n + align - 1) / align * align);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
// The array and nothrow forms too: otherwise another definition of them (AddressSanitizer's
// runtime defines every form) allocates what these free, e.g. std::stable_sort's nothrow buffer.
void* operator new[](std::size_t n) { return allocate(n, 0); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n, 0);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return allocate(n, static_cast<std::size_t>(a));
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
  return operator new(n, a, t);
}
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using nmfx::json;

// Allocations during `steps` steps of `solver` with `loss` on X, after prepare() and one step.
std::size_t allocations_in_steps(const nmfx::Data& X, const std::string& solver, const std::string& loss_name,
                                 std::size_t rank, int steps) {
  const auto& reg = test::registry();
  auto loss = reg.create<nmfx::Loss>(loss_name, json::object());
  auto s = reg.create<nmfx::Solver>(
      solver, nmfx::resolve_params(reg.require(nmfx::PluginKind::solver, solver)->descriptor->params, json::object()));
  const double scale = std::sqrt(X.mean / static_cast<double>(rank));
  nmfx::Matrix W = test::random_matrix(X.rows(), rank, 11, 0.0, scale);
  nmfx::Matrix H = test::random_matrix(rank, X.cols(), 12, 0.0, scale);
  loss->prepare(X, rank);
  nmfx::Problem problem{X, *loss, loss_name, rank, 2, {}};
  s->prepare(problem, W, H);
  s->step(W, H);
  allocations = 0;
  counting = true;
  for (int k = 0; k < steps; ++k) s->step(W, H);
  counting = false;
  return allocations.load();
}

}  // namespace

TEST_CASE("the counter sees an allocation made in a plugin") {
  // The check below is only worth something if a plugin's operator new reaches this file's: a
  // solver's prepare() sizes its workspaces, so it must count.
  const nmfx::Data X = test::make_data(test::random_matrix(40, 30, 3));
  const auto& reg = test::registry();
  auto loss = reg.create<nmfx::Loss>("frobenius", json::object());
  auto s = reg.create<nmfx::Solver>(
      "hals", nmfx::resolve_params(reg.require(nmfx::PluginKind::solver, "hals")->descriptor->params, json::object()));
  nmfx::Matrix W = test::random_matrix(40, 5, 1), H = test::random_matrix(5, 30, 2);
  loss->prepare(X, 5);
  nmfx::Problem problem{X, *loss, "frobenius", 5, 1, {}};
  allocations = 0;
  counting = true;
  s->prepare(problem, W, H);
  counting = false;
  CHECK(allocations.load() > 0);
}

TEST_CASE("no solver allocates inside an iteration on dense or sparse X") {
  nmfx::Matrix A = test::random_matrix(300, 200, 21);
  for (double& v : A) v = v < 0.8 ? 0.0 : v;  // 20% nonzero, also used dense
  const nmfx::Data dense = test::make_data(A), sparse = test::make_sparse(A);
  for (const std::string solver : {"mu", "hals", "accel_mu", "accel_hals", "anls_bpp", "pgd", "cd"})
    for (const nmfx::Data* X : {&dense, &sparse}) {
      CAPTURE(solver);
      CAPTURE(nmfx::to_string(X->kind));
      CHECK(allocations_in_steps(*X, solver, "frobenius", 12, 3) == 0);
    }
  for (const nmfx::Data* X : {&dense, &sparse}) {
    CAPTURE(nmfx::to_string(X->kind));
    CHECK(allocations_in_steps(*X, "mu", "kl", 12, 3) == 0);
  }
}

TEST_CASE("no rating solver allocates inside a pass over observed entries") {
  const auto p = ratings_test::planted(200, 150, 5, 0.1, 0.3, 0.1, 4);
  for (const std::string solver : {"pa", "sgd", "ccd", "mu"}) {
    CAPTURE(solver);
    CHECK(allocations_in_steps(p.data, solver, "frobenius", 8, 2) == 0);
  }
}
