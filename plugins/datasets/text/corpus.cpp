#include "corpus.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace nmfx_text {

namespace {

std::string num(std::size_t v) { return std::to_string(v); }

std::string fmt(double v) {
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

void check_df_bounds(double min_df, double max_df) {
  if (!(min_df >= 0) || !(max_df >= 0)) throw nmfx::Error("min_df and max_df must be >= 0");
  if (min_df >= 1 && std::floor(min_df) != min_df)
    throw nmfx::Error("min_df = " + fmt(min_df) +
                      ": a value >= 1 is a number of documents and must be an integer (below 1 it is a fraction)");
  if (max_df > 1 && std::floor(max_df) != max_df)
    throw nmfx::Error("max_df = " + fmt(max_df) +
                      ": a value > 1 is a number of documents and must be an integer (up to 1 it is a fraction)");
}

void check_text(std::string_view text, const std::string& name) {
  const std::size_t nul = text.find('\0');
  if (nul != std::string_view::npos)
    throw nmfx::Error(name + ": contains a NUL byte at offset " + num(nul) +
                      "; it looks like a binary file, not text (choose the files to read with `extensions`)");
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

void CorpusBuilder::add(std::string name, std::string_view text) {
  scratch_.clear();
  tokenize(text, o_.alnum, o_.lowercase, o_.min_length, [&](const std::string& token) {
    if (o_.stop_words.count(token)) return;
    auto it = ids_.find(token);
    if (it == ids_.end()) {
      if (terms_.size() >= std::numeric_limits<std::uint32_t>::max())
        throw nmfx::Error("more than 2^32 - 1 distinct terms");
      it = ids_.emplace(token, static_cast<std::uint32_t>(terms_.size())).first;
      terms_.push_back(token);
      total_.push_back(0);
      df_.push_back(0);
    }
    scratch_.push_back(it->second);
  });
  tokens_ += scratch_.size();
  std::sort(scratch_.begin(), scratch_.end());
  for (std::size_t i = 0; i < scratch_.size();) {
    std::size_t j = i;
    while (j < scratch_.size() && scratch_[j] == scratch_[i]) ++j;
    const std::size_t count = j - i;
    if (count > std::numeric_limits<std::uint32_t>::max())
      throw nmfx::Error(name + ": a term occurs more than 2^32 - 1 times");
    entry_term_.push_back(scratch_[i]);
    entry_count_.push_back(static_cast<std::uint32_t>(count));
    total_[scratch_[i]] += count;
    df_[scratch_[i]] += 1;
    i = j;
  }
  doc_ptr_.push_back(entry_term_.size());
  names_.push_back(std::move(name));
}

Corpus CorpusBuilder::finish(const std::string& source) {
  const std::size_t n = names_.size();
  if (n == 0) throw nmfx::Error(source + ": no documents");
  if (n > std::numeric_limits<std::uint32_t>::max()) throw nmfx::Error(source + ": more than 2^32 - 1 documents");
  const double dn = static_cast<double>(n);

  // Document-frequency bounds, as scikit-learn: a fraction f keeps df >= f n (min) or df <= f n (max).
  const double lo = o_.min_df < 1 ? o_.min_df * dn : o_.min_df;
  const double hi = o_.max_df <= 1 ? o_.max_df * dn : o_.max_df;
  if (hi < lo)
    throw nmfx::Error(source + ": max_df = " + fmt(o_.max_df) + " allows at most " + fmt(hi) +
                      " documents per term, fewer than min_df = " + fmt(o_.min_df) + " requires (" + fmt(lo) +
                      ") among " + num(n) + " documents");
  std::vector<std::uint32_t> candidates;
  for (std::uint32_t t = 0; t < terms_.size(); ++t)
    if (df_[t] >= lo && df_[t] <= hi) candidates.push_back(t);

  // Most frequent first (total count, ties alphabetical): drop the first k, keep the next max_features.
  Corpus out;
  if (o_.drop_most_frequent > 0 || o_.max_features > 0) {
    std::sort(candidates.begin(), candidates.end(), [&](std::uint32_t a, std::uint32_t b) {
      return total_[a] != total_[b] ? total_[a] > total_[b] : terms_[a] < terms_[b];
    });
    const std::size_t drop = std::min(o_.drop_most_frequent, candidates.size());
    for (std::size_t i = 0; i < drop; ++i) out.dropped_most_frequent.push_back(terms_[candidates[i]]);
    candidates.erase(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(drop));
    if (o_.max_features > 0 && candidates.size() > o_.max_features) candidates.resize(o_.max_features);
  }
  std::sort(candidates.begin(), candidates.end(),
            [&](std::uint32_t a, std::uint32_t b) { return terms_[a] < terms_[b]; });
  if (candidates.empty())
    throw nmfx::Error(source + ": no term is left after filtering (" + num(terms_.size()) + " distinct terms in " +
                      num(n) + " documents; min_df = " + fmt(o_.min_df) + ", max_df = " + fmt(o_.max_df) +
                      ", drop_most_frequent = " + num(o_.drop_most_frequent) + ")");
  const std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> row_of(terms_.size(), none);
  for (std::uint32_t r = 0; r < candidates.size(); ++r) row_of[candidates[r]] = r;

  // Columns: the documents with at least one kept term (or all, with empty: keep).
  std::vector<std::size_t> columns;
  std::size_t empty = 0;
  std::string first_empty;
  for (std::size_t j = 0; j < n; ++j) {
    bool any = false;
    for (std::size_t e = doc_ptr_[j]; e < doc_ptr_[j + 1] && !any; ++e) any = row_of[entry_term_[e]] != none;
    if (!any) {
      if (empty++ == 0) first_empty = names_[j];
      if (o_.empty == Empty::drop) {
        out.dropped_empty.push_back(names_[j]);
        continue;
      }
    }
    columns.push_back(j);
  }
  if (empty > 0 && o_.empty == Empty::error)
    throw nmfx::Error(source + ": " + num(empty) + (empty == 1 ? " document has" : " documents have") +
                      " no term left after tokenizing and filtering, the first '" + first_empty +
                      "'; set empty_documents: drop to skip them, or keep for zero columns");
  if (columns.empty()) throw nmfx::Error(source + ": every document is empty after tokenizing and filtering");

  // CSR of X (terms x documents). Documents are visited in column order, so columns come sorted.
  nmfx::SparseMatrix& X = out.X;
  X.rows = candidates.size();
  X.cols = columns.size();
  X.indptr.assign(X.rows + 1, 0);
  for (std::size_t j : columns)
    for (std::size_t e = doc_ptr_[j]; e < doc_ptr_[j + 1]; ++e)
      if (row_of[entry_term_[e]] != none) ++X.indptr[row_of[entry_term_[e]] + 1];
  for (std::size_t r = 0; r < X.rows; ++r) X.indptr[r + 1] += X.indptr[r];
  X.indices.resize(X.indptr[X.rows]);
  X.values.resize(X.indptr[X.rows]);
  std::vector<std::size_t> cursor(X.indptr.begin(), X.indptr.end() - 1);
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const std::size_t j = columns[c];
    for (std::size_t e = doc_ptr_[j]; e < doc_ptr_[j + 1]; ++e) {
      const std::uint32_t r = row_of[entry_term_[e]];
      if (r == none) continue;
      X.indices[cursor[r]] = static_cast<std::uint32_t>(c);
      X.values[cursor[r]++] = entry_count_[e];
    }
  }

  // tf-idf (scikit-learn's smooth idf): count * (ln((1 + N) / (1 + df)) + 1), N = columns of X.
  if (o_.tfidf) {
    const double N = static_cast<double>(X.cols);
    for (std::size_t r = 0; r < X.rows; ++r) {
      const double df = static_cast<double>(X.indptr[r + 1] - X.indptr[r]);
      const double idf = std::log((1.0 + N) / (1.0 + df)) + 1.0;
      for (std::size_t k = X.indptr[r]; k < X.indptr[r + 1]; ++k) X.values[k] *= idf;
    }
  }
  if (o_.norm != Norm::none) {
    std::vector<double> colnorm(X.cols, 0.0);
    for (std::size_t k = 0; k < X.values.size(); ++k)
      colnorm[X.indices[k]] += o_.norm == Norm::l1 ? X.values[k] : X.values[k] * X.values[k];
    if (o_.norm == Norm::l2)
      for (double& v : colnorm) v = std::sqrt(v);
    for (std::size_t k = 0; k < X.values.size(); ++k)
      if (colnorm[X.indices[k]] > 0) X.values[k] /= colnorm[X.indices[k]];
  }

  out.vocabulary.reserve(candidates.size());
  for (std::uint32_t t : candidates) out.vocabulary.push_back(terms_[t]);
  out.documents.reserve(columns.size());
  for (std::size_t j : columns) out.documents.push_back(names_[j]);
  out.documents_read = n;
  out.tokens = tokens_;
  out.distinct_terms = terms_.size();
  return out;
}

}  // namespace nmfx_text
