// X from text: a term-document count matrix (terms x documents, one column per document, as Lee &
// Seung's Grolier matrix of words x articles), sparse, with the vocabulary kept in data.info so that
// each column of W can be reported as its top words.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include <nmfx/dataset_util.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx_common/file_names.hpp>

#include "corpus.hpp"

namespace fs = std::filesystem;

namespace {

using nmfx_common::has_extension;
using nmfx_common::lower;
using nmfx_common::split_extensions;

nmfx_text::Options options_from(const nmfx::Params& p) {
  nmfx_text::Options o;
  o.alnum = p.str("token_pattern") == "alnum";
  o.lowercase = p.boolean("lowercase");
  o.min_length = static_cast<std::size_t>(p.integer("min_length"));
  o.min_df = p.real("min_df");
  o.max_df = p.real("max_df");
  nmfx_text::check_df_bounds(o.min_df, o.max_df);
  o.drop_most_frequent = static_cast<std::size_t>(p.integer("drop_most_frequent"));
  o.max_features = static_cast<std::size_t>(p.integer("max_features"));
  o.tfidf = p.boolean("tfidf");
  const std::string norm = p.str("norm");
  o.norm = norm == "l1" ? nmfx_text::Norm::l1 : norm == "l2" ? nmfx_text::Norm::l2 : nmfx_text::Norm::none;
  const std::string empty = p.str("empty_documents");
  o.empty = empty == "drop"   ? nmfx_text::Empty::drop
            : empty == "keep" ? nmfx_text::Empty::keep
                              : nmfx_text::Empty::error;
  const std::string stop = p.str("stop_words");
  if (stop == "english") {
    for (const auto& w : nmfx_text::english_stop_words()) o.stop_words.insert(w);
  } else if (stop == "file") {
    const std::string file = p.str("stop_words_file");
    std::error_code ec;
    if (file.empty() || fs::is_directory(file, ec))
      throw nmfx::Error("stop_words: file needs stop_words_file, the path of a file of stop words (got '" + file +
                        "')");
    const std::string text = nmfx::read_file_maybe_gz(file);
    nmfx_text::check_text(text, file);
    // Words separated by whitespace; '#' starts a comment to the end of the line.
    std::string word;
    bool comment = false;
    for (char c : text + "\n") {
      if (c == '\n') comment = false;
      if (c == '#') comment = true;
      if (comment || std::isspace(static_cast<unsigned char>(c))) {
        if (!word.empty()) o.stop_words.insert(o.lowercase ? lower(word) : word);
        word.clear();
      } else {
        word += c;
      }
    }
  }
  return o;
}

class Text final : public nmfx::Dataset {
 public:
  explicit Text(const nmfx::Params& p)
      : params_(p),
        path_(p.str("path")),
        extensions_(split_extensions(p.str("extensions"))),
        options_(options_from(p)) {}

  nmfx::Data load() override {
    nmfx_text::CorpusBuilder builder(options_);
    std::error_code ec;
    const fs::file_status st = fs::status(path_, ec);
    std::string layout;
    if (fs::is_directory(st)) {
      layout = "folder";
      for (const std::string& rel : list_files()) {
        const std::string file = (fs::path(path_) / rel).string();
        const std::string text = nmfx::read_file_maybe_gz(file);
        nmfx_text::check_text(text, file);
        builder.add(rel, text);
      }
    } else if (fs::is_regular_file(st)) {
      layout = "lines";
      const std::string text = nmfx::read_file_maybe_gz(path_);
      nmfx_text::check_text(text, path_);
      const std::string base = fs::path(path_).filename().string();
      std::size_t line = 0;
      for (std::string_view doc : nmfx_text::split_lines(text)) builder.add(base + ":" + std::to_string(++line), doc);
    } else {
      throw nmfx::Error(path_ + ": no such file or folder");
    }
    nmfx_text::Corpus c = builder.finish(path_);

    nmfx::Data data;
    data.kind = nmfx::DataKind::sparse;
    data.sparse = std::move(c.X);
    const bool tfidf = params_.boolean("tfidf");
    data.info = {
        {"path", path_},
        {"layout", layout},
        {"shape", {data.sparse.rows, data.sparse.cols}},
        {"values", std::string(tfidf ? "tf-idf: count * (ln((1 + N) / (1 + df)) + 1)" : "counts") +
                       (params_.str("norm") == "none" ? "" : ", columns " + params_.str("norm") + "-normalised")},
        {"documents_read", c.documents_read},
        {"tokens", c.tokens},
        {"distinct_terms", c.distinct_terms},
        {"vocabulary", std::move(c.vocabulary)},
        {"documents", std::move(c.documents)}};
    if (!c.dropped_empty.empty()) data.info["dropped_empty_documents"] = std::move(c.dropped_empty);
    if (!c.dropped_most_frequent.empty()) data.info["dropped_most_frequent"] = std::move(c.dropped_most_frequent);
    nmfx::apply_common_options(data, params_);
    return data;
  }

