// The grid over MPI ranks: rank 0 hands out cells, largest first, to whichever rank asks; the
// others run each in an isolated worker process (execute_cells with one cell) and write its result
// into the shared output folder. Built only when CMake finds MPI; otherwise MPI is never active.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include <nmfx/host/scheduler.hpp>

#ifdef NMFX_HAVE_MPI
#include <pthread.h>
#endif

#ifdef NMFX_HAVE_MPI
#include <mpi.h>
#endif

namespace nmfx {

#ifdef NMFX_HAVE_MPI
namespace {

constexpr int kTagReport = 1;  // rank -> 0: {"index": i, "result": {...}} or {} when asking first
constexpr int kTagCell = 2;    // 0 -> rank: a cell index, or kNoMore, or kNoMoreRankLost
constexpr int kNoMore = -1;
constexpr int kNoMoreRankLost = -2;  // no more, and a rank was lost: exit without MPI_Finalize
constexpr int kTagAlive = 3;         // rank -> 0: an empty heartbeat, every kHeartbeatSeconds

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

// Set when a rank was lost: MPI_Finalize waits for every process of the job, and with Open MPI 4.1
// under --enable-recovery it can wait forever for a killed one (seen when the killed rank's worker,
// which holds the rank's inherited connections, outlives it). The survivors then exit without it,
// which mpirun --enable-recovery accepts (it ends the job once every process has exited).
bool g_skip_finalize = false;

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && !g_skip_finalize) MPI_Finalize();
}

void send_text(const std::string& text, int to, int tag) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD);
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
      // Serialized: a rank's heartbeat thread calls MPI too, never at the same time as the main thread.
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
      if (provided < MPI_THREAD_SERIALIZED)
        throw Error("this MPI library gives no MPI_THREAD_SERIALIZED support, which nmfx's ranks need");
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

