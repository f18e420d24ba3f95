// The grid over MPI ranks: rank 0 hands out cells, largest first, to whichever rank asks; the
// others run each in an isolated worker process (execute_cells with one cell) and write its result
// into the shared output folder. Built only when CMake finds MPI; otherwise MPI is never active.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>

#include <nmfx/host/scheduler.hpp>

#ifdef NMFX_HAVE_MPI
#include <mpi.h>
#endif

namespace nmfx {

#ifdef NMFX_HAVE_MPI
namespace {

constexpr int kTagReport = 1;  // rank -> 0: {"index": i, "result": {...}} or {} when asking first
constexpr int kTagCell = 2;    // 0 -> rank: a cell index, or -1: no more

// SIGINT or SIGTERM while this rank is not inside execute_cells (which has a handler of its own).
// mpirun answers Ctrl-C with SIGTERM to every rank and SIGKILL a second later
// (odls_base_sigkill_timeout), so what a rank does about it must take well under a second.
volatile std::sig_atomic_t g_mpi_stop = 0;
extern "C" void on_mpi_stop(int sig) { g_mpi_stop = sig; }

// How long rank 0 waits, once stopped, for the reports of the cells still running.
constexpr double kDrainSeconds = 0.5;

struct StopHandlers {
  struct sigaction old_int {
  }, old_term{};
  StopHandlers() {
    g_mpi_stop = 0;
    struct sigaction stop {};
    stop.sa_handler = on_mpi_stop;
    sigemptyset(&stop.sa_mask);
    ::sigaction(SIGINT, &stop, &old_int);
    ::sigaction(SIGTERM, &stop, &old_term);
  }
  ~StopHandlers() {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
  }
};

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void send_text(const std::string& text, int to, int tag) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD);
}

// The next message, or "" once give_up() is true before one has come.
template <class GiveUp>
std::string receive_text(int from, int tag, int* source, GiveUp give_up) {
  // Open MPI's blocking probe spins on a core; rank 0 mostly waits, so it naps between looks.
  MPI_Status status;
  for (int ready = 0;;) {
    MPI_Iprobe(from, tag, MPI_COMM_WORLD, &ready, &status);
    if (ready) break;
    if (give_up()) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  std::string text(static_cast<std::size_t>(count), '\0');
  MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (source) *source = status.MPI_SOURCE;
  return text;
}

}  // namespace

const MpiContext& mpi_context() {
  static const MpiContext context = [] {
    MpiContext c;
    c.built = true;
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    c.library = std::string(version, static_cast<std::size_t>(length));
    c.library = c.library.substr(0, c.library.find_first_of(",\n"));
    const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
    if (!launched) return c;
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      MPI_Init(nullptr, nullptr);
      std::atexit(finalize_at_exit);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c.size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c.rank, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &c.local_size);
    MPI_Comm_free(&local);
    c.active = c.size > 1;
    return c;
  }();
  return context;
}

void mpi_barrier() {
  if (mpi_context().active) MPI_Barrier(MPI_COMM_WORLD);
}

bool mpi_execute(const Spec& spec, const std::vector<Cell>& cells, const std::vector<std::size_t>& todo,
                 const Registry& registry, const std::string& out, const ExecutionPlan& limits, Progress& progress,
                 const std::function<void(std::size_t, json)>& sink) {
  const MpiContext& mpi = mpi_context();
  const StopHandlers handlers;
  if (mpi.rank == 0) {
    // Largest first, so that a long cell starts early instead of holding up the end.
    std::vector<std::size_t> order = todo;
    std::vector<double> cost(cells.size(), 0);
    for (std::size_t i : order) cost[i] = estimated_cost(spec, cells[i], registry);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
    std::size_t next = 0;
    int stopped = 0;
    std::set<std::size_t> running;  // handed out, not yet reported
    using Clock = std::chrono::steady_clock;
    Clock::time_point deadline = Clock::time_point::max();
    auto draining = [&] {
      if (g_mpi_stop && deadline == Clock::time_point::max())
        deadline =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kDrainSeconds));
      return Clock::now() > deadline;
    };
    while (stopped < mpi.size - 1) {
      int source = 0;
      const std::string text = receive_text(MPI_ANY_SOURCE, kTagReport, &source, draining);
      if (text.empty()) break;  // stopped, and the running cells' ranks did not report in time
      const json report = json::parse(text);
      if (report.contains("index")) {
        const std::size_t i = report["index"];
        running.erase(i);
        progress.finished(cells[i], report["result"]);
        sink(i, report["result"]);
      }
      const bool stop = g_mpi_stop || report.value("stopping", false);
      const int cell = !stop && next < order.size() ? static_cast<int>(order[next++]) : -1;
      if (cell >= 0) {
        progress.started(cells[static_cast<std::size_t>(cell)], 0);
        running.insert(static_cast<std::size_t>(cell));
      }
      MPI_Send(&cell, 1, MPI_INT, source, kTagCell, MPI_COMM_WORLD);
      stopped += cell < 0;
    }
    // A rank that wrote its cell's result (interrupted) but could not report it before the end:
    // the summary lists it from its file. A cell without a file is missing; --resume runs it.
    for (std::size_t i : running) {
      std::ifstream in(std::filesystem::path(out) / (cells[i].id + ".json"));
      if (!in) continue;
      try {
        const json result = json::parse(in);
        progress.finished(cells[i], result);
        sink(i, result);
      } catch (const std::exception&) {
      }
    }
    return g_mpi_stop == 0;
  }
  // A rank runs one cell at a time; the ranks on one machine share its cores.
  const int cores = std::max(1, limits.cores / std::max(1, mpi.local_size));
  json report = json::object();
  bool completed = true;
  for (;;) {
    if (g_mpi_stop) completed = false;
    if (!completed) report["stopping"] = true;
    send_text(report.dump(), 0, kTagReport);
    int cell = -1;
    MPI_Recv(&cell, 1, MPI_INT, 0, kTagCell, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (cell < 0) return completed;
    const std::size_t i = static_cast<std::size_t>(cell);
    ExecutionPlan one = limits;
    one.cells = {{i, std::min(cores, std::max(1, cells[i].params["threads"].get<int>()))}};
    one.max_jobs = 1;
    one.cores = cores;
    if (spec.limits_memory_gb <= 0) one.memory_bytes = limits.memory_bytes / std::max(1, mpi.local_size);
    json result;
    Progress silent(std::cerr, ProgressMode::quiet, 1, 0);
    // Stopped inside (SIGINT or SIGTERM): the worker was killed and its cell recorded interrupted.
    completed =
        execute_cells(spec, cells, registry, out, one, silent, [&](std::size_t, json r) { result = std::move(r); });
    write_file_atomic(out + "/" + cells[i].id + ".json", result.dump(1));
    report = json{{"index", i}, {"result", std::move(result)}};
  }
}

#else

const MpiContext& mpi_context() {
  static const MpiContext context;
  return context;
}

void mpi_barrier() {}

bool mpi_execute(const Spec&, const std::vector<Cell>&, const std::vector<std::size_t>&, const Registry&,
                 const std::string&, const ExecutionPlan&, Progress&, const std::function<void(std::size_t, json)>&) {
  throw Error("this nmfx was built without MPI");
}

#endif

}  // namespace nmfx
