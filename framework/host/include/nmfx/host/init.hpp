#pragma once
/// @file init.hpp
/// Initial factors W (M x L) and H (L x N), from the cell's seed: every solver and loss of the same
/// seed, data and rank starts from the same point.
#include <cstdint>
#include <string>
#include <vector>

#include <nmfx/types.hpp>

namespace nmfx {

/// init = {"method": "random", "distribution": "uniform"|"halfnormal", "scale": "auto"|"none"}
///      | {"method": "file", "W": path, "H": path}   (paths resolved against base_dir)
///      | {"method": "nndsvd" | "nndsvda" | "nndsvdar"}  (Boutsidis & Gallopoulos 2008, from LAPACK's SVD)
void initialize(const json& init, const Data& X, std::size_t rank, std::uint64_t seed, const std::string& base_dir,
                Matrix& W, Matrix& H, std::size_t M = 0, std::size_t N = 0);

/// init_scaling: optimal (Gillis & Glineur's code): W <- alpha W with alpha = <X H^T, W> / <W^T W, H H^T>,
/// the minimizer of ||X - alpha W H||_F, so that every solver starts from the same best-scaled point.
void scale_optimally(const Data& X, Matrix& W, const Matrix& H, int threads);

/// The initialisation methods `init.method` accepts (the spec checker lists them).
extern const std::vector<std::string> kInitMethods;

}  // namespace nmfx
