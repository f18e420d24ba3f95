#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include <nmfx/host/init.hpp>
#include <nmfx/linalg.hpp>
#include <nmfx/npy.hpp>
#include <nmfx/rng.hpp>

extern "C" void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
                        const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork,
                        int* info);

namespace nmfx {

const std::vector<std::string> kInitMethods = {"random", "file", "nndsvd", "nndsvda", "nndsvdar"};

namespace {

Matrix dense_copy(const Data& X) {
  if (X.kind == DataKind::observed) throw Error("nndsvd needs X known everywhere; this X has missing entries");
  if (X.kind == DataKind::dense) return X.dense;
  Matrix D = Matrix::from_shape({X.rows(), X.cols()});
  D.fill(0.0);
  for (std::size_t i = 0; i < X.sparse.rows; ++i)
    for (std::size_t k = X.sparse.indptr[i]; k < X.sparse.indptr[i + 1]; ++k)
      D(i, X.sparse.indices[k]) = X.sparse.values[k];
  return D;
}

// The leading `rank` singular triplets of X (M x N): U (M x rank), S, V (rank x N), X ~ U diag(S) V.
// LAPACK is column-major, so the row-major X is handed over as X^T (N x M): X^T = A = Ua Sa Va^T,
// hence X = Va Sa Ua^T, U = Va and V = Ua^T.
void truncated_svd(const Data& X, std::size_t rank, Matrix& U, std::vector<double>& S, Matrix& V) {
  Matrix A = dense_copy(X);                                                  // overwritten by LAPACK
  const int m = static_cast<int>(X.cols()), n = static_cast<int>(X.rows());  // A is m x n column-major
  const int k = std::min(m, n);
  std::vector<double> s(static_cast<std::size_t>(k)), ua(static_cast<std::size_t>(m) * k),
      vat(static_cast<std::size_t>(k) * n);
  std::vector<int> iwork(8 * static_cast<std::size_t>(k));
  int info = 0, lwork = -1;
  double query = 0;
  dgesdd_("S", &m, &n, A.data(), &m, s.data(), ua.data(), &m, vat.data(), &k, &query, &lwork, iwork.data(), &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgesdd_("S", &m, &n, A.data(), &m, s.data(), ua.data(), &m, vat.data(), &k, work.data(), &lwork, iwork.data(), &info);
  if (info != 0) throw Error("nndsvd: the SVD of X did not converge (LAPACK dgesdd info " + std::to_string(info) + ")");
  U = Matrix::from_shape({X.rows(), rank});
  V = Matrix::from_shape({rank, X.cols()});
  S.assign(s.begin(), s.begin() + static_cast<long>(rank));
  for (std::size_t j = 0; j < rank; ++j) {
    // Column j of U is right singular vector j of A: row j of Va^T (k x n, column-major).
    for (std::size_t i = 0; i < X.rows(); ++i) U(i, j) = vat[j + i * static_cast<std::size_t>(k)];
    // Row j of V is left singular vector j of A: column j of Ua (m x k, column-major).
    for (std::size_t c = 0; c < X.cols(); ++c) V(j, c) = ua[c + j * static_cast<std::size_t>(m)];
  }
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// Boutsidis & Gallopoulos (2008), NNDSVD: each singular pair's dominant sign-part, scaled so that
// W[:, j] H[j, :] keeps the pair's energy; then entries below 1e-6 are zeroed (as scikit-learn).
// Variants fill those zeros: nndsvda with mean(X), nndsvdar with |N(0, 1)| mean(X) / 100.
void nndsvd(const std::string& variant, const Data& X, std::size_t rank, std::uint64_t seed, Matrix& W, Matrix& H) {
  const std::size_t M = X.rows(), N = X.cols();
  if (rank > std::min(M, N))
    throw Error("init " + variant + " needs rank <= min(M, N) = " + std::to_string(std::min(M, N)) + ", got " +
                std::to_string(rank));
  Matrix U, V;
  std::vector<double> S;
  truncated_svd(X, rank, U, S, V);
  W = Matrix::from_shape({M, rank});
  H = Matrix::from_shape({rank, N});
  for (std::size_t i = 0; i < M; ++i) W(i, 0) = std::sqrt(S[0]) * std::abs(U(i, 0));
  for (std::size_t c = 0; c < N; ++c) H(0, c) = std::sqrt(S[0]) * std::abs(V(0, c));
  std::vector<double> xp(M), xn(M), yp(N), yn(N);
  for (std::size_t j = 1; j < rank; ++j) {
    for (std::size_t i = 0; i < M; ++i) {
      xp[i] = std::max(U(i, j), 0.0);
      xn[i] = std::max(-U(i, j), 0.0);
    }
    for (std::size_t c = 0; c < N; ++c) {
      yp[c] = std::max(V(j, c), 0.0);
      yn[c] = std::max(-V(j, c), 0.0);
    }
    const double xpn = norm(xp), ypn = norm(yp), xnn = norm(xn), ynn = norm(yn);
    const double mp = xpn * ypn, mn = xnn * ynn;
    const bool positive = mp > mn;
    const double sigma = positive ? mp : mn;
    const double lambda = std::sqrt(S[j] * sigma);
    const auto& x = positive ? xp : xn;
    const auto& y = positive ? yp : yn;
    const double xnorm = positive ? xpn : xnn, ynorm = positive ? ypn : ynn;
    for (std::size_t i = 0; i < M; ++i) W(i, j) = xnorm > 0 ? lambda * x[i] / xnorm : 0.0;
    for (std::size_t c = 0; c < N; ++c) H(j, c) = ynorm > 0 ? lambda * y[c] / ynorm : 0.0;
  }
  Rng rng = Rng::stream("init", seed);
  for (auto* A : {&W, &H})
    for (double& v : *A) {
      if (v < 1e-6) v = 0.0;
      if (v == 0.0 && variant == "nndsvda") v = X.mean;
      if (v == 0.0 && variant == "nndsvdar") v = std::abs(X.mean * rng.normal() / 100.0);
    }
}

}  // namespace

void initialize(const json& init, const Data& X, std::size_t rank, std::uint64_t seed, const std::string& base_dir,
                Matrix& W, Matrix& H, std::size_t whole_M, std::size_t whole_N) {
  const std::size_t M = whole_M ? whole_M : X.rows(), N = whole_N ? whole_N : X.cols();
  const std::string method = init.at("method");
  if (method == "file") {
    auto load = [&](const char* key, std::size_t rows, std::size_t cols) {
      std::filesystem::path path = init.at(key).get<std::string>();
      if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
      Matrix m = read_npy(path.string());
      if (m.shape(0) != rows || m.shape(1) != cols)
        throw Error(path.string() + ": init " + key + " has shape (" + std::to_string(m.shape(0)) + ", " +
                    std::to_string(m.shape(1)) + "), this cell needs (" + std::to_string(rows) + ", " +
                    std::to_string(cols) + ")");
      for (double v : m)
        if (!(v >= 0.0) || !std::isfinite(v))
          throw Error(path.string() + ": init " + key + " has a negative or non-finite entry");
      return m;
    };
    W = load("W", M, rank);
    H = load("H", rank, N);
    return;
  }
  if (method.rfind("nndsvd", 0) == 0) return nndsvd(method, X, rank, seed, W, H);
  // random: W first, then H, row-major, from the seed's "init" stream, so a seed fixes both.
  W = Matrix::from_shape({M, rank});
  H = Matrix::from_shape({rank, N});
  Rng rng = Rng::stream("init", seed);
  const bool halfnormal = init.at("distribution") == "halfnormal";
  // sqrt(mean(X) / rank) makes E[WH] match the scale of X (scikit-learn's random init).
  const double scale = init.at("scale") == "auto" ? std::sqrt(X.mean / static_cast<double>(rank)) : 1.0;
  for (auto* m : {&W, &H})
    for (double& v : *m) v = scale * (halfnormal ? std::abs(rng.normal()) : rng.uniform());
}

void scale_optimally(const Data& X, Matrix& W, const Matrix& H, int /*threads: the caller has set them*/) {
  DataProducts products;
  products.prepare(X, W.shape(1));
  Matrix XHt = Matrix::from_shape({W.shape(0), W.shape(1)});
  products.XHt(H, XHt);
  Matrix WtW = Matrix::from_shape({W.shape(1), W.shape(1)}), HHt = WtW;
  gemm(W, Trans::yes, W, Trans::no, WtW);
  gemm(H, Trans::no, H, Trans::yes, HHt);
  const double denominator = inner(WtW, HHt);
  if (denominator <= 0) return;  // W H = 0: no scaling helps
  const double alpha = inner(XHt, W) / denominator;
  for (double& v : W) v *= alpha;
}

}  // namespace nmfx
