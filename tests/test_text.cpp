// The `text` dataset on the small corpus of tests/fixtures/text/make_fixtures.py, whose counts are
// stated here by hand. Default settings: tokens are runs of ASCII letters of length >= 2,
// lowercased, without scikit-learn's English stop words.
//   docs/a.txt      "The cat sat on the mat. The cat!"     cat 2, mat 1, sat 1
//   docs/b.txt      "Dogs and cats: a dog's life."         cats 1, dog 1, dogs 1, life 1
//   docs/c.txt      "Cat CAT cat? mat-mat"                 cat 3, mat 2
//   docs/e.md       "Seven system amoungst bill fire"      seven 1 (the rest are Glasgow stop words)
//   docs/sub/d.txt  "Zebra 42 x9y zebra"                   zebra 2
//   docs/.hidden.txt                                       skipped (hidden)
// Columns in path (byte) order: a.txt, b.txt, c.txt, e.md, sub/d.txt.
#include <doctest/doctest.h>

#include <nmfx/params.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
const std::string text_dir = NMFX_SOURCE_DIR "/tests/fixtures/text/";
const std::string docs = text_dir + "docs";

std::shared_ptr<nmfx::Dataset> make_text(const nmfx::json& given) {
  const auto* p = test::registry().require(nmfx::PluginKind::dataset, "text");
  return test::registry().create<nmfx::Dataset>("text", nmfx::resolve_params(p->descriptor->params, given));
}

nmfx::Data load_text(const nmfx::json& given) { return make_text(given)->load(); }

