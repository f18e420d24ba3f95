// nmfx: run YAML-described NMF experiments with plugin solvers, losses, datasets and metrics.
// Exit status: 0 success; 1 some cells failed, crashed, ran out of memory or time (the grid still ran
// to the end), or check-plugin found a failing property; 2 bad input; 130 stopped by SIGINT/SIGTERM.
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "analyze.hpp"
#include "bench.hpp"
#include "check_plugin.hpp"
#include "merge.hpp"
#include "new_plugin.hpp"
#include "report.hpp"

#include <nmfx/host/grid.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/host/scheduler.hpp>

namespace {

nmfx::Registry load_plugins(const std::vector<std::string>& extra) {
  nmfx::Registry registry;
  registry.scan(nmfx::plugin_dirs(extra));
  for (const auto& p : registry.problems()) std::cerr << "nmfx: warning: " << p << "\n";
  return registry;
}

std::string format_default(const nmfx::json& v) {
  if (v.is_null()) return "(required)";
  return v.is_string() ? (v.get<std::string>().empty() ? "\"\"" : v.get<std::string>()) : v.dump();
}

// A number as a reader writes it: 1e-10, 0.5, 3.
std::string format_number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// One plugin's parameters as the Markdown table its README holds under "## Parameters"
// (tools/update-plugin-docs copies it there; a test checks every README against it).
std::string parameter_table(const nmfx::PluginDescriptor& d) {
  if (d.params.empty()) return "This plugin has no parameters.\n";
  std::ostringstream os;
  os << "| name | type | default | range | doc |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& s : d.params) {
    std::string range = "—";
    if (!s.choices.empty()) {
      range.clear();
      for (const auto& c : s.choices) range += (range.empty() ? "" : ", ") + c;
    } else if (s.min && s.max) {
      range = "[" + format_number(*s.min) + ", " + format_number(*s.max) + "]";
    } else if (s.min) {
      range = "≥ " + format_number(*s.min);
    } else if (s.max) {
      range = "≤ " + format_number(*s.max);
    }
    std::string doc = s.doc;
    for (std::size_t at = doc.find('|'); at != std::string::npos; at = doc.find('|', at + 2)) doc.replace(at, 1, "\\|");
    os << "| " << s.name << " | " << nmfx::to_string(s.type) << " | " << format_default(s.default_value) << " | "
       << range << " | " << doc << " |\n";
  }
  return os.str();
}

int list_markdown(const std::string& kind_filter) {
  const auto registry = load_plugins({});
  for (const auto* p : registry.list()) {
    const auto& d = *p->descriptor;
    if (!kind_filter.empty() && kind_filter != nmfx::to_string(d.kind) && kind_filter != d.name) continue;
    std::cout << "### " << nmfx::to_string(d.kind) << " " << d.name << "\n\n" << parameter_table(d) << "\n";
  }
  return 0;
}

