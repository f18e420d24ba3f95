#pragma once
// The members of an .npz file, a ZIP archive of .npy files (numpy.savez stores them,
// numpy.savez_compressed deflates them). Only what .npz files need is read: stored and deflated
// members, zip64 extra fields in the central directory. Encrypted members, other compression
// methods, multi-disk archives and archives that need the zip64 end record are refused.
// Reference: PKWARE APPNOTE.TXT 6.3.x, sections 4.3.7 (local header), 4.3.12 (central
// directory), 4.3.16 (end record), 4.5.3 (zip64 extra field).
#include <string>
#include <vector>

namespace npz {

/// True if `bytes` start like a ZIP archive (a local header, or the end record of an empty one).
bool is_zip(const std::string& bytes);

struct Member {
  std::string name;
  std::size_t offset = 0;  ///< of its local header
  std::size_t compressed = 0, size = 0;
  unsigned method = 0, flags = 0;
  unsigned long crc = 0;
};

/// A member name fit for a one-line message or a JSON string: printable ASCII only (others become
/// '?'), at most 60 characters.
std::string printable(const std::string& name);

/// The archive's members, from its central directory. `path` starts every error message.
std::vector<Member> members(const std::string& bytes, const std::string& path);

/// The uncompressed bytes of `member`, checked against its size and CRC-32.
std::string extract(const std::string& bytes, const Member& member, const std::string& path);

}  // namespace npz
