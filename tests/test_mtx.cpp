// The mtx dataset on Matrix Market files written by scipy.io.mmwrite (fixtures/mtx/make_fixtures.py
// states each matrix), and every malformed input it must refuse with one line naming the file.
#include <doctest/doctest.h>

#include "support.hpp"

namespace {

const std::string dir = NMFX_SOURCE_DIR "/tests/fixtures/mtx/";

std::shared_ptr<nmfx::Dataset> make(nmfx::json given) {
  const auto& reg = test::registry();
  const auto& schema = reg.require(nmfx::PluginKind::dataset, "mtx")->descriptor->params;
  return reg.create<nmfx::Dataset>("mtx", nmfx::resolve_params(schema, given));
}

nmfx::Data load(const std::string& file, nmfx::json more = nmfx::json::object()) {
  more["path"] = dir + file;
  nmfx::Data X = make(more)->load();
  nmfx::finalize(X, "mtx");  // the framework's checks: a well-formed CSR, finite, nonnegative
  return X;
}

// X as a dense matrix, from either storage.
nmfx::Matrix dense(const nmfx::Data& X) {
  if (X.kind == nmfx::DataKind::dense) return X.dense;
  nmfx::Matrix D = nmfx::Matrix::from_shape({X.rows(), X.cols()});
  D.fill(0.0);
  const auto& S = X.sparse;
  for (std::size_t i = 0; i < S.rows; ++i)
    for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) D(i, S.indices[k]) = S.values[k];
  return D;
}

void check_equal(const nmfx::Matrix& A, const std::vector<std::vector<double>>& expected) {
  REQUIRE(A.shape(0) == expected.size());
  REQUIRE(A.shape(1) == expected[0].size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    for (std::size_t j = 0; j < expected[0].size(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(A(i, j) == expected[i][j]);
    }
}

// A written by make_fixtures.py: A[0, 1] = 1.5, A[0, 4] = 2, A[2, 0] = 3.25, A[2, 3] = 0.5.
const std::vector<std::vector<double>> A = {{0, 1.5, 0, 0, 2}, {0, 0, 0, 0, 0}, {3.25, 0, 0, 0.5, 0}, {0, 0, 0, 0, 0}};
const std::vector<std::vector<double>> S = {{1, 2, 0}, {2, 0, 3}, {0, 3, 4}};

// The one-line error of loading `text` written to a temporary file `name`.
std::string error_of(const std::string& name, const std::string& text, nmfx::json more = nmfx::json::object()) {
  const auto tmp = test::temp_dir("mtx_bad_" + name);  // one folder per case: ctest runs cases in parallel
  test::write(tmp / name, text);
  more["path"] = (tmp / name).string();
  try {
    make(more)->load();
  } catch (const nmfx::Error& e) {
    const std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    CHECK(what.find(name) != std::string::npos);
    return what;
  }
  return "no error";
}

}  // namespace

TEST_CASE("mtx reads coordinate real general as CSR") {
  const nmfx::Data X = load("real_general.mtx");
  REQUIRE(X.kind == nmfx::DataKind::sparse);
  CHECK(X.sparse.rows == 4);
  CHECK(X.sparse.cols == 5);
  CHECK(X.sparse.indptr == std::vector<std::size_t>{0, 2, 2, 4, 4});
  CHECK(X.sparse.indices == std::vector<std::uint32_t>{1, 4, 0, 3});
  CHECK(X.sparse.values == std::vector<double>{1.5, 2.0, 3.25, 0.5});
  CHECK(X.info["format"] == "coordinate");
  CHECK(X.info["field"] == "real");
  CHECK(X.info["symmetry"] == "general");
  CHECK(X.info["shape"] == nmfx::json{4, 5});
  CHECK(X.nnz == 4);
}

TEST_CASE("mtx reads a gzipped file") { check_equal(dense(load("real_general.mtx.gz")), A); }

TEST_CASE("mtx reads integer and pattern fields") {
  check_equal(dense(load("integer_general.mtx")), {{1, 0, 2}, {0, 0, 3}, {4, 5, 0}});
  const nmfx::Data P = load("pattern_general.mtx");
  CHECK(P.kind == nmfx::DataKind::sparse);
  check_equal(dense(P), {{0, 1, 0, 0, 1}, {0, 0, 0, 0, 0}, {1, 0, 0, 1, 0}, {0, 0, 0, 0, 0}});
}

TEST_CASE("mtx mirrors the off-diagonal entries of symmetric files") {
  const nmfx::Data X = load("real_symmetric.mtx");
  CHECK(X.sparse.nnz() == 6);
  check_equal(dense(X), S);
  check_equal(dense(load("integer_symmetric.mtx")), {{1, 5}, {5, 7}});
  check_equal(dense(load("pattern_symmetric.mtx")), {{1, 1, 0}, {1, 0, 1}, {0, 1, 1}});
}

TEST_CASE("mtx sums repeated entries as scipy does and drops explicit zeros") {
  const nmfx::Data X = load("duplicates.mtx");
  check_equal(dense(X), {{0, 3, 0}, {0, 0, 4}});
  CHECK(X.sparse.nnz() == 2);
  CHECK(X.info["duplicates_summed"] == 1);
  CHECK(X.info["explicit_zeros_dropped"] == 1);
  // The same sums when densified.
  check_equal(dense(load("duplicates.mtx", {{"dense", true}})), {{0, 3, 0}, {0, 0, 4}});
}

TEST_CASE("mtx dense: true densifies a coordinate file") {
  const nmfx::Data X = load("real_general.mtx", {{"dense", true}});
  CHECK(X.kind == nmfx::DataKind::dense);
  check_equal(X.dense, A);
}

TEST_CASE("mtx reads array files column by column") {
  const nmfx::Data X = load("array_general.mtx");
  CHECK(X.kind == nmfx::DataKind::dense);
  check_equal(X.dense, {{0.0, 0.5}, {1.0, 1.5}, {2.0, 2.5}});  // 0.5 * arange(6).reshape(3, 2)
  CHECK(X.info["format"] == "array");
  check_equal(load("array_symmetric.mtx").dense, S);
  check_equal(load("array_integer.mtx").dense, {{1, 2}, {3, 4}});
}

TEST_CASE("mtx applies the common options transpose and scale") {
  const nmfx::Data T = load("real_general.mtx", {{"transpose", true}});
  CHECK(T.kind == nmfx::DataKind::sparse);
  CHECK(T.info["shape"] == nmfx::json{5, 4});
  CHECK(T.info["transposed"] == true);
  const nmfx::Matrix D = dense(T);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 5; ++j) CHECK(D(j, i) == A[i][j]);
  const nmfx::Matrix M = dense(load("real_general.mtx", {{"scale", "max"}}));
  CHECK(M(2, 0) == 1.0);
  CHECK(M(0, 1) == 1.5 / 3.25);
}

