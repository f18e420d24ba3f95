#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <nmfx/linalg.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/host/threads.hpp>

extern "C" char* openblas_get_corename(void);

namespace nmfx {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The core type nmfx wants, or "" to keep whatever OpenBLAS chose.
std::string wanted_core() {
  const char* setting = std::getenv("NMFX_BLAS_CORETYPE");
  const std::string mode = setting ? lower(setting) : "auto";
  if (mode == "openblas") return "";
  if (mode != "auto") return mode;
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  return avx512 ? "skylakex" : "";
}

}  // namespace

void select_blas_kernels(char** argv) {
  const std::string wanted = wanted_core();
  if (wanted.empty() || lower(openblas_get_corename()) == wanted) return;
  if (std::getenv("NMFX_BLAS_REEXECUTED")) return;  // OpenBLAS did not take it: go on with what we have
  // Keep what the environment said, so that a child can be given OpenBLAS's own choice again.
  const char* before = std::getenv("OPENBLAS_CORETYPE");
  ::setenv("NMFX_OPENBLAS_CORETYPE_BEFORE", before ? before : "", 1);
  ::setenv("OPENBLAS_CORETYPE", wanted.c_str(), 1);
  ::setenv("NMFX_BLAS_REEXECUTED", "1", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then go on with the kernels loaded
}

namespace {

json describe_environment() {
  json env;
  env["nmfx_version"] = NMFX_VERSION;
  env["git_commit"] = NMFX_GIT_COMMIT;
  env["compiler"] = NMFX_COMPILER;
  env["blas"] = blas_info();
  env["cores"] = std::thread::hardware_concurrency();
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  env["host"] = host;
  struct utsname u {};
  if (::uname(&u) == 0) env["os"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      env["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  for (const char* var : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "NMFX_BLAS_CORETYPE",
                          "NMFX_OPENBLAS_CORETYPE_BEFORE", "NMFX_PLUGIN_PATH"})
    if (const char* v = std::getenv(var)) env["env"][var] = v;
  return env;
}

}  // namespace

json environment() {
  // What does not change while the process lives is read once, not once per cell.
  static const json fixed = describe_environment();
  json env = fixed;
  env["blas_threads"] = blas_threads();
  return env;
}

}  // namespace nmfx
