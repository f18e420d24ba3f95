// Rating files (MovieLens and plain row,col,value CSV) as observed data: user and item ids remapped
// to dense indices, duplicates resolved (the last rating of a (user, item) pair wins), and a seeded
// random train/test split, or a separate test file.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nmfx/dataset_util.hpp>
#include <nmfx/plugin.hpp>

#include <nmfx_common/ratings_common.hpp>

namespace {

using nmfx_ratings::Triplet;

enum class Format { movielens_tab, movielens_dat, movielens_csv, csv };

const char* name_of(Format f) {
  switch (f) {
    case Format::movielens_tab:
      return "movielens_tab";
    case Format::movielens_dat:
      return "movielens_dat";
    case Format::movielens_csv:
      return "movielens_csv";
    case Format::csv:
      return "csv";
  }
  return "?";
}

bool parse_int(std::string_view s, long long& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

bool parse_real(std::string_view s, double& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// Splits a line into fields: on "::" (movielens_dat), ',' (the CSV formats), or runs of tabs and
// spaces (movielens_tab). Returns the number of fields found, at most `max`.
std::size_t split(std::string_view line, Format f, std::string_view* fields, std::size_t max) {
  std::size_t n = 0;
  if (f == Format::movielens_tab) {
    std::size_t i = 0;
    while (i < line.size() && n < max) {
      while (i < line.size() && (line[i] == '\t' || line[i] == ' ')) ++i;
      if (i == line.size()) break;
      std::size_t j = i;
      while (j < line.size() && line[j] != '\t' && line[j] != ' ') ++j;
      fields[n++] = line.substr(i, j - i);
      i = j;
    }
    return n;
  }
  const std::string_view sep = f == Format::movielens_dat ? "::" : ",";
  std::size_t i = 0;
  while (n < max) {
    const std::size_t j = line.find(sep, i);
    if (j == std::string_view::npos) {
      fields[n++] = line.substr(i);
      break;
    }
    fields[n++] = line.substr(i, j - i);
    i = j + sep.size();
  }
  return n;
}

// Dense index of an id, in order of first appearance. Ids in [0, 2^24) use a flat table.
class IdMap {
 public:
  std::uint32_t get_or_add(long long id) {
    const std::int64_t found = find(id);
    if (found >= 0) return static_cast<std::uint32_t>(found);
    const auto index = static_cast<std::uint32_t>(ids_.size());
    ids_.push_back(id);
    if (id >= 0 && id < kFlat) {
      if (static_cast<std::size_t>(id) >= flat_.size())
        flat_.resize(std::min<std::size_t>(std::max<std::size_t>(id + 1, flat_.size() * 2), kFlat), -1);
      flat_[static_cast<std::size_t>(id)] = index;
    } else {
      map_.emplace(id, index);
    }
    return index;
  }
  std::int64_t find(long long id) const {
    if (id >= 0 && id < kFlat) {
      const auto k = static_cast<std::size_t>(id);
      return k < flat_.size() ? flat_[k] : -1;
    }
    const auto it = map_.find(id);
    return it == map_.end() ? -1 : static_cast<std::int64_t>(it->second);
  }
  const std::vector<long long>& ids() const { return ids_; }
  std::size_t size() const { return ids_.size(); }
  /// Renumbers the dense indices in increasing order of id; returns old index -> new index.
  std::vector<std::uint32_t> sort() {
    std::vector<std::uint32_t> order(ids_.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = static_cast<std::uint32_t>(k);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return ids_[a] < ids_[b]; });
    std::vector<std::uint32_t> renumber(ids_.size());
    std::vector<long long> sorted(ids_.size());
    for (std::size_t k = 0; k < order.size(); ++k) {
      renumber[order[k]] = static_cast<std::uint32_t>(k);
      sorted[k] = ids_[order[k]];
    }
    ids_ = std::move(sorted);
    for (std::size_t k = 0; k < ids_.size(); ++k) {
      const long long id = ids_[k];
      if (id >= 0 && id < kFlat)
        flat_[static_cast<std::size_t>(id)] = static_cast<std::int32_t>(k);
      else
        map_[id] = static_cast<std::uint32_t>(k);
    }
    return renumber;
  }

 private:
  static constexpr long long kFlat = 1LL << 24;
  std::vector<std::int32_t> flat_;
  std::unordered_map<long long, std::uint32_t> map_;
  std::vector<long long> ids_;
};

struct RawRating {
  long long user, item;
  double rating;
};

// Reads every rating of one file, in file order, calling add(RawRating, line) for each.
template <class Add>
Format read_ratings(const std::string& path, const std::string& format_param, Add&& add) {
  const std::string text = nmfx::read_file_maybe_gz(path);
  std::string_view all(text);
  Format format = Format::csv;
  bool detect = format_param == "auto";
  if (!detect) {
    for (Format f : {Format::movielens_tab, Format::movielens_dat, Format::movielens_csv, Format::csv})
      if (format_param == name_of(f)) format = f;
  }
  std::size_t line_no = 0, pos = 0, count = 0;
  bool first = true;
  std::string_view fields[8];
  while (pos < all.size()) {
    std::size_t end = all.find('\n', pos);
    if (end == std::string_view::npos) end = all.size();
    std::string_view line = all.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto fail = [&](const std::string& what) { throw nmfx::Error(path + ":" + std::to_string(line_no) + ": " + what); };
    if (first && detect) {
      if (line.find("::") != std::string_view::npos) {
        format = Format::movielens_dat;
      } else if (line.find('\t') != std::string_view::npos) {
        format = Format::movielens_tab;
      } else if (line.find(',') != std::string_view::npos) {
        const std::size_t n = split(line, Format::csv, fields, 8);
        long long id;
        if (!parse_int(fields[0], id)) {  // a header
          format = line.rfind("userId,movieId,rating", 0) == 0 ? Format::movielens_csv : Format::csv;
        } else {
          format = n >= 4 ? Format::movielens_csv : Format::csv;
        }
      } else if (line.find(' ') != std::string_view::npos) {
        format = Format::movielens_tab;  // whitespace-separated
      } else {
        fail("cannot detect the format (no '::', tab, ',' or space in the first line); set format");
      }
    }
    const bool header_allowed = first && (format == Format::movielens_csv || format == Format::csv);
    first = false;
    const std::size_t n = split(line, format, fields, 8);
    long long user, item;
    if (header_allowed && n > 0 && !parse_int(fields[0], user)) continue;  // header line
    const std::size_t min_fields = 3, max_fields = format == Format::csv ? 3 : 8;
    if (n < min_fields || n > max_fields || (format != Format::csv && n == 8))
      fail("expected " +
           std::string(format == Format::csv ? "3 fields (row,col,value)" : "user, item, rating[, timestamp]") +
           " separated by " +
           (format == Format::movielens_dat   ? "'::'"
            : format == Format::movielens_tab ? "tabs"
                                              : "','") +
           ", got " + std::to_string(n) + " field" + (n == 1 ? "" : "s") + " (format " + name_of(format) + ")");
    if (!parse_int(fields[0], user)) fail("user id '" + std::string(fields[0]) + "' is not an integer");
    if (!parse_int(fields[1], item)) fail("item id '" + std::string(fields[1]) + "' is not an integer");
    double rating;
    if (!parse_real(fields[2], rating) || !std::isfinite(rating))
      fail("rating '" + std::string(fields[2]) + "' is not a finite number");
    if (rating < 0) fail("rating " + std::string(fields[2]) + " is negative; NMF needs ratings >= 0");
    add(RawRating{user, item, rating}, line_no);
    ++count;
  }
  if (count == 0) throw nmfx::Error(path + ": no ratings in the file");
  return format;
}

class Ratings final : public nmfx::Dataset {
 public:
  explicit Ratings(const nmfx::Params& p) : p_(p) {}

  nmfx::Data load() override {
    const std::string path = p_.str("path");
    std::string test_path = p_.str("test_path");
    // An unset optional path reaches the plugin as the spec's folder: treat a folder as unset.
    if (!test_path.empty() && std::filesystem::is_directory(test_path)) test_path.clear();
    const std::string format_param = p_.str("format");
    const bool sorted_ids = p_.str("ids") == "sorted";

    IdMap users, items;
    std::vector<Triplet> triplets;
    std::size_t lines = 0;
    const Format format = read_ratings(path, format_param, [&](const RawRating& x, std::size_t) {
      ++lines;
      triplets.push_back(Triplet{users.get_or_add(x.user), items.get_or_add(x.item), x.rating});
    });
    if (sorted_ids) {
      const auto ru = users.sort(), ri = items.sort();
      for (Triplet& t : triplets) {
        t.u = ru[t.u];
        t.i = ri[t.i];
      }
    }
    std::size_t duplicates = 0;
    nmfx::SparseMatrix all = nmfx_ratings::to_csr(triplets, users.size(), items.size(), &duplicates);
    triplets.clear();
    triplets.shrink_to_fit();

    nmfx::Data data;
    data.kind = nmfx::DataKind::observed;
    nmfx::json info = {{"path", path},
                       {"format", name_of(format)},
                       {"ratings_read", lines},
                       {"duplicates_dropped", duplicates},
                       {"id_order", sorted_ids ? "sorted" : "first_seen"},
                       {"users", users.size()},
                       {"items", items.size()}};
    if (test_path.empty()) {
      const double fraction = p_.real("test_fraction");
      const auto seed = static_cast<std::uint64_t>(p_.integer("seed"));
      nmfx_ratings::split(all, fraction, seed, data.sparse, data.test);
      info["split"] = "random";
      info["test_fraction"] = fraction;
      info["split_seed"] = seed;
    } else {
      data.sparse = std::move(all);
      std::size_t test_lines = 0, unknown_user = 0, unknown_item = 0, also_in_train = 0;
      std::vector<Triplet> test;
      const Format test_format = read_ratings(test_path, format_param, [&](const RawRating& x, std::size_t) {
        ++test_lines;
        const std::int64_t u = users.find(x.user), i = items.find(x.item);
        if (u < 0) {
          ++unknown_user;
          return;
        }
        if (i < 0) {
          ++unknown_item;
          return;
        }
        test.push_back(Triplet{static_cast<std::uint32_t>(u), static_cast<std::uint32_t>(i), x.rating});
      });
      std::size_t test_duplicates = 0;
      data.test = nmfx_ratings::to_csr(test, users.size(), items.size(), &test_duplicates);
      for (std::size_t u = 0; u < data.test.rows; ++u) {
        // Both rows are sorted by item: count the pairs present in both.
        std::size_t a = data.sparse.indptr[u], b = data.test.indptr[u];
        while (a < data.sparse.indptr[u + 1] && b < data.test.indptr[u + 1]) {
          if (data.sparse.indices[a] < data.test.indices[b]) {
            ++a;
          } else if (data.sparse.indices[a] > data.test.indices[b]) {
            ++b;
          } else {
            ++also_in_train;
            ++a;
            ++b;
          }
        }
      }
      info["split"] = "file";
      info["test_path"] = test_path;
      info["test_format"] = name_of(test_format);
      info["test_ratings_read"] = test_lines;
      info["test_dropped_unknown_user"] = unknown_user;
      info["test_dropped_unknown_item"] = unknown_item;
      info["test_duplicates_dropped"] = test_duplicates;
      info["test_pairs_also_in_train"] = also_in_train;
    }
    info["train"] = data.sparse.nnz();
    info["test"] = data.test.nnz();
    info["users_without_training"] = nmfx_ratings::empty_rows(data.sparse);
    info["items_without_training"] = nmfx_ratings::empty_cols(data.sparse);
    if (!data.sparse.values.empty()) {
      const auto [lo, hi] = std::minmax_element(data.sparse.values.begin(), data.sparse.values.end());
      info["rating_min"] = *lo;
      info["rating_max"] = *hi;
    }
    if (p_.boolean("keep_ids")) {
      info["user_ids"] = users.ids();
      info["item_ids"] = items.ids();
    }
    info["description"] = std::to_string(users.size()) + " users x " + std::to_string(items.size()) + " items, " +
                          std::to_string(data.sparse.nnz()) + " training and " + std::to_string(data.test.nnz()) +
                          " test ratings from " + std::filesystem::path(path).filename().string();
    data.info = std::move(info);
    return data;
  }

 private:
  nmfx::Params p_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Dataset, Ratings>(
      "ratings", "1.0.0",
      "a rating file (MovieLens u.data, ratings.dat, ratings.csv, or row,col,value CSV) as observed entries with a "
      "train/test split");
  d.data_kinds = {nmfx::DataKind::observed};
  nmfx::ParamSpec test_path{"test_path",
                            nmfx::ParamType::path,
                            "",
                            {},
                            {},
                            {},
                            "a separate file of test ratings (e.g. MovieLens ua.test); then the main file is all "
                            "training and test_fraction is ignored; unknown user or item ids are dropped and counted"};
  d.params = {
      nmfx::param_path("path", "the rating file (optionally gzipped): one rating per line"),
      nmfx::param_choice("format", "auto", {"auto", "movielens_tab", "movielens_dat", "movielens_csv", "csv"},
                         "auto detects from the first line: '::' dat, tab tab, ',' with a userId header or 4 fields "
                         "movielens_csv, else csv (row,col,value)"),
      nmfx::param_real("test_fraction", 0.2, "fraction of the ratings held out for testing, chosen at random", 0.0,
                       1.0),
      nmfx::param_int("seed", 0, "seed of the random split (independent of the run's seed)", 0),
      test_path,
      nmfx::param_choice("ids", "first_seen", {"first_seen", "sorted"},
                         "dense indices of users and items: in order of first appearance in the file, or by "
                         "increasing id"),
      nmfx::param_bool("keep_ids", true, "record the original ids in info (user_ids, item_ids: dense index -> id)"),
  };
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