TEST_CASE("mtx refuses negative entries naming count and first line - or clips them") {
  const std::string text =
      "%%MatrixMarket matrix coordinate real general\n% c\n3 3 4\n1 1 1.0\n2 1 -2.0\n3 3 4.0\n3 2 -1e-3\n";
  const std::string what = error_of("neg.mtx", text);
  CHECK(what.find("2 negative entries, the first on line 5 at (2, 1)") != std::string::npos);
  CHECK(what.find("negative: clip") != std::string::npos);

  const auto tmp = test::temp_dir("mtx_clip");
  test::write(tmp / "neg.mtx", text);
  nmfx::Data X = make({{"path", (tmp / "neg.mtx").string()}, {"negative", "clip"}})->load();
  nmfx::finalize(X, "mtx");
  check_equal(dense(X), {{1, 0, 0}, {0, 0, 0}, {0, 0, 4}});
  CHECK(X.info["negative_clipped"] == 2);
  CHECK(X.sparse.nnz() == 2);  // clipped entries are zeros, and zeros are not stored

  const std::string arr = "%%MatrixMarket matrix array real general\n2 2\n1\n-1\n2\n3\n";
  CHECK(error_of("neg_array.mtx", arr).find("1 negative entry, the first on line 4 at (2, 1)") != std::string::npos);
}

