// Decoding of PGM/PPM (our own strict reader), PNG and JPEG (stb_image, after our own integrity
// checks: PNG chunk CRCs; the JPEG marker structure up to its end-of-image marker, its Huffman
// tables, and its declared size against its length), and the per-image steps of the `images`
// dataset.
//
// Why not stb for PNM: stb_image reads binary PNM only, returns the raw samples without dividing
// by the file's maxval, and does not notice a truncated raster (it returns uninitialised pixels).
// Why the PNG and JPEG checks: stb_image skips PNG CRCs and pads a truncated JPEG with zeros, so a
// damaged file would decode "successfully" into wrong pixels; and stb_image 2.27 (Debian 12) reads
// and writes out of bounds on some malformed Huffman tables (found by fuzz/images_fuzz.cpp).
#include "decode.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

#include <nmfx/types.hpp>

// stb_image: PNG and JPEG only (the formats we hand it), from memory, functions static to this file.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_STATIC
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace nmfx_images {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) { throw nmfx::Error(name + ": " + what); }

std::string num(std::size_t v) { return std::to_string(v); }

double luma(double r, double g, double b) { return 0.299 * r + 0.587 * g + 0.114 * b; }

void check_pixels(std::size_t w, std::size_t h, const std::string& name, const char* format) {
  if (w == 0 || h == 0) fail(name, std::string(format) + " image has zero width or height");
  if (w > kMaxPixels / h)
    fail(name, std::string(format) + " image of " + num(w) + " x " + num(h) + " pixels is larger than the limit of " +
                   num(kMaxPixels) + " pixels");
}

// ---------------------------------------------------------------------------------------------
// PNM: P2 / P5 (gray), P3 / P6 (RGB), maxval 1..65535 (two bytes per binary sample above 255).

bool pnm_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

class PnmReader {
 public:
  PnmReader(const unsigned char* p, std::size_t n, const std::string& name) : p_(p), n_(n), name_(name) {}

  GrayImage read() {
    if (n_ < 2) fail(name_, "truncated PNM file (" + num(n_) + " bytes)");
    const char kind = static_cast<char>(p_[1]);
    if (kind == '1' || kind == '4') fail(name_, "PBM bitmaps (P1, P4) are not supported; convert to PGM");
    if (kind == '7') fail(name_, "PAM (P7) files are not supported; convert to PGM or PNG");
    if (kind != '2' && kind != '3' && kind != '5' && kind != '6')
      fail(name_, std::string("unknown PNM type 'P") + (std::isprint(p_[1]) ? std::string(1, kind) : "?") + "'");
    const bool ascii = kind == '2' || kind == '3';
    const std::size_t channels = (kind == '3' || kind == '6') ? 3 : 1;
    const char* format = channels == 1 ? "PGM" : "PPM";
    pos_ = 2;
    const std::size_t width = header_number("width");
    const std::size_t height = header_number("height");
    const std::size_t maxval = header_number("maxval");
    check_pixels(width, height, name_, format);
    if (maxval == 0 || maxval > 65535)
      fail(name_, std::string("bad ") + format + " header: maxval " + num(maxval) + " is outside 1..65535");
    if (pos_ >= n_) fail(name_, std::string("truncated ") + format + " file: no pixel data after the header");
    if (!pnm_space(p_[pos_]))
      fail(name_, std::string("bad ") + format + " header: expected whitespace after maxval at offset " + num(pos_));
    ++pos_;

    const std::size_t samples = width * height * channels;
    std::vector<std::uint32_t> raw(0);
    if (ascii) {
      // k samples take at least 2k - 1 bytes; checked before allocating anything large.
      if (samples > (n_ - pos_ + 1) / 2)
        fail(name_, std::string("truncated ") + format + " file: " + num(samples) + " samples expected, the file has " +
                        num(n_ - pos_) + " bytes of data");
      raw.resize(samples);
      for (std::size_t k = 0; k < samples; ++k) {
        while (pos_ < n_ && pnm_space(p_[pos_])) ++pos_;
        if (pos_ >= n_)
          fail(name_, std::string("truncated ") + format + " file: " + num(k) + " of " + num(samples) + " samples");
        if (!std::isdigit(p_[pos_])) fail(name_, bad_char("a sample"));
        std::uint32_t v = 0;
        int digits = 0;
        while (pos_ < n_ && std::isdigit(p_[pos_])) {
          if (++digits > 6) fail(name_, "sample at offset " + num(pos_) + " has too many digits");
          v = v * 10 + static_cast<std::uint32_t>(p_[pos_++] - '0');
        }
        if (pos_ < n_ && !pnm_space(p_[pos_])) fail(name_, bad_char("whitespace after a sample"));
        raw[k] = v;
      }
    } else {
      const std::size_t bytes_per = maxval > 255 ? 2 : 1;
      const std::size_t need = samples * bytes_per;
      if (n_ - pos_ < need)
        fail(name_, std::string("truncated ") + format + " file: the raster needs " + num(need) + " bytes, " +
                        num(n_ - pos_) + " are left");
      raw.resize(samples);
      for (std::size_t k = 0; k < samples; ++k) {
        raw[k] = bytes_per == 1 ? p_[pos_ + k] : (std::uint32_t(p_[pos_ + 2 * k]) << 8) | p_[pos_ + 2 * k + 1];
      }
      pos_ += need;
    }
    for (std::size_t k = 0; k < samples; ++k)
      if (raw[k] > maxval)
        fail(name_, "sample " + num(raw[k]) + " at pixel (" + num(k / channels / width) + ", " +
                        num(k / channels % width) + ") exceeds maxval " + num(maxval));
    std::size_t trailing = pos_;
    while (trailing < n_ && pnm_space(p_[trailing])) ++trailing;
    if (trailing < n_)
      fail(name_, num(n_ - pos_) + " bytes of extra data after the image at offset " + num(pos_) +
                      " (files holding several images are not supported)");

    GrayImage img;
    img.height = height;
    img.width = width;
    img.pixels.resize(width * height);
    const double scale = 1.0 / static_cast<double>(maxval);
    for (std::size_t i = 0; i < width * height; ++i)
      img.pixels[i] =
          channels == 1 ? raw[i] * scale : luma(raw[3 * i] * scale, raw[3 * i + 1] * scale, raw[3 * i + 2] * scale);
    return img;
  }