std::string text_error(const nmfx::json& given) {
  try {
    load_text(given);
  } catch (const nmfx::Error& e) {
    const std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    return what;
  }
  FAIL("no error");
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// X(term, document) by names, 0 where nothing is stored.
double at(const nmfx::Data& X, const std::string& term, const std::string& doc) {
  const auto& vocab = X.info["vocabulary"];
  const auto& names = X.info["documents"];
  std::size_t r = vocab.size(), c = names.size();
  for (std::size_t i = 0; i < vocab.size(); ++i)
    if (vocab[i] == term) r = i;
  for (std::size_t j = 0; j < names.size(); ++j)
    if (names[j] == doc) c = j;
  REQUIRE(r < vocab.size());
  REQUIRE(c < names.size());
  for (std::size_t k = X.sparse.indptr[r]; k < X.sparse.indptr[r + 1]; ++k)
    if (X.sparse.indices[k] == c) return X.sparse.values[k];
  return 0.0;
}

double total(const nmfx::Data& X) {
  double s = 0;
  for (double v : X.sparse.values) s += v;
  return s;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("text counts words of a folder of documents: vocabulary in alphabetical order - one column per document") {
  const nmfx::Data X = load_text({{"path", docs}});
  REQUIRE(X.kind == nmfx::DataKind::sparse);
  CHECK(X.info["vocabulary"] ==
        nmfx::json(Strings{"cat", "cats", "dog", "dogs", "life", "mat", "sat", "seven", "zebra"}));
  CHECK(X.info["documents"] == nmfx::json(Strings{"a.txt", "b.txt", "c.txt", "e.md", "sub/d.txt"}));
  REQUIRE(X.sparse.rows == 9);
  REQUIRE(X.sparse.cols == 5);
  CHECK(X.sparse.nnz() == 11);
  CHECK(total(X) == 16);
  CHECK(at(X, "cat", "a.txt") == 2);
  CHECK(at(X, "cat", "c.txt") == 3);
  CHECK(at(X, "mat", "a.txt") == 1);
  CHECK(at(X, "mat", "c.txt") == 2);
  CHECK(at(X, "sat", "a.txt") == 1);
  for (const char* w : {"cats", "dog", "dogs", "life"}) CHECK(at(X, w, "b.txt") == 1);
  CHECK(at(X, "seven", "e.md") == 1);
  CHECK(at(X, "zebra", "sub/d.txt") == 2);
  CHECK(at(X, "cat", "b.txt") == 0);
  // CSR: row r holds the documents of term r, columns sorted.
  CHECK(X.sparse.indptr[1] - X.sparse.indptr[0] == 2);
  CHECK(X.sparse.indices[0] == 0);
  CHECK(X.sparse.indices[1] == 2);
  CHECK(X.info["documents_read"] == 5);
  CHECK(X.info["layout"] == "folder");
}

TEST_CASE("text tokenizer options: extensions - stop words - lowercase - token pattern - min_length") {
  CHECK(load_text({{"path", docs}, {"extensions", "txt"}}).info["documents"] ==
        nmfx::json(Strings{"a.txt", "b.txt", "c.txt", "sub/d.txt"}));
  // No stop words: 'the' 3 times in a.txt, 'on', 'and', and the Glasgow oddities come back.
  const nmfx::Data none = load_text({{"path", docs}, {"stop_words", "none"}});
  CHECK(none.info["vocabulary"] == nmfx::json(Strings{"amoungst", "and", "bill", "cat", "cats", "dog", "dogs", "fire",
                                                      "life", "mat", "on", "sat", "seven", "system", "the", "zebra"}));
  CHECK(at(none, "the", "a.txt") == 3);
  CHECK(at(none, "system", "e.md") == 1);
  // Stop words from a file ("# my stop words\ncat MAT\n"), lowercased like the tokens; the English
  // list is then not used.
  const nmfx::Data file = load_text({{"path", docs},
                                     {"stop_words", "file"},
                                     {"stop_words_file", text_dir + "stop.txt"},
                                     {"empty_documents", "keep"}});
  CHECK(file.info["vocabulary"] == nmfx::json(Strings{"amoungst", "and", "bill", "cats", "dog", "dogs", "fire", "life",
                                                      "on", "sat", "seven", "system", "the", "zebra"}));
  // Without lowercasing, case variants are distinct terms (byte order: capitals first), and the
  // lowercase stop list removes only lowercase 'the'.
  const nmfx::Data cased = load_text({{"path", docs}, {"lowercase", false}});
  CHECK(cased.info["vocabulary"] == nmfx::json(Strings{"CAT", "Cat", "Dogs", "Seven", "The", "Zebra", "cat", "cats",
                                                       "dog", "life", "mat", "sat", "zebra"}));
  CHECK(at(cased, "The", "a.txt") == 2);
  CHECK(at(cased, "cat", "c.txt") == 1);
  // Letters and digits: '42' and 'x9y' are tokens.
  const nmfx::Data alnum = load_text({{"path", docs}, {"token_pattern", "alnum"}});
  CHECK(alnum.info["vocabulary"][0] == "42");
  CHECK(at(alnum, "x9y", "sub/d.txt") == 1);
  // min_length 1 keeps 's' (dog's), 'x' and 'y'; 'a' is a stop word.
  const nmfx::Data one = load_text({{"path", docs}, {"min_length", 1}});
  CHECK(one.info["vocabulary"] ==
        nmfx::json(Strings{"cat", "cats", "dog", "dogs", "life", "mat", "s", "sat", "seven", "x", "y", "zebra"}));
}

TEST_CASE("text vocabulary filters: min_df - max_df - max_features - drop_most_frequent") {
  // Document frequencies: cat 2, mat 2, every other term 1 (of 5 documents).
  // Totals: cat 5, mat 3, zebra 2, the rest 1.
  for (double min_df : {2.0, 0.4}) {
    CAPTURE(min_df);
    const nmfx::Data X = load_text({{"path", docs}, {"min_df", min_df}, {"empty_documents", "drop"}});
    CHECK(X.info["vocabulary"] == nmfx::json(Strings{"cat", "mat"}));
    CHECK(X.info["documents"] == nmfx::json(Strings{"a.txt", "c.txt"}));
    CHECK(X.info["dropped_empty_documents"] == nmfx::json(Strings{"b.txt", "e.md", "sub/d.txt"}));
    CHECK(at(X, "cat", "c.txt") == 3);
  }
  // max_df 0.25: df <= 1.25 drops cat and mat; c.txt is then empty, kept as a zero column.
  const nmfx::Data rare = load_text({{"path", docs}, {"max_df", 0.25}, {"empty_documents", "keep"}});
  CHECK(rare.info["vocabulary"] == nmfx::json(Strings{"cats", "dog", "dogs", "life", "sat", "seven", "zebra"}));
  CHECK(rare.sparse.cols == 5);
  CHECK(at(rare, "sat", "a.txt") == 1);
  CHECK(load_text({{"path", docs}, {"max_df", 2}}).sparse.rows == 9);  // a count: df <= 2 keeps all

  // max_features keeps the most frequent by total count, ties alphabetical.
  CHECK(load_text({{"path", docs}, {"max_features", 3}, {"empty_documents", "keep"}}).info["vocabulary"] ==
        nmfx::json(Strings{"cat", "mat", "zebra"}));
  CHECK(load_text({{"path", docs}, {"max_features", 4}, {"empty_documents", "keep"}}).info["vocabulary"] ==
        nmfx::json(Strings{"cat", "cats", "mat", "zebra"}));
  // drop_most_frequent first (Lee & Seung dropped the 430 most common words), then max_features.
  const nmfx::Data d1 = load_text({{"path", docs}, {"drop_most_frequent", 1}});
  CHECK(d1.info["vocabulary"] == nmfx::json(Strings{"cats", "dog", "dogs", "life", "mat", "sat", "seven", "zebra"}));
  CHECK(d1.info["dropped_most_frequent"] == nmfx::json(Strings{"cat"}));
  const nmfx::Data d2 =
      load_text({{"path", docs}, {"drop_most_frequent", 2}, {"max_features", 2}, {"empty_documents", "keep"}});
  CHECK(d2.info["vocabulary"] == nmfx::json(Strings{"cats", "zebra"}));
}

TEST_CASE("text tf-idf is count times smooth idf - with optional l1 or l2 column normalisation") {
  const double N = 5;
  auto idf = [&](double df) { return std::log((1 + N) / (1 + df)) + 1; };
  const nmfx::Data X = load_text({{"path", docs}, {"tfidf", true}});
  CHECK(at(X, "cat", "a.txt") == doctest::Approx(2 * idf(2)).epsilon(1e-14));
  CHECK(at(X, "cat", "c.txt") == doctest::Approx(3 * idf(2)).epsilon(1e-14));
  CHECK(at(X, "mat", "c.txt") == doctest::Approx(2 * idf(2)).epsilon(1e-14));
  CHECK(at(X, "zebra", "sub/d.txt") == doctest::Approx(2 * idf(1)).epsilon(1e-14));
  CHECK(at(X, "life", "b.txt") == doctest::Approx(idf(1)).epsilon(1e-14));

  const nmfx::Data L2 = load_text({{"path", docs}, {"tfidf", true}, {"norm", "l2"}});
  const double a_cat = 2 * idf(2), a_mat = idf(2), a_sat = idf(1);
  const double a_norm = std::sqrt(a_cat * a_cat + a_mat * a_mat + a_sat * a_sat);
  CHECK(at(L2, "cat", "a.txt") == doctest::Approx(a_cat / a_norm).epsilon(1e-14));
  CHECK(at(L2, "sat", "a.txt") == doctest::Approx(a_sat / a_norm).epsilon(1e-14));
  CHECK(at(L2, "zebra", "sub/d.txt") == doctest::Approx(1.0).epsilon(1e-14));

  const nmfx::Data L1 = load_text({{"path", docs}, {"norm", "l1"}});  // counts -> term frequencies
  CHECK(at(L1, "cat", "c.txt") == doctest::Approx(0.6).epsilon(1e-14));
  CHECK(at(L1, "mat", "c.txt") == doctest::Approx(0.4).epsilon(1e-14));
  CHECK(at(L1, "dog", "b.txt") == doctest::Approx(0.25).epsilon(1e-14));

  // idf counts only the documents that are columns of X: dropping the three empty documents leaves
  // N = 2, where cat and mat are in both (idf = 1).
  const nmfx::Data dropped = load_text({{"path", docs}, {"min_df", 2}, {"tfidf", true}, {"empty_documents", "drop"}});
  CHECK(at(dropped, "cat", "a.txt") == doctest::Approx(2.0).epsilon(1e-14));
}

TEST_CASE("text reads one document per line - plain or gzipped") {
  for (const char* f : {"lines.txt", "lines.txt.gz"}) {
    CAPTURE(f);
    const nmfx::Data X = load_text({{"path", text_dir + f}});
    CHECK(X.info["layout"] == "lines");
    CHECK(X.info["vocabulary"] == nmfx::json(Strings{"apple", "banana", "cherry"}));
    const std::string name = f;
    CHECK(X.info["documents"] == nmfx::json(Strings{name + ":1", name + ":2", name + ":3"}));
    CHECK(at(X, "apple", name + ":1") == 2);
    CHECK(at(X, "banana", name + ":2") == 1);
    CHECK(at(X, "cherry", name + ":3") == 3);
    CHECK(at(X, "apple", name + ":3") == 1);
    CHECK(X.sparse.nnz() == 6);
  }
  // CRLF line ends: '\r' is a separator like any non-letter.
  const auto dir = test::temp_dir("text_lines");
  test::write(dir / "crlf.txt", "big cat\r\nbig dog\r\n");
  const nmfx::Data crlf = load_text({{"path", (dir / "crlf.txt").string()}});
  CHECK(crlf.info["vocabulary"] == nmfx::json(Strings{"big", "cat", "dog"}));
  CHECK(crlf.sparse.cols == 2);
}

TEST_CASE("text refuses empty documents unless dropped or kept - and other bad input with one line") {
  const auto dir = test::temp_dir("text_bad");
  test::write(dir / "blank.txt", "big cat\n\nthe and of\nbig dog\n");
  const std::string blank = (dir / "blank.txt").string();
  const std::string what = text_error({{"path", blank}});
  CHECK(contains(what, "blank.txt: 2 documents have no term left"));
  CHECK(contains(what, "the first 'blank.txt:2'"));
  CHECK(contains(what, "empty_documents: drop"));
  const nmfx::Data dropped = load_text({{"path", blank}, {"empty_documents", "drop"}});
  CHECK(dropped.info["documents"] == nmfx::json(Strings{"blank.txt:1", "blank.txt:4"}));
  const nmfx::Data kept = load_text({{"path", blank}, {"empty_documents", "keep"}});
  CHECK(kept.sparse.cols == 4);

  CHECK(contains(text_error({{"path", docs}, {"min_df", 2}}), "3 documents have no term left"));
  CHECK(contains(text_error({{"path", docs}, {"min_df", 3}}), "no term is left after filtering"));
  CHECK(contains(text_error({{"path", docs}, {"min_df", 2}, {"max_df", 0.25}}), "fewer than min_df"));
  CHECK(contains(text_error({{"path", (dir / "missing").string()}}), "missing: no such file or folder"));
  test::write(dir / "empty.txt", "");
  CHECK(contains(text_error({{"path", (dir / "empty.txt").string()}}), "empty.txt: no documents"));
  fs::create_directories(dir / "nothing");
  CHECK(contains(text_error({{"path", (dir / "nothing").string()}}), "no documents found"));
  fs::create_directories(dir / "binary");
  std::ofstream(dir / "binary" / "x.bin", std::ios::binary) << std::string("ab\0cd", 5);
  CHECK(contains(text_error({{"path", (dir / "binary").string()}}), "x.bin: contains a NUL byte at offset 2"));
  std::ofstream(dir / "bad.gz", std::ios::binary) << std::string("\x1f\x8b\x08\x00garbage", 11);
  CHECK(contains(text_error({{"path", (dir / "bad.gz").string()}}), "bad.gz"));
  CHECK(contains(text_error({{"path", docs}, {"scale", "minmax"}}), "minmax"));
  CHECK(contains(text_error({{"path", docs}, {"normalize", "lee_seung"}}), "lee_seung needs dense data"));

  for (const auto& [params, expect] : std::vector<std::pair<nmfx::json, std::string>>{
           {{{"min_df", 2.5}}, "min_df = 2.5: a value >= 1 is a number of documents and must be an integer"},
           {{{"max_df", 1.5}}, "max_df = 1.5: a value > 1 is a number of documents and must be an integer"},
           {{{"stop_words", "file"}}, "stop_words: file needs stop_words_file"},
           {{{"stop_words", "file"}, {"stop_words_file", (dir / "nope.txt").string()}}, "nope.txt: cannot open"},
       }) {
    CAPTURE(expect);
    nmfx::json given = params;
    given["path"] = docs;
    try {
      make_text(given);
      FAIL("no error");
    } catch (const nmfx::Error& e) {
      CHECK(contains(e.what(), expect));
    }
  }
}

TEST_CASE("text runs end to end: a sparse X factorized by mu") {
  const auto dir = test::temp_dir("text_run");
  test::write(dir / "topics.yaml",
              "datasets:\n  - name: text\n    params: {path: " + fs::relative(docs, dir).string() +
                  "}\nsolvers: [mu]\nlosses: [frobenius, kl]\nranks: [2]\nstopping: {max_iter: 5}\n");
  const auto r = test::nmfx_command("run topics.yaml -o out", dir);
  CHECK(r.status == 0);
  CHECK(contains(r.output, "2 ok"));
}
