#pragma once
// The inner loop of Gillis & Glineur's accelerated MU and HALS (seed 000, section 4, Algorithms
// 5-7), shared by accel_mu and accel_hals: after A and B are computed once, the update of one
// factor is repeated up to 1 + floor(alpha rho) times, and stopped early once a repetition moves
// the factor by at most epsilon times what the first one did.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <nmfx/plugin.hpp>

namespace nmfx_accel {

enum class Variant { alg5, alg6, alg7 };

// The parameters both accelerated solvers declare; alpha's default differs between them.
inline std::vector<nmfx::ParamSpec> params(double alpha_default) {
  return {
      nmfx::param_real("alpha", alpha_default, "inner updates per factor are at most 1 + floor(alpha * rho)", 0.0),
      nmfx::param_real("epsilon", 0.1, "stop the inner updates once ||F(p+1) - F(p)||_F <= epsilon ||F(1) - F(0)||_F",
                       0.0, 1.0),
      nmfx::param_choice("variant", "alg7", {"alg5", "alg6", "alg7"},
                         "alg7: cap and early stop; alg5: exactly 1 + floor(alpha * rho); alg6: early stop only"),
      nmfx::param_int("max_inner", 1000, "safety cap on the inner updates of alg6, which has no other cap", 1.0),
  };
}

class InnerLoop {
 public:
  explicit InnerLoop(const nmfx::Params& p)
      : alpha_(p.real("alpha")), epsilon_(p.real("epsilon")), max_inner_(p.integer("max_inner")) {
    const std::string v = p.str("variant");
    if (v == "alg5")
      variant_ = Variant::alg5;
    else if (v == "alg6")
      variant_ = Variant::alg6;
    else if (v == "alg7")
      variant_ = Variant::alg7;
    else
      throw nmfx::Error("variant: '" + v + "' is not one of alg5, alg6, alg7");
  }

  // The most inner updates for this rho: 1 + floor(alpha rho) (Algorithms 5 and 7), or max_inner (6).
  std::size_t cap(double rho) const {
    if (variant_ == Variant::alg6) return static_cast<std::size_t>(max_inner_);
    const double extra = std::floor(alpha_ * rho);
    return 1 + static_cast<std::size_t>(std::min(extra, 1e15));  // a finite count even for absurd alpha
  }

  // Whether update() must measure ||F(p+1) - F(p)||_F^2 at all.
  bool measures(double rho) const { return variant_ != Variant::alg5 && cap(rho) > 1; }

  // Calls update() (which returns ||F(p+1) - F(p)||_F^2, or anything when measures() is false) up
  // to cap(rho) times; returns how many times it did. The early stop (Algorithms 6-7, lines 6 and
  // 14) compares norms, so squares are compared against epsilon^2.
  template <class Update>
  std::size_t run(Update&& update, double rho) const {
    const std::size_t n = cap(rho);
    const bool stop_early = variant_ != Variant::alg5;
    double first = 0;
    for (std::size_t p = 1; p <= n; ++p) {
      const double moved = update();
      if (p == 1) first = moved;
      if (stop_early && moved <= epsilon_ * epsilon_ * first) return p;
    }
    return n;
  }

 private:
  double alpha_, epsilon_;
  long long max_inner_;
  Variant variant_ = Variant::alg7;
};

}  // namespace nmfx_accel