 private:
  std::string bad_char(const char* expected) const {
    const unsigned char c = p_[pos_];
    const std::string shown = std::isprint(c) ? std::string("'") + static_cast<char>(c) + "'" : "byte " + num(c);
    return "unexpected " + shown + " at offset " + num(pos_) + " (expected " + expected + ")";
  }

  // Skips whitespace and '#' comments (to the end of the line), then reads a decimal number.
  std::size_t header_number(const char* what) {
    for (;;) {
      while (pos_ < n_ && pnm_space(p_[pos_])) ++pos_;
      if (pos_ < n_ && p_[pos_] == '#') {
        while (pos_ < n_ && p_[pos_] != '\n' && p_[pos_] != '\r') ++pos_;
        continue;
      }
      break;
    }
    if (pos_ >= n_) fail(name_, std::string("truncated PNM header: no ") + what);
    if (!std::isdigit(p_[pos_])) fail(name_, "bad PNM header: " + bad_char((std::string("the ") + what).c_str()));
    std::size_t v = 0;
    int digits = 0;
    while (pos_ < n_ && std::isdigit(p_[pos_])) {
      if (++digits > 9) fail(name_, std::string("bad PNM header: the ") + what + " is too large");
      v = v * 10 + static_cast<std::size_t>(p_[pos_++] - '0');
    }
    return v;
  }

  const unsigned char* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  const std::string& name_;
};

// ---------------------------------------------------------------------------------------------
// Integrity checks stb_image does not make.

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

std::string chunk_name(const unsigned char* p) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += std::isalpha(p[i]) ? static_cast<char>(p[i]) : '?';
  return s;
}

// Every chunk complete and matching its CRC, up to IEND.
void check_png(const unsigned char* p, std::size_t n, const std::string& name) {
  std::size_t pos = 8;
  for (;;) {
    if (n - pos < 12) fail(name, "truncated PNG file: it ends at offset " + num(n) + " before the IEND chunk");
    const std::uint32_t len = be32(p + pos);
    const std::string type = chunk_name(p + pos + 4);
    if (len > 0x7fffffffu || n - pos - 12 < len)
      fail(name, "truncated PNG file: chunk '" + type + "' at offset " + num(pos) + " declares " + num(len) +
                     " bytes, the file ends before");
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), p + pos + 4, static_cast<uInt>(len + 4));
    if (crc != be32(p + pos + 8 + len))
      fail(name, "corrupt PNG file: chunk '" + type + "' at offset " + num(pos) + " fails its CRC check");
    if (std::memcmp(p + pos + 4, "IEND", 4) == 0) return;
    pos += 12 + len;
  }
}