namespace {

using Clock = std::chrono::steady_clock;

std::string utc_time() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// A rank's heartbeat: an empty message to rank 0 every kHeartbeatSeconds from a thread of its own,
// for as long as the rank is in mpi_execute (running a cell or waiting for one), so that rank 0 can
// tell a rank that is busy from one that is gone. MPI is initialised MPI_THREAD_SERIALIZED: every
// MPI call of the rank, from either thread, holds `mpi_lock`.
class Heartbeat {
 public:
  explicit Heartbeat(std::mutex& mpi_lock) : mpi_lock_(mpi_lock), thread_([this] { beat(); }) {}
  ~Heartbeat() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void beat() {
    // Signals are for the main thread (execute_cells' and mpi_execute's handlers).
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock<std::mutex> lock(mutex_);
    const auto period = std::chrono::duration<double>(kHeartbeatSeconds);
    while (!wake_.wait_for(lock, period, [&] { return stop_; })) {
      const std::lock_guard<std::mutex> mpi(mpi_lock_);
      MPI_Send(nullptr, 0, MPI_CHAR, 0, kTagAlive, MPI_COMM_WORLD);
    }
  }
  std::mutex& mpi_lock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// What rank 0 knows of another rank.
struct Peer {
  Clock::time_point heard;  // the last message from it (heartbeat or report)
  long cell = -1;           // the cell it holds, or -1
  bool waiting = false;     // asked for a cell, not answered yet
  bool ended = false;       // sent -1: it has left the grid
  bool lost = false;        // silent for longer than the timeout: never sent anything again
};

}  // namespace

bool mpi_execute(const Spec& spec, const std::vector<Cell>& cells, const std::vector<std::size_t>& todo,
                 const Registry& registry, const std::string& out, const ExecutionPlan& limits, Progress& progress,
                 const std::function<void(std::size_t, json)>& sink, double rank_timeout_s) {
  const MpiContext& mpi = mpi_context();
  const StopHandlers handlers;
  if (mpi.rank == 0) {
    // Largest first, so that a long cell starts early instead of holding up the end.
    std::vector<std::size_t> order = todo;
    std::vector<double> cost(cells.size(), 0);
    for (std::size_t i : order) cost[i] = estimated_cost(spec, cells[i], registry);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
    std::deque<std::size_t> queue(order.begin(), order.end());  // a lost rank's cell goes to the front
    std::vector<int> handed(cells.size(), 0);                   // times a cell was given to a rank
    std::vector<std::string> started_at(cells.size());
    std::vector<std::vector<int>> lost_ranks(cells.size());  // the ranks lost while holding the cell
    std::vector<char> recorded(cells.size(), 0);
    std::vector<Peer> peers(static_cast<std::size_t>(mpi.size), Peer{Clock::now()});
    int gone = 0;  // ranks ended or lost
    bool any_lost = false;
    const auto timeout = std::chrono::duration<double>(rank_timeout_s);
    std::ostringstream seconds;
    seconds << rank_timeout_s << " s";

    // A result goes to the sink once: a rank thought lost that reports after all, and the rank
    // that got its cell, both send one (equal values; both files are written atomically).
    auto record = [&](std::size_t i, json result) {
      if (recorded[i]) return;
      recorded[i] = 1;
      progress.finished(cells[i], result);
      sink(i, std::move(result));
    };
    auto send_cell = [&](int rank, int cell) {
      Peer& p = peers[static_cast<std::size_t>(rank)];
      p.waiting = false;
      if (cell >= 0) {
        const std::size_t i = static_cast<std::size_t>(cell);
        if (handed[i]++ == 0) {
          progress.started(cells[i], 0);
          started_at[i] = utc_time();
        }
        p.cell = cell;
      } else {
        p.ended = true;
        gone += !p.lost;
        cell = any_lost ? kNoMoreRankLost : kNoMore;
      }
      MPI_Send(&cell, 1, MPI_INT, rank, kTagCell, MPI_COMM_WORLD);
    };
    // A cell can come back while a live rank holds one. Until none does, waiting ranks are kept
    // waiting (heartbeats going on): they may get it, and all learn together whether a rank was lost.
    auto may_come_back = [&] {
      for (const Peer& p : peers)
        if (!p.lost && !p.ended && p.cell >= 0) return true;
      return false;
    };
    // Waiting ranks get the next cell; with none left they end, unless a cell may still come back.
    auto dispatch = [&] {
      for (int rank = 1; rank < mpi.size; ++rank) {
        if (!peers[static_cast<std::size_t>(rank)].waiting) continue;
        while (!g_mpi_stop && !queue.empty() && recorded[queue.front()]) queue.pop_front();
        if (!g_mpi_stop && !queue.empty()) {
          send_cell(rank, static_cast<int>(queue.front()));
          queue.pop_front();
        } else if (g_mpi_stop || !may_come_back()) {
          send_cell(rank, -1);
        }
      }
    };
    auto check_lost = [&] {
      const Clock::time_point now = Clock::now();
      for (int rank = 1; rank < mpi.size; ++rank) {
        Peer& p = peers[static_cast<std::size_t>(rank)];
        if (p.lost || p.ended || now - p.heard < timeout) continue;
        p.lost = true;
        ++gone;
        any_lost = true;
        std::string note =
            "nmfx: MPI rank " + std::to_string(rank) + " lost (nothing heard from it for " + seconds.str() + ")";
        if (p.cell >= 0) {
          const std::size_t i = static_cast<std::size_t>(p.cell);
          lost_ranks[i].push_back(rank);
          if (recorded[i]) {
          } else if (handed[i] < 2 && !g_mpi_stop) {
            queue.push_front(i);
            note += "; its cell " + cells[i].id + " goes to another rank";
          } else if (handed[i] >= 2) {
            std::string ranks;
            for (int r : lost_ranks[i]) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
            const int threads = cells[i].params.value("threads", 1);
            json result = unfinished_result(spec, cells[i], {}, kRankLost,
                                            "the MPI ranks running this cell were lost, one after the other (ranks " +
                                                ranks + "; nothing heard from each for " + seconds.str() +
                                                "); no trace (a rank keeps its cell's checkpoints until the cell ends)",
                                            started_at[i], threads);
            write_file_atomic(out + "/" + cells[i].id + ".json", result.dump(1));
            record(i, std::move(result));
            note += "; its cell " + cells[i].id + " is recorded rank_lost (its second rank lost)";
          }
          p.cell = -1;
        }
        progress.note(note);
      }
    };

    Clock::time_point deadline = Clock::time_point::max();
    while (gone < mpi.size - 1) {
      int ready = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &ready, &status);
      if (!ready) {
        if (g_mpi_stop && deadline == Clock::time_point::max())
          deadline =
              Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kDrainSeconds));
        if (Clock::now() > deadline) break;  // stopped, and the running cells' ranks did not report in time
        check_lost();
        dispatch();
        // Open MPI's blocking probe spins on a core; rank 0 mostly waits, so it naps between looks.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      int count = 0;
      MPI_Get_count(&status, MPI_CHAR, &count);
      std::string text(static_cast<std::size_t>(count), '\0');
      MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      const int source = status.MPI_SOURCE;
      Peer& p = peers[static_cast<std::size_t>(source)];
      p.heard = Clock::now();
      if (status.MPI_TAG != kTagReport) continue;  // a heartbeat
      const json report = json::parse(text);
      if (report.contains("index")) record(report["index"], report["result"]);
      p.cell = -1;
      // A rank that stops (SIGTERM), or was counted lost but speaks again, gets no more cells.
      if (g_mpi_stop || report.value("stopping", false) || p.lost)
        send_cell(source, -1);
      else
        p.waiting = true;
      dispatch();
    }
    // A rank that wrote its cell's result (interrupted) but could not report it before the end:
    // the summary lists it from its file. A cell without a file is missing; --resume runs it.
    for (const Peer& p : peers) {
      if (p.lost || p.cell < 0) continue;
      const std::size_t i = static_cast<std::size_t>(p.cell);
      std::ifstream in(std::filesystem::path(out) / (cells[i].id + ".json"));
      if (!in) continue;
      try {
        record(i, json::parse(in));
      } catch (const std::exception&) {
      }
    }
    g_skip_finalize = any_lost;
    std::size_t not_run = 0;
    for (std::size_t i : queue) not_run += !recorded[i];
    if (not_run && !g_mpi_stop)
      progress.note("nmfx: " + std::to_string(not_run) +
                    " cells not run: no MPI rank left to run them (`nmfx run --resume` runs them)");
    return g_mpi_stop == 0;
  }
  // A rank runs one cell at a time; the ranks on one machine share its cores.
  const int cores = std::max(1, limits.cores / std::max(1, mpi.local_size));
  std::mutex mpi_lock;
  const Heartbeat heartbeat(mpi_lock);
  json report = json::object();
  bool completed = true;
  for (;;) {
    if (g_mpi_stop) completed = false;
    if (!completed) report["stopping"] = true;
    int cell = -1;
    MPI_Request request;
    {
      const std::lock_guard<std::mutex> lock(mpi_lock);
      send_text(report.dump(), 0, kTagReport);
      MPI_Irecv(&cell, 1, MPI_INT, 0, kTagCell, MPI_COMM_WORLD, &request);
    }
    // Rank 0 may keep a rank waiting (a cell may come back from a lost rank): heartbeats go on.
    for (int done = 0;;) {
      {
        const std::lock_guard<std::mutex> lock(mpi_lock);
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      }
      if (done) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (cell < 0) {
      g_skip_finalize = cell == kNoMoreRankLost;
      return completed;
    }
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
                 const std::string&, const ExecutionPlan&, Progress&, const std::function<void(std::size_t, json)>&,
                 double) {
  throw Error("this nmfx was built without MPI");
}

#endif

}  // namespace nmfx
