// The rating datasets: every MovieLens format and plain CSV read from the fixtures of
// tests/fixtures/ratings (made by make_ratings_fixtures.py); ids remapped consistently between
// train and test; the last rating of a duplicated pair kept; a separate test file whose unknown
// ids are dropped and counted; one-line errors naming file and line.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "support.hpp"

using nmfx::json;

namespace {

const std::string kDir = std::string(NMFX_SOURCE_DIR) + "/tests/fixtures/ratings/";

using Pair = std::pair<long long, long long>;

// Every entry of S as (original user id, original item id) -> rating, through info's id arrays.
std::map<Pair, double> by_ids(const nmfx::Data& d, const nmfx::SparseMatrix& S) {
  std::map<Pair, double> out;
  const json& users = d.info["user_ids"];
  const json& items = d.info["item_ids"];
  for (std::size_t u = 0; u < S.rows; ++u)
    for (std::size_t k = S.indptr[u]; k < S.indptr[u + 1]; ++k)
      out[{users[u].get<long long>(), items[S.indices[k]].get<long long>()}] = S.values[k];
  return out;
}

// The fixture's 20 ratings with the duplicate (196, 242) resolved to its last rating.
std::map<Pair, double> expected(bool half_stars) {
  const long long rows[][3] = {{196, 242, 3}, {186, 302, 3},  {22, 377, 1},  {244, 51, 2},   {166, 346, 1},
                               {298, 474, 4}, {115, 265, 2},  {253, 465, 5}, {305, 451, 3},  {6, 86, 3},
                               {62, 257, 2},  {286, 1014, 5}, {200, 222, 5}, {210, 40, 3},   {224, 29, 3},
                               {303, 785, 3}, {122, 387, 5},  {194, 274, 2}, {291, 1042, 4}, {196, 242, 5}};
  std::map<Pair, double> out;
  for (const auto& r : rows) {
    double v = static_cast<double>(r[2]);
    if (half_stars && v < 5) v += 0.5;
    out[{r[0], r[1]}] = v;
  }
  return out;
}

std::string load_error(const std::string& file, json extra = json::object()) {
  extra["path"] = kDir + file;
  try {
    test::load_dataset("ratings", extra);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("ratings reads u.data ratings.dat ratings.csv plain csv and gzip with every rating once in train or test") {
  const std::vector<std::tuple<std::string, std::string, bool>> files = {{"u.data", "movielens_tab", false},
                                                                         {"ratings.dat", "movielens_dat", false},
                                                                         {"ratings.csv", "movielens_csv", true},
                                                                         {"plain.csv", "csv", false},
                                                                         {"u.data.gz", "movielens_tab", false}};
  for (const auto& [file, format, half] : files) {
    for (const std::string& given_format : {std::string("auto"), format}) {
      CAPTURE(file);
      CAPTURE(given_format);
      const nmfx::Data d = test::load_dataset("ratings", {{"path", kDir + file}, {"format", given_format}});
      CHECK(d.kind == nmfx::DataKind::observed);
      CHECK(d.info["format"] == format);
      CHECK(d.info["ratings_read"] == 20);
      CHECK(d.info["duplicates_dropped"] == 1);
      CHECK(d.rows() == 19);  // distinct users
      CHECK(d.cols() == 19);  // distinct items
      // 19 distinct pairs, round(0.2 * 19) = 4 held out.
      CHECK(d.test.nnz() == 4);
      CHECK(d.sparse.nnz() == 15);
      CHECK(d.nnz == 15);
      auto all = by_ids(d, d.sparse);
      const auto test = by_ids(d, d.test);
      for (const auto& [k, v] : test) {
        CHECK(all.count(k) == 0);  // train and test are disjoint
        all[k] = v;
      }
      CHECK(all == expected(half));  // the last rating of (196, 242) won
    }
  }
}

TEST_CASE("ratings remaps ids in order of first appearance or sorted and the split follows its seed") {
  const nmfx::Data first = test::load_dataset("ratings", {{"path", kDir + "u.data"}});
  CHECK(first.info["id_order"] == "first_seen");
  CHECK(first.info["user_ids"][0] == 196);
  CHECK(first.info["user_ids"][1] == 186);
  CHECK(first.info["item_ids"][0] == 242);
  const nmfx::Data sorted = test::load_dataset("ratings", {{"path", kDir + "u.data"}, {"ids", "sorted"}});
  std::vector<long long> users = sorted.info["user_ids"].get<std::vector<long long>>();
  CHECK(std::is_sorted(users.begin(), users.end()));
  CHECK(users.front() == 6);
  CHECK(sorted.info["item_ids"][0] == 29);
  // Same ratings whatever the numbering.
  auto a = by_ids(first, first.sparse), b = by_ids(sorted, sorted.sparse);
  for (const auto& [k, v] : by_ids(first, first.test)) a[k] = v;
  for (const auto& [k, v] : by_ids(sorted, sorted.test)) b[k] = v;
  CHECK(a == b);
  // The split: the same seed gives the same test set, another seed (usually) another one.
  const nmfx::Data again = test::load_dataset("ratings", {{"path", kDir + "u.data"}});
  CHECK(by_ids(again, again.test) == by_ids(first, first.test));
  const nmfx::Data other = test::load_dataset("ratings", {{"path", kDir + "u.data"}, {"seed", 5}});
  CHECK(by_ids(other, other.test) != by_ids(first, first.test));
  const nmfx::Data none = test::load_dataset("ratings", {{"path", kDir + "u.data"}, {"test_fraction", 0.0}});
  CHECK(none.test.nnz() == 0);
  CHECK(none.sparse.nnz() == 19);
  CHECK(none.test.rows == none.sparse.rows);
  const nmfx::Data crlf = test::load_dataset("ratings", {{"path", kDir + "plain_crlf.csv"}, {"test_fraction", 0.0}});
  CHECK(crlf.info["format"] == "csv");  // the header row,col,value is skipped
  CHECK(crlf.sparse.nnz() == 5);
}

TEST_CASE("ratings with a separate test file drops and counts unknown users and items") {
  const nmfx::Data d =
      test::load_dataset("ratings", {{"path", kDir + "split.base"}, {"test_path", kDir + "split.test"}});
  CHECK(d.info["split"] == "file");
  CHECK(d.sparse.nnz() == 15);  // the whole base file trains
  CHECK(d.info["test_ratings_read"] == 5);
  CHECK(d.info["test_dropped_unknown_user"] == 1);  // user 999
  CHECK(d.info["test_dropped_unknown_item"] == 1);  // item 9999
  CHECK(d.test.nnz() == 3);
  CHECK(d.rows() == 15);  // the shape comes from the training file alone
  const auto test = by_ids(d, d.test);
  CHECK(test == std::map<Pair, double>{{{196, 302}, 4.0}, {{186, 377}, 1.0}, {{244, 242}, 5.0}});
  // The same user id maps to the same row in train and test.
  const auto train = by_ids(d, d.sparse);
  CHECK(train.at({196, 242}) == 3.0);
  CHECK(train.at({186, 302}) == 3.0);
}

TEST_CASE("ratings reports malformed files in one line naming the file and the line") {
  std::string e = load_error("bad_fields.dat");
  CHECK(e.find("bad_fields.dat:3:") != std::string::npos);
  CHECK(e.find("got 2 fields") != std::string::npos);
  CHECK(e.find('\n') == std::string::npos);
  e = load_error("bad_rating.csv");
  CHECK(e.find("bad_rating.csv:4:") != std::string::npos);
  CHECK(e.find("'abc'") != std::string::npos);
  e = load_error("negative.csv");
  CHECK(e.find("negative.csv:2:") != std::string::npos);
  CHECK(e.find("negative") != std::string::npos);
  e = load_error("bad_id.dat");
  CHECK(e.find("bad_id.dat:2: user id 'x7' is not an integer") != std::string::npos);
  // The wrong format, forced: line 1 has no ',' and reads as a header; line 2 is refused.
  e = load_error("ratings.dat", {{"format", "csv"}});
  CHECK(e.find("ratings.dat:2: expected 3 fields") != std::string::npos);
  e = load_error("does_not_exist.csv");
  CHECK(e.find("does_not_exist.csv") != std::string::npos);
}
