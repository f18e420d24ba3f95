#pragma once
/// @file file_dataset.hpp
/// A dataset read from one file by a format's parser: load, shape and load_block written once for
/// the text formats (csv, mtx), which differ only in their parser and its options. Options must have
/// the members block, rows and cols (the block of the stored matrix to keep).
#include <string>
#include <tuple>
#include <utility>

#include <nmfx/dataset_util.hpp>
#include <nmfx/plugin.hpp>

namespace nmfx_common {

template <class Options>
class FileDataset : public nmfx::Dataset {
 public:
  using Parse = nmfx::Data (*)(const std::string& path, const Options& options);
  using ReadShape = std::pair<std::size_t, std::size_t> (*)(const std::string& path, const Options& options);

  FileDataset(std::string format, const nmfx::Params& p, Options options, Parse parse, ReadShape read_shape)
      : format_(std::move(format)),
        params_(p),
        path_(p.str("path")),
        options_(std::move(options)),
        parse_(parse),
        read_shape_(read_shape) {}

  nmfx::Data load() override {
    nmfx::Data data = parse_(path_, options_);
    nmfx::apply_common_options(data, params_);
    data.info["shape"] = {data.rows(), data.cols()};
    return data;
  }

  // One pass over the file that parses and checks every field and keeps none.
  std::pair<std::size_t, std::size_t> shape() override {
    const auto [M, N] = read_shape_(path_, options_);
    return nmfx::shape_after_options(params_, M, N);
  }

  // One pass over the file keeping only the values inside the block (of the stored matrix: the
  // swapped block under transpose, transposed back by apply_common_options).
  nmfx::Data load_block(const nmfx::Range& rows, const nmfx::Range& cols) override {
    Options options = options_;
    options.block = true;
    std::tie(options.rows, options.cols) = nmfx::stored_block(format_, params_, rows, cols);
    nmfx::Data data = parse_(path_, options);
    nmfx::apply_common_options(data, params_);
    data.info["shape"] = {data.rows(), data.cols()};
    data.info["block"] = {{"rows", {rows.begin, rows.end}}, {"cols", {cols.begin, cols.end}}};
    return data;
  }

 private:
  std::string format_;
  nmfx::Params params_;
  std::string path_;
  Options options_;
  Parse parse_;
  ReadShape read_shape_;
};

}  // namespace nmfx_common