// The marker structure of a JPEG up to its end-of-image marker (a truncated file has none), and
// its tables: stb_image 2.27 overflows its tables on a DHT segment declaring more than 256 codes,
// and decodes with uninitialised tables when a scan uses a Huffman table no DHT defined, or a
// component's quantization table no DQT defined (all found by fuzz/images_fuzz.cpp: out-of-bounds
// reads and writes, and products of uninitialised numbers), so these are refused here first.
void check_jpeg(const unsigned char* p, std::size_t n, const std::string& name) {
  const std::string truncated = "truncated JPEG file: no end-of-image marker";
  const auto corrupt = [&](const std::string& what, std::size_t at) {
    fail(name, "corrupt JPEG file: " + what + " at offset " + num(at));
  };
  bool defined[2][4] = {{false, false, false, false}, {false, false, false, false}};  // [DC, AC][table]
  bool quant_defined[4] = {false, false, false, false};
  std::vector<std::pair<unsigned, unsigned>> components;  // the frame's (component id, quantization table)
  const auto check_quant = [&](unsigned id, std::size_t at) {
    for (const auto& [c, tq] : components)
      if (c == id) {
        if (!quant_defined[tq]) corrupt("a component uses a quantization table that was never defined", at);
        return;
      }
    corrupt("a scan names a component the frame header does not declare", at);
  };
  bool progressive = false;
  std::size_t pos = 2;
  for (;;) {
    if (pos >= n) fail(name, truncated);
    if (p[pos] != 0xFF) corrupt("expected a marker", pos);
    while (pos < n && p[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= n) fail(name, truncated);
    const unsigned char m = p[pos++];
    if (m == 0xD9) {  // EOI; a progressive decoder dequantizes every component at the end
      for (const auto& c : components) check_quant(c.first, pos - 2);
      return;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // TEM, RSTn: no length
    if (m == 0x00 || m == 0xD8) corrupt("unexpected marker", pos - 2);
    if (n - pos < 2) fail(name, truncated);
    const std::size_t len = (std::size_t(p[pos]) << 8) | p[pos + 1];
    if (len < 2) corrupt("segment length " + num(len), pos);
    if (n - pos < len) fail(name, truncated);
    const std::size_t seg = pos + 2, end = pos + len;  // the segment's payload is [seg, end)
    // Start of frame: stb_image decodes baseline and progressive Huffman-coded JPEGs only.
    if (m >= 0xC3 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      const char* kind = m == 0xC3 || m == 0xC7 || m == 0xCB || m == 0xCF ? "lossless"
                         : m >= 0xC9                                      ? "arithmetic-coded"
                                                                          : "hierarchical";
      fail(name, std::string("unsupported JPEG: ") + kind + " (SOF" + num(m - 0xC0) +
                     "); only baseline and progressive Huffman-coded JPEGs are read");
    }
    if (m == 0xC2) progressive = true;
    if (m >= 0xC0 && m <= 0xC2) {  // SOF: precision, height, width, then (id, sampling, table) per component
      if (len < 8 || len != 8 + 3 * std::size_t(p[seg + 5])) corrupt("bad frame header length", seg);
      components.clear();
      for (std::size_t i = 0; i < p[seg + 5]; ++i) {
        const unsigned tq = p[seg + 8 + 3 * i];
        if (tq > 3) corrupt("bad quantization table id in the frame header", seg);
        components.emplace_back(p[seg + 6 + 3 * i], tq);
      }
    }
    if (m == 0xDB) {  // DQT: one or more tables of 64 entries, 8 or 16 bits each
      for (std::size_t q = seg; q < end;) {
        const unsigned pq = p[q] >> 4, tq = p[q] & 15;
        if (pq > 1 || tq > 3) corrupt("bad quantization table precision or id", q);
        const std::size_t size = 1 + 64 * (pq + 1);
        if (end - q < size) corrupt("short quantization table", q);
        quant_defined[tq] = true;
        q += size;
      }
    }
    if (m == 0xC4) {  // DHT: one or more tables
      std::size_t q = seg;
      while (q < end) {
        if (end - q < 17) corrupt("short Huffman table", q);
        const unsigned tc = p[q] >> 4, th = p[q] & 15;
        if (tc > 1 || th > 3) corrupt("bad Huffman table class or id", q);
        std::size_t count = 0, code = 0;
        for (int j = 1; j <= 16; ++j) {
          count += p[q + j];
          code = (code + p[q + j]);
          if (code > (std::size_t(1) << j)) corrupt("Huffman code lengths that cannot form a code", q);
          code <<= 1;
        }
        if (count > 256) corrupt("Huffman table of " + num(count) + " codes (at most 256)", q);
        if (end - q - 17 < count) corrupt("short Huffman table", q);
        defined[tc][th] = true;
        q += 17 + count;
      }
    }
    pos = end;
    if (m == 0xDA) {  // start of scan: the tables it uses must exist
      if (len < 3) corrupt("short scan header", seg);
      const std::size_t ns = p[seg];
      if (len != 6 + 2 * ns) corrupt("bad scan header length", seg);
      const unsigned ss = p[seg + 1 + 2 * ns], ah = p[seg + 3 + 2 * ns] >> 4;
      for (std::size_t i = 0; i < ns; ++i) {
        check_quant(p[seg + 1 + 2 * i], seg);
        const unsigned td = p[seg + 2 + 2 * i] >> 4, ta = p[seg + 2 + 2 * i] & 15;
        if (td > 3 || ta > 3) corrupt("bad Huffman table id in the scan header", seg);
        const bool uses_dc = progressive ? (ss == 0 && ah == 0) : true;
        const bool uses_ac = progressive ? ss > 0 : true;
        if ((uses_dc && !defined[0][td]) || (uses_ac && !defined[1][ta]))
          corrupt("a scan uses a Huffman table that was never defined", seg);
      }
      // Entropy-coded data up to the next marker.
      while (pos < n) {
        if (p[pos] != 0xFF) {
          ++pos;
          continue;
        }
        if (pos + 1 >= n) break;
        const unsigned char next = p[pos + 1];
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
          pos += 2;  // stuffed byte or restart marker
        } else if (next == 0xFF) {
          ++pos;  // fill byte
        } else {
          break;  // a marker: the outer loop reads it
        }
      }
    }
  }
}

GrayImage decode_stb(const unsigned char* p, std::size_t n, const std::string& name, const char* format) {
  if (n > static_cast<std::size_t>(INT32_MAX)) fail(name, std::string(format) + " file is larger than 2 GiB");
  const int len = static_cast<int>(n);
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(p, len, &w, &h, &comp))
    fail(name, std::string("cannot read the ") + format + " header (" + stbi_failure_reason() + ")");
  if (w <= 0 || h <= 0) fail(name, std::string(format) + " image has zero width or height");
  check_pixels(static_cast<std::size_t>(w), static_cast<std::size_t>(h), name, format);
  // Every 8x8 block of a JPEG costs at least one bit (its first DC code), so a JPEG holds at most
  // 512 pixels per byte; a file declaring far more is damaged (found by fuzzing: 267 bytes
  // declaring 240 x 65514 pixels took stb seconds to "decode" into blocks of nothing).
  if (std::strcmp(format, "JPEG") == 0 && static_cast<std::size_t>(w) * static_cast<std::size_t>(h) > 1024 * n)
    fail(name, "corrupt JPEG file: it declares " + num(static_cast<std::size_t>(h)) + "x" +
                   num(static_cast<std::size_t>(w)) + " (height x width) pixels, more than its " + num(n) +
                   " bytes can encode");
  const bool deep = stbi_is_16_bit_from_memory(p, len) != 0;
  int w2 = 0, h2 = 0, c = 0;
  void* data = deep ? static_cast<void*>(stbi_load_16_from_memory(p, len, &w2, &h2, &c, 0))
                    : static_cast<void*>(stbi_load_from_memory(p, len, &w2, &h2, &c, 0));
  if (!data) fail(name, std::string("cannot decode the ") + format + " image (" + stbi_failure_reason() + ")");
  struct Free {
    void* d;
    ~Free() { stbi_image_free(d); }
  } guard{data};
  if (w2 != w || h2 != h || c < 1 || c > 4)
    fail(name, std::string("the ") + format + " decoder returned an inconsistent image");
  GrayImage img;
  img.width = static_cast<std::size_t>(w);
  img.height = static_cast<std::size_t>(h);
  const std::size_t count = img.width * img.height;
  img.pixels.resize(count);
  const double scale = deep ? 1.0 / 65535.0 : 1.0 / 255.0;
  auto sample = [&](std::size_t k) -> double {
    return deep ? static_cast<const stbi_us*>(data)[k] * scale : static_cast<const stbi_uc*>(data)[k] * scale;
  };
  const std::size_t cs = static_cast<std::size_t>(c);
  for (std::size_t i = 0; i < count; ++i)
    img.pixels[i] = cs <= 2 ? sample(cs * i) : luma(sample(cs * i), sample(cs * i + 1), sample(cs * i + 2));
  return img;
}

}  // namespace

