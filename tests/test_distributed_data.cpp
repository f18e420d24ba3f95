// The distributed data layer of the dataset plugins (Dataset::shape and load_block): for synthetic,
// npy, mtx and csv, on shapes that no grid divides evenly, every process's block of X on grids
// 1x1, 2x1, 2x2 and 3x2 equals the same block of load()'s X bit for bit, the blocks tile X, and
// the common option transpose works; options that need the whole X are refused in one line.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <functional>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nmfx/distributed.hpp>

#include "support.hpp"

namespace {

std::shared_ptr<nmfx::Dataset> make(const std::string& name, nmfx::json given) {
  const auto& reg = test::registry();
  const auto& schema = reg.require(nmfx::PluginKind::dataset, name)->descriptor->params;
  return reg.create<nmfx::Dataset>(name, nmfx::resolve_params(schema, given));
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

const std::vector<std::pair<int, int>> grids = {{1, 1}, {2, 1}, {2, 2}, {3, 2}};

// Every block of every grid against load(): same kind, same shape, the same entries bit for bit
// (for CSR: the same stored entries, indices relative to the block's first column), and every
// entry of X in exactly one block of each grid. Returns the number of blocks with no nonzero.
std::size_t check_blocks(const std::string& name, const nmfx::json& given) {
  CAPTURE(name);
  CAPTURE(given.dump());
  const auto dataset = make(name, given);
  const nmfx::Data X = dataset->load();
  const auto [M, N] = dataset->shape();
  REQUIRE(M == X.rows());
  REQUIRE(N == X.cols());
  const bool sparse = X.kind == nmfx::DataKind::sparse;
  std::size_t empty_blocks = 0;
  for (const auto& [pr, pc] : grids) {
    std::vector<int> covered(M * N, 0);
    std::size_t nnz = 0;
    for (int p = 0; p < pr * pc; ++p) {
      const nmfx::Layout layout = nmfx::Layout::of(M, N, pr, pc, p);
      const nmfx::Range& r = layout.x_rows;
      const nmfx::Range& c = layout.x_cols;
      CAPTURE(pr);
      CAPTURE(pc);
      CAPTURE(p);
      // A fresh object per process, as each rank has its own.
      const nmfx::Data B = make(name, given)->load_block(r, c);
      REQUIRE(B.kind == X.kind);
      REQUIRE(B.rows() == r.size());
      REQUIRE(B.cols() == c.size());
      for (std::size_t i = r.begin; i < r.end; ++i)
        for (std::size_t j = c.begin; j < c.end; ++j) ++covered[i * N + j];
      if (!sparse) {
        bool equal = true;
        for (std::size_t i = 0; i < r.size(); ++i)
          for (std::size_t j = 0; j < c.size(); ++j)
            equal = equal && same_bits(B.dense(i, j), X.dense(r.begin + i, c.begin + j));
        CHECK(equal);
        continue;
      }
      const nmfx::SparseMatrix& S = B.sparse;
      REQUIRE(S.indptr.size() == r.size() + 1);
      REQUIRE(S.indices.size() == S.values.size());
      empty_blocks += S.nnz() == 0;
      nnz += S.nnz();
      for (std::size_t i = 0; i < r.size(); ++i) {
        // The whole X's entries of row r.begin + i inside the block's columns, made local.
        std::vector<std::pair<std::uint32_t, double>> want, got;
        const nmfx::SparseMatrix& A = X.sparse;
        for (std::size_t k = A.indptr[r.begin + i]; k < A.indptr[r.begin + i + 1]; ++k)
          if (A.indices[k] >= c.begin && A.indices[k] < c.end)
            want.emplace_back(static_cast<std::uint32_t>(A.indices[k] - c.begin), A.values[k]);
        for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) got.emplace_back(S.indices[k], S.values[k]);
        REQUIRE(got.size() == want.size());
        for (std::size_t k = 0; k < got.size(); ++k) {
          CHECK(got[k].first == want[k].first);
          CHECK(same_bits(got[k].second, want[k].second));
        }
      }
    }
    CHECK(std::all_of(covered.begin(), covered.end(), [](int n) { return n == 1; }));
    if (sparse) CHECK(nnz == X.sparse.nnz());
  }
  return empty_blocks;
}

// The one-line error of load_block(rows, cols) on the whole X.
std::string block_error(const std::string& name, const nmfx::json& given) {
  try {
    const auto dataset = make(name, given);
    const auto [M, N] = dataset->shape();
    dataset->load_block({0, M}, {0, N});
  } catch (const nmfx::Error& e) {
    const std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    return what;
  }
  return "no error";
}

// Options that need the whole X, refused by every distributed dataset in load_block.
void check_refusals(const std::string& name, nmfx::json given) {
  CAPTURE(name);
  given["scale"] = "max";
  CHECK(block_error(name, given) ==
        "dataset '" + name +
            "': option scale: max is not supported for distributed cells (it needs the whole X on one process)");
  given["scale"] = "none";
  given["normalize"] = "lee_seung";
  CHECK(block_error(name, given).find("dataset '" + name + "': option normalize: lee_seung is not supported") == 0);
  given.erase("normalize");
  const auto& schema = test::registry().require(nmfx::PluginKind::dataset, name)->descriptor->params;
  if (std::any_of(schema.begin(), schema.end(), [](const auto& s) { return s.name == "holdout"; })) {
    given["holdout"] = 0.2;
    CHECK(block_error(name, given).find("dataset '" + name + "': option holdout: 0.2 is not supported") == 0);
  }
}

// Stored bytes of one value in a .npy dtype: "<f8", "<f4", ">i4", "<u2".
std::string npy_bytes(const std::string& dtype, double v) {
  std::string out;
  auto put = [&](auto x) {
    char b[sizeof x];
    std::memcpy(b, &x, sizeof x);
    if (dtype[0] == '>') std::reverse(b, b + sizeof x);
    out.append(b, sizeof x);
  };
  const std::string t = dtype.substr(1);
  if (t == "f8") put(v);
  if (t == "f4") put(static_cast<float>(v));
  if (t == "i4") put(static_cast<std::int32_t>(v));
  if (t == "u2") put(static_cast<std::uint16_t>(v));
  return out;
}

// A .npy file of `shape` (2-D or 3-D) whose entry at C-order index k is value(k), stored in dtype
// and in Fortran order if asked, written byte by byte as the format specifies (version 1.0).
void write_npy(const test::fs::path& path, const std::vector<std::size_t>& shape, const std::string& dtype,
               bool fortran, const std::function<double(std::size_t)>& value) {
  std::string dims;
  for (std::size_t s : shape) dims += std::to_string(s) + ", ";
  dims.erase(dims.size() - 2);
  std::string header =
      "{'descr': '" + dtype + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (" + dims + "), }";
  header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";  // total a multiple of 64
  std::ofstream out(path, std::ios::binary);                          // written as it goes: X may be large
  out << std::string("\x93NUMPY\x01\x00", 8) << static_cast<char>(header.size() & 0xff)
      << static_cast<char>(header.size() >> 8) << header;
  const std::size_t d0 = shape[0], d1 = shape[1], d2 = shape.size() == 3 ? shape[2] : 1;
  for (std::size_t f = 0; f < d0 * d1 * d2; ++f) {
    // Entry f in file order as its (a, b, c) index, then its C-order index.
    std::size_t a, b, c;
    if (fortran) {
      a = f % d0;
      b = f / d0 % d1;
      c = f / (d0 * d1);
    } else {
      a = f / (d1 * d2);
      b = f / d2 % d1;
      c = f % d2;
    }
    out << npy_bytes(dtype, value((a * d1 + b) * d2 + c));
  }
}

