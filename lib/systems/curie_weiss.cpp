#include "systems/curie_weiss.hpp"

namespace macrodyn::systems {

namespace {

class CurieWeissSystem final : public System {
 public:
  CurieWeissSystem(int dim, const SystemParams& p) : dim_(dim), params_(p) {}
  std::string name() const override { return "curie_weiss"; }
  int dim() const override { return dim_; }
  const SystemParams& params() const override { return params_; }
  std::vector<std::string> observable_names() const override { return {"m"}; }
  std::vector<ObservableRange> observable_ranges() const override { return {{-1.0, 1.0}}; }
  bool supports(Boundary b) const override { return b != Boundary::frozen; }
  // docs/design.md §8.3: physical time, m raw, the paper's lr 1e-2 with a constant
  // diffusion, truth frames taken at k Delta without interpolation. Every spin feels the
  // whole system, so a team cannot split it.
  TimeUnit time_unit() const override { return TimeUnit::physical; }
  std::vector<std::string> raw_observables() const override { return {"m"}; }
  bool tiling_invariant(int) const override { return true; }
  bool kept_by_upsampling(int) const override { return true; }
  ReferenceTraining reference_training() const override { return {1e-2, "constant", false}; }
  std::unique_ptr<Evolver> make_evolver() const override {
    return std::make_unique<CurieWeissEvolver>(dim_, 1.0 / params_.get("T"), params_.get("h"));
  }
  void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary,
                         double* g) const override {
    g[0] = static_cast<double>(sum_box(x, dim_, L, o, p)) / static_cast<double>(ipow(p, dim_));
  }

 private:
  int dim_;
  SystemParams params_;
};

}  // namespace

std::vector<ParamSpec> curie_weiss_param_specs() {
  return {{"T", 2.5, "temperature (k_B = J = 1), > 0; the mean-field critical point is T = 1", true},
          {"h", 0.1, "external field"}};
}

std::unique_ptr<System> make_curie_weiss(int dim, const SystemParams& params) {
  return std::make_unique<CurieWeissSystem>(dim, params);
}

}  // namespace macrodyn::systems
