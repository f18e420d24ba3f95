// libFuzzer target for the `npy` dataset's parsers: nmfx::parse_npy (framework/plugin_api/src/npy.cpp) on the
// input, or, if the input is a ZIP archive, the .npz reader (plugins/datasets/npy/npz.cpp) on
// every member and parse_npy on what it extracts. A parsed array's values must number the product
// of its shape. Not part of the CMake build; see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmfx/npy.hpp>
#include <nmfx/types.hpp>

#include "../plugins/datasets/npy/npz.hpp"

namespace {
void check(const std::string& bytes, const std::string& name) {
  try {
    const nmfx::NpyArray a = nmfx::parse_npy(bytes, name);
    std::size_t count = 1;
    for (std::size_t d : a.shape) count *= d;
    if (a.values.size() != count) __builtin_trap();
  } catch (const nmfx::Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!npz::is_zip(bytes)) {
    check(bytes, "fuzz.npy");
    return 0;
  }
  try {
    for (const npz::Member& m : npz::members(bytes, "fuzz.npz")) {
      try {
        const std::string member = npz::extract(bytes, m, "fuzz.npz");
        if (member.size() != m.size) __builtin_trap();
        check(member, "fuzz.npz member");
      } catch (const nmfx::Error&) {
      }
    }
  } catch (const nmfx::Error&) {
  }
  return 0;
}
