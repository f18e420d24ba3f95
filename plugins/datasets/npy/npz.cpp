// ZIP reading for .npz files: the end record, the central directory, the local headers, and
// inflation with zlib. Every offset and size read from the file is checked against the file's
// length before it is used, so a hostile or truncated archive gives one line, never a bad read.
#include "npz.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <zlib.h>

#include <nmfx/types.hpp>

namespace npz {
namespace {

constexpr std::uint32_t kLocal = 0x04034b50, kCentral = 0x02014b50, kEnd = 0x06054b50;

std::uint32_t u16(const std::string& b, std::size_t at) {
  return static_cast<unsigned char>(b[at]) | (static_cast<unsigned char>(b[at + 1]) << 8);
}
std::uint32_t u32(const std::string& b, std::size_t at) {
  return u16(b, at) | (static_cast<std::uint32_t>(u16(b, at + 2)) << 16);
}
std::uint64_t u64(const std::string& b, std::size_t at) {
  return u32(b, at) | (static_cast<std::uint64_t>(u32(b, at + 4)) << 32);
}

const char* method_name(unsigned method) {
  switch (method) {
    case 1:
      return " (shrink)";
    case 6:
      return " (implode)";
    case 9:
      return " (deflate64)";
    case 12:
      return " (bzip2)";
    case 14:
      return " (lzma)";
    case 93:
      return " (zstandard)";
    case 95:
      return " (xz)";
    case 99:
      return " (AES encryption)";
    default:
      return "";
  }
}

}  // namespace

std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 60)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 60) out += "...";
  return out;
}

bool is_zip(const std::string& bytes) {
  return bytes.size() >= 4 && (bytes.compare(0, 4, "PK\x03\x04") == 0 || bytes.compare(0, 4, "PK\x05\x06") == 0);
}

