// X from a folder tree of PGM/PPM, PNG or JPEG images: one column per image, in the order of the
// images' relative paths, converted to grayscale, optionally centre-cropped and resized. Lee & Seung's
// normalisation (Nature 1999, Methods) is the common option `normalize: lee_seung`
// (nmfx::apply_common_options), applied per column, that is per image.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fnmatch.h>

#include <nmfx/dataset_util.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx_common/file_names.hpp>

#include "decode.hpp"

namespace fs = std::filesystem;

namespace {

using nmfx_common::has_extension;
using nmfx_common::split_extensions;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw nmfx::Error(path.string() + ": cannot open file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw nmfx::Error(path.string() + ": read error");
  return bytes;
}

class Images final : public nmfx::Dataset {
 public:
  explicit Images(const nmfx::Params& p)
      : params_(p),
        path_(p.str("path")),
        extensions_(split_extensions(p.str("extensions"))),
        pattern_(p.str("pattern")),
        max_images_(static_cast<std::size_t>(p.integer("max_images"))),
        crop_(nmfx_images::parse_shape(p.str("crop"), "crop")),
        size_(nmfx_images::parse_shape(p.str("size"), "size")),
        filter_(nmfx_images::parse_filter(p.str("filter"))) {}

  nmfx::Data load() override {
    const std::vector<std::string> files = list_files();
    const std::size_t n = files.size();
    nmfx::Data data;
    std::size_t h = 0, w = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const fs::path file = fs::is_directory(path_) ? fs::path(path_) / files[j] : fs::path(path_);
      const std::string name = file.string();
      const std::string bytes = read_bytes(file);
      nmfx_images::GrayImage img =
          nmfx_images::decode_image(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), name);
      if (crop_.first > 0) img = nmfx_images::center_crop(img, crop_.first, crop_.second, name);
      if (size_.first > 0) img = nmfx_images::resize(img, size_.first, size_.second, filter_, name);
      if (j == 0) {
        h = img.height;
        w = img.width;
        data.dense = nmfx::Matrix::from_shape({h * w, n});
      } else if (img.height != h || img.width != w) {
        throw nmfx::Error(name + ": the image is " + std::to_string(img.height) + "x" + std::to_string(img.width) +
                          " (height x width)" + (crop_.first > 0 ? " after cropping" : "") + ", but the first image (" +
                          files[0] + ") is " + std::to_string(h) + "x" + std::to_string(w) +
                          "; set size: HxW to resize every image");
      }
      double* x = data.dense.data();
      for (std::size_t k = 0; k < h * w; ++k) x[k * n + j] = img.pixels[k];
    }
    data.kind = nmfx::DataKind::dense;
    data.info = {{"path", path_},
                 {"image_shape", {h, w}},
                 {"images", n},
                 {"files", files},
                 {"pixel_order", "row-major: pixel (r, c) of an image is row r * width + c of X"},
                 {"grayscale", "ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B; alpha ignored"},
                 {"crop", params_.str("crop")},
                 {"size", params_.str("size")}};
    if (size_.first > 0) data.info["filter"] = params_.str("filter");
    nmfx::apply_common_options(data, params_);
    return data;
  }

 private:
  bool selected(const std::string& rel) const {
    if (!has_extension(fs::path(rel).filename().string(), extensions_)) return false;
    return pattern_.empty() || fnmatch(pattern_.c_str(), rel.c_str(), FNM_PATHNAME) == 0;
  }

  // Relative paths (generic, '/'-separated) of the selected images, sorted by byte order; hidden
  // files and folders (names starting with '.') are skipped.
  std::vector<std::string> list_files() const {
    std::error_code ec;
    const fs::file_status st = fs::status(path_, ec);
    std::vector<std::string> out;
    if (fs::is_regular_file(st)) {
      out.push_back(fs::path(path_).filename().string());
      return out;
    }
    if (!fs::is_directory(st)) throw nmfx::Error(path_ + ": no such folder");
    fs::recursive_directory_iterator it(path_, ec), end;
    if (ec) throw nmfx::Error(path_ + ": cannot list the folder (" + ec.message() + ")");
    for (; it != end; it.increment(ec)) {
      if (ec) throw nmfx::Error(path_ + ": cannot list the folder (" + ec.message() + ")");
      const std::string fname = it->path().filename().string();
      if (!fname.empty() && fname[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file()) continue;
      const std::string rel = fs::relative(it->path(), path_).generic_string();
      if (selected(rel)) out.push_back(rel);
    }
    if (ec) throw nmfx::Error(path_ + ": cannot list the folder (" + ec.message() + ")");
    std::sort(out.begin(), out.end());
    if (out.empty()) {
      std::string what = path_ + ": no image files found (extensions: " + params_.str("extensions");
      if (!pattern_.empty()) what += ", pattern: " + pattern_;
      throw nmfx::Error(what + ")");
    }
    if (max_images_ > 0 && out.size() > max_images_) out.resize(max_images_);
    return out;
  }

  nmfx::Params params_;
  std::string path_;
  std::vector<std::string> extensions_;
  std::string pattern_;
  std::size_t max_images_;
  std::pair<std::size_t, std::size_t> crop_, size_;
  nmfx_images::Filter filter_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Dataset, Images>(
      "images", "1.0.0", "X from a folder tree of PGM, PNG or JPEG images: one grayscale image per column");
  d.params = {
      nmfx::param_path(
          "path", "folder of images, searched recursively (e.g. lfw/ with lfw/Name/Name_0001.jpg), or one image file"),
      nmfx::param_string("extensions", "pgm,pnm,ppm,png,jpg,jpeg",
                         "comma-separated file name endings to read, case-insensitive; empty reads every file"),
      nmfx::param_string("pattern", "",
                         "glob on the relative path ('*' stops at '/'), e.g. '*/*_0001.*'; empty selects all"),
      nmfx::param_int("max_images", 0, "read only the first k images in path order; 0 reads all", 0),
      nmfx::param_string("crop", "", "centre crop HxW (height x width), applied before resizing; empty: no crop"),
      nmfx::param_string("size", "", "resize every image to HxW; empty: keep the size (all images must then share it)"),
      nmfx::param_choice("filter", "auto", {"auto", "box", "triangle", "cubic_bspline", "catmull_rom", "mitchell"},
                         "resize filter of stb_image_resize; auto: Catmull-Rom to enlarge, Mitchell to shrink"),
  };
  for (auto& c : nmfx::common_dataset_params()) d.params.push_back(c);
  d.data_kinds = {nmfx::DataKind::dense};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
