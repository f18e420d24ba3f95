#pragma once
/// @file clones.hpp
/// NMFX_TARGET_CLONES: compile a hot function three times, for AVX-512, AVX2 and baseline x86-64,
/// and let the loader pick the one the processor runs (GCC's target_clones; x86-64 GCC only,
/// elsewhere a no-op). Wider vectors, the same operations in the same order: "fma" is deliberately
/// not in the list, and since GCC's avx512f implies FMA, floating-point contraction is switched off
/// for these functions (contracting a * b + c into one rounding would change the bits), so every
/// clone gives the same bits and results do not depend on the machine. It changes no type layout,
/// so it is safe in any plugin.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NMFX_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=off")))
#else
#define NMFX_TARGET_CLONES
#endif