// Values exact in every dtype used here, with zeros and no pattern aligned with the grids.
double npy_value(std::size_t k) { return static_cast<double>((k * 37 + 11) % 101 % 29); }

// A 37 x 23 coordinate file: rows 0-13 and columns 10-15 hold no entry (so some blocks are empty),
// one entry repeated three times with values whose sum depends on its order, and explicit zeros.
std::string coordinate_text(const std::string& field, const std::string& symmetry, std::size_t n) {
  const std::size_t M = symmetry == "symmetric" ? n : 37, N = symmetry == "symmetric" ? n : 23;
  std::vector<std::string> lines;
  nmfx::Rng rng(7);
  for (std::size_t i = 14; i < M; ++i)
    for (std::size_t j = 0; j < N; ++j) {
      if ((j >= 10 && j < 16) || rng.uniform() > 0.3) continue;
      if (symmetry == "symmetric" && j > i) continue;
      const std::string v = field == "pattern" ? ""
                            : field == "integer"
                                ? " " + std::to_string(1 + (i * 5 + j) % 9)
                                : " " + std::to_string(0.125 * static_cast<double>((i * 13 + j * 7) % 17));
      lines.push_back(std::to_string(i + 1) + " " + std::to_string(j + 1) + v);
    }
  if (field == "real") {
    lines.push_back("20 3 1e16");  // summed: (1e16 + 1) + 1 != 1e16 + (1 + 1)
    lines.push_back("20 3 1");
    lines.push_back("20 3 1");
    lines.push_back("21 1 0");
  }
  std::string text = "%%MatrixMarket matrix coordinate " + field + " " + symmetry + "\n% a comment\n" +
                     std::to_string(M) + " " + std::to_string(N) + " " + std::to_string(lines.size()) + "\n";
  for (const auto& l : lines) text += l + "\n";
  return text;
}

}  // namespace

