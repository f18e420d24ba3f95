#pragma once
/// @file plugin.hpp
/// The five plugin interfaces (dataset, loss, solver, metric, analysis), the descriptor every plugin
/// exports, and NMFX_EXPORT_PLUGIN, the one macro a plugin source file ends with.
///
/// Lifetime rules (Boost.DLL): every object a plugin creates is destroyed before its library is
/// unloaded; the framework guarantees it by giving each object a deleter that owns the library.
/// Plugins report errors by throwing nmfx::Error (or any std::exception); the framework catches
/// them while the library is loaded.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/config.hpp>
#include <boost/dll/alias.hpp>

#include <nmfx/abi.hpp>
#include <nmfx/distributed.hpp>
#include <nmfx/params.hpp>
#include <nmfx/types.hpp>

namespace nmfx {

enum class PluginKind { dataset, loss, solver, metric, analysis };
const char* to_string(PluginKind kind);

/// Named numbers: what a metric returns, and what a solver adds to the trace (inner statistics).
using Values = std::map<std::string, double>;

/// Dataset: parameters -> the data matrix X.
class BOOST_SYMBOL_VISIBLE Dataset {
 public:
  virtual ~Dataset();
  /// Loads or generates X. Called once per distinct parameter set; the framework caches it.
  virtual Data load() = 0;
  /// Distributed cells (descriptor.distributed): the shape (M, N) of X, from a file's header or
  /// the parameters, without loading X. The default throws nmfx::Error.
  virtual std::pair<std::size_t, std::size_t> shape();
  /// Distributed cells: rows x cols of X as a Data of that shape and of the kind load() returns,
  /// equal to that block of load()'s X, read without ever holding the rest of X (a memory-mapped
  /// slice, a pass over the file that keeps only the block, or the block generated from the
  /// seed). The framework fills in the statistics of the whole X. The default throws nmfx::Error.
  virtual Data load_block(const Range& rows, const Range& cols);
};

/// Loss: f(X, W, H), and its gradient with respect to W and H split into a positive and a
/// negative part, grad = pos - neg with pos, neg >= 0 elementwise (Lee & Seung 2001, section 5).
/// A multiplicative-update solver is then W <- W * neg / pos for every loss.
class BOOST_SYMBOL_VISIBLE Loss {
 public:
  virtual ~Loss();
  /// Sizes workspaces for this X and rank. Called before any other method, once per run.
  virtual void prepare(const Data& X, std::size_t rank) = 0;
  /// Instead of prepare() in a distributed cell (descriptor.distributed): X is this process's
  /// block, W and H in later calls are this process's rows and columns (distribution.layout), and
  /// value() returns the loss of the whole X, the same on every process; gradient_W and gradient_H
  /// fill this process's rows and columns. The default throws nmfx::Error.
  virtual void prepare_distributed(const Data& X_block, std::size_t rank, const Distribution& distribution);
  virtual double value(const Data& X, const Matrix& W, const Matrix& H) = 0;
  /// pos and neg are M x L, preallocated by the caller.
  virtual void gradient_W(const Data& X, const Matrix& W, const Matrix& H, Matrix& pos, Matrix& neg) = 0;
  /// pos and neg are L x N, preallocated by the caller.
  virtual void gradient_H(const Data& X, const Matrix& W, const Matrix& H, Matrix& pos, Matrix& neg) = 0;
};

/// Elastic-net penalties on the factors, added to the loss (scikit-learn's alpha_W, alpha_H and
/// l1_ratio, without its data-size scaling): l1_W ||W||_1 + l2_W/2 ||W||_F^2 + l1_H ||H||_1 + l2_H/2 ||H||_F^2.
/// Seed 003's lambda/2 (||P||^2 + ||Q||^2) is l2_W = l2_H = lambda.
struct Penalty {
  double l1_W = 0, l2_W = 0, l1_H = 0, l2_H = 0;
  bool any() const { return l1_W != 0 || l2_W != 0 || l1_H != 0 || l2_H != 0; }
  double value(const Matrix& W, const Matrix& H) const;
};

/// What a solver is asked to solve: minimize loss(X, WH) + penalty(W, H) over W, H >= 0.
/// Everything referenced outlives the solver's use of it.
struct Problem {
  const Data& X;
  Loss& loss;
  std::string loss_name;
  std::size_t rank;
  int threads;      ///< cores the solver may use (BLAS is already set to this)
  Penalty penalty;  ///< all zero unless the solver's descriptor says it honours penalties
  /// Set for a distributed cell (the solver's descriptor says distributed): X is then this
  /// process's block of X, W holds rows distribution->layout.w_rows and H columns
  /// distribution->layout.h_cols, and the loss was prepared with prepare_distributed.
  const Distribution* distribution = nullptr;
  /// The shape of this process's W (rows x rank) and H (rank x columns).
  std::size_t rows_of_W() const { return distribution ? distribution->layout.w_rows.size() : X.rows(); }
  std::size_t cols_of_H() const { return distribution ? distribution->layout.h_cols.size() : X.cols(); }
};

/// Solver: one outer iteration per step() (or one pass over the entries, for online solvers).
/// The clock runs only during step(); prepare() is not timed and is where workspaces are sized.
class BOOST_SYMBOL_VISIBLE Solver {
 public:
  virtual ~Solver();
  virtual void prepare(const Problem& problem, Matrix& W, Matrix& H) = 0;
  virtual void step(Matrix& W, Matrix& H) = 0;
  /// Inner statistics of the last step (e.g. inner iterations), added to the trace at checkpoints.
  virtual Values stats() const { return {}; }
};

/// Everything a metric may look at. The clock is stopped while metrics run.
struct MetricContext {
  const Data& X;
  const Matrix& W;
  const Matrix& H;
  std::size_t iteration;
  double loss;             ///< the cell's loss at this checkpoint
  std::string loss_name;   ///< the cell's loss plugin
  Loss& cell_loss;         ///< the cell's loss object (prepared), e.g. for gradients
  const Penalty& penalty;  ///< the cell's penalty; the objective is loss + penalty.value(W, H)
  std::size_t rank;
  const json& cell;   ///< the cell's full parameters
  const json& trace;  ///< the trace so far, columnar: {"iteration": [...], "loss": [...], ...}
  /// Value of any loss plugin by name at (X, W, H), e.g. to report KL while minimizing Frobenius.
  std::function<double(const std::string&)> loss_of;
  /// Set for a distributed cell (the metric's descriptor says distributed): X, W and H are then
  /// this process's pieces (see Problem), and a metric returns the value of the whole
  /// factorization, the same on every process, through distribution->comm.
  const Distribution* distribution = nullptr;
};

class BOOST_SYMBOL_VISIBLE Metric {
 public:
  virtual ~Metric();
  virtual Values evaluate(const MetricContext& context) = 0;
};

/// A group of runs an analysis looks at: every seed (and held-out fold) of one rank, all other
/// cell parameters equal. Runs that failed are not in it.
struct RunGroup {
  std::size_t rank = 0;
  json key;                ///< the cell parameters the runs share (seed and holdout_fold removed)
  std::vector<json> runs;  ///< each run's result JSON (cell, final values, iterations, ...)
  /// Run i's factor "W" (M x rank) or "H" (rank x N), read from disk on each call, so that an
  /// analysis holds one run's factors at a time. Throws nmfx::Error if the results have no saved
  /// factors (the spec needs save_factors: true).
  std::function<Matrix(std::size_t run, const std::string& which)> factor;
  std::string output_dir;   ///< where the analysis may write files, e.g. a consensus matrix
  std::string file_prefix;  ///< prefix unique to this group and analysis for those files
};

/// One rank's result of an analysis, as the selection step sees it.
struct RankResult {
  std::size_t rank;
  json result;  ///< what analyze() returned for that rank's group
};

/// Analysis: looks at a group of runs (all seeds of one rank) and returns group-level values,
/// e.g. a rank-selection criterion; then, given those values for every rank of a survey, chooses
/// a rank. The clock is not running; analyses run after the grid (`nmfx analyze`).
class BOOST_SYMBOL_VISIBLE Analysis {
 public:
  virtual ~Analysis();
  /// {"values": {"criterion": number, ...}, ...anything else worth keeping (file names, labels)}.
  virtual json analyze(const RunGroup& group) = 0;
  /// The chosen rank given every rank's result (ranks ascending), or 0 if the criterion cannot
  /// choose (e.g. fewer than three ranks). The explanation goes into `why`.
  virtual std::size_t choose(const std::vector<RankResult>& ranks, std::string& why) = 0;
};

/// The one descriptor a plugin exports. Read (after the ABI check) before any object is created.
struct PluginDescriptor {
  int abi_version = NMFX_ABI_VERSION;
  std::size_t descriptor_size = sizeof(PluginDescriptor);
  PluginKind kind = PluginKind::solver;
  std::string name;         ///< what specs call it
  std::string version;      ///< the plugin's own version, recorded in results
  std::string description;  ///< one line
  std::vector<ParamSpec> params;
  /// Solvers: the losses they can minimize; "*" means any loss (through its gradient split).
  std::vector<std::string> losses;
  /// Datasets: the kinds of data load() may return. Solvers, losses and metrics: the kinds they
  /// accept. `nmfx validate` refuses a dataset paired with a solver or loss that accepts none of
  /// the kinds the dataset produces, and a metric that accepts none of the spec's datasets.
  std::vector<DataKind> data_kinds;
  /// Solvers: whether they minimize loss + Problem::penalty. A spec with a nonzero penalty is
  /// refused for a solver that does not.
  bool penalties = false;
  /// Datasets: whether they implement shape() and load_block(). Solvers, losses and metrics:
  /// whether they run on a distributed cell (Problem::distribution, Loss::prepare_distributed,
  /// MetricContext::distribution). `nmfx validate` refuses a distributed spec naming one that does not.
  bool distributed = false;
  /// Returns a new object of the plugin's interface type (Dataset*, Loss*, Solver*, Metric*, Analysis*).
  void* (*create)(const Params&) = nullptr;
};

template <class Interface>
constexpr PluginKind kind_of();
template <>
constexpr PluginKind kind_of<Dataset>() {
  return PluginKind::dataset;
}
template <>
constexpr PluginKind kind_of<Loss>() {
  return PluginKind::loss;
}
template <>
constexpr PluginKind kind_of<Solver>() {
  return PluginKind::solver;
}
template <>
constexpr PluginKind kind_of<Metric>() {
  return PluginKind::metric;
}
template <>
constexpr PluginKind kind_of<Analysis>() {
  return PluginKind::analysis;
}

/// A descriptor for class Impl implementing Interface, constructed from its Params.
template <class Interface, class Impl>
PluginDescriptor describe(std::string name, std::string version, std::string description) {
  PluginDescriptor d;
  d.kind = kind_of<Interface>();
  d.name = std::move(name);
  d.version = std::move(version);
  d.description = std::move(description);
  d.data_kinds = {DataKind::dense};
  d.create = [](const Params& p) -> void* { return static_cast<Interface*>(new Impl(p)); };
  return d;
}

}  // namespace nmfx

/// Ends a plugin's source file: exports the ABI version and the descriptor built by `describe_fn`
/// (a function returning nmfx::PluginDescriptor).
#define NMFX_EXPORT_PLUGIN(describe_fn)                              \
  namespace nmfx_plugin_export {                                     \
  int abi_version() { return NMFX_ABI_VERSION; }                     \
  const ::nmfx::PluginDescriptor& descriptor() {                     \
    static const ::nmfx::PluginDescriptor d = describe_fn();         \
    return d;                                                        \
  }                                                                  \
  }                                                                  \
  BOOST_DLL_ALIAS(nmfx_plugin_export::abi_version, nmfx_abi_version) \
  BOOST_DLL_ALIAS(nmfx_plugin_export::descriptor, nmfx_descriptor)
