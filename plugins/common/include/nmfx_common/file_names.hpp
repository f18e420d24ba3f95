#pragma once
/// @file file_names.hpp
/// Choosing files of a folder by extension, for the datasets that read a folder tree (images, text).
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace nmfx_common {

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// "png, .JPG,jpeg" -> {"png", "jpg", "jpeg"}: spaces and leading dots dropped, lower case.
inline std::vector<std::string> split_extensions(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text + ",") {
    if (c == ',') {
      while (!cur.empty() && cur.front() == ' ') cur.erase(cur.begin());
      while (!cur.empty() && cur.back() == ' ') cur.pop_back();
      if (!cur.empty() && cur.front() == '.') cur.erase(cur.begin());
      if (!cur.empty()) out.push_back(lower(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

/// Whether `filename` ends in "." and one of `extensions` (any case); an empty list takes every file.
inline bool has_extension(const std::string& filename, const std::vector<std::string>& extensions) {
  if (extensions.empty()) return true;
  const std::string name = lower(filename);
  return std::any_of(extensions.begin(), extensions.end(), [&](const std::string& e) {
    return name.size() > e.size() + 1 && name.compare(name.size() - e.size(), e.size(), e) == 0 &&
           name[name.size() - e.size() - 1] == '.';
  });
}

}  // namespace nmfx_common