TEST_CASE("synthetic blocks equal load()'s X for every grid, with and without noise") {
  check_blocks("synthetic", {{"m", 37}, {"n", 23}, {"rank", 4}, {"seed", 3}});
  check_blocks("synthetic", {{"m", 37}, {"n", 23}, {"rank", 4}, {"noise", 0.5}, {"seed", 3}});
  check_blocks("synthetic", {{"m", 5}, {"n", 41}, {"rank", 7}, {"noise", 0.1}, {"seed", 0}});
  CHECK(block_error("synthetic", {{"m", 5}, {"n", 4}}) == "no error");
  CHECK_THROWS_WITH(make("synthetic", {{"m", 5}, {"n", 4}})->load_block({0, 6}, {0, 4}),
                    doctest::Contains("outside X's 5 x 4"));
}

// The root mean square of X's residual off its best rank-L approximation, per degree of freedom
// ((m - L)(n - L)): for X = W H + E with rank-L W H, an estimate of E's sd. The top-L subspace
// comes from subspace iteration on X X^T (the signal's singular values here are ~100 times the
// noise's, so a few iterations converge).
static double residual_sd(const nmfx::Matrix& A, std::size_t L) {
  const std::size_t m = A.shape(0), n = A.shape(1);
  double total = 0;
  for (double v : A) total += v * v;
  nmfx::Matrix Q = test::random_matrix(m, L, 1);
  for (int iteration = 0; iteration < 20; ++iteration) {
    // Q <- orth(A A^T Q), by Gram-Schmidt twice over.
    nmfx::Matrix T = nmfx::Matrix::from_shape({n, L}), Z = nmfx::Matrix::from_shape({m, L});
    T.fill(0.0);
    Z.fill(0.0);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t l = 0; l < L; ++l) T(j, l) += A(i, j) * Q(i, l);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t l = 0; l < L; ++l) Z(i, l) += A(i, j) * T(j, l);
    for (int pass = 0; pass < 2; ++pass)
      for (std::size_t l = 0; l < L; ++l) {
        for (std::size_t k = 0; k < l; ++k) {
          double dot = 0;
          for (std::size_t i = 0; i < m; ++i) dot += Z(i, l) * Z(i, k);
          for (std::size_t i = 0; i < m; ++i) Z(i, l) -= dot * Z(i, k);
        }
        double norm = 0;
        for (std::size_t i = 0; i < m; ++i) norm += Z(i, l) * Z(i, l);
        for (std::size_t i = 0; i < m; ++i) Z(i, l) /= std::sqrt(norm);
      }
    Q = Z;
  }
  double captured = 0;  // ||Q^T X||_F^2
  for (std::size_t l = 0; l < L; ++l)
    for (std::size_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::size_t i = 0; i < m; ++i) s += Q(i, l) * A(i, j);
      captured += s * s;
    }
  return std::sqrt(std::max(0.0, total - captured) / static_cast<double>((m - L) * (n - L)));
}

TEST_CASE("synthetic noise has the documented sd: noise x mean(W H)") {
  // noise is small enough that the clipping at 0 almost never happens, and mean(W H) is then
  // estimated by mean(X).
  const std::size_t m = 300, n = 300, L = 5;
  for (const double noise : {0.05, 0.02}) {
    CAPTURE(noise);
    const nmfx::Data X = make("synthetic", {{"m", m}, {"n", n}, {"rank", L}, {"noise", noise}, {"seed", 11}})->load();
    double mean = 0;
    for (double v : X.dense) mean += v;
    mean /= static_cast<double>(m * n);
    const double sd = residual_sd(X.dense, L);
    CAPTURE(sd);
    CHECK(std::abs(sd / (noise * mean) - 1.0) < 0.05);  // within 5%
  }
  // Without noise X has rank L: the estimate is then zero (to rounding), so it measures the noise.
  const nmfx::Data exact = make("synthetic", {{"m", m}, {"n", n}, {"rank", L}, {"seed", 11}})->load();
  CHECK(residual_sd(exact.dense, L) < 1e-6);
}

