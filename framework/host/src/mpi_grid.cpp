// The grid over MPI ranks: rank 0 hands out cells, largest first, to whichever rank asks; the
// others run each in an isolated worker process (execute_cells with one cell) and write its result
// into the shared output folder. Built only when CMake finds MPI; otherwise MPI is never active.
#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdlib>
#include <iostream>
#include <string>

#include <nmfx/host/scheduler.hpp>

#ifdef NMFX_HAVE_MPI
#include <mpi.h>
#endif

namespace nmfx {

#ifdef NMFX_HAVE_MPI
namespace {

constexpr int kTagReport = 1;  // rank -> 0: {"index": i, "result": {...}} or {} when asking first
constexpr int kTagCell = 2;    // 0 -> rank: a cell index, or -1: no more

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void send_text(const std::string& text, int to, int tag) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD);
}

std::string receive_text(int from, int tag, int* source) {
  // Open MPI's blocking probe spins on a core; rank 0 mostly waits, so it naps between looks.
  MPI_Status status;
  for (int ready = 0;;) {
    MPI_Iprobe(from, tag, MPI_COMM_WORLD, &ready, &status);
    if (ready) break;
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

void mpi_execute(const Spec& spec, const std::vector<Cell>& cells, const std::vector<std::size_t>& todo,
                 const Registry& registry, const std::string& out, const ExecutionPlan& limits, Progress& progress,
                 const std::function<void(std::size_t, json)>& sink) {
  const MpiContext& mpi = mpi_context();
  if (mpi.rank == 0) {
    // Largest first, so that a long cell starts early instead of holding up the end.
    std::vector<std::size_t> order = todo;
    std::vector<double> cost(cells.size(), 0);
    for (std::size_t i : order) cost[i] = estimated_cost(spec, cells[i], registry);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
    std::size_t next = 0;
    int stopped = 0;
    while (stopped < mpi.size - 1) {
      int source = 0;
      const json report = json::parse(receive_text(MPI_ANY_SOURCE, kTagReport, &source));
      if (report.contains("index")) {
        const std::size_t i = report["index"];
        progress.finished(cells[i], report["result"]);
        sink(i, report["result"]);
      }
      const int cell = next < order.size() ? static_cast<int>(order[next++]) : -1;
      if (cell >= 0) progress.started(cells[static_cast<std::size_t>(cell)], 0);
      MPI_Send(&cell, 1, MPI_INT, source, kTagCell, MPI_COMM_WORLD);
      stopped += cell < 0;
    }
    return;
  }
  // A rank runs one cell at a time; the ranks on one machine share its cores.
  const int cores = std::max(1, limits.cores / std::max(1, mpi.local_size));
  std::string report = "{}";
  for (;;) {
    send_text(report, 0, kTagReport);
    int cell = -1;
    MPI_Recv(&cell, 1, MPI_INT, 0, kTagCell, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (cell < 0) return;
    const std::size_t i = static_cast<std::size_t>(cell);
    ExecutionPlan one = limits;
    one.cells = {{i, std::min(cores, std::max(1, cells[i].params["threads"].get<int>()))}};
    one.max_jobs = 1;
    one.cores = cores;
    if (spec.limits_memory_gb <= 0) one.memory_bytes = limits.memory_bytes / std::max(1, mpi.local_size);
    json result;
    Progress silent(std::cerr, ProgressMode::quiet, 1, 0);
    execute_cells(spec, cells, registry, out, one, silent, [&](std::size_t, json r) { result = std::move(r); });
    write_file_atomic(out + "/" + cells[i].id + ".json", result.dump(1));
    report = json{{"index", i}, {"result", std::move(result)}}.dump();
  }
}

#else

const MpiContext& mpi_context() {
  static const MpiContext context;
  return context;
}

void mpi_barrier() {}

void mpi_execute(const Spec&, const std::vector<Cell>&, const std::vector<std::size_t>&, const Registry&,
                 const std::string&, const ExecutionPlan&, Progress&, const std::function<void(std::size_t, json)>&) {
  throw Error("this nmfx was built without MPI");
}

#endif

}  // namespace nmfx