int list_plugins(const std::string& kind_filter) {
  const auto registry = load_plugins({});
  bool any = false;
  for (const auto* p : registry.list()) {
    const auto& d = *p->descriptor;
    if (!kind_filter.empty() && kind_filter != nmfx::to_string(d.kind)) continue;
    any = true;
    std::cout << nmfx::to_string(d.kind) << " " << d.name << " " << d.version << ": " << d.description << "\n";
    if (d.kind == nmfx::PluginKind::solver) {
      std::string losses;
      for (const auto& l : d.losses) losses += (losses.empty() ? "" : ", ") + (l == "*" ? "any loss" : l);
      std::cout << "    losses: " << losses << "\n";
    }
    {
      std::string kinds;
      for (const auto k : d.data_kinds) kinds += (kinds.empty() ? "" : ", ") + std::string(nmfx::to_string(k));
      std::cout << (d.kind == nmfx::PluginKind::dataset ? "    produces: " : "    data: ") << kinds << "\n";
    }
    for (const auto& s : d.params) {
      std::cout << "    " << s.name << " (" << nmfx::to_string(s.type) << ", default "
                << format_default(s.default_value);
      if (s.min || s.max)
        std::cout << ", range [" << (s.min ? nmfx::json(*s.min).dump() : "-inf") << ", "
                  << (s.max ? nmfx::json(*s.max).dump() : "inf") << "]";
      if (!s.choices.empty()) {
        std::string c;
        for (const auto& x : s.choices) c += (c.empty() ? "" : "|") + x;
        std::cout << ", one of " << c;
      }
      std::cout << "): " << s.doc << "\n";
    }
    std::cout << "    file: " << p->path << "\n";
  }
  if (!kind_filter.empty() && kind_filter != "dataset" && kind_filter != "loss" && kind_filter != "solver" &&
      kind_filter != "metric" && kind_filter != "analysis") {
    std::cerr << "nmfx list: unknown kind '" << kind_filter << "' (dataset, loss, solver, metric, analysis)\n";
    return 2;
  }
  if (!any) std::cout << "no plugins found in: " << nmfx::json(nmfx::plugin_dirs()).dump() << "\n";
  return 0;
}

struct Loaded {
  nmfx::Spec spec;
  nmfx::Registry registry;
  std::vector<nmfx::Cell> cells;
};