TEST_CASE("npy blocks are read in place from C and Fortran order, 2-D and 3-D, any dtype, and gzipped") {
  const auto tmp = test::temp_dir("distributed_npy");
  write_npy(tmp / "c_f8.npy", {37, 23}, "<f8", false, npy_value);
  write_npy(tmp / "f_f4.npy", {37, 23}, "<f4", true, npy_value);
  write_npy(tmp / "c_images.npy", {5, 4, 3}, ">i4", false, npy_value);  // X is 12 x 5
  write_npy(tmp / "f_images.npy", {7, 3, 3}, "<u2", true, npy_value);   // X is 9 x 7
  for (const char* file : {"c_f8.npy", "f_f4.npy", "c_images.npy", "f_images.npy"}) {
    const std::string path = (tmp / file).string();
    check_blocks("npy", {{"path", path}});
    check_blocks("npy", {{"path", path}, {"transpose", true}});
    check_blocks("npy", {{"path", path}, {"rows", "1:-1"}, {"cols", "1:"}, {"transpose", true}});
  }
  REQUIRE(test::shell("gzip -kf '" + (tmp / "f_f4.npy").string() + "'").status == 0);
  check_blocks("npy", {{"path", (tmp / "f_f4.npy.gz").string()}, {"transpose", true}});
  check_blocks("npy", {{"path", (tmp / "f_f4.npy.gz").string()}, {"rows", "3:30"}});
}

TEST_CASE("npy refuses in load_block what needs the whole X, an .npz archive and a block outside X") {
  const auto tmp = test::temp_dir("distributed_npy_refusals");
  write_npy(tmp / "x.npy", {6, 4}, "<f8", false, npy_value);
  const std::string path = (tmp / "x.npy").string();
  check_refusals("npy", {{"path", path}});
  test::write(tmp / "x.npz", std::string("PK\x03\x04", 4) + std::string(40, '\0'));
  const std::string npz = block_error("npy", {{"path", (tmp / "x.npz").string()}});
  CHECK(npz.find("x.npz is an .npz archive, which distributed cells do not read") != std::string::npos);
  CHECK_THROWS_WITH(make("npy", {{"path", path}})->load_block({0, 7}, {0, 4}),
                    "dataset 'npy': block rows [0, 7) x columns [0, 4) is empty or outside the stored 6 x 4 matrix");
  // A negative entry inside the block is refused as load() refuses it.
  write_npy(tmp / "neg.npy", {6, 4}, "<f8", false, [](std::size_t k) { return k == 9 ? -1.0 : 1.0; });
  CHECK_THROWS_WITH(make("npy", {{"path", (tmp / "neg.npy").string()}})->load_block({2, 3}, {0, 4}),
                    doctest::Contains("1 negative entry, the first at (2, 1)"));
}

TEST_CASE("mtx blocks keep only their entries: coordinate, array, symmetric, pattern, gzipped, empty blocks") {
  const auto tmp = test::temp_dir("distributed_mtx");
  std::size_t empty = 0;
  for (const char* field : {"real", "integer", "pattern"}) {
    const auto file = tmp / (std::string("general_") + field + ".mtx");
    test::write(file, coordinate_text(field, "general", 0));
    empty += check_blocks("mtx", {{"path", file.string()}});
    check_blocks("mtx", {{"path", file.string()}, {"transpose", true}});
    check_blocks("mtx", {{"path", file.string()}, {"dense", true}});
  }
  CHECK(empty > 0);  // the grids' first row blocks fall in rows 0-13, which hold nothing
  test::write(tmp / "symmetric.mtx", coordinate_text("real", "symmetric", 29));
  check_blocks("mtx", {{"path", (tmp / "symmetric.mtx").string()}});
  check_blocks("mtx", {{"path", (tmp / "symmetric.mtx").string()}, {"transpose", true}, {"dense", true}});
  REQUIRE(test::shell("gzip -kf '" + (tmp / "general_real.mtx").string() + "'").status == 0);
  check_blocks("mtx", {{"path", (tmp / "general_real.mtx.gz").string()}, {"transpose", true}});

  // Array files, column by column; the symmetric one stores the lower triangle.
  std::string general = "%%MatrixMarket matrix array real general\n37 23\n";
  for (std::size_t j = 0; j < 23; ++j)
    for (std::size_t i = 0; i < 37; ++i) general += std::to_string(0.25 * static_cast<double>((i * 3 + j) % 7)) + "\n";
  test::write(tmp / "array.mtx", general);
  check_blocks("mtx", {{"path", (tmp / "array.mtx").string()}});
  check_blocks("mtx", {{"path", (tmp / "array.mtx").string()}, {"transpose", true}});
  std::string symmetric = "%%MatrixMarket matrix array integer symmetric\n11 11\n";
  for (std::size_t j = 0; j < 11; ++j)
    for (std::size_t i = j; i < 11; ++i) symmetric += std::to_string((i * 5 + j * 2) % 9) + "\n";
  test::write(tmp / "array_symmetric.mtx", symmetric);
  check_blocks("mtx", {{"path", (tmp / "array_symmetric.mtx").string()}});
}

