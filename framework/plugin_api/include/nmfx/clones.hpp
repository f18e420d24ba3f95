#pragma once
/// @file clones.hpp
/// NMFX_TARGET_CLONES: compile a hot function twice, for AVX2 and for baseline x86-64, and let the
/// loader pick the one the processor runs (GCC's target_clones; x86-64 GCC only, elsewhere a no-op).
/// Wider vectors, the same operations in the same order: "fma" is deliberately not in the list,
/// since contracting a * b + c would change the rounding, so both clones give the same bits and
/// results do not depend on the machine. It changes no type layout, so it is safe in any plugin.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NMFX_TARGET_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NMFX_TARGET_CLONES
#endif
