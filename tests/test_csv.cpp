// The csv dataset on files written by Python's csv and gzip modules and numpy.savetxt
// (fixtures/csv/make_fixtures.py states each one), and every malformed input it must refuse with
// one line naming the file, line and column.
#include <doctest/doctest.h>

#include "support.hpp"

namespace {

const std::string dir = NMFX_SOURCE_DIR "/tests/fixtures/csv/";

std::shared_ptr<nmfx::Dataset> make(nmfx::json given) {
  const auto& reg = test::registry();
  const auto& schema = reg.require(nmfx::PluginKind::dataset, "csv")->descriptor->params;
  return reg.create<nmfx::Dataset>("csv", nmfx::resolve_params(schema, given));
}

nmfx::Data load(const std::string& file, nmfx::json more = nmfx::json::object()) {
  more["path"] = dir + file;
  nmfx::Data X = make(more)->load();
  nmfx::finalize(X, "csv");
  return X;
}

// What every fixture holds: X[i, j] = 0.5 (4 i + j), 3 x 4.
void check_fixture(const nmfx::Data& X) {
  REQUIRE(X.kind == nmfx::DataKind::dense);
  REQUIRE(X.rows() == 3);
  REQUIRE(X.cols() == 4);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) CHECK(X.dense(i, j) == 0.5 * static_cast<double>(4 * i + j));
}

std::string error_of(const std::string& name, const std::string& text, nmfx::json more = nmfx::json::object()) {
  const auto tmp = test::temp_dir("csv_bad_" + name);  // one folder per case: ctest runs cases in parallel
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

TEST_CASE("csv reads the csv module's default dialect - CRLF line ends - and gzip") {
  const nmfx::Data X = load("plain.csv");
  check_fixture(X);
  CHECK(X.info["delimiter"] == "comma");
  CHECK(X.info["shape"] == nmfx::json{3, 4});
  check_fixture(load("plain.csv.gz"));
}

TEST_CASE("csv drops header lines and a quoted label column") {
  const nmfx::Data X = load("labelled.csv", {{"skip_rows", 1}, {"drop_columns", "0"}});
  check_fixture(X);
  CHECK(X.info["dropped_columns"] == nmfx::json{0});
  CHECK(X.info["file_shape"] == nmfx::json{3, 5});
}

TEST_CASE("csv reads tab - semicolon - space separated and quoted numbers") {
  const nmfx::Data T = load("tabs.tsv", {{"skip_rows", 2}});
  check_fixture(T);
  CHECK(T.info["delimiter"] == "tab");
  check_fixture(load("tabs.tsv", {{"skip_rows", 2}, {"delimiter", "tab"}}));
  const nmfx::Data S = load("semicolon.csv");
  check_fixture(S);
  CHECK(S.info["delimiter"] == "semicolon");
  const nmfx::Data P = load("spaces.txt");  // numpy.savetxt
  check_fixture(P);
  CHECK(P.info["delimiter"] == "space");
  check_fixture(load("quoted_numbers.csv"));
}

TEST_CASE("csv drops a last label column - transposes - and drop_columns takes slices") {
  // digits_like.csv.gz: row i holds i, i+1, i+2, i+3 and the label 9 - i.
  const nmfx::Data X = load("digits_like.csv.gz", {{"drop_columns", "-1"}, {"transpose", true}});
  REQUIRE(X.rows() == 4);
  REQUIRE(X.cols() == 3);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) CHECK(X.dense(j, i) == static_cast<double>(i + j));
  CHECK(X.info["dropped_columns"] == nmfx::json{4});

  const nmfx::Data Y = load("plain.csv", {{"drop_columns", "1:3"}});  // keeps columns 0 and 3
  REQUIRE(Y.cols() == 2);
  CHECK(Y.dense(2, 0) == 4.0);
  CHECK(Y.dense(2, 1) == 5.5);
  const nmfx::Data Z = load("plain.csv", {{"drop_columns", "0, -1"}});  // keeps columns 1 and 2
  REQUIRE(Z.cols() == 2);
  CHECK(Z.dense(0, 0) == 0.5);
  CHECK(Z.dense(0, 1) == 1.0);
}