TEST_CASE("mtx shape() reads the header only, and load_block refuses what needs the whole X") {
  const auto tmp = test::temp_dir("distributed_mtx_refusals");
  // A size line announcing more entries than follow: shape() stops before them, load_block reads
  // the file through and refuses it as load() does.
  test::write(tmp / "short.mtx", "%%MatrixMarket matrix coordinate real general\n4 3 5\n1 1 2\n");
  const auto short_file = make("mtx", {{"path", (tmp / "short.mtx").string()}, {"transpose", true}});
  CHECK(short_file->shape() == std::pair<std::size_t, std::size_t>{3, 4});
  CHECK_THROWS_WITH(short_file->load_block({0, 3}, {0, 4}), doctest::Contains("short.mtx: truncated"));
  test::write(tmp / "x.mtx", coordinate_text("real", "general", 0));
  check_refusals("mtx", {{"path", (tmp / "x.mtx").string()}});
  CHECK_THROWS_WITH(make("mtx", {{"path", (tmp / "x.mtx").string()}})->load_block({30, 38}, {0, 23}),
                    doctest::Contains("x.mtx: block rows [30, 38) x columns [0, 23) is empty or outside the 37 x 23"));
}

TEST_CASE("csv blocks keep only their values after skipped lines, dropped columns and quoted fields") {
  const auto tmp = test::temp_dir("distributed_csv");
  std::string text = "label,\"a, b\"" + std::string(22, ',') + "\n";  // a header of 24 fields
  for (std::size_t i = 0; i < 37; ++i) {
    text += "\"row " + std::to_string(i) + "\"";
    for (std::size_t j = 0; j < 23; ++j) text += "," + std::to_string(0.5 * static_cast<double>((i * 11 + j * 5) % 13));
    text += i % 10 == 9 ? "\r\n\n" : "\n";  // CRLF and blank lines now and then
  }
  test::write(tmp / "x.csv", text);
  const nmfx::json given = {{"path", (tmp / "x.csv").string()}, {"skip_rows", 1}, {"drop_columns", "0"}};
  check_blocks("csv", given);
  nmfx::json transposed = given;
  transposed["transpose"] = true;
  check_blocks("csv", transposed);
  CHECK(make("csv", transposed)->shape() == std::pair<std::size_t, std::size_t>{23, 37});
  REQUIRE(test::shell("gzip -kf '" + (tmp / "x.csv").string() + "'").status == 0);
  nmfx::json gz = given;
  gz["path"] = (tmp / "x.csv.gz").string();
  check_blocks("csv", gz);

  std::string spaced;
  for (std::size_t i = 0; i < 11; ++i) {
    for (std::size_t j = 0; j < 7; ++j) spaced += "  " + std::to_string((i + j * 3) % 5);
    spaced += "\n";
  }
  test::write(tmp / "spaced.txt", spaced);
  check_blocks("csv", {{"path", (tmp / "spaced.txt").string()}, {"transpose", true}});

  check_refusals("csv", given);
  CHECK_THROWS_WITH(make("csv", given)->load_block({0, 37}, {20, 24}),
                    doctest::Contains("x.csv: block rows [0, 37) x columns [20, 24) is empty or outside the 37 x 23"));
  // A bad cell outside the block still fails the block's read, as it fails every process's.
  test::write(tmp / "bad.csv", "1,2\n3,x\n");
  CHECK_THROWS_WITH(make("csv", {{"path", (tmp / "bad.csv").string()}})->load_block({0, 1}, {0, 2}),
                    doctest::Contains("bad.csv:2: column 2: 'x' is not a number"));
}