GrayImage decode_image(const unsigned char* p, std::size_t n, const std::string& name) {
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n == 0) fail(name, "empty file");
  if (n >= 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '7') return PnmReader(p, n, name).read();
  if (n >= 8 && std::memcmp(p, png_sig, 8) == 0) {
    check_png(p, n, name);
    return decode_stb(p, n, name, "PNG");
  }
  if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
    check_jpeg(p, n, name);
    return decode_stb(p, n, name, "JPEG");
  }
  fail(name, "not a PGM, PPM, PNG or JPEG file (unrecognised signature)");
}

GrayImage center_crop(const GrayImage& image, std::size_t h, std::size_t w, const std::string& name) {
  if (h > image.height || w > image.width)
    fail(name, "cannot crop " + num(h) + "x" + num(w) + " out of an image of " + num(image.height) + "x" +
                   num(image.width) + " (height x width)");
  const std::size_t top = (image.height - h) / 2, left = (image.width - w) / 2;
  GrayImage out;
  out.height = h;
  out.width = w;
  out.pixels.resize(h * w);
  for (std::size_t r = 0; r < h; ++r)
    std::copy_n(image.pixels.begin() + static_cast<std::ptrdiff_t>((top + r) * image.width + left), w,
                out.pixels.begin() + static_cast<std::ptrdiff_t>(r * w));
  return out;
}

