// A test solver that misbehaves the way third-party code does, at a chosen step: it segfaults,
// aborts, allocates (and touches) memory without bound, or sleeps forever. Before that step it
// leaves W and H as they are, so the cell has a trace up to the misbehaviour. The execution engine's
// tests (test_engine.cpp) run it in a grid beside good cells.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <nmfx/plugin.hpp>

namespace {

// A store through a null pointer: a real SIGSEGV, also in a build with UndefinedBehaviorSanitizer,
// whose null check would otherwise stop the process first (with SIGABRT).
__attribute__((no_sanitize_undefined)) void write_through_null() {
  volatile int* nowhere = nullptr;
  *nowhere = 1;
}

class MisbehavingSolver final : public nmfx::Solver {
 public:
  explicit MisbehavingSolver(const nmfx::Params& p) : how_(p.str("behaviour")), at_(p.integer("at")) {}
  void prepare(const nmfx::Problem&, nmfx::Matrix&, nmfx::Matrix&) override {}
  void step(nmfx::Matrix&, nmfx::Matrix&) override {
    if (++iteration_ < at_) return;
    if (how_ == "segfault") {
      write_through_null();
    } else if (how_ == "abort") {
      std::abort();
    } else if (how_ == "allocate") {
      std::vector<char*> blocks;
      for (;;) {  // 64 MB at a time, every page touched, never freed
        char* block = new char[64 << 20];
        std::memset(block, 1, 64 << 20);
        blocks.push_back(block);
      }
    } else if (how_ == "sleep") {
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

 private:
  std::string how_;
  long long at_;
  long long iteration_ = 0;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, MisbehavingSolver>(
      "misbehaving", "0.0.1", "test solver that crashes, aborts, exhausts memory or hangs");
  d.params = {nmfx::param_choice("behaviour", "segfault", {"segfault", "abort", "allocate", "sleep", "none"},
                                 "what step number `at` does"),
              nmfx::param_int("at", 3, "the step that misbehaves (1-based)", 1)};
  d.losses = {"frobenius"};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
