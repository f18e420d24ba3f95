// Rank selection: the analysis plugins against direct computations on hand-made groups of runs
// (a consensus matrix computed by hand, SciPy's cophenet and fcluster on the same average linkage,
// scikit-learn's cosine silhouettes), and a planted rank-8 survey where cross-validation and the
// cophenetic criterion must both choose 8.
#include <doctest/doctest.h>

#include <nmfx/npy.hpp>

#include "support.hpp"

namespace {

using nmfx::json;
using nmfx::Matrix;

// H whose column j has its largest entry in row label[j]; the other entries vary, below it.
Matrix h_for(const std::vector<int>& label, std::size_t L, std::uint64_t seed) {
  nmfx::Rng rng(seed);
  Matrix H = Matrix::from_shape({L, label.size()});
  for (std::size_t j = 0; j < label.size(); ++j)
    for (std::size_t a = 0; a < L; ++a) H(a, j) = static_cast<int>(a) == label[j] ? 2.0 + rng.uniform() : rng.uniform();
  return H;
}

struct Group {
  std::vector<Matrix> W, H;
  nmfx::RunGroup g;
};

void attach_runs(Group& group, std::size_t rank, const std::string& dir) {
  group.g.rank = rank;
  group.g.output_dir = dir;
  group.g.file_prefix = "hand_";
  for (std::size_t r = 0; r < std::max(group.H.size(), group.W.size()); ++r)
    group.g.runs.push_back({{"id", "run" + std::to_string(r)}, {"final", json::object()}});
  group.g.factor = [&group](std::size_t r, const std::string& which) {
    return which == "W" ? group.W.at(r) : group.H.at(r);
  };
}

test::Command python(const std::string& script) {
  const auto dir = test::temp_dir("rank_selection_py");
  test::write(dir / "check.py", script);
  return test::shell("/usr/bin/python3 '" + (dir / "check.py").string() + "'");
}

}  // namespace

TEST_CASE("consensus: counts, dispersion, cophenetic correlation and clusters match a direct computation") {
  // Seven runs' labels of 10 samples, rank 3: mostly three groups, with disagreements.
  const std::vector<std::vector<int>> labels = {{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}, {1, 1, 1, 0, 0, 2, 2, 2, 2, 2},
                                                {0, 0, 1, 1, 1, 1, 2, 2, 0, 2}, {2, 2, 2, 0, 0, 0, 1, 1, 1, 0},
                                                {0, 1, 0, 2, 2, 2, 1, 1, 1, 1}, {0, 0, 0, 1, 1, 2, 2, 2, 2, 1},
                                                {1, 1, 2, 0, 0, 0, 2, 2, 2, 2}};
  const std::size_t N = 10, R = labels.size();
  const auto dir = test::temp_dir("rank_selection_consensus");
  Group group;
  for (std::size_t r = 0; r < R; ++r) group.H.push_back(h_for(labels[r], 3, 100 + r));
  attach_runs(group, 3, dir.string());

  // By hand: C_ij = (1/R) #{r : label_r(i) = label_r(j)}; dispersion (1/N^2) sum 4 (C_ij - 1/2)^2.
  Matrix C = Matrix::from_shape({N, N});
  double dispersion = 0;
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = 0; j < N; ++j) {
      int same = 0;
      for (const auto& l : labels) same += l[i] == l[j];
      C(i, j) = static_cast<double>(same) / static_cast<double>(R);
      dispersion += 4 * (C(i, j) - 0.5) * (C(i, j) - 0.5);
    }
  dispersion /= static_cast<double>(N * N);
  nmfx::write_npy((dir / "C.npy").string(), C);

  auto analysis = test::registry().create<nmfx::Analysis>(
      "consensus",
      nmfx::resolve_params(test::registry().find(nmfx::PluginKind::analysis, "consensus")->descriptor->params,
                           json::object()));
  const json out = analysis->analyze(group.g);
  CHECK(out["values"]["dispersion"].get<double>() == doctest::Approx(dispersion).epsilon(1e-14));
  CHECK(out["count_bytes"] == 1);  // 7 runs: one byte per pair

  // The heatmap is C reordered by the dendrogram's leaf order.
  const Matrix heat = nmfx::read_npy((dir / out["heatmap"].get<std::string>()).string());
  const auto order = out["order"].get<std::vector<std::size_t>>();
  REQUIRE(order.size() == N);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = 0; j < N; ++j) CHECK(heat(i, j) == doctest::Approx(C(order[i], order[j])).epsilon(1e-15));

  // SciPy on the same distances: cophenetic correlation and the tree cut into 3 clusters.
  const auto r = python(
      "import numpy as np\n"
      "from scipy.cluster.hierarchy import linkage, cophenet, fcluster\n"
      "from scipy.spatial.distance import squareform\n"
      "C = np.load('" +
      (dir / "C.npy").string() +
      "')\n"
      "d = squareform(1 - C, checks=False)\n"
      "Z = linkage(d, 'average')\n"
      "print(repr(cophenet(Z, d)[0]))\n"
      "print(' '.join(str(x) for x in fcluster(Z, 3, 'maxclust')))\n");
  REQUIRE_MESSAGE(r.status == 0, r.output);
  std::istringstream in(r.output);
  double scipy_cophenetic = 0;
  in >> scipy_cophenetic;
  std::vector<int> scipy_cluster(N);
  for (auto& c : scipy_cluster) in >> c;
  CHECK(out["values"]["cophenetic"].get<double>() == doctest::Approx(scipy_cophenetic).epsilon(1e-12));
  const auto ours = out["clusters"].get<std::vector<int>>();
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = 0; j < N; ++j) CHECK((ours[i] == ours[j]) == (scipy_cluster[i] == scipy_cluster[j]));
}