std::vector<Member> members(const std::string& b, const std::string& path) {
  auto fail = [&](const std::string& what) -> std::vector<Member> { throw nmfx::Error(path + ": " + what); };
  const std::size_t size = b.size();
  if (size < 22) return fail("not a ZIP archive (too short for its end record)");
  // The end record is the last 22 bytes, or sits before a comment of at most 65535 bytes.
  std::size_t end = std::string::npos;
  const std::size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (std::size_t p = size - 22 + 1; p-- > lowest;)
    if (u32(b, p) == kEnd && p + 22 + u16(b, p + 20) <= size) {
      end = p;
      break;
    }
  if (end == std::string::npos) return fail("no ZIP end record (truncated archive?)");
  if (u16(b, end + 4) != 0 || u16(b, end + 6) != 0) return fail("multi-disk ZIP archives are not supported");
  const std::size_t count = u16(b, end + 10), cd_size = u32(b, end + 12), cd_offset = u32(b, end + 16);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF)
    return fail("the archive needs the zip64 end record (over 65534 members or 4 GiB), which is not supported");
  if (u16(b, end + 8) != count) return fail("the end record's two member counts disagree");
  if (cd_offset > end || cd_size > end - cd_offset)
    return fail("the central directory lies outside the archive (truncated or corrupt)");

  std::vector<Member> out;
  std::size_t p = cd_offset;
  const std::size_t cd_end = cd_offset + cd_size;
  for (std::size_t k = 0; k < count; ++k) {
    if (cd_end - p < 46 || u32(b, p) != kCentral)
      return fail("central directory entry " + std::to_string(k + 1) + " of " + std::to_string(count) +
                  " is corrupt or truncated");
    Member m;
    m.flags = u16(b, p + 8);
    m.method = u16(b, p + 10);
    m.crc = u32(b, p + 16);
    std::uint64_t compressed = u32(b, p + 20), uncompressed = u32(b, p + 24), offset = u32(b, p + 42);
    const std::size_t name_len = u16(b, p + 28), extra_len = u16(b, p + 30), comment_len = u16(b, p + 32);
    const std::uint32_t disk = u16(b, p + 34);
    if (cd_end - p - 46 < name_len + extra_len + comment_len)
      return fail("central directory entry " + std::to_string(k + 1) + " runs past the directory's end");
    m.name = b.substr(p + 46, name_len);
    // zip64 extra field (id 1): 8-byte sizes and offset, present for the fields that hold 0xFFFFFFFF.
    std::size_t e = p + 46 + name_len;
    const std::size_t e_end = e + extra_len;
    while (e_end - e >= 4) {
      const std::uint32_t id = u16(b, e), len = u16(b, e + 2);
      if (e_end - e - 4 < len) return fail("member '" + printable(m.name) + "' has a corrupt extra field");
      if (id == 1) {
        std::size_t q = e + 4;
        const std::size_t q_end = q + len;
        for (std::uint64_t* field : {&uncompressed, &compressed, &offset})
          if (*field == 0xFFFFFFFF) {
            if (q_end - q < 8) return fail("member '" + printable(m.name) + "' has a short zip64 extra field");
            *field = u64(b, q);
            q += 8;
          }
      }
      e += 4 + len;
    }
    if (disk != 0) return fail("member '" + printable(m.name) + "' lies on another disk (multi-disk archive)");
    if (compressed > size || uncompressed > (std::uint64_t(1) << 40) || offset > size)
      return fail("member '" + printable(m.name) + "' has sizes or an offset beyond the archive");
    m.compressed = static_cast<std::size_t>(compressed);
    m.size = static_cast<std::size_t>(uncompressed);
    m.offset = static_cast<std::size_t>(offset);
    out.push_back(m);
    p += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

std::string extract(const std::string& b, const Member& m, const std::string& path) {
  const std::string who = path + ", member '" + printable(m.name) + "': ";
  auto fail = [&](const std::string& what) -> std::string { throw nmfx::Error(who + what); };
  if (m.flags & 0x41) return fail("the member is encrypted; encrypted archives are not supported");
  if (m.method != 0 && m.method != 8)
    return fail("compression method " + std::to_string(m.method) + method_name(m.method) +
                " is not supported (only stored and deflated members, as numpy writes)");
  const std::size_t size = b.size();
  if (m.offset > size || size - m.offset < 30 || u32(b, m.offset) != kLocal)
    return fail("no local header at offset " + std::to_string(m.offset) + " (corrupt archive)");
  if (u16(b, m.offset + 6) & 0x41) return fail("the member is encrypted; encrypted archives are not supported");
  const std::size_t name_len = u16(b, m.offset + 26), extra_len = u16(b, m.offset + 28);
  if (size - m.offset - 30 < name_len + extra_len) return fail("truncated local header");
  if (b.compare(m.offset + 30, name_len, m.name) != 0)
    return fail("the local header names another member (corrupt archive)");
  const std::size_t start = m.offset + 30 + name_len + extra_len;
  if (size - start < m.compressed)
    return fail("truncated data: " + std::to_string(m.compressed) + " bytes declared, " + std::to_string(size - start) +
                " left in the archive");

  std::string out;
  if (m.method == 0) {
    if (m.compressed != m.size) return fail("a stored member whose two sizes disagree (corrupt archive)");
    out = b.substr(start, m.size);
  } else {
    // Deflate cannot expand data more than about 1032 to 1: a larger declared size is corrupt, and
    // refusing it keeps a hostile size from reserving memory.
    if (m.size / 1032 > m.compressed + 1)
      return fail("declared size " + std::to_string(m.size) + " is impossible for " + std::to_string(m.compressed) +
                  " deflated bytes (corrupt archive)");
    out.resize(m.size);
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return fail("cannot start zlib");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b.data() + start));
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    std::size_t in_left = m.compressed, out_left = m.size;
    int rc = Z_OK;
    while (rc == Z_OK) {
      // zlib counts in uInt: feed at most 1 GiB at a time.
      const uInt in_chunk = static_cast<uInt>(std::min<std::size_t>(in_left, 1u << 30));
      const uInt out_chunk = static_cast<uInt>(std::min<std::size_t>(out_left, 1u << 30));
      z.avail_in = in_chunk;
      z.avail_out = out_chunk;
      rc = inflate(&z, Z_NO_FLUSH);
      in_left -= in_chunk - z.avail_in;
      out_left -= out_chunk - z.avail_out;
      if (rc == Z_BUF_ERROR || (rc == Z_OK && in_chunk == z.avail_in && out_chunk == z.avail_out)) break;
    }
    const std::string msg = z.msg ? z.msg : "";
    inflateEnd(&z);
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR)
      return fail("corrupt deflate data (" + (msg.empty() ? "zlib error " + std::to_string(rc) : msg) + ")");
    if (rc != Z_STREAM_END)
      return fail(out_left == 0 && in_left > 0
                      ? "inflates to more than its declared " + std::to_string(m.size) + " bytes"
                      : "truncated deflate data");
    if (out_left != 0)
      return fail("inflates to " + std::to_string(m.size - out_left) + " bytes, not its declared " +
                  std::to_string(m.size));
  }
  unsigned long crc = crc32(0L, Z_NULL, 0);
  for (std::size_t done = 0; done < out.size();) {
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(out.size() - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + done), chunk);
    done += chunk;
  }
  if (crc != m.crc) return fail("CRC-32 mismatch (corrupt archive)");
  return out;
}

}  // namespace npz
