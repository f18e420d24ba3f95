#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <nmfx/host/runner.hpp>

namespace nmfx {

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error(tmp + ": cannot write (" + std::strerror(errno) + ")");
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      std::remove(tmp.c_str());
      throw Error(tmp + ": write failed (" + why + ")");
    }
    done += static_cast<std::size_t>(n);
  }
  // The data reaches the disk before the name does: a crash leaves the old file or the new one.
  ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(path + ": cannot rename the finished file into place (" + why + ")");
  }
}

}  // namespace nmfx