TEST_CASE("consensus: a random subset for the linkage, and a clear refusal when memory would not do") {
  const auto dir = test::temp_dir("rank_selection_memory");
  Group group;
  const std::size_t N = 3000;
  for (std::size_t r = 0; r < 3; ++r) {
    std::vector<int> l(N);
    for (std::size_t j = 0; j < N; ++j) l[j] = static_cast<int>((j * (r + 1)) % 4);
    group.H.push_back(h_for(l, 4, r));
  }
  attach_runs(group, 4, dir.string());
  const auto& params = test::registry().find(nmfx::PluginKind::analysis, "consensus")->descriptor->params;
  auto small = test::registry().create<nmfx::Analysis>(
      "consensus", nmfx::resolve_params(params, {{"memory_limit_mb", 1}, {"cophenetic_samples", 100}}));
  try {
    small->analyze(group.g);
    FAIL("a 3000-sample consensus within 1 MB was not refused");
  } catch (const nmfx::Error& e) {
    const std::string m = e.what();
    CHECK(m.find("N = 3000 samples") != std::string::npos);
    CHECK(m.find("4.58 MB") != std::string::npos);  // 3000 * 2999 / 2 one-byte counts + 100^2 doubles
  }
  auto subset = test::registry().create<nmfx::Analysis>(
      "consensus", nmfx::resolve_params(params, {{"cophenetic_samples", 200}, {"heatmap", false}}));
  const json out = subset->analyze(group.g);
  CHECK(out["linkage_samples"].size() == 200);
  CHECK(out["order"].size() == 200);
  CHECK(out["values"]["cophenetic"].is_number());
}

TEST_CASE("stability: the columns of W are clustered one per run, silhouettes as scikit-learn's") {
  // Five runs return the same three columns, permuted and perturbed: clusters = the planted columns.
  const std::size_t M = 12, k = 3, R = 5;
  const Matrix base = test::random_matrix(M, k, 7);
  const std::vector<std::vector<std::size_t>> perm = {{0, 1, 2}, {2, 0, 1}, {1, 2, 0}, {0, 2, 1}, {2, 1, 0}};
  Group group;
  nmfx::Rng rng(11);
  Matrix points = Matrix::from_shape({R * k, M});
  std::vector<int> planted;
  for (std::size_t r = 0; r < R; ++r) {
    Matrix W = Matrix::from_shape({M, k});
    for (std::size_t c = 0; c < k; ++c) {
      double norm = 0;
      for (std::size_t i = 0; i < M; ++i)
        W(i, c) = base(i, perm[r][c]) * (1 + 0.3 * rng.uniform()), norm += W(i, c) * W(i, c);
      for (std::size_t i = 0; i < M; ++i) points(r * k + c, i) = W(i, c) / std::sqrt(norm);
      planted.push_back(static_cast<int>(perm[r][c]));
    }
    group.W.push_back(W);
  }
  const auto dir = test::temp_dir("rank_selection_stability");
  attach_runs(group, k, dir.string());
  nmfx::write_npy((dir / "P.npy").string(), points);
  auto analysis = test::registry().create<nmfx::Analysis>(
      "stability",
      nmfx::resolve_params(test::registry().find(nmfx::PluginKind::analysis, "stability")->descriptor->params,
                           json::object()));
  const json out = analysis->analyze(group.g);
  std::string labels;
  for (int p : planted) labels += std::to_string(p) + ",";
  const auto r = python(
      "import numpy as np\n"
      "from sklearn.metrics import silhouette_samples\n"
      "P = np.load('" +
      (dir / "P.npy").string() +
      "')\n"
      "l = np.array([" +
      labels +
      "])\n"
      "s = silhouette_samples(P, l, metric='cosine')\n"
      "print(repr(s.mean()), repr(min(s[l == c].mean() for c in range(3))))\n");
  REQUIRE_MESSAGE(r.status == 0, r.output);
  std::istringstream in(r.output);
  double mean = 0, minimum = 0;
  in >> mean >> minimum;
  CHECK(out["values"]["silhouette"].get<double>() == doctest::Approx(mean).epsilon(1e-12));
  CHECK(out["values"]["silhouette_min"].get<double>() == doctest::Approx(minimum).epsilon(1e-12));
  CHECK(minimum > 0.5);  // the perturbation leaves the planted columns apart
}

