// libFuzzer target for the `text` dataset's tokenizer and term-document builder: the input's first
// byte picks the options, the rest is split into one document per line (as a file of lines is).
// Not part of the CMake build; see fuzz/README.md for the build command.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nmfx/types.hpp>

#include "../plugins/datasets/text/corpus.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  nmfx_text::Options o;
  o.alnum = flags & 1;
  o.lowercase = flags & 2;
  o.min_length = 1 + ((flags >> 2) & 1);
  if (flags & 8)
    for (const auto& w : nmfx_text::english_stop_words()) o.stop_words.insert(w);
  o.min_df = (flags & 16) ? 0.3 : 1;
  o.max_df = (flags & 32) ? 0.9 : 1;
  o.drop_most_frequent = (flags >> 6) & 1;
  o.max_features = (flags & 128) ? 3 : 0;
  o.tfidf = flags & 64;
  o.norm = static_cast<nmfx_text::Norm>(flags % 3);
  o.empty = static_cast<nmfx_text::Empty>((flags / 3) % 3);
  try {
    nmfx_text::check_text(text, "fuzz");
    nmfx_text::CorpusBuilder builder(o);
    std::size_t line = 0;
    for (std::string_view doc : nmfx_text::split_lines(text)) builder.add("line " + std::to_string(++line), doc);
    const nmfx_text::Corpus c = builder.finish("fuzz");
    const nmfx::SparseMatrix& X = c.X;
    // The CSR invariants the framework relies on.
    if (X.indptr.size() != X.rows + 1 || X.indptr.back() != X.values.size() || X.rows != c.vocabulary.size() ||
        X.cols != c.documents.size())
      __builtin_trap();
    for (std::size_t r = 0; r < X.rows; ++r)
      for (std::size_t k = X.indptr[r]; k < X.indptr[r + 1]; ++k)
        if (X.indices[k] >= X.cols || (k > X.indptr[r] && X.indices[k] <= X.indices[k - 1]) || !(X.values[k] > 0))
          __builtin_trap();
    for (std::size_t r = 1; r < c.vocabulary.size(); ++r)
      if (!(c.vocabulary[r - 1] < c.vocabulary[r])) __builtin_trap();
  } catch (const nmfx::Error&) {
  }
  return 0;
}
