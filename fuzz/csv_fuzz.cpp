// libFuzzer target for the `csv` dataset's reader (plugins/datasets/csv/csv_reader.cpp). The first
// input byte chooses the options (delimiter, skip_rows, drop_columns, negative: clip); the rest is
// the file. The result must be a dense matrix of finite nonnegative values whose shape agrees with
// info. Not part of the CMake build; see fuzz/README.md.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmfx/types.hpp>

#include "../plugins/datasets/csv/csv_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const char* delimiters[] = {"auto", "comma", "tab", "semicolon", "space", "auto", "auto", "comma"};
  static const char* drops[] = {"", "0", "-1", "1:3", "0,-1", ":2", "-2:", "3"};
  csv::Options o;
  o.delimiter = delimiters[data[0] & 7];
  o.drop_columns = drops[(data[0] >> 3) & 7];
  o.skip_rows = (data[0] >> 6) & 1;
  o.clip_negative = data[0] >> 7;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const nmfx::Data X = csv::parse(bytes, "fuzz.csv", o);
    if (X.kind != nmfx::DataKind::dense || X.dense.size() == 0) __builtin_trap();
    const auto& shape = X.info.at("file_shape");
    if (shape[0].get<std::size_t>() != X.dense.shape(0) || shape[1].get<std::size_t>() < X.dense.shape(1))
      __builtin_trap();
    for (double v : X.dense)
      if (!(v >= 0.0) || !std::isfinite(v)) __builtin_trap();
  } catch (const nmfx::Error&) {
  }
  return 0;
}