TEST_CASE("holdout: disjoint folds of the requested fraction, the rest observed") {
  const auto dir = test::temp_dir("rank_selection_holdout");
  const Matrix X = test::random_matrix(30, 40, 3);
  nmfx::write_npy((dir / "x.npy").string(), X);
  std::vector<std::set<std::pair<std::size_t, std::size_t>>> folds;
  const auto& d = *test::registry().find(nmfx::PluginKind::dataset, "npy")->descriptor;
  for (int fold = 0; fold < 3; ++fold) {
    auto ds = test::registry().create<nmfx::Dataset>(
        "npy",
        nmfx::resolve_params(d.params, {{"path", (dir / "x.npy").string()}, {"holdout", 0.1}, {"holdout_fold", fold}}));
    nmfx::Data data = ds->load();
    REQUIRE(data.kind == nmfx::DataKind::observed);
    CHECK(data.sparse.nnz() + data.test.nnz() == 1200);
    CHECK(data.test.nnz() == doctest::Approx(120).epsilon(0.25));
    std::set<std::pair<std::size_t, std::size_t>> held;
    for (std::size_t i = 0; i < 30; ++i)
      for (std::size_t p = data.test.indptr[i]; p < data.test.indptr[i + 1]; ++p) {
        held.insert({i, data.test.indices[p]});
        CHECK(data.test.values[p] == X(i, data.test.indices[p]));
      }
    for (const auto& f : folds)
      for (const auto& e : held) CHECK(f.count(e) == 0);
    folds.push_back(held);
  }
  auto past = test::registry().create<nmfx::Dataset>(
      "npy",
      nmfx::resolve_params(d.params, {{"path", (dir / "x.npy").string()}, {"holdout", 0.5}, {"holdout_fold", 2}}));
  CHECK_THROWS_WITH(past->load(), doctest::Contains("holdout_fold"));
}

TEST_CASE("planted rank 8: cross-validation and the cophenetic correlation both choose 8") {
  // X = W H + noise, 60 x 80, each sample dominated by one of 8 factors (10 samples each).
  const std::size_t M = 60, N = 80, K = 8;
  nmfx::Rng rng(2024);
  Matrix W = test::random_matrix(M, K, 5), H = Matrix::from_shape({K, N});
  for (std::size_t j = 0; j < N; ++j)
    for (std::size_t a = 0; a < K; ++a) H(a, j) = (a == j % K ? 1.0 : 0.0) + 0.1 * rng.uniform();
  Matrix X = test::naive_product(W, H);
  for (double& x : X) x = std::max(0.0, x + 0.05 * rng.normal());
  const auto dir = test::temp_dir("rank_selection_planted");
  nmfx::write_npy((dir / "x.npy").string(), X);
  const std::string common =
      "ranks: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n"
      "init: {method: random, distribution: uniform, scale: auto}\n"
      "checkpoints: {every: 1000}\n"
      "threads: 1\n";
  test::write(dir / "consensus.yaml",
              "name: consensus\n"
              "datasets: [{name: npy, params: {path: x.npy}}]\n"
              "solvers: [hals]\nlosses: [frobenius]\nrepeats: 20\n"
              "stopping: {max_iter: 300}\nmetrics: [relative_error]\nsave_factors: true\n" +
                  common);
  test::write(dir / "cv.yaml",
              "name: cv\n"
              "datasets: [{name: npy, params: {path: x.npy, holdout: 0.1, holdout_fold: [0, 1, 2, 3]}}]\n"
              "solvers: [ccd]\nlosses: [frobenius]\nrepeats: 5\n"
              "stopping: {max_iter: 300}\nmetrics: [test_rmse, train_rmse]\n" +
                  common);
  for (const char* name : {"consensus", "cv"}) {
    const auto run = test::nmfx_command(std::string("run ") + name + ".yaml -o " + name, dir);
    REQUIRE_MESSAGE(run.status == 0, run.output.substr(run.output.size() > 3000 ? run.output.size() - 3000 : 0));
  }
  const auto a1 =
      test::nmfx_command("analyze consensus --analysis consensus --analysis stability --analysis elbow", dir);
  REQUIRE_MESSAGE(a1.status == 0, a1.output);
  const auto a2 = test::nmfx_command("analyze cv --analysis cross_validation", dir);
  REQUIRE_MESSAGE(a2.status == 0, a2.output);
  const json c = json::parse(test::read(dir / "consensus" / "analysis.json"));
  const json v = json::parse(test::read(dir / "cv" / "analysis.json"));
  INFO(a1.output);
  INFO(a2.output);
  CHECK(c["surveys"][0]["analyses"]["consensus"]["chosen"] == 8);
  CHECK(v["surveys"][0]["analyses"]["cross_validation"]["chosen"] == 8);
  CHECK(c["surveys"][0]["runs_per_rank"]["8"] == 20);
  CHECK(v["surveys"][0]["runs_per_rank"]["8"] == 20);  // 5 seeds x 4 folds
  // nmfx report prints the same table.
  const auto report = test::nmfx_command("report consensus", dir);
  CHECK(report.output.find("Rank selection") != std::string::npos);
}

