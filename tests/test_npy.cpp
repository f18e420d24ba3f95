// The .npy reader (nmfx/npy.hpp) on NumPy's files (fixtures/make_fixtures.py), and the npy dataset:
// 2-D X, 3-D image stacks, slices and .npz members, on files written by NumPy (np.save,
// np.savez, np.savez_compressed) and Python's zipfile and gzip (fixtures/npy/make_fixtures.py), and
// every malformed archive or parameter it must refuse with one line naming the file.
#include <doctest/doctest.h>

#include <nmfx/npy.hpp>

#include "support.hpp"

namespace {

const std::string dir = NMFX_SOURCE_DIR "/tests/fixtures/npy/";
const std::string fixtures = NMFX_SOURCE_DIR "/tests/fixtures/";

// What make_fixtures.py wrote: 0.5 * arange(12).reshape(3, 4), in each dtype and order.
void check_expected(const nmfx::Matrix& m) {
  REQUIRE(m.shape(0) == 3);
  REQUIRE(m.shape(1) == 4);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) CHECK(m(i, j) == 0.5 * static_cast<double>(4 * i + j));
}

std::shared_ptr<nmfx::Dataset> make(nmfx::json given) {
  const auto& reg = test::registry();
  const auto& schema = reg.require(nmfx::PluginKind::dataset, "npy")->descriptor->params;
  return reg.create<nmfx::Dataset>("npy", nmfx::resolve_params(schema, given));
}

nmfx::Data load(const std::string& path, nmfx::json more = nmfx::json::object()) {
  more["path"] = path;
  nmfx::Data X = make(more)->load();
  nmfx::finalize(X, "npy");
  return X;
}

// The images of make_fixtures.py: image n, pixel (y, x) = 10 n + 4 y + x, 3 images of 2 x 4, so
// X (8 x 3) has X(p, n) = scale (10 n + p).
void check_images(const nmfx::Data& X, double scale = 1.0) {
  REQUIRE(X.rows() == 8);
  REQUIRE(X.cols() == 3);
  for (std::size_t p = 0; p < 8; ++p)
    for (std::size_t n = 0; n < 3; ++n) CHECK(X.dense(p, n) == scale * static_cast<double>(10 * n + p));
  CHECK(X.info["image_shape"] == nmfx::json{2, 4});
  CHECK(X.info["stored_shape"] == nmfx::json{3, 2, 4});
}

// M = 0.5 * arange(12).reshape(3, 4).
void check_matrix(const nmfx::Data& X) {
  REQUIRE(X.rows() == 3);
  REQUIRE(X.cols() == 4);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) CHECK(X.dense(i, j) == 0.5 * static_cast<double>(4 * i + j));
}

std::string error_of(const std::string& path, nmfx::json more = nmfx::json::object()) {
  more["path"] = path;
  try {
    make(more)->load();
  } catch (const nmfx::Error& e) {
    const std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    return what;
  }
  return "no error";
}

