// The `images` dataset on images written by ImageMagick (tests/fixtures/images/make_fixtures.py):
// an LFW-like tree lfw/<Name>/<Name>_0001.<ext> of 4 x 6 images whose pixels are known formulas of
// k = 6 r + c (row r, column c). Expected values below are those formulas, not our own output.
#include <doctest/doctest.h>

#include <nmfx/params.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
const std::string images_dir = NMFX_SOURCE_DIR "/tests/fixtures/images/";
const std::string lfw = images_dir + "lfw";

std::shared_ptr<nmfx::Dataset> make_images(const nmfx::json& given) {
  const auto* p = test::registry().require(nmfx::PluginKind::dataset, "images");
  return test::registry().create<nmfx::Dataset>("images", nmfx::resolve_params(p->descriptor->params, given));
}

nmfx::Data load_images(const nmfx::json& given) { return make_images(given)->load(); }

// The one-line error of loading `given`.
std::string images_error(const nmfx::json& given) {
  try {
    load_images(given);
  } catch (const nmfx::Error& e) {
    const std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    return what;
  }
  FAIL("no error");
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

constexpr std::size_t kPixels = 24;  // 4 x 6

double luma(double r, double g, double b) { return 0.299 * r + 0.587 * g + 0.114 * b; }

}  // namespace

TEST_CASE("images reads an LFW-like tree: one column per image in path order with the gray values of each format") {
  const nmfx::Data X = load_images({{"path", lfw}});
  REQUIRE(X.kind == nmfx::DataKind::dense);
  REQUIRE(X.rows() == kPixels);
  REQUIRE(X.cols() == 10);
  CHECK(X.info["image_shape"] == nmfx::json({4, 6}));
  const std::vector<std::string> files = {
      "Alice_Gradient/Alice_Gradient_0001.pgm", "Alice_Gradient/Alice_Gradient_0002.png",
      "Bob_Constant/Bob_Constant_0001.png",     "Carol_Rgb/Carol_Rgb_0001.png",
      "Dave_Jpeg/Dave_Jpeg_0001.jpg",           "Erin_Ascii/Erin_Ascii_0001.pgm",
      "Frank_Deep/Frank_Deep_0001.pgm",         "Gina_Deep/Gina_Deep_0001.png",
      "Hank_Maxval/Hank_Maxval_0001.pgm",       "Ivy_Levels/Ivy_Levels_0001.png"};
  CHECK(X.info["files"] == nmfx::json(files));
  for (std::size_t k = 0; k < kPixels; ++k) {
    CAPTURE(k);
    const double r = static_cast<double>(k / 6), c = static_cast<double>(k % 6), kk = static_cast<double>(k);
    CHECK(X.dense(k, 0) == doctest::Approx(10 * kk / 255).epsilon(1e-15));  // P5, maxval 255
    CHECK(X.dense(k, 1) == doctest::Approx(10 * kk / 255).epsilon(1e-15));  // 8-bit gray PNG
    CHECK(X.dense(k, 2) == doctest::Approx(100.0 / 255).epsilon(1e-15));    // constant PNG
    CHECK(X.dense(k, 3) == doctest::Approx(luma(40 * c, 60 * r, 255 - 10 * kk) / 255).epsilon(1e-12));  // RGB PNG
    // JPEG is lossy: the constant colour (200, 100, 50) comes back within 2 levels per channel.
    CHECK(std::abs(X.dense(k, 4) - luma(200, 100, 50) / 255) <= 2.0 / 255);
    CHECK(X.dense(k, 5) == doctest::Approx((230 - 10 * kk) / 255).epsilon(1e-15));      // P2
    CHECK(X.dense(k, 6) == doctest::Approx((1000 * kk + 500) / 65535).epsilon(1e-15));  // 16-bit P5
    CHECK(X.dense(k, 7) == doctest::Approx(2000 * kk / 65535).epsilon(1e-15));          // 16-bit PNG
    CHECK(X.dense(k, 8) == doctest::Approx((40 * kk + 3) / 1023).epsilon(1e-15));       // P2, maxval 1023
    CHECK(X.dense(k, 9) == doctest::Approx((k < 6 ? 200.0 : 50.0) / 255).epsilon(1e-15));
  }
}

