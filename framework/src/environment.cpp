#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include <nmfx/linalg.hpp>
#include <nmfx/runner.hpp>

namespace nmfx {

json environment() {
  json env;
  env["nmfx_version"] = NMFX_VERSION;
  env["git_commit"] = NMFX_GIT_COMMIT;
  env["compiler"] = NMFX_COMPILER;
  env["blas"] = blas_info();
  env["blas_threads"] = blas_threads();
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
  for (const char* var : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "NMFX_PLUGIN_PATH"})
    if (const char* v = std::getenv(var)) env["env"][var] = v;
  return env;
}

}  // namespace nmfx
