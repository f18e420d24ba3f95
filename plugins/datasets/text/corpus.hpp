#pragma once
// The term-document matrix of the `text` dataset: tokenizer, vocabulary filters, counts, tf-idf.
// Kept apart from the plugin so that the fuzz target (fuzz/text_fuzz.cpp) can run it on raw bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nmfx/types.hpp>

namespace nmfx_text {

/// scikit-learn's ENGLISH_STOP_WORDS (the Glasgow list): 318 lowercase words, sorted.
const std::vector<std::string>& english_stop_words();

enum class Norm { none, l1, l2 };
enum class Empty { error, drop, keep };

struct Options {
  bool alnum = false;          ///< tokens are runs of [A-Za-z0-9] instead of [A-Za-z]
  bool lowercase = true;       ///< ASCII lowercasing of every token
  std::size_t min_length = 2;  ///< shorter tokens are dropped
  std::unordered_set<std::string> stop_words;
  double min_df = 1;  ///< < 1: fraction of documents; >= 1: integer count
  double max_df = 1;  ///< <= 1: fraction of documents; > 1: integer count
  std::size_t drop_most_frequent = 0;
  std::size_t max_features = 0;  ///< 0: all
  bool tfidf = false;
  Norm norm = Norm::none;
  Empty empty = Empty::error;
};

/// Checks the integer rule of min_df / max_df; throws nmfx::Error naming the parameter.
void check_df_bounds(double min_df, double max_df);

/// Calls fn(token) for every token of `text`: maximal runs of ASCII letters (or letters and digits),
/// lowercased if asked, at least `min_length` bytes long. Every other byte separates tokens.
template <class Fn>
void tokenize(std::string_view text, bool alnum, bool lowercase, std::size_t min_length, Fn&& fn) {
  std::string token;
  auto word_byte = [alnum](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (alnum && c >= '0' && c <= '9');
  };
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    while (i < n && !word_byte(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    while (i < n && word_byte(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start < min_length) continue;
    token.assign(text.data() + start, i - start);
    if (lowercase)
      for (char& c : token)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    fn(static_cast<const std::string&>(token));
  }
}

/// Throws "<name>: contains a NUL byte at offset k ..." if `text` looks binary.
void check_text(std::string_view text, const std::string& name);

/// The documents of a file with one document per line: a '\n' ends a line (a '\r' before it is a
/// separator like any non-letter); the newline ending the last line does not start a document.
std::vector<std::string_view> split_lines(std::string_view text);

/// The result: X (terms x documents, CSR), its row and column names, and what was filtered.
struct Corpus {
  nmfx::SparseMatrix X;
  std::vector<std::string> vocabulary;  ///< row order (alphabetical, byte order)
  std::vector<std::string> documents;   ///< column order
  std::vector<std::string> dropped_empty;
  std::size_t documents_read = 0;
  std::size_t tokens = 0;          ///< tokens counted (after the stop words)
  std::size_t distinct_terms = 0;  ///< before the vocabulary filters
  std::vector<std::string> dropped_most_frequent;
};

/// Accumulates documents one at a time, then builds the term-document matrix.
class CorpusBuilder {
 public:
  explicit CorpusBuilder(Options options) : o_(std::move(options)) {}
  void add(std::string name, std::string_view text);
  /// Throws nmfx::Error, naming `source`, if there is no document, no term is left after the
  /// filters, or (empty: error) a document has no term left.
  Corpus finish(const std::string& source);

 private:
  Options o_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::string> terms_;
  std::vector<std::uint64_t> total_;  ///< count of each term over the corpus
  std::vector<std::uint32_t> df_;     ///< documents holding each term
  std::vector<std::string> names_;
  std::vector<std::size_t> doc_ptr_{0};  ///< entries of document j: [doc_ptr_[j], doc_ptr_[j+1])
  std::vector<std::uint32_t> entry_term_;
  std::vector<std::uint32_t> entry_count_;
  std::size_t tokens_ = 0;
  std::vector<std::uint32_t> scratch_;
};

}  // namespace nmfx_text