TEST_CASE(
    "spec analyses: nmfx run runs them after the grid, writing what nmfx analyze writes, and validate checks them") {
  // Three groups of 10 samples, each dominated by one of 3 factors.
  const std::size_t M = 20, N = 30, K = 3;
  nmfx::Rng rng(7);
  Matrix W = test::random_matrix(M, K, 8), H = Matrix::from_shape({K, N});
  for (std::size_t j = 0; j < N; ++j)
    for (std::size_t a = 0; a < K; ++a) H(a, j) = (a == j % K ? 1.0 : 0.0) + 0.1 * rng.uniform();
  const auto dir = test::temp_dir("spec_analyses");
  nmfx::write_npy((dir / "x.npy").string(), test::naive_product(W, H));
  const std::string head =
      "name: s\ndatasets: [{name: npy, params: {path: x.npy}}]\nsolvers: [hals]\nranks: [2, 3, 4, 5]\nrepeats: 4\n"
      "stopping: {max_iter: 100}\ncheckpoints: {every: 100}\nmetrics: [relative_error]\nsave_factors: true\n"
      "threads: 1\n";
  test::write(dir / "s.yaml", head + "analyses: [consensus, {name: elbow, params: {metric: relative_error}}]\n");
  const auto validated = test::nmfx_command("validate s.yaml", dir);
  CHECK_MESSAGE(validated.status == 0, validated.output);
  const auto ran = test::nmfx_command("run s.yaml -o out", dir);
  REQUIRE_MESSAGE(ran.status == 0, ran.output);
  CHECK(ran.output.find("written: ") != std::string::npos);
  const json from_run = json::parse(test::read(dir / "out" / "analysis.json"));
  const auto& analyses = from_run["surveys"][0]["analyses"];
  CHECK(analyses.size() == 2);  // only the analyses the spec names
  CHECK(analyses["consensus"]["per_rank"].size() == 4);
  CHECK(analyses["elbow"]["params"]["metric"] == "relative_error");
  const auto analyzed = test::nmfx_command("analyze out --analysis consensus --analysis elbow", dir);
  REQUIRE_MESSAGE(analyzed.status == 0, analyzed.output);
  CHECK(json::parse(test::read(dir / "out" / "analysis.json")) == from_run);

  test::write(dir / "typo.yaml", head + "analyses: [consensus, consensu]\n");
  const auto typo = test::nmfx_command("validate typo.yaml", dir);
  CHECK(typo.status == 2);
  CHECK(typo.output.find("typo.yaml:11: analyses[1]: unknown analysis 'consensu'; did you mean 'consensus'?") !=
        std::string::npos);
  test::write(dir / "param.yaml", head + "analyses: [{name: elbow, params: {metrc: loss}}]\n");
  const auto param = test::nmfx_command("validate param.yaml", dir);
  CHECK(param.status == 2);
  CHECK(param.output.find("did you mean 'metric'?") != std::string::npos);
}