Filter parse_filter(const std::string& text) {
  if (text == "auto") return Filter::automatic;
  if (text == "box") return Filter::box;
  if (text == "triangle") return Filter::triangle;
  if (text == "cubic_bspline") return Filter::cubic_bspline;
  if (text == "catmull_rom") return Filter::catmull_rom;
  if (text == "mitchell") return Filter::mitchell;
  throw nmfx::Error("filter: unknown resize filter '" + text + "'");
}

GrayImage resize(const GrayImage& image, std::size_t h, std::size_t w, Filter filter, const std::string& name) {
  if (h == image.height && w == image.width) return image;
  GrayImage res;
  res.height = h;
  res.width = w;
  const double first = image.pixels.front();
  if (std::all_of(image.pixels.begin(), image.pixels.end(), [&](double v) { return v == first; })) {
    res.pixels.assign(h * w, first);
    return res;
  }
  stbir_filter f = STBIR_FILTER_DEFAULT;
  switch (filter) {
    case Filter::automatic:
      f = STBIR_FILTER_DEFAULT;
      break;
    case Filter::box:
      f = STBIR_FILTER_BOX;
      break;
    case Filter::triangle:
      f = STBIR_FILTER_TRIANGLE;
      break;
    case Filter::cubic_bspline:
      f = STBIR_FILTER_CUBICBSPLINE;
      break;
    case Filter::catmull_rom:
      f = STBIR_FILTER_CATMULLROM;
      break;
    case Filter::mitchell:
      f = STBIR_FILTER_MITCHELL;
      break;
  }
  std::vector<float> in(image.pixels.begin(), image.pixels.end());
  std::vector<float> out(h * w);
  if (!stbir_resize_float_generic(in.data(), static_cast<int>(image.width), static_cast<int>(image.height), 0,
                                  out.data(), static_cast<int>(w), static_cast<int>(h), 0, 1, STBIR_ALPHA_CHANNEL_NONE,
                                  0, STBIR_EDGE_CLAMP, f, STBIR_COLORSPACE_LINEAR, nullptr))
    fail(name, "resizing to " + num(h) + "x" + num(w) + " failed (out of memory?)");
  res.pixels.resize(h * w);
  for (std::size_t k = 0; k < h * w; ++k) res.pixels[k] = std::clamp(static_cast<double>(out[k]), 0.0, 1.0);
  return res;
}

std::pair<std::size_t, std::size_t> parse_shape(const std::string& text, const std::string& param) {
  if (text.empty()) return {0, 0};
  const auto bad = [&] {
    throw nmfx::Error(param + ": expected HxW (height x width, e.g. 64x64), got '" + text + "'");
  };
  std::size_t pos = 0;
  auto number = [&]() -> std::size_t {
    std::size_t v = 0;
    const std::size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      v = v * 10 + static_cast<std::size_t>(text[pos++] - '0');
      if (v > 65535) throw nmfx::Error(param + ": '" + text + "' is larger than 65535 pixels on a side");
    }
    if (pos == start || v == 0) bad();
    return v;
  };
  const std::size_t h = number();
  if (pos >= text.size() || (text[pos] != 'x' && text[pos] != 'X')) bad();
  ++pos;
  const std::size_t w = number();
  if (pos != text.size()) bad();
  if (w > kMaxPixels / h) throw nmfx::Error(param + ": '" + text + "' is larger than the pixel limit");
  return {h, w};
}

}  // namespace nmfx_images