TEST_CASE("images selects files by extension - pattern and max_images") {
  CHECK(load_images({{"path", lfw}, {"extensions", "png"}}).info["files"] ==
        nmfx::json({"Alice_Gradient/Alice_Gradient_0002.png", "Bob_Constant/Bob_Constant_0001.png",
                    "Carol_Rgb/Carol_Rgb_0001.png", "Gina_Deep/Gina_Deep_0001.png", "Ivy_Levels/Ivy_Levels_0001.png"}));
  CHECK(load_images({{"path", lfw}, {"extensions", ".PGM, jpg"}}).cols() == 5);  // case and dots ignored
  CHECK(load_images({{"path", lfw}, {"pattern", "*/*_0001.*"}}).cols() == 9);
  const nmfx::Data first3 = load_images({{"path", lfw}, {"max_images", 3}});
  CHECK(first3.info["files"] ==
        nmfx::json({"Alice_Gradient/Alice_Gradient_0001.pgm", "Alice_Gradient/Alice_Gradient_0002.png",
                    "Bob_Constant/Bob_Constant_0001.png"}));
  CHECK(first3.dense(5, 2) == doctest::Approx(100.0 / 255));
  // '*' does not cross '/', so this pattern matches nothing.
  const std::string none = images_error({{"path", lfw}, {"pattern", "*_0001.*"}});
  CHECK(contains(none, "no image files found"));
  CHECK(contains(none, "pattern: *_0001.*"));
  // A single file is read as a one-column X.
  const nmfx::Data one = load_images({{"path", lfw + "/Erin_Ascii/Erin_Ascii_0001.pgm"}});
  CHECK(one.cols() == 1);
  CHECK(one.dense(23, 0) == doctest::Approx(0.0));
}

TEST_CASE("images crops the centre and resizes") {
  const std::string gradient = "Alice_Gradient/*_0001.pgm";
  // crop 2x2 of 4x6: top (4 - 2) / 2 = 1, left (6 - 2) / 2 = 2, so k = 8, 9, 14, 15.
  const nmfx::Data c22 = load_images({{"path", lfw}, {"pattern", gradient}, {"crop", "2x2"}});
  REQUIRE(c22.rows() == 4);
  CHECK(c22.info["image_shape"] == nmfx::json({2, 2}));
  const double k22[] = {8, 9, 14, 15};
  for (std::size_t i = 0; i < 4; ++i) CHECK(c22.dense(i, 0) == doctest::Approx(10 * k22[i] / 255));
  // crop 3x3: top (4 - 3) / 2 = 0 (rounded down), left (6 - 3) / 2 = 1.
  const nmfx::Data c33 = load_images({{"path", lfw}, {"pattern", gradient}, {"crop", "3X3"}});
  const double k33[] = {1, 2, 3, 7, 8, 9, 13, 14, 15};
  for (std::size_t i = 0; i < 9; ++i) CHECK(c33.dense(i, 0) == doctest::Approx(10 * k33[i] / 255));

  // Resizing a constant image keeps it constant, with every filter, shrinking or enlarging.
  for (const char* filter : {"auto", "box", "triangle", "cubic_bspline", "catmull_rom", "mitchell"})
    for (const char* size : {"2x3", "8x12", "3x5"}) {
      CAPTURE(filter);
      CAPTURE(size);
      const nmfx::Data r = load_images({{"path", lfw}, {"pattern", "Bob*/*"}, {"size", size}, {"filter", filter}});
      for (std::size_t i = 0; i < r.rows(); ++i) CHECK(r.dense(i, 0) == 100.0 / 255);
    }
  // The box filter halving 4x6 to 2x3 averages 2x2 blocks: block (R, C) holds
  // k = 12 R + 2 C + {0, 1, 6, 7}, whose mean is 12 R + 2 C + 3.5.
  const nmfx::Data half = load_images({{"path", lfw}, {"pattern", gradient}, {"size", "2x3"}, {"filter", "box"}});
  CHECK(half.info["image_shape"] == nmfx::json({2, 3}));
  for (std::size_t R = 0; R < 2; ++R)
    for (std::size_t C = 0; C < 3; ++C)
      CHECK(std::abs(half.dense(3 * R + C, 0) -
                     10 * (12.0 * static_cast<double>(R) + 2.0 * static_cast<double>(C) + 3.5) / 255) < 1e-6);
  // Crop then resize: the shape is the resized one.
  const nmfx::Data both = load_images({{"path", lfw}, {"crop", "4x4"}, {"size", "2x2"}});
  CHECK(both.rows() == 4);
  CHECK(both.cols() == 10);
  CHECK(both.info["image_shape"] == nmfx::json({2, 2}));
  for (std::size_t i = 0; i < both.dense.size(); ++i) {
    CHECK(both.dense.data()[i] >= 0.0);
    CHECK(both.dense.data()[i] <= 1.0);
  }
}

