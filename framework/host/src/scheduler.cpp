// The parent side of the execution engine: plans jobs x threads, forks a worker per cell, watches
// its time and memory, reads its checkpoint rows, and turns its end into a result.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <ostream>
#include <sstream>
#include <thread>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nmfx/host/scheduler.hpp>

namespace nmfx {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGKILL:
      return "SIGKILL";
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGSYS:
      return "SIGSYS";
    case SIGXCPU:
      return "SIGXCPU";
    default:
      return "signal " + std::to_string(sig);
  }
}

volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

// Resident set of a process, bytes (0 when it cannot be read).
double resident_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  double size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double physical_memory_bytes() {
  return static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

std::string format_seconds(double s) {
  std::ostringstream os;
  if (s < 60) {
    os << std::fixed << std::setprecision(s < 10 ? 1 : 0) << s << " s";
  } else if (s < 3600) {
    os << static_cast<long>(s) / 60 << " min " << static_cast<long>(s) % 60 << " s";
  } else {
    os << static_cast<long>(s) / 3600 << " h " << static_cast<long>(s) % 3600 / 60 << " min";
  }
  return os.str();
}

std::string describe(const Cell& cell) {
  const json& c = cell.params;
  return c["dataset"]["name"].get<std::string>() + " " + c["solver"]["name"].get<std::string>() + " " +
         c["loss"]["name"].get<std::string>() + " rank=" + c["rank"].dump() + " seed=" + c["seed"].dump();
}

// The shape of each distinct dataset, read in a throwaway process so that the parent never runs
// plugin code. {rows, cols} or {0, 0} when it cannot be loaded (its cells will say why).
std::pair<double, double> probe_shape(const Registry& registry, const Spec& spec, const json& dataset) {
  int fds[2];
  if (::pipe(fds) != 0) return {0, 0};
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {0, 0};
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string text = "0 0\n";
    try {
      const std::string name = dataset["name"];
      json params = dataset["params"];
      const auto* d = registry.require(PluginKind::dataset, name)->descriptor;
      for (const auto& s : d->params)  // paths relative to the spec, as the runner resolves them
        if (s.type == ParamType::path && params.contains(s.name) && params[s.name].is_string() &&
            std::filesystem::path(params[s.name].get<std::string>()).is_relative())
          params[s.name] = (std::filesystem::path(spec.dir) / params[s.name].get<std::string>()).string();
      const Data X = registry.create<Dataset>(name, params)->load();
      text = std::to_string(X.rows()) + " " + std::to_string(X.cols()) + "\n";
    } catch (...) {
    }
    (void)!::write(fds[1], text.data(), text.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::istringstream in(text);
  double rows = 0, cols = 0;
  in >> rows >> cols;
  return {rows, cols};
}

// Appends value to column key at row, padding with null where the column started late.
void put(json& trace, const std::string& key, const json& value, std::size_t row) {
  json& column = trace[key];
  if (column.is_null()) column = json::array();
  while (column.size() < row) column.push_back(nullptr);
  column.push_back(value);
}

// The result of a worker that ended without one: its trace is the rows it sent.
json result_from_rows(const Spec& spec, const Cell& cell, const std::vector<json>& rows, const std::string& status,
                      const std::string& message, const std::string& started_at, int threads) {
  json trace = json::object();
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (auto it = rows[r].begin(); it != rows[r].end(); ++it) put(trace, it.key(), *it, r);
  json final_values = json::object();
  for (auto it = trace.begin(); it != trace.end(); ++it) final_values[it.key()] = it->back();
  json env = environment();
  env["started_at"] = started_at;
  env["finished_at"] = utc_now();
  env["blas_threads"] = threads;
  const json last = rows.empty() ? json::object() : rows.back();
  return {{"schema_version", kResultsSchemaVersion},
          {"id", cell.id},
          {"spec", {{"name", spec.name}, {"file", spec.file}}},
          {"cell", cell.params},
          {"status", status},
          {"message", message},
          {"stop_reason", nullptr},
          {"iterations", last.value("iteration", 0)},
          {"solver_seconds", last.value("solver_seconds", 0.0)},
          {"eval_seconds", last.value("eval_seconds", 0.0)},
          {"trace", trace},
          {"final", final_values},
          {"environment", env}};
}

struct Worker {
  pid_t pid = -1;
  int fd = -1;
  Placement placement;
  Clock::time_point started;
  std::string started_at;
  std::string buffer;
  std::vector<json> rows;
  json result;
  bool out_of_memory_marker = false;
  std::string killed_for;  ///< kTimeout, kOutOfMemory or kInterrupted when the parent killed it
  std::string why;
};

}  // namespace

double estimated_cost(const Spec& spec, const Cell& cell, const Registry& registry) {
  static std::map<std::string, std::pair<double, double>> shapes;
  const std::string key = cell.params["dataset"].dump();
  if (!shapes.count(key)) shapes[key] = probe_shape(registry, spec, cell.params["dataset"]);
  const auto [m, n] = shapes[key];
  return m * n * cell.params["rank"].get<double>() * cell.params["stopping"]["max_iter"].get<double>();
}

bool is_worker_failure(const std::string& status) {
  return status == kCrashed || status == kOutOfMemory || status == kTimeout || status == kRankLost;
}

json unfinished_result(const Spec& spec, const Cell& cell, const std::vector<json>& rows, const std::string& status,
                       const std::string& message, const std::string& started_at, int threads) {
  return result_from_rows(spec, cell, rows, status, message, started_at, threads);
}

ExecutionPlan plan_execution(const Spec& spec, const std::vector<Cell>& cells, const std::vector<std::size_t>& todo,
                             const Registry& registry, int jobs) {
  ExecutionPlan plan;
  plan.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (jobs <= 0) jobs = spec.jobs;
  const bool threads_given = spec.lines.count("threads") > 0;
  std::map<std::string, std::pair<double, double>> shapes;
  for (std::size_t i : todo) {
    const int wanted = std::max(1, cells[i].params["threads"].get<int>());
    int threads = wanted;
    if (jobs > 0) {
      threads = std::min(wanted, std::max(1, plan.cores / jobs));
    } else if (!threads_given) {
      // The rule: below the measured crossover one thread per cell and as many cells as cores;
      // above it, each cell gets every core.
      const std::string key = cells[i].params["dataset"].dump();
      if (!shapes.count(key)) shapes[key] = probe_shape(registry, spec, cells[i].params["dataset"]);
      const auto [m, n] = shapes[key];
      const double mnl = m * n * cells[i].params["rank"].get<double>();
      threads = (m > 0 && mnl < kThreadCrossoverMNL) ? 1 : wanted;
    }
    plan.cells.push_back({i, std::min(threads, plan.cores)});
  }
  if (jobs > 0) {
    plan.max_jobs = jobs;
    plan.rule = "jobs " + std::to_string(jobs) + " (asked)";
  } else if (threads_given) {
    plan.max_jobs = std::max(1, plan.cores / std::max(1, spec.threads));
    plan.rule =
        "threads " + std::to_string(spec.threads) + " per cell (spec), " + std::to_string(plan.max_jobs) + " at once";
  } else {
    plan.max_jobs = plan.cores;
    std::size_t single = 0;
    for (const auto& p : plan.cells) single += p.threads == 1;
    plan.rule = "automatic: " + std::to_string(single) + " of " + std::to_string(plan.cells.size()) +
                " cells below M*N*L = " + json(kThreadCrossoverMNL).dump() +
                " on 1 thread, side by side; the rest on " + std::to_string(plan.cores) + " threads";
  }
  if (jobs > 0) plan.max_jobs = jobs;
  plan.wall_s = spec.limits_wall_s;
  const double share = 0.8 * physical_memory_bytes() / std::min<double>(plan.max_jobs, plan.cores);
  plan.memory_bytes = spec.limits_memory_gb > 0 ? spec.limits_memory_gb * 1e9 : share;
  return plan;
}

// ---------------------------------------------------------------------------------------------
struct Progress::Impl {
  std::ostream& out;
  ProgressMode mode;
  std::size_t total, done;
  std::size_t finished_here{};
  Clock::time_point start = Clock::now();
  Clock::time_point last_draw{};
  bool line_shown = false;
  struct Live {
    std::string what;
    Clock::time_point started;
    json last;
  };
  std::map<std::string, Live> running;  // by id

  void clear() {
    if (line_shown) out << "\r\033[K" << std::flush;
    line_shown = false;
  }
  void draw() {
    if (mode != ProgressMode::live || running.empty()) return;
    std::ostringstream os;
    os << running.size() << " running:";
    for (const auto& [id, r] : running) {
      os << "  " << r.what.substr(0, r.what.find(' ', r.what.find(' ') + 1)) << " it "
         << (r.last.contains("iteration") ? r.last["iteration"].dump() : "0");
      if (r.last.contains("loss")) os << " loss " << std::setprecision(4) << r.last["loss"].get<double>();
      os << " " << format_seconds(seconds_since(r.started));
    }
    std::string s = os.str();
    if (s.size() > 159) s = s.substr(0, 156) + "...";
    out << "\r\033[K" << s << std::flush;
    line_shown = true;
    last_draw = Clock::now();
  }
  void event(json e) {
    e["time"] = seconds_since(start);
    out << e.dump() << std::endl;
  }
};

Progress::Progress(std::ostream& out, ProgressMode mode, std::size_t total, std::size_t already_done)
    : impl_(new Impl{out, mode, total, already_done, 0, Clock::now(), {}, false, {}}) {
  if (mode == ProgressMode::automatic)
    impl_->mode = &out == &std::cerr && ::isatty(2) ? ProgressMode::live : ProgressMode::plain;
}

Progress::~Progress() {
  impl_->clear();
  delete impl_;
}

void Progress::started(const Cell& cell, int threads) {
  auto& p = *impl_;
  p.running[cell.id] = {describe(cell), Clock::now(), json::object()};
  if (p.mode == ProgressMode::json_lines)
    p.event({{"event", "started"}, {"id", cell.id}, {"cell", describe(cell)}, {"threads", threads}});
  if (p.mode == ProgressMode::live) p.draw();
}

void Progress::checkpoint(const Cell& cell, const json& row) {
  auto& p = *impl_;
  auto it = p.running.find(cell.id);
  if (it != p.running.end()) it->second.last = row;
  if (p.mode == ProgressMode::json_lines) p.event({{"event", "checkpoint"}, {"id", cell.id}, {"row", row}});
  if (p.mode == ProgressMode::live && seconds_since(p.last_draw) > 0.2) p.draw();
}

void Progress::finished(const Cell& cell, const json& result) {
  auto& p = *impl_;
  p.running.erase(cell.id);
  ++p.done;
  ++p.finished_here;
  const std::string status = result["status"];
  const double elapsed = seconds_since(p.start);
  const std::size_t left = p.total - p.done;
  // Finished cells per second so far, with the running ones counted as half done.
  const double eta = elapsed / static_cast<double>(p.finished_here) * static_cast<double>(left);
  if (p.mode == ProgressMode::json_lines) {
    json e = {{"event", "finished"},          {"id", cell.id},  {"cell", describe(cell)}, {"status", status},
              {"message", result["message"]}, {"done", p.done}, {"total", p.total},       {"final", result["final"]}};
    if (left > 0) e["eta_s"] = eta;
    p.event(e);
    return;
  }
  if (p.mode == ProgressMode::quiet) return;
  std::ostringstream line;
  line << "[" << std::setw(static_cast<int>(std::to_string(p.total).size())) << p.done << "/" << p.total << "] "
       << std::left << std::setw(7) << status << std::right << " " << describe(cell) << "  "
       << format_seconds(result.value("solver_seconds", 0.0));
  if (status == "ok" && result["final"].contains("relative_error"))
    line << "  relative_error=" << std::setprecision(3) << result["final"]["relative_error"].get<double>();
  if (status != "ok") line << "  " << result["message"].get<std::string>();
  if (left > 0) line << "  (eta " << format_seconds(eta) << ")";
  p.clear();
  p.out << line.str() << std::endl;
  p.draw();
}

void Progress::note(const std::string& line) {
  auto& p = *impl_;
  if (p.mode == ProgressMode::quiet) return;
  if (p.mode == ProgressMode::json_lines) return p.event({{"event", "note"}, {"text", line}});
  p.clear();
  p.out << line << std::endl;
  p.draw();
}

// ---------------------------------------------------------------------------------------------
bool execute_cells(const Spec& spec, const std::vector<Cell>& cells, const Registry& registry, const std::string& out,
                   const ExecutionPlan& plan, Progress& progress, const std::function<void(std::size_t, json)>& sink) {
  g_stop_signal = 0;
  struct sigaction stop {
  }, old_int{}, old_term{};
  stop.sa_handler = on_stop_signal;
  sigemptyset(&stop.sa_mask);
  ::sigaction(SIGINT, &stop, &old_int);
  ::sigaction(SIGTERM, &stop, &old_term);

  std::vector<Worker> running;
  std::size_t next = 0;
  int cores_busy = 0;

  auto start = [&](const Placement& p) {
    int fds[2];
    pid_t pid;
    if (worker_launcher_running()) {
      pid = launch_worker(cells[p.index], p.threads, out, plan.memory_bytes, &fds[0]);
    } else {
      if (::pipe(fds) != 0) throw Error(std::string("cannot create a pipe for a worker: ") + std::strerror(errno));
      std::cout.flush();
      std::cerr.flush();
      pid = ::fork();
      if (pid < 0) throw Error(std::string("cannot start a worker process: ") + std::strerror(errno));
      if (pid == 0) {
        ::close(fds[0]);
        for (const auto& w : running) ::close(w.fd);
        ::sigaction(SIGINT, &old_int, nullptr);
        ::sigaction(SIGTERM, &old_term, nullptr);
        worker_main(spec, cells[p.index], p.threads, registry, out, fds[1], plan.memory_bytes);
      }
      ::close(fds[1]);
    }
    Worker w;
    w.pid = pid;
    w.fd = fds[0];
    w.placement = p;
    w.started = Clock::now();
    w.started_at = utc_now();
    running.push_back(std::move(w));
    cores_busy += p.threads;
    progress.started(cells[p.index], p.threads);
  };

  auto kill_worker = [](Worker& w, const std::string& reason, const std::string& why) {
    if (!w.killed_for.empty()) return;
    w.killed_for = reason;
    w.why = why;
    ::kill(w.pid, SIGKILL);
  };

  auto consume = [&](Worker& w) {
    std::size_t pos;
    while ((pos = w.buffer.find('\n')) != std::string::npos) {
      const std::string line = w.buffer.substr(0, pos);
      w.buffer.erase(0, pos + 1);
      if (line.size() < 1) continue;
      try {
        if (line[0] == 'C' && line.size() > 2) {
          w.rows.push_back(json::parse(line.substr(2)));
          progress.checkpoint(cells[w.placement.index], w.rows.back());
        } else if (line[0] == 'R' && line.size() > 2) {
          w.result = json::parse(line.substr(2));
        } else if (line[0] == 'M') {
          w.out_of_memory_marker = true;
        }
      } catch (const std::exception&) {
        // a line that does not parse is ignored; the worker's end decides its status
      }
    }
  };

  auto finish = [&](Worker& w) {
    ::close(w.fd);
    int status = 0;
    if (worker_launcher_running())
      status = wait_launched_worker(w.pid);
    else
      while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
      }
    const Cell& cell = cells[w.placement.index];
    const std::size_t done_iterations = w.rows.empty() ? 0 : w.rows.back().value("iteration", std::size_t{0});
    const std::string after = w.rows.empty() ? "before its first checkpoint"
                                             : "after checkpoint at iteration " + std::to_string(done_iterations);
    json result;
    if (!w.result.is_null() && w.killed_for.empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      result = std::move(w.result);
    } else if (!w.killed_for.empty()) {
      result =
          result_from_rows(spec, cell, w.rows, w.killed_for, w.why + ", " + after, w.started_at, w.placement.threads);
    } else if (w.out_of_memory_marker) {
      result = result_from_rows(spec, cell, w.rows, kOutOfMemory,
                                "an allocation failed under the worker's address-space limit of " +
                                    json(std::round(plan.memory_bytes / 1e8) / 10).dump() + " GB (limits.memory_gb), " +
                                    after,
                                w.started_at, w.placement.threads);
    } else if (WIFSIGNALED(status)) {
      result = result_from_rows(
          spec, cell, w.rows, kCrashed,
          "worker killed by " + signal_name(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + "), " + after,
          w.started_at, w.placement.threads);
    } else {
      result = result_from_rows(
          spec, cell, w.rows, kCrashed,
          "worker exited with status " + std::to_string(WEXITSTATUS(status)) + " without a result, " + after,
          w.started_at, w.placement.threads);
    }
    cores_busy -= w.placement.threads;
    progress.finished(cell, result);
    sink(w.placement.index, std::move(result));
  };

  while (next < plan.cells.size() || !running.empty()) {
    if (g_stop_signal) {
      for (auto& w : running) kill_worker(w, kInterrupted, std::string("stopped by ") + signal_name(g_stop_signal));
    } else {
      // Start cells in order while they fit: threads of the running cells <= cores, workers <= max_jobs.
      while (next < plan.cells.size() && static_cast<int>(running.size()) < plan.max_jobs &&
             (running.empty() || cores_busy + plan.cells[next].threads <= plan.cores))
        start(plan.cells[next++]);
    }
    if (running.empty()) break;

    std::vector<pollfd> fds;
    for (const auto& w : running) fds.push_back({w.fd, POLLIN, 0});
    const int n = ::poll(fds.data(), fds.size(), 100);
    if (n < 0 && errno != EINTR) throw Error(std::string("poll: ") + std::strerror(errno));
    std::vector<std::size_t> ended;
    for (std::size_t k = 0; k < running.size(); ++k) {
      Worker& w = running[k];
      if (n > 0 && (fds[k].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[65536];
        const ssize_t got = ::read(w.fd, buf, sizeof buf);
        if (got > 0) {
          w.buffer.append(buf, static_cast<std::size_t>(got));
          consume(w);
        } else if (got == 0 || errno != EINTR) {
          ended.push_back(k);
          continue;
        }
      }
      if (plan.wall_s > 0 && seconds_since(w.started) > plan.wall_s)
        kill_worker(w, kTimeout, "no result within limits.wall_s = " + json(plan.wall_s).dump() + " s");
      if (plan.memory_bytes > 0 && resident_bytes(w.pid) > plan.memory_bytes)
        kill_worker(w, kOutOfMemory,
                    "resident memory above limits.memory_gb = " +
                        json(std::round(plan.memory_bytes / 1e7) / 100).dump() + " GB");
    }
    for (auto it = ended.rbegin(); it != ended.rend(); ++it) {
      finish(running[*it]);
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(*it));
    }
  }
  const bool completed = g_stop_signal == 0;
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  return completed;
}

}  // namespace nmfx