TEST_CASE("mtx refuses malformed files with one line naming the file and line") {
  const std::string H = "%%MatrixMarket matrix coordinate real general\n";
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"empty.mtx", "", "the file is empty"},
      {"plain.mtx", "1 2 3\n", "plain.mtx:1: not a Matrix Market file"},
      {"words.mtx", "%%MatrixMarket matrix coordinate real\n1 1 1\n1 1 1\n", ":1: the header must have 5 words"},
      {"vector.mtx", "%%MatrixMarket vector coordinate real general\n", "only 'matrix'"},
      {"format.mtx", "%%MatrixMarket matrix coordinat real general\n", "neither coordinate nor array"},
      {"complex.mtx", "%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n",
       "complex matrices are not supported"},
      {"field.mtx", "%%MatrixMarket matrix coordinate float general\n", "is not one of real, integer, pattern"},
      {"skew.mtx", "%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\n2 1 1\n",
       ":1: skew-symmetric matrices are not supported"},
      {"herm.mtx", "%%MatrixMarket matrix coordinate real hermitian\n", "hermitian matrices are not supported"},
      {"patarr.mtx", "%%MatrixMarket matrix array pattern general\n", "pattern is only valid for coordinate"},
      {"nosize.mtx", H + "% only comments\n", "truncated: no size line"},
      {"sizefields.mtx", H + "3 3\n", ":2: the size line must be 'rows columns entries', found 2 fields"},
      {"sizetext.mtx", H + "3 x 1\n1 1 1\n", ":2: size 'x' is not a nonnegative integer"},
      {"zero.mtx", H + "0 3 0\n", ":2: the matrix is empty"},
      {"square.mtx", "%%MatrixMarket matrix coordinate real symmetric\n2 3 1\n1 1 1\n", "must be square, not 2 x 3"},
      {"row.mtx", H + "4 5 2\n1 1 1\n5 1 1.0\n", "row.mtx:4: row index 5 is out of range 1..4"},
      {"row0.mtx", H + "4 5 1\n0 1 1.0\n", ":3: row index 0 is out of range 1..4"},
      {"col.mtx", H + "4 5 1\n1 6 1.0\n", ":3: column index 6 is out of range 1..5"},
      {"colneg.mtx", H + "4 5 1\n1 -1 1.0\n", ":3: column index '-1' is not a positive integer"},
      {"few.mtx", H + "4 5 3\n1 1 1\n2 2 2\n", "truncated: the size line (line 2) declares 3 entries, found 2"},
      {"many.mtx", H + "4 5 1\n1 1 1\n2 2 2\n", "many.mtx:4: more data than the size line (line 2) declares"},
      {"nan.mtx", H + "2 2 2\n1 1 1\n2 2 nan\n", ":4: 'nan' is not finite"},
      {"inf.mtx", H + "2 2 1\n1 1 -inf\n", ":3: '-inf' is not finite"},
      {"huge.mtx", H + "2 2 1\n1 1 1e999\n", ":3: '1e999' is out of the range of a double"},
      {"text.mtx", H + "2 2 1\n1 1 abc\n", ":3: 'abc' is not a number"},
      {"int.mtx", "%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 1.5\n", "'1.5' is not an integer"},
      {"fields.mtx", H + "2 2 1\n1 1 1 7\n", ":3: expected 3 fields (row column value), found 4"},
      {"pattern.mtx", "%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1 1\n",
       ":3: expected 2 fields (row column), found 3"},
      {"short.mtx", "%%MatrixMarket matrix array real general\n2 3\n1\n2\n3\n4\n5\n% padding\n",
       "truncated: expected 6 values, found 5"},
      {"shorter.mtx", "%%MatrixMarket matrix array real general\n2 3\n1\n2\n",
       "declares 6 entries, more than the remaining 4 bytes"},
      {"two.mtx", "%%MatrixMarket matrix array real general\n2 1\n1 2\n", ":3: expected one value per line, found 2"},
      {"allzero.mtx", H + "2 2 1\n1 1 0\n", "every entry is zero"},
      {"claims.mtx", H + "1000 1000 1000000\n1 1 1\n", "declares 1000000 entries, more than the remaining"},
      {"gz.mtx", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10), "truncated gzip file"},
      {"tar.mtx", std::string(257, '\0') + "ustar" + std::string(300, '\0'), "a tar archive; extract the .mtx"},
  };
  for (const auto& [name, text, message] : cases) {
    CAPTURE(name);
    const std::string what = error_of(name, text);
    CAPTURE(what);
    CHECK(what.find(message) != std::string::npos);
  }
  CHECK_THROWS_WITH(make({{"path", dir + "missing.mtx"}})->load(), doctest::Contains("missing.mtx: cannot open file"));
}

TEST_CASE("mtx runs end to end from a spec - sparse X through mu") {
  const auto tmp = test::temp_dir("mtx_run");
  test::write(tmp / "s.yaml",
              "datasets:\n  - {name: mtx, params: {path: " + dir +
                  "integer_general.mtx}}\n"
                  "solvers: [mu]\nlosses: [frobenius, kl]\nranks: [2]\nstopping: {max_iter: 5}\noutput: out\n");
  const auto r = test::nmfx_command("run s.yaml", tmp);
  CHECK(r.status == 0);
  CHECK(r.output.find("2 ok, 0 failed") != std::string::npos);
}