TEST_CASE("images applies the Lee and Seung normalisation: mean and sd 0.25 per image then clipping") {
  // The common option normalize: lee_seung, per column of X, that is per image.
  // Ivy: 6 pixels at 200 and 18 at 50: z = sqrt(3) and -1/sqrt(3), so nothing is clipped.
  const nmfx::Data ivy = load_images({{"path", lfw}, {"pattern", "Ivy*/*"}, {"normalize", "lee_seung"}});
  double mean = 0, sq = 0;
  for (std::size_t k = 0; k < kPixels; ++k) {
    const double want = k < 6 ? 0.25 + 0.25 * std::sqrt(3.0) : 0.25 - 0.25 / std::sqrt(3.0);
    CHECK(ivy.dense(k, 0) == doctest::Approx(want).epsilon(1e-12));
    mean += ivy.dense(k, 0) / kPixels;
  }
  for (std::size_t k = 0; k < kPixels; ++k) sq += (ivy.dense(k, 0) - mean) * (ivy.dense(k, 0) - mean) / kPixels;
  CHECK(mean == doctest::Approx(0.25).epsilon(1e-12));
  CHECK(std::sqrt(sq) == doctest::Approx(0.25).epsilon(1e-12));

  // The gradient 10 k / 255: mean 11.5, population sd sqrt((24^2 - 1) / 12) in units of k; the low
  // end (z < -1, k = 0..4) is clipped to 0.
  const nmfx::Data g = load_images({{"path", lfw}, {"pattern", "Alice*/*_0001.pgm"}, {"normalize", "lee_seung"}});
  const double sd = std::sqrt((24.0 * 24.0 - 1.0) / 12.0);
  std::size_t clipped = 0;
  for (std::size_t k = 0; k < kPixels; ++k) {
    const double x = 0.25 + 0.25 * (static_cast<double>(k) - 11.5) / sd;
    if (x < 0 || x > 1) ++clipped;
    CHECK(g.dense(k, 0) == doctest::Approx(std::clamp(x, 0.0, 1.0)).epsilon(1e-12));
  }
  CHECK(clipped == 5);
}

TEST_CASE("images ignores alpha - refuses mismatched sizes unless resized - and transposes") {
  const std::string other = images_dir + "other";
  const std::string what = images_error({{"path", other}});
  CHECK(contains(what, "square_5x5.png"));
  CHECK(contains(what, "5x5"));
  CHECK(contains(what, "first image (rgba.png) is 4x6"));
  const nmfx::Data X = load_images({{"path", other}, {"size", "4x6"}});
  REQUIRE(X.cols() == 2);
  for (std::size_t k = 0; k < kPixels; ++k) {
    CHECK(X.dense(k, 0) == doctest::Approx(10.0 * static_cast<double>(k) / 255));  // alpha ignored
    CHECK(X.dense(k, 1) == 150.0 / 255);
  }
  const nmfx::Data T = load_images({{"path", lfw}, {"transpose", true}});
  CHECK(T.rows() == 10);
  CHECK(T.cols() == kPixels);
  CHECK(T.info["transposed"] == true);
  CHECK(T.dense(0, 23) == doctest::Approx(230.0 / 255));
}

