#pragma once
// Image decoding and the per-image steps of the `images` dataset: grayscale conversion, centre
// crop, resize. Kept apart from the plugin so that the fuzz target
// (fuzz/images_fuzz.cpp) can call decode_image() on raw bytes.
#include <cstddef>
#include <string>
#include <vector>

namespace nmfx_images {

/// A grayscale image, row-major (pixel (r, c) at r * width + c), values in [0, 1].
struct GrayImage {
  std::size_t height = 0, width = 0;
  std::vector<double> pixels;
};

/// Largest image decoded, in pixels (width x height): 2^26, e.g. 8192 x 8192.
constexpr std::size_t kMaxPixels = std::size_t(1) << 26;

/// Decodes a PGM/PPM (P2, P3, P5, P6; any maxval up to 65535), PNG (any bit depth and colour type)
/// or JPEG (baseline or progressive) held in `bytes`, recognised by its signature, whatever its
/// name. Colour becomes gray by ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B; an alpha channel is
/// ignored. Samples are divided by their maximum (255, 65535, or the PNM maxval). Throws nmfx::Error
/// "<name>: <what is wrong>" on anything malformed, truncated or unsupported.
GrayImage decode_image(const unsigned char* bytes, std::size_t size, const std::string& name);

/// The centre h x w part of `image` (top = (H - h) / 2, left = (W - w) / 2, rounded down).
/// Throws naming `name` if the image is smaller than h x w.
GrayImage center_crop(const GrayImage& image, std::size_t h, std::size_t w, const std::string& name);

/// Resize filters of stb_image_resize (auto: Catmull-Rom when enlarging, Mitchell when shrinking).
enum class Filter { automatic, box, triangle, cubic_bspline, catmull_rom, mitchell };
Filter parse_filter(const std::string& text);

/// `image` resampled to h x w by stb_image_resize (edges clamped, linear values), then clamped to
/// [0, 1] (interpolating cubics overshoot slightly at sharp edges). A constant image stays exactly
/// constant (stb's float weights would add noise of 1e-8, which a later normalisation would amplify).
GrayImage resize(const GrayImage& image, std::size_t h, std::size_t w, Filter filter, const std::string& name);

/// "HxW" (e.g. "64x64", also "64X64") -> {h, w}, both >= 1; "" -> {0, 0}. Throws naming `param`.
std::pair<std::size_t, std::size_t> parse_shape(const std::string& text, const std::string& param);

}  // namespace nmfx_images
