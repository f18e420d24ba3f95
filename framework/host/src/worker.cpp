// The worker process: one cell, its checkpoints streamed to the parent as they happen.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <new>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <nmfx/host/scheduler.hpp>

namespace nmfx {
namespace {

int g_fd = -1;

// Whole lines only: the parent parses line by line, and a worker killed mid-write leaves at most
// one unfinished last line, which the parent drops.
void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::_exit(3);  // the parent is gone
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

void send(char tag, const json& value) {
  std::string line(1, tag);
  line += ' ';
  line += value.dump();
  line += '\n';
  write_all(g_fd, line.data(), line.size());
}

// operator new failed under RLIMIT_AS: say so (no allocation here) and stop, rather than let the
// cell turn std::bad_alloc into an ordinary failure.
void out_of_memory() {
  static const char marker[] = "M\n";
  write_all(g_fd, marker, sizeof marker - 1);
  ::_exit(4);
}

struct StreamRows final : CellObserver {
  void on_checkpoint(const json& row) override { send('C', row); }
};

}  // namespace

void worker_main(const Spec& spec, const Cell& cell, int threads, const Registry& registry, const std::string& out,
                 int fd, double memory_bytes) {
  g_fd = fd;
  // The parent decides what Ctrl-C and SIGTERM mean: sent to the whole process group (as mpirun and
  // batch systems do) they reach the worker too, which would otherwise die of them before the parent
  // records its cell as interrupted. A parent killed with -9 takes its workers along.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGPIPE, SIG_DFL);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // `ps` and `top` then show which cell each worker runs: nmfx-<the first 10 characters of its id>.
  ::prctl(PR_SET_NAME, ("nmfx-" + cell.id.substr(0, 10)).c_str());
  // Under AddressSanitizer the shadow memory alone reserves terabytes of address space, so an
  // address-space limit would fail every allocation; the parent's watch of the resident set still
  // enforces limits.memory_gb there.
  if (memory_bytes > 0 && !kAddressSanitizer) {
    // Address space is larger than what is used (thread stacks, BLAS buffers, malloc arenas), so the
    // hard limit stands well above the resident limit the parent watches: it catches a runaway
    // allocation that is never touched.
    const double as = 2 * memory_bytes + 1024.0 * 1024 * 1024;
    rlimit limit{static_cast<rlim_t>(as), static_cast<rlim_t>(as)};
    ::setrlimit(RLIMIT_AS, &limit);
  }
  std::set_new_handler(out_of_memory);
  int status = 0;
  try {
    Cell local = cell;
    local.params["threads"] = threads;
    DataCache cache;
    StreamRows observer;
    json result = run_one_cell(spec, local, registry, cache, out, &observer);
    result["cell"] = cell.params;  // the id's parameters; the threads used are in environment.blas_threads
    send('R', result);
  } catch (...) {
    status = 5;
  }
  ::_exit(status);
}

}  // namespace nmfx