TEST_CASE("datasets that cannot be distributed say so, and the four that can say it in their descriptor") {
  const auto& reg = test::registry();
  for (const char* name : {"synthetic", "npy", "mtx", "csv"})
    CHECK(reg.require(nmfx::PluginKind::dataset, name)->descriptor->distributed);
  CHECK_FALSE(reg.require(nmfx::PluginKind::dataset, "images")->descriptor->distributed);
}

namespace {

// Whether `read` completes in a child process whose address space (RLIMIT_AS) may grow by at most
// `extra_bytes` beyond what it has mapped when it starts: a reader that maps or allocates more
// than that fails its allocation (or its mmap) and the child exits non-zero.
bool fits_in(std::size_t extra_bytes, const std::function<void()>& read) {
  const pid_t pid = fork();
  if (pid == 0) {
    // Allocations above 256 KiB mapped afresh, and the free memory at the heap's top handed
    // back, so that what the reader takes counts against the limit: the parent's heap may hold
    // freed memory of earlier tests that it could otherwise reuse unseen.
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    malloc_trim(0);
    std::ifstream status("/proc/self/status");
    std::string line;
    std::size_t vm_kib = 0;
    while (std::getline(status, line))
      if (line.rfind("VmSize:", 0) == 0) vm_kib = std::stoul(line.substr(7));
    const rlim_t limit = vm_kib * 1024 + extra_bytes;
    const struct rlimit r = {limit, limit};
    if (vm_kib == 0 || setrlimit(RLIMIT_AS, &r) != 0) _exit(2);
    try {
      read();
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_CASE("a block is read within its own size plus a few MiB, where load() of X cannot be") {
  NMFX_SKIP_UNDER_ADDRESS_SANITIZER("its shadow memory takes terabytes of address space, so no RLIMIT_AS can hold it");
  // X is 1600 x 2000 (25.6 MB as doubles); block (0, 0) of a 2 x 2 grid is a quarter of it. Each
  // reader may grow its address space by the block plus 8 MiB (buffers, the parser's row); load()
  // of the whole X under the same limit must fail, or the limit would prove nothing.
  const auto tmp = test::temp_dir("distributed_memory");
  const std::size_t M = 1600, N = 2000, slack = std::size_t{8} << 20;
  write_npy(tmp / "x.npy", {M, N}, "<f8", false, npy_value);
  write_npy(tmp / "f.npy", {M, N}, "<f8", true, npy_value);
  {
    std::ofstream csv(tmp / "x.csv");
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t j = 0; j < N; ++j) csv << (i * 3 + j) % 10 << (j + 1 < N ? ',' : '\n');
    // 4000 x 4000 with 1.6 million entries (no repeats), 400 thousand in block (0, 0).
    std::ofstream mtx(tmp / "x.mtx");
    mtx << "%%MatrixMarket matrix coordinate real general\n4000 4000 1600000\n";
    for (std::size_t k = 0; k < 1600000; ++k)
      mtx << 1 + (k * 7919) % 4000 << ' ' << 1 + k / 400 << ' ' << 1 + k % 5 << '\n';
  }
  const std::vector<std::pair<std::string, nmfx::json>> cases = {
      {"synthetic", {{"m", M}, {"n", N}, {"rank", 10}, {"noise", 0.1}}},
      {"npy", {{"path", (tmp / "x.npy").string()}}},
      {"npy", {{"path", (tmp / "f.npy").string()}, {"transpose", true}}},
      {"csv", {{"path", (tmp / "x.csv").string()}}},
      {"mtx", {{"path", (tmp / "x.mtx").string()}}},
  };
  for (const auto& [name, given] : cases) {
    CAPTURE(name);
    CAPTURE(given.dump());
    const auto dataset = make(name, given);
    const auto [m, n] = dataset->shape();
    const nmfx::Layout l = nmfx::Layout::of(m, n, 2, 2, 0);
    // A CSR block: 12 bytes per entry and 8 per row; a dense one 8 bytes per entry.
    const std::size_t block = name == "mtx" ? 400000 * 12 + l.x_rows.size() * 8 : l.x_rows.size() * l.x_cols.size() * 8;
    CHECK(fits_in(block + slack, [&] { dataset->load_block(l.x_rows, l.x_cols); }));
    CHECK_FALSE(fits_in(block + slack, [&] { dataset->load(); }));
  }
}