TEST_CASE("csv refuses negative entries naming count - line and column - or clips them") {
  const std::string text = "1,2,3\n4,5,-6\n-7,8,9\n";
  CHECK(error_of("neg.csv", text).find("2 negative entries, the first on line 2, column 3") != std::string::npos);
  const auto tmp = test::temp_dir("csv_clip");
  test::write(tmp / "neg.csv", text);
  nmfx::Data X = make({{"path", (tmp / "neg.csv").string()}, {"negative", "clip"}})->load();
  CHECK(X.dense(1, 2) == 0.0);
  CHECK(X.dense(2, 0) == 0.0);
  CHECK(X.dense(2, 1) == 8.0);
  CHECK(X.info["negative_clipped"] == 2);
}

TEST_CASE("csv skips blank lines and reads a last line without its newline") {
  const auto tmp = test::temp_dir("csv_blank");
  test::write(tmp / "b.csv", "\n1,2\n\n  \n3,4");
  nmfx::Data X = make({{"path", (tmp / "b.csv").string()}})->load();
  REQUIRE(X.rows() == 2);
  CHECK(X.dense(1, 1) == 4.0);
}

TEST_CASE("csv refuses malformed files with one line naming the file - line and column") {
  const std::vector<std::tuple<std::string, std::string, nmfx::json, std::string>> cases = {
      {"ragged.csv", "1,2,3\n4,5\n", {}, "ragged.csv:2: 2 columns, but the first data line (line 1) has 3"},
      {"empty_cell.csv", "1,2,3\n4,,6\n", {}, "empty_cell.csv:2: column 2: empty cell"},
      {"text.csv", "1,2,3\n4,abc,6\n", {}, ":2: column 2: 'abc' is not a number (a label column?"},
      {"header.csv", "a,b\n1,2\n", {}, ":1: column 1: 'a' is not a number (a header line? skip_rows: 1"},
      {"nan.csv", "1,2\n3,nan\n", {}, ":2: column 2: 'nan' is not finite"},
      {"inf.csv", "1,inf\n", {}, ":1: column 2: 'inf' is not finite"},
      {"huge.csv", "1,1e999\n", {}, ":1: column 2: '1e999' is out of the range of a double"},
      {"quote.csv", "1,\"2\n3,4\n", {}, "quote.csv:1: column 2: unterminated quoted field"},
      {"after.csv", "1,\"2\"x,3\n", {}, ":1: column 2: text after a closing quote"},
      {"skip.csv", "1,2\n", {{"skip_rows", 3}}, "skip_rows 3 drops every line (the file has 1)"},
      {"blank.csv", "\n\n", {}, "no data lines"},
      {"drop7.csv",
       "1,2\n",
       {{"drop_columns", "7"}},
       "drop_columns '7': column 7 does not exist (the file has 2 columns"},
      {"dropa.csv", "1,2\n", {{"drop_columns", "a"}}, "'a' is not a column index or a start:stop slice"},
      {"dropall.csv", "1,2\n", {{"drop_columns", ":"}}, "drops all 2 columns"},
      {"dropstep.csv", "1,2\n", {{"drop_columns", "0::2"}}, "has a step"},
      {"dropempty.csv", "1,2\n", {{"drop_columns", "0,,1"}}, "has an empty item"},
      {"wrongdelim.csv", "1,2\n", {{"delimiter", "semicolon"}}, ":1: column 1: '1,2' is not a number"},
  };
  for (const auto& [name, text, more, message] : cases) {
    CAPTURE(name);
    const std::string what = error_of(name, text, more);
    CAPTURE(what);
    CHECK(what.find(message) != std::string::npos);
  }
  CHECK_THROWS_WITH(make({{"path", dir + "missing.csv"}})->load(), doctest::Contains("missing.csv: cannot open file"));
}