 private:
  // Relative paths of the documents under the folder, sorted by byte order; hidden files and
  // folders (names starting with '.') are skipped.
  std::vector<std::string> list_files() const {
    std::error_code ec;
    std::vector<std::string> out;
    fs::recursive_directory_iterator it(path_, ec), end;
    if (ec) throw nmfx::Error(path_ + ": cannot list the folder (" + ec.message() + ")");
    for (; it != end; it.increment(ec)) {
      if (ec) throw nmfx::Error(path_ + ": cannot list the folder (" + ec.message() + ")");
      const std::string fname = it->path().filename().string();
      if (!fname.empty() && fname[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && has_extension(fname, extensions_))
        out.push_back(fs::relative(it->path(), path_).generic_string());
    }
    if (ec) throw nmfx::Error(path_ + ": cannot list the folder (" + ec.message() + ")");
    std::sort(out.begin(), out.end());
    if (out.empty())
      throw nmfx::Error(path_ + ": no documents found (extensions: " +
                        (params_.str("extensions").empty() ? std::string("any") : params_.str("extensions")) + ")");
    return out;
  }

  nmfx::Params params_;
  std::string path_;
  std::vector<std::string> extensions_;
  nmfx_text::Options options_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Dataset, Text>(
      "text", "1.0.0",
      "X = term-document counts (terms x documents, sparse) of a folder of documents or a file of lines");
  d.data_kinds = {nmfx::DataKind::sparse};
  nmfx::ParamSpec stop_file{"stop_words_file",
                            nmfx::ParamType::path,
                            "",
                            {},
                            {},
                            {},
                            "with stop_words: file, the file of stop words (whitespace-separated, '#' comments)"};
  d.params = {
      nmfx::param_path(
          "path",
          "folder of documents (one file each, searched recursively) or a file of one document per line (.gz allowed)"),
      nmfx::param_string(
          "extensions", "",
          "folder only: comma-separated file name endings to read (e.g. txt,txt.gz); empty reads every file"),
      nmfx::param_choice(
          "token_pattern", "letters", {"letters", "alnum"},
          "tokens are maximal runs of ASCII letters [A-Za-z]+ (letters) or letters and digits [A-Za-z0-9]+ (alnum)"),
      nmfx::param_int("min_length", 2, "drop tokens shorter than this (2, as scikit-learn's default token pattern)", 1),
      nmfx::param_bool("lowercase", true, "lowercase tokens (ASCII) before everything else"),
      nmfx::param_choice(
          "stop_words", "english", {"none", "english", "file"},
          "drop stop words: english is scikit-learn's list of 318 words (Glasgow), file reads stop_words_file"),
      stop_file,
      nmfx::param_real("min_df", 1,
                       "keep terms in at least this many documents (>= 1, an integer) or this fraction of them (< 1)",
                       0),
      nmfx::param_real("max_df", 1.0,
                       "keep terms in at most this fraction of the documents (<= 1) or this many (> 1, an integer)", 0),
      nmfx::param_int("drop_most_frequent", 0,
                      "then drop the k most frequent terms (by total count; ties alphabetical)", 0),
      nmfx::param_int("max_features", 0,
                      "then keep the k most frequent terms (by total count; ties alphabetical); 0 keeps all", 0),
      nmfx::param_bool("tfidf", false,
                       "weight counts by scikit-learn's smooth idf: count * (ln((1 + N) / (1 + df)) + 1)"),
      nmfx::param_choice("norm", "none", {"none", "l1", "l2"},
                         "then scale each document (column) to unit l1 or l2 norm"),
      nmfx::param_choice(
          "empty_documents", "error", {"error", "drop", "keep"},
          "documents left with no term: error names the first; drop skips them; keep makes zero columns"),
  };
  for (auto& c : nmfx::common_dataset_params()) d.params.push_back(c);
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
