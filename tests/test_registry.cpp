// The plugin registry (framework/host/registry.hpp): descriptors, the ABI check, lifetime, and listing.
#include <doctest/doctest.h>

#include "support.hpp"

TEST_CASE("a library built for another ABI is refused - naming the file and both versions") {
  nmfx::Registry reg;
  reg.scan({NMFX_WRONG_ABI_DIR});
  REQUIRE(reg.problems().size() == 1);
  const std::string& p = reg.problems()[0];
  CHECK(p.find("wrong_abi.so") != std::string::npos);
  CHECK(p.find("ABI 999") != std::string::npos);
  CHECK(p.find("ABI " + std::to_string(NMFX_ABI_VERSION)) != std::string::npos);
  CHECK(reg.list().empty());

  // The command says so too, and goes on with the plugins it can use.
  const auto r = test::nmfx_command("list solver", NMFX_TEST_TMP_DIR, "NMFX_PLUGIN_PATH='" NMFX_WRONG_ABI_DIR "'");
  CHECK(r.status == 0);
  CHECK(r.output.find("refused: built for nmfx plugin ABI 999, this nmfx has ABI") != std::string::npos);
  CHECK(r.output.find("solver mu ") != std::string::npos);
}

TEST_CASE("the built-in plugins are found - each with a complete descriptor") {
  const auto& reg = test::registry();
  for (const auto& [kind, name] :
       std::vector<std::pair<nmfx::PluginKind, std::string>>{{nmfx::PluginKind::dataset, "synthetic"},
                                                             {nmfx::PluginKind::dataset, "npy"},
                                                             {nmfx::PluginKind::loss, "frobenius"},
                                                             {nmfx::PluginKind::loss, "kl"},
                                                             {nmfx::PluginKind::solver, "mu"},
                                                             {nmfx::PluginKind::metric, "relative_error"},
                                                             {nmfx::PluginKind::metric, "loss"},
                                                             {nmfx::PluginKind::metric, "sparsity"},
                                                             {nmfx::PluginKind::metric, "compression_ratio"}}) {
    CAPTURE(name);
    const auto* p = reg.find(kind, name);
    REQUIRE(p != nullptr);
    CHECK_FALSE(p->descriptor->version.empty());
    CHECK_FALSE(p->descriptor->description.empty());
    for (const auto& s : p->descriptor->params) {
      CHECK_FALSE(s.doc.empty());
      // Each default satisfies its own schema.
      if (!s.default_value.is_null()) CHECK_NOTHROW(nmfx::resolve_params({s}, nmfx::json{{s.name, s.default_value}}));
    }
  }
}

TEST_CASE("an object made by a plugin keeps its library loaded after the registry is gone") {
  std::shared_ptr<nmfx::Loss> loss;
  {
    nmfx::Registry reg;
    reg.scan({NMFX_BUILD_PLUGIN_DIR});
    loss = reg.create<nmfx::Loss>("frobenius", nmfx::json::object());
  }  // the registry, and its handles on the libraries, are destroyed here
  const nmfx::Data X = test::make_data(test::random_matrix(5, 4, 1));
  const nmfx::Matrix W = test::random_matrix(5, 2, 2), H = test::random_matrix(2, 4, 3);
  loss->prepare(X, 2);  // code in the plugin still runs
  CHECK(loss->value(X, W, H) > 0);
  loss.reset();  // and its library is unloaded after the object is destroyed
}

TEST_CASE("nmfx list prints every plugin with its parameters - defaults and docs") {
  const auto r = test::nmfx_command("list", NMFX_TEST_TMP_DIR);
  CHECK(r.status == 0);
  for (const char* s : {"dataset synthetic", "dataset npy", "loss frobenius", "loss kl", "solver mu",
                        "metric relative_error", "metric sparsity", "eps (real, default 1e-10"})
    CHECK_MESSAGE(r.output.find(s) != std::string::npos, s);
  CHECK(test::nmfx_command("list solvr", NMFX_TEST_TMP_DIR).status == 2);
}