TEST_CASE("images refuses corrupt - truncated and unsupported files with one line naming the file") {
  const std::string pgm = test::read(lfw + "/Alice_Gradient/Alice_Gradient_0001.pgm");
  const std::string png = test::read(lfw + "/Alice_Gradient/Alice_Gradient_0002.png");
  const std::string jpg = test::read(lfw + "/Dave_Jpeg/Dave_Jpeg_0001.jpg");
  std::string bad_crc = png;
  bad_crc[bad_crc.size() - 20] ^= 0x55;  // inside the IDAT data, before IEND's 12 bytes
  std::string lossless = jpg;            // SOF0 (baseline) turned into SOF3 (lossless), which stb cannot decode
  const std::size_t sof = lossless.find("\xFF\xC0");
  REQUIRE(sof != std::string::npos);
  lossless[sof + 1] = '\xC3';
  // Huffman tables that stb_image 2.27 would overflow or read uninitialised (found by fuzzing):
  // every DHT table renumbered to id 3, so the scan's tables 0 and 1 are never defined; and a
  // table declaring 8 x 255 codes of lengths 9..16 (a valid prefix code, but more than 256).
  std::string undefined = jpg, too_many = jpg;
  bool first_table = true;
  for (std::size_t at = jpg.find("\xFF\xC4"); at != std::string::npos && at < jpg.find("\xFF\xDA");
       at = jpg.find("\xFF\xC4", at + 2)) {
    const std::size_t len = (static_cast<unsigned char>(jpg[at + 2]) << 8) | static_cast<unsigned char>(jpg[at + 3]);
    for (std::size_t q = at + 4; q < at + 2 + len;) {
      std::size_t count = 0;
      for (std::size_t j = 1; j <= 16; ++j) count += static_cast<unsigned char>(jpg[q + j]);
      undefined[q] = static_cast<char>((jpg[q] & 0xF0) | 3);
      if (first_table)
        for (std::size_t j = 1; j <= 16; ++j) too_many[q + j] = static_cast<char>(j <= 8 ? 0 : 255);
      first_table = false;
      q += 17 + count;
    }
  }
  REQUIRE(!first_table);
  // Every DQT table renumbered to id 3, so the components' tables 0 and 1 are never defined: stb
  // would dequantize with whatever its freshly allocated decoder held (found by fuzzing).
  std::string no_quant = jpg;
  for (std::size_t at = jpg.find("\xFF\xDB"); at != std::string::npos && at < jpg.find("\xFF\xDA");
       at = jpg.find("\xFF\xDB", at + 2)) {
    const std::size_t len = (static_cast<unsigned char>(jpg[at + 2]) << 8) | static_cast<unsigned char>(jpg[at + 3]);
    for (std::size_t q = at + 4; q < at + 2 + len; q += 1 + 64 * (1 + (static_cast<unsigned char>(jpg[q]) >> 4)))
      no_quant[q] = static_cast<char>((jpg[q] & 0xF0) | 3);
  }
  REQUIRE(no_quant != jpg);
  // A JPEG declaring 2000 x 2000 pixels in a few hundred bytes (at most 512 pixels per byte are
  // possible): stb would spend seconds producing an image of nothing.
  std::string huge = jpg;
  const std::size_t frame = jpg.find("\xFF\xC0");
  REQUIRE(frame != std::string::npos);
  for (std::size_t b : {frame + 5, frame + 7}) {
    huge[b] = static_cast<char>(2000 >> 8);
    huge[b + 1] = static_cast<char>(2000 & 0xFF);
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a scan uses a Huffman table that was never defined", undefined},
      {"Huffman table of 2040 codes (at most 256)", too_many},
      {"a component uses a quantization table that was never defined", no_quant},
      {"corrupt JPEG file: it declares 2000x2000 (height x width) pixels, more than its", huge},
      {"truncated PNG", png.substr(0, png.size() / 2)},
      {"fails its CRC check", bad_crc},
      {"truncated JPEG", jpg.substr(0, jpg.size() - 10)},
      {"unsupported JPEG: lossless (SOF3)", lossless},
      {"truncated PGM", pgm.substr(0, pgm.size() - 3)},
      {"extra data", pgm + "more"},
      {"exceeds maxval 255", "P2\n2 1\n255\n12 300\n"},
      {"unexpected 'x'", "P2\n2 1\n255\n1 x\n"},
      {"bad PNM header", "P5\n6 four\n255\n"},
      {"maxval 0 is outside", "P5 1 1 0 \x01"},
      {"PBM bitmaps", "P4\n8 1\n\xff"},
      {"zero width", "P5\n0 4\n255\n"},
      {"larger than the limit", "P5\n100000 100000\n255\n"},
      {"unrecognised signature", "GIF89a\x01\x00\x01\x00"},
      {"unrecognised signature", "hello, not an image"},
      {"empty file", ""},
  };
  int n = 0;
  for (const auto& [expect, bytes] : cases) {
    CAPTURE(expect);
    const auto dir = test::temp_dir("images_bad_" + std::to_string(n));
    const std::string name = "bad_" + std::to_string(n++) + ".png";
    std::ofstream(dir / name, std::ios::binary) << bytes;
    const std::string what = images_error({{"path", dir.string()}, {"extensions", ""}});
    CHECK(contains(what, name));
    CHECK(contains(what, expect));
  }
}

TEST_CASE("images refuses bad parameters and missing or empty folders") {
  CHECK(contains(images_error({{"path", "/nonexistent/faces"}}), "/nonexistent/faces: no such folder"));
  const auto empty = test::temp_dir("images_empty");
  CHECK(contains(images_error({{"path", empty.string()}}), "no image files found"));
  for (const char* bad : {"64by64", "0x5", "5x", "x5", "5x5x5", "-5x5"}) {
    CAPTURE(bad);
    try {
      make_images({{"path", lfw}, {"crop", bad}});
      FAIL("no error");
    } catch (const nmfx::Error& e) {
      CHECK(contains(e.what(), "crop: expected HxW"));
    }
  }
  CHECK(contains(images_error({{"path", lfw}, {"crop", "5x5"}}), "cannot crop 5x5 out of an image of 4x6"));
}

TEST_CASE("images runs end to end from a spec with a relative path") {
  const auto dir = test::temp_dir("images_run");
  test::write(dir / "faces.yaml", "datasets:\n  - name: images\n    params: {path: " + fs::relative(lfw, dir).string() +
                                      ", pattern: '*/*_0001.*', size: 3x3}\n"
                                      "solvers: [mu]\nranks: [2]\nstopping: {max_iter: 5}\n");
  const auto r = test::nmfx_command("run faces.yaml -o out", dir);
  CHECK(r.status == 0);
  CHECK(contains(r.output, "1 ok"));
}
