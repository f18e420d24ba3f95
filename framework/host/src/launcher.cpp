// The worker launcher: a small process, forked before the grid is expanded, from which every worker
// is forked. fork() copies the page tables of the process that calls it, so its cost grows with that
// process's resident memory: about 0.7 ms at 16 MB and 11 ms at 100 MB on the project's VM. The
// parent holds every cell of the grid (about 5 KB each as JSON), so forking workers from it made the
// runner's cost per cell grow with the grid; the launcher stays at the size of the spec and the
// plugins whatever the grid.
//
// Protocol over a socket pair, one request at a time from the parent's single thread:
//   'L' <size> <JSON {id, params, threads, out, memory}>  ->  <pid>, and the pipe's read end (SCM_RIGHTS)
//   'W' <pid>                                              ->  <wait status>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nmfx/host/scheduler.hpp>

namespace nmfx {
namespace {

int g_socket = -1;  // the parent's end; -1 when no launcher runs (workers are then forked directly)

bool write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);  // a launcher gone is an error, not SIGPIPE
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool send_fd(int socket, std::int64_t pid, int fd) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec data{&pid, sizeof pid};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  ssize_t n;
  while ((n = ::sendmsg(socket, &message, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  return n == static_cast<ssize_t>(sizeof pid);
}

bool receive_fd(int socket, std::int64_t* pid, int* fd) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec data{pid, sizeof *pid};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  const cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (n != static_cast<ssize_t>(sizeof *pid) || !header || header->cmsg_type != SCM_RIGHTS) return false;
  std::memcpy(fd, CMSG_DATA(header), sizeof(int));
  return true;
}

[[noreturn]] void serve(const Spec& spec, const Registry& registry, int socket) {
  // Ctrl-C and SIGTERM reach the whole process group; the parent decides what they mean (as for the
  // workers). A parent killed with -9 takes the launcher along, and with it the workers (whose
  // parent death signal is the launcher's).
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (;;) {
    char request = 0;
    if (!read_all(socket, &request, 1)) ::_exit(0);  // the parent is done
    if (request == 'W') {
      std::int64_t pid = 0;
      if (!read_all(socket, &pid, sizeof pid)) ::_exit(0);
      int status = 0;
      while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
      }
      const std::int64_t reply = status;
      if (!write_all(socket, &reply, sizeof reply)) ::_exit(0);
      continue;
    }
    std::uint64_t size = 0;
    if (request != 'L' || !read_all(socket, &size, sizeof size)) ::_exit(0);
    std::string text(size, '\0');
    if (!read_all(socket, text.data(), size)) ::_exit(0);
    const json order = json::parse(text);
    int fds[2];
    if (::pipe(fds) != 0) {
      send_fd(socket, -errno, socket);  // a negative pid says why (the descriptor is a placeholder)
      continue;
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      ::close(socket);
      const Cell cell{order["params"], order["id"].get<std::string>()};
      worker_main(spec, cell, order["threads"].get<int>(), registry, order["out"].get<std::string>(), fds[1],
                  order["memory"].get<double>());
    }
    ::close(fds[1]);
    send_fd(socket, pid < 0 ? -errno : pid, fds[0]);
    ::close(fds[0]);
  }
}

}  // namespace

void start_worker_launcher(const Spec& spec, const Registry& registry) {
  if (g_socket >= 0) return;
  // Under mpirun every rank forks its own workers; the launcher would fork before MPI_Init.
  if (std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK")) return;
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return;  // fork workers directly
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(ends[0]);
    ::close(ends[1]);
    return;
  }
  if (pid == 0) {
    ::close(ends[0]);
    serve(spec, registry, ends[1]);
  }
  ::close(ends[1]);
  g_socket = ends[0];
}

bool worker_launcher_running() { return g_socket >= 0; }

pid_t launch_worker(const Cell& cell, int threads, const std::string& out, double memory_bytes, int* fd) {
  const std::string text =
      json{{"id", cell.id}, {"params", cell.params}, {"threads", threads}, {"out", out}, {"memory", memory_bytes}}
          .dump();
  const std::uint64_t size = text.size();
  const char request = 'L';
  std::int64_t pid = 0;
  if (!write_all(g_socket, &request, 1) || !write_all(g_socket, &size, sizeof size) ||
      !write_all(g_socket, text.data(), text.size()) || !receive_fd(g_socket, &pid, fd))
    throw Error("the worker launcher stopped answering");
  if (pid < 0) {
    ::close(*fd);
    throw Error(std::string("cannot start a worker process: ") + std::strerror(static_cast<int>(-pid)));
  }
  return static_cast<pid_t>(pid);
}

int wait_launched_worker(pid_t pid) {
  const char request = 'W';
  const std::int64_t id = pid;
  std::int64_t status = 0;
  if (!write_all(g_socket, &request, 1) || !write_all(g_socket, &id, sizeof id) ||
      !read_all(g_socket, &status, sizeof status))
    throw Error("the worker launcher stopped answering");
  return static_cast<int>(status);
}

}  // namespace nmfx
