#pragma once
/// @file rng.hpp
/// A random stream whose output is fixed by the C++ standard (mt19937_64) and by this file, so the
/// same seed gives the same numbers with any compiler or standard library.
#include <cstdint>
#include <random>

namespace nmfx {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  /// A stream for one purpose ("init", ...): seeded from the seed mixed with the purpose's name, so
  /// that streams of different purposes never coincide for the same seed. (The run's seed and a
  /// dataset's own seed both default to 0; a plain Rng(0) for the initial factors would start the
  /// solver from the very factors the synthetic dataset planted.)
  static Rng stream(const char* purpose, std::uint64_t seed);
  /// Uniform on [0, 1): the top 53 bits of one draw.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Standard normal, Box-Muller on two uniforms (no cached second value, so streams stay simple).
  double normal();
  std::uint64_t next() { return engine_(); }
  /// Skips n draws of the engine (uniform() takes one, normal() two): how a process of a
  /// distributed cell reaches its own part of a stream.
  void discard(unsigned long long n) { engine_.discard(n); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace nmfx
