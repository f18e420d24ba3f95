// A deliberately wrong dataset, for the test of nmfx check-plugin: a negative entry, and different
// data on every load (std::random_device).
#include <random>

#include <nmfx/plugin.hpp>

namespace {

class BrokenDataset final : public nmfx::Dataset {
 public:
  explicit BrokenDataset(const nmfx::Params&) {}
  nmfx::Data load() override {
    std::random_device device;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    nmfx::Data d;
    d.dense = nmfx::Matrix::from_shape({6, 5});
    for (double& x : d.dense) x = u(device);
    d.dense(2, 3) = -1.0;
    return d;
  }
};

nmfx::PluginDescriptor describe() {
  return nmfx::describe<nmfx::Dataset, BrokenDataset>("broken_dataset", "0.0.1", "test dataset, negative and random");
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