// `bytes` written to a temporary file; returns its path.
std::string temp_file(const std::string& name, const std::string& bytes) {
  const auto tmp = test::temp_dir("npy_more_" + name);
  std::ofstream(tmp / name, std::ios::binary) << bytes;
  return (tmp / name).string();
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("read_npy reads NumPy's files: float32/float64 - C/Fortran order - big-endian - integers") {
  for (const char* f : {"c_f8.npy", "c_f4.npy", "fortran_f8.npy", "big_endian_f8.npy"}) {
    CAPTURE(f);
    check_expected(nmfx::read_npy(fixtures + f));
  }
  const nmfx::Matrix ints = nmfx::read_npy(fixtures + "c_i8.npy");  // arange(12).reshape(3, 4)
  CHECK(ints(2, 3) == 11.0);
}

TEST_CASE("read_npy refuses malformed files with one line naming the file") {
  const auto dir = test::temp_dir("npy_bad");
  const std::string good = test::read(fixtures + "c_f8.npy");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated.npy", good.substr(0, good.size() - 5)},
      {"no_magic.npy", "hello world, not numpy"},
      {"short.npy", "\x93NUM"},
      {"three_d.npy", test::read(fixtures + "three_d.npy")},
  };
  for (const auto& [name, bytes] : cases) {
    CAPTURE(name);
    test::write(dir / name, bytes);
    try {
      nmfx::read_npy((dir / name).string());
      FAIL("no error");
    } catch (const nmfx::Error& e) {
      CHECK(std::string(e.what()).find(name) != std::string::npos);
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("write_npy round-trips") {
  const auto dir = test::temp_dir("npy_rt");
  const nmfx::Matrix A = test::random_matrix(7, 5, 3);
  nmfx::write_npy((dir / "a.npy").string(), A);
  const nmfx::Matrix B = nmfx::read_npy((dir / "a.npy").string());
  CHECK(A == B);
}

TEST_CASE("the npy dataset reads - transposes - and refuses negative data naming count and position") {
  const auto& reg = test::registry();
  const auto& schema = reg.require(nmfx::PluginKind::dataset, "npy")->descriptor->params;
  auto d = reg.create<nmfx::Dataset>(
      "npy", nmfx::resolve_params(schema, nmfx::json{{"path", fixtures + "fortran_f8.npy"}, {"transpose", true}}));
  const nmfx::Data X = d->load();
  REQUIRE(X.rows() == 4);
  CHECK(X.dense(3, 2) == 0.5 * 11);

  auto neg = reg.create<nmfx::Dataset>(
      "npy", nmfx::resolve_params(schema, nmfx::json{{"path", fixtures + "negative.npy"}, {"transpose", false}}));
  try {
    neg->load();
    FAIL("no error");
  } catch (const nmfx::Error& e) {
    const std::string what = e.what();
    CHECK(what.find("negative.npy") != std::string::npos);
    CHECK(what.find("2 negative") != std::string::npos);
    CHECK(what.find("(1, 2)") != std::string::npos);
  }
}

TEST_CASE("npy reads a 3-D stack of images as one column per image") {
  check_images(load(dir + "images_u1.npy"));
  check_images(load(dir + "images_f8_fortran.npy"), 0.5);
  check_images(load(dir + "images_u1.npy.gz"));
}

TEST_CASE("read_npy_array keeps N-D shapes and read_npy still reads 2-D only") {
  const nmfx::NpyArray a = nmfx::read_npy_array(dir + "images_f8_fortran.npy");
  CHECK(a.shape == std::vector<std::size_t>{3, 2, 4});
  CHECK(a.values[(2 * 2 + 1) * 4 + 3] == 0.5 * (20 + 4 + 3));  // a[2, 1, 3], C order
  CHECK_THROWS_WITH(nmfx::read_npy(dir + "images_u1.npy"), doctest::Contains("expected a 2-D array, got 3 dimensions"));
}

TEST_CASE("npy slices rows and columns with Python semantics after the 3-D reshape") {
  const nmfx::Data first = load(dir + "images_u1.npy", {{"cols", ":2"}});
  REQUIRE(first.cols() == 2);
  CHECK(first.dense(7, 1) == 17.0);
  CHECK(first.info["cols"] == nmfx::json{0, 2});
  CHECK(first.info["image_shape"] == nmfx::json{2, 4});

  const nmfx::Data last = load(dir + "images_u1.npy", {{"cols", "-1:"}});
  REQUIRE(last.cols() == 1);
  CHECK(last.dense(0, 0) == 20.0);

  const nmfx::Data pixels = load(dir + "images_u1.npy", {{"rows", "4:"}, {"cols", "1:99"}});  // stop clipped
  REQUIRE(pixels.rows() == 4);
  REQUIRE(pixels.cols() == 2);
  CHECK(pixels.dense(0, 0) == 14.0);            // pixel 4 of image 1
  CHECK(!pixels.info.contains("image_shape"));  // a slice of the pixels is no longer an image

  const nmfx::Data sub = load(NMFX_SOURCE_DIR "/tests/fixtures/c_f8.npy", {{"rows", "-2:"}, {"cols", "1:-1"}});
  REQUIRE(sub.rows() == 2);
  REQUIRE(sub.cols() == 2);
  CHECK(sub.dense(0, 0) == 0.5 * 5);   // M[1, 1]
  CHECK(sub.dense(1, 1) == 0.5 * 10);  // M[2, 2]
}

TEST_CASE("npy transposes and scales through the common options - keeping the image shape") {
  const nmfx::Data T = load(dir + "images_u1.npy", {{"transpose", true}, {"scale", "max"}});
  REQUIRE(T.rows() == 3);
  REQUIRE(T.cols() == 8);
  CHECK(T.dense(2, 7) == 1.0);  // 27 / 27
  CHECK(T.dense(1, 3) == 13.0 / 27.0);
  CHECK(T.info["transposed"] == true);
  CHECK(T.info["image_shape"] == nmfx::json{2, 4});
  CHECK(T.info["shape"] == nmfx::json{3, 8});
}

TEST_CASE("npy reads .npz members - stored and deflated") {
  for (const char* file : {"two.npz", "two_compressed.npz"}) {
    CAPTURE(file);
    const nmfx::Data faces = load(dir + file, {{"member", "faces"}});
    check_images(faces);
    CHECK(faces.info["member"] == "faces.npy");
    check_matrix(load(dir + file, {{"member", "matrix.npy"}}));
  }
  const nmfx::Data only = load(dir + "one.npz");  // np.savez(path, M): the member arr_0
  check_matrix(only);
  CHECK(only.info["member"] == "arr_0.npy");
}

TEST_CASE("npy refuses bad members and archives with one line naming the file") {
  CHECK(error_of(dir + "two.npz").find("two.npz: the archive holds 2 arrays (matrix.npy, faces.npy); name one") !=
        std::string::npos);
  CHECK(error_of(dir + "two.npz", {{"member", "eyes"}})
            .find("no array 'eyes' in the archive; it holds matrix.npy, faces.npy") != std::string::npos);
  CHECK(error_of(dir + "images_u1.npy", {{"member", "faces"}})
            .find("images_u1.npy: member 'faces' was asked for, but the file is not an .npz") != std::string::npos);
  CHECK(error_of(dir + "bzip2.npz")
            .find("bzip2.npz, member 'matrix.npy': compression method 12 (bzip2) is not supported") !=
        std::string::npos);

  const std::string good = bytes_of(dir + "two.npz");
  const std::size_t central = good.find("PK\x01\x02");
  const std::size_t end = good.rfind("PK\x05\x06");
  REQUIRE(central != std::string::npos);
  REQUIRE(end != std::string::npos);

  std::string encrypted = good;  // general-purpose flag bit 0 set in the first central entry
  encrypted[central + 8] = static_cast<char>(encrypted[central + 8] | 1);
  CHECK(error_of(temp_file("enc.npz", encrypted), {{"member", "matrix"}})
            .find("enc.npz, member 'matrix.npy': the member is encrypted") != std::string::npos);

  std::string zip64 = good;  // member counts 0xFFFF: the zip64 end record would hold the real ones
  zip64[end + 8] = zip64[end + 9] = zip64[end + 10] = zip64[end + 11] = '\xff';
  CHECK(error_of(temp_file("z64.npz", zip64)).find("z64.npz: the archive needs the zip64 end record") !=
        std::string::npos);

  CHECK(error_of(temp_file("half.npz", good.substr(0, good.size() / 2))).find("half.npz: no ZIP end record") !=
        std::string::npos);

  std::string crc = good;  // a changed byte inside the stored matrix.npy data
  crc[good.find("\x93NUMPY") + 200] ^= 0x55;
  CHECK(error_of(temp_file("crc.npz", crc), {{"member", "matrix"}})
            .find("crc.npz, member 'matrix.npy': CRC-32 mismatch") != std::string::npos);

  std::string deflated = bytes_of(dir + "two_compressed.npz");  // garbage in the first deflate stream
  const std::size_t name_len = static_cast<unsigned char>(deflated[26]),
                    extra_len = static_cast<unsigned char>(deflated[28]);
  for (std::size_t k = 0; k < 8; ++k) deflated[30 + name_len + extra_len + 20 + k] = '\xff';
  const std::string what = error_of(temp_file("bad_deflate.npz", deflated), {{"member", "matrix"}});
  CHECK(what.find("bad_deflate.npz, member 'matrix.npy': ") != std::string::npos);
  CHECK((what.find("corrupt deflate data") != std::string::npos || what.find("CRC-32 mismatch") != std::string::npos ||
         what.find("inflates to") != std::string::npos));
}

TEST_CASE("npy refuses 4-D arrays - NaN in a member - negatives in images naming the position") {
  CHECK(error_of(dir + "four_d.npy")
            .find("four_d.npy: expected a 2-D array (a matrix) or a 3-D array (N images of h x w), got 4") !=
        std::string::npos);
  CHECK(error_of(dir + "nan.npz")
            .find("nan.npz, member 'matrix.npy': 1 non-finite (NaN or Inf) entry, the first at (2, 1)") !=
        std::string::npos);
  CHECK(error_of(dir + "negative_images.npy").find("negative_images.npy: 2 negative entries, the first at (1, 0, 1)") !=
        std::string::npos);
  const nmfx::Data clipped = load(dir + "negative_images.npy", {{"negative", "clip"}});
  CHECK(clipped.info["negative_clipped"] == 2);
  CHECK(clipped.dense(1, 1) == 0.0);  // image 1, pixel (0, 1)
  CHECK(clipped.dense(3, 1) == 0.0);  // image 1, pixel (1, 1)
  CHECK(clipped.dense(0, 1) == 1.0);
  // Slicing the bad image away leaves nothing to refuse.
  CHECK(load(dir + "negative_images.npy", {{"cols", ":1"}}).cols() == 1);
}

TEST_CASE("npy refuses bad slices and trailing bytes") {
  const std::string f = dir + "images_u1.npy";
  CHECK(error_of(f, {{"rows", "5"}}).find("parameter rows: '5' is not a slice start:stop") != std::string::npos);
  CHECK(error_of(f, {{"cols", "0:2:1"}}).find("parameter cols: '0:2:1' has a step") != std::string::npos);
  CHECK(error_of(f, {{"cols", "a:b"}}).find("is not a slice start:stop of integers") != std::string::npos);
  CHECK(
      error_of(f, {{"cols", "2:1"}}).find("images_u1.npy: rows ':' and cols '2:1' select 8 x 0 of the 8 x 3 matrix") !=
      std::string::npos);
  const std::string two = temp_file("twice.npy", bytes_of(f) + bytes_of(f));
  CHECK(error_of(two).find("twice.npy: 152 bytes after the data of shape (3, 2, 4)") != std::string::npos);
}