// to_run: the grid will run in this process, so its workers will be forked from a launcher made
// now, while the process is small (a grid's cells take about 5 KB each; see launcher.cpp).
Loaded load_spec(const std::string& file, bool to_run = false) {
  Loaded l;
  l.spec = nmfx::parse_spec(file);
  l.registry = load_plugins(l.spec.plugin_paths);
  nmfx::validate_spec(l.spec, l.registry);
  if (to_run) nmfx::start_worker_launcher(l.spec, l.registry);
  l.cells = nmfx::expand_grid(l.spec, l.registry);
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  nmfx::select_blas_kernels(argv);
  CLI::App app{"nmfx: reproducible nonnegative matrix factorization experiments"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    const auto& mpi = nmfx::mpi_context();
    return std::string("nmfx " NMFX_VERSION_STRING "\nMPI: ") +
           (mpi.built ? "yes (" + mpi.library + "; mpirun -np K nmfx run spreads a grid over K-1 worker ranks)"
                      : "no (built without MPI)");
  });

  std::string spec_file, output, kind;
  bool dry_run = false, resume = false, force = false;
  auto* run = app.add_subcommand("run", "run every cell of the grid a spec describes; write JSON results");
  run->add_option("spec", spec_file, "experiment spec (YAML)")->required();
  run->add_flag("--dry-run", dry_run, "print the expanded cells and exit");
  run->add_flag("--resume", resume, "keep complete results already in the output folder, run the rest");
  run->add_flag("--force", force, "run cells again even if their results exist");
  run->add_option("-o,--output", output, "output folder (default: the spec's output, or runs/<name>)");
  bool retry_failed = false, quiet = false, json_progress = false;
  int jobs = 0;
  run->add_flag("--retry-failed", retry_failed,
                "with --resume: also rerun cells that crashed, ran out of memory or time");
  run->add_option("-j,--jobs", jobs, "cells at once (default: the spec's jobs, or chosen from each cell's size)")
      ->check(CLI::PositiveNumber);
  double rank_timeout_s = nmfx::kRankTimeoutSeconds;
  run->add_option("--rank-timeout", rank_timeout_s,
                  "under mpirun: seconds without a heartbeat after which a rank is lost and its cell goes to another "
                  "(default 30)")
      ->check(CLI::Range(3 * nmfx::kHeartbeatSeconds, 1e9));
  std::string shard;
  run->add_option("--shard", shard,
                  "i/n: run only the cells k with k mod n = i (for Slurm arrays; join with nmfx merge)");
  run->add_flag("-q,--quiet", quiet, "no progress lines");
  run->add_flag("--json-progress", json_progress,
                "progress as one JSON object per line (started, checkpoint, finished)");
  auto* validate = app.add_subcommand("validate", "check a spec and its plugins without running anything");
  validate->add_option("spec", spec_file, "experiment spec (YAML)")->required();
  nmfx_merge::Options merge_options;
  auto* merge = app.add_subcommand("merge", "join the results folders of shards (run --shard i/n) into one");
  merge->add_option("dirs", merge_options.dirs, "results folders")->required();
  merge->add_option("-o,--output", merge_options.output, "the joined folder")->required();
  auto* list = app.add_subcommand("list", "list the plugins found, with their parameters");
  list->add_option("kind", kind, "dataset, loss, solver, metric or analysis (with --markdown, also a plugin's name)");
  bool markdown = false;
  list->add_flag("--markdown", markdown,
                 "each plugin's parameter table in Markdown, as its README holds it (tools/update-plugin-docs)");

  nmfx_analyze::Options analyze_options;
  auto* analyze =
      app.add_subcommand("analyze", "rank selection: run analysis plugins on the runs of each rank, choose a rank");
  analyze
      ->add_option("results", analyze_options.dirs, "results folders (with saved factors for consensus and stability)")
      ->required();
  analyze->add_option("--analysis", analyze_options.analyses,
                      "analysis to run (repeatable; default: every one that applies)");
  analyze
      ->add_option("--param", analyze_options.params,
                   "analysis.key=value, e.g. consensus.cophenetic_samples=2000 (repeatable)")
      ->allow_extra_args(false);
  analyze->add_option("--plugin-path", analyze_options.plugin_paths, "another folder of plugins (repeatable)");

  nmfx_bench::Options bench_options;
  auto* bench =
      app.add_subcommand("bench", "time one iteration of solvers against the products with X it cannot avoid");
  bench
      ->add_option("--solver", bench_options.solvers,
                   "solver to time (repeatable); solver/loss for another loss, e.g. mu/kl")
      ->default_val(std::vector<std::string>{"mu", "hals", "accel_hals", "anls_bpp"});
  bench->add_option("--size", bench_options.sizes, "problem MxN:L (repeatable)")
      ->default_val(std::vector<std::string>{"2000x1500:30", "12544x2000:60"});
  bench->add_option("--sparse", bench_options.sparse_sizes, "sparse problem MxN:L:density (repeatable; 'none' skips)")
      ->default_val(std::vector<std::string>{"20000x5000:20:0.01"});
  bench->add_option("--sparse-run", bench_options.sparse_runs, "solver/loss timed on the sparse problems (repeatable)")
      ->default_val(std::vector<std::string>{"mu/frobenius", "mu/kl", "hals/frobenius"});
  bench->add_option("--threads", bench_options.threads, "threads (0: all cores)")->default_val(0);
  bench->add_option("--repeat", bench_options.repeat, "timed iterations per solver, median reported")->default_val(5);
  bench->add_option("--json", bench_options.json_out, "also write the figures to this JSON file");
  bench->add_flag("!--no-compare", bench_options.compare_kernels, "skip the run with OpenBLAS's own kernel choice");
  bench->add_flag("--cpu-time", bench_options.cpu_time,
                  "with --threads 1: time by the thread's CPU clock, which leaves out time spent descheduled on a "
                  "loaded machine");
  bench->add_flag("--child", bench_options.child, "internal: print the figures as JSON")->group("");
  bench->add_flag("--distributed", bench_options.distributed,
                  "under mpirun: one distributed cell per --size (default 4000x3000:20) and --solver (default mu); "
                  "bytes and seconds per iteration per process against PLANC's formula");
  bench->add_option("--grid", bench_options.grid, "with --distributed: auto, or pr,pc")->default_val("auto");
  bench->add_flag("--formula-only", bench_options.formula_only,
                  "with --distributed: only PLANC's bytes per iteration for 1-64 processes on each --size");

  nmfx_report::Options report_options;
  std::string report_by = "dataset,solver,loss,rank", report_metrics, report_targets = "1e-2,1e-4";
  auto* report =
      app.add_subcommand("report", "tables from results folders: final values, E(t), time to target, rho, topics");
  report->add_option("results", report_options.dirs, "results folders")->required();
  report->add_option("--by", report_by, "grouping keys of summary.jsonl, comma-separated")->capture_default_str();
  report->add_option("--metrics", report_metrics,
                     "final values to aggregate, comma-separated (default: relative_error)");
  report->add_option("--targets", report_targets, "E(t) targets, comma-separated")->capture_default_str();
  report->add_option("--csv", report_options.csv, "also write <prefix>_final.csv and <prefix>_targets.csv");
  report->add_option("--top-words", report_options.top_words, "words per topic for text data")->capture_default_str();
  report->add_option(
      "--json", report_options.json_out,
      "write runs, groups, varying parameters, E(t) and claims as JSON to this file ('-': stdout, no Markdown)");
  report->add_option("--claims", report_options.claims,
                     "a claims file (experiments/<study>.claims.yaml): one row per claim");
  report->add_flag("--check", report_options.check,
                   "with --claims: exit 1 when a claim's verdict is not the one it expects");
  report->add_flag("--quick", report_options.quick, "with --claims: the results come from tools/reproduce --quick");

  nmfx_new_plugin::Options new_options;
  auto* new_plugin =
      app.add_subcommand("new-plugin", "write a ready plugin folder: CMakeLists.txt, a working source, README, a test");
  new_plugin->add_option("kind", new_options.kind, "dataset, loss, solver, metric or analysis")->required();
  new_plugin->add_option("name", new_options.name, "the plugin's name, a C identifier (e.g. my_solver)")->required();
  new_plugin->add_option("--dir", new_options.dir, "where to create the folder <name>/")->capture_default_str();

  nmfx_check::Options check_options;
  bool check_no_fork = false;
  auto* check =
      app.add_subcommand("check-plugin", "run the conformance suite on plugins: one PASS/FAIL line per property");
  check->add_option("plugin", check_options.targets, "a plugin library (path to a .so) or a plugin name (repeatable)");
  check->add_option("--kind", check_options.kind, "with a name: dataset, loss, solver, metric or analysis");
  check->add_option("--param", check_options.params, "key=value: a parameter of the plugin under test (repeatable)")
      ->allow_extra_args(false);
  check->add_flag("--all", check_options.all, "check every plugin found (built-in and NMFX_PLUGIN_PATH)");
  check->add_flag("--no-fork", check_no_fork, "run every property in this process (for a debugger)");
  check->add_option("--timeout", check_options.timeout_s, "seconds allowed per property")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (*list) return markdown ? list_markdown(kind) : list_plugins(kind);
    if (*new_plugin) return nmfx_new_plugin::run(new_options, std::cout);
    if (*check) {
      check_options.isolate = !check_no_fork;
      return nmfx_check::run(check_options, std::cout);
    }
    if (*bench)
      return bench_options.distributed ? nmfx_bench::run_distributed(bench_options) : nmfx_bench::run(bench_options);
    if (*analyze) return nmfx_analyze::run(analyze_options, std::cout);
    if (*merge) return nmfx_merge::run(merge_options);
    if (*report) {
      auto split = [](const std::string& s) {
        std::vector<std::string> out;
        std::stringstream ss(s);
        for (std::string item; std::getline(ss, item, ',');)
          if (!item.empty()) out.push_back(item);
        return out;
      };
      report_options.by = split(report_by);
      report_options.metrics = split(report_metrics);
      for (const auto& t : split(report_targets)) {
        try {
          report_options.targets.push_back(std::stod(t));
        } catch (...) {
          throw nmfx::Error("report: --targets: '" + t + "' is not a number");
        }
      }
      return nmfx_report::run(report_options);
    }
    if (*validate) {
      const auto l = load_spec(spec_file);
      std::cout << spec_file << ": valid, " << l.cells.size() << " cells\n";
      return 0;
    }
    // run
    auto l = load_spec(spec_file, !dry_run);
    if (!shard.empty()) {
      // A deterministic partition: cell k (in grid order) belongs to shard k mod n, which spreads
      // ranks and seeds evenly over the shards.
      std::size_t i = 0, n = 0;
      char slash = 0;
      std::istringstream in(shard);
      if (!(in >> i >> slash >> n) || slash != '/' || n == 0 || i >= n || !in.eof())
        throw nmfx::Error("--shard: expected i/n with 0 <= i < n, got '" + shard + "'");
      std::vector<nmfx::Cell> mine;
      for (std::size_t k = i; k < l.cells.size(); k += n) mine.push_back(l.cells[k]);
      l.cells = std::move(mine);
    }
    if (dry_run) {
      for (std::size_t i = 0; i < l.cells.size(); ++i)
        std::cout << l.cells[i].id << "  " << l.cells[i].params.dump() << "\n";
      std::cout << l.cells.size() << " cells\n";
      return 0;
    }
    nmfx::RunOptions options{resume, force, output};
    options.retry_failed = retry_failed;
    options.jobs = jobs;
    options.rank_timeout_s = rank_timeout_s;
    if (quiet) options.progress = nmfx::ProgressMode::quiet;
    if (json_progress) options.progress = nmfx::ProgressMode::json_lines;
    const auto summary = nmfx::run_grid(l.spec, l.cells, l.registry, options, std::cerr);
    if (summary.mpi_rank != 0) return 0;  // rank 0 reports for all
    if (!quiet && !json_progress) std::cout << "\n" << nmfx::summary_table(l.cells, summary.outcomes) << "\n";
    std::cout << summary.ok << " ok, " << summary.failed << " failed, " << summary.skipped << " skipped";
    if (summary.interrupted) std::cout << ", " << summary.interrupted << " interrupted";
    if (summary.resumed) std::cout << ", " << summary.resumed << " kept from an earlier run";
    if (summary.stale)
      std::cout << ", " << summary.stale << " run again because a plugin changed since its earlier result";
    std::cout << "\nresults: " << summary.output << "/ (one <id>.json per run; summary.jsonl lists them all)\n";
    if (summary.stopped_by_signal) {
      std::cout << "stopped by a signal: `nmfx run --resume` runs the interrupted and remaining cells\n";
      return 130;
    }
    int analyses_status = 0;
    if (!l.spec.analyses.empty()) {
      if (!shard.empty()) {
        std::cout << "analyses: not run on a shard; run `nmfx analyze` on the merged results\n";
      } else {
        // The spec's analyses, exactly as `nmfx analyze RESULTS --analysis A --param A.key=value` runs them.
        nmfx_analyze::Options a;
        a.dirs = {summary.output};
        a.plugin_paths = l.spec.plugin_paths;
        for (const auto& ref : l.spec.analyses) {
          a.analyses.push_back(ref.name);
          for (auto it = ref.params.begin(); it != ref.params.end(); ++it)
            a.params.push_back(ref.name + "." + it.key() + "=" + it->dump());
        }
        std::cout << "\n";
        try {
          analyses_status = nmfx_analyze::run(a, std::cout);
        } catch (const nmfx::Error& e) {  // e.g. no run succeeded: the grid's own outcome stands
          std::cout << "analyses: " << e.what() << "\n";
          analyses_status = 1;
        }
      }
    }
    return summary.failed > 0 || analyses_status != 0 ? 1 : 0;
  } catch (const nmfx::Error& e) {
    std::cerr << "nmfx: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "nmfx: " << e.what() << "\n";
    return 2;
  }
}
