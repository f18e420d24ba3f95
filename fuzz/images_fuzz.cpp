// libFuzzer target for the `images` dataset's decoder: our PGM/PPM reader, the PNG CRC and JPEG
// marker checks, stb_image (PNG, JPEG), then centre crop and stb_image_resize on what decodes.
// Not part of the CMake build; see fuzz/README.md for the build command.
#include <cstddef>
#include <cstdint>

#include <nmfx/types.hpp>

#include "../plugins/datasets/images/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    nmfx_images::GrayImage img = nmfx_images::decode_image(data, size, "fuzz");
    if (img.pixels.size() != img.height * img.width) __builtin_trap();
    for (double v : img.pixels)
      if (!(v >= 0.0 && v <= 1.0)) __builtin_trap();
    if (img.pixels.size() <= (1u << 16)) {
      const std::size_t h = (img.height + 1) / 2, w = (img.width + 1) / 2;
      nmfx_images::GrayImage c = nmfx_images::center_crop(img, h, w, "fuzz");
      const auto filter = static_cast<nmfx_images::Filter>(size % 6);
      nmfx_images::GrayImage r = nmfx_images::resize(c, h + 3, w + 1, filter, "fuzz");
      for (double v : r.pixels)
        if (!(v >= 0.0 && v <= 1.0)) __builtin_trap();
    }
  } catch (const nmfx::Error&) {
  }
  return 0;
}
