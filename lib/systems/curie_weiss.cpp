#include "systems/curie_weiss.hpp"

namespace macrodyn {

namespace {

class CurieWeissSystem final : public System {
 public:
  CurieWeissSystem(int dim, const SystemParams& p) : dim_(dim), params_(p) {}
  std::string name() const override { return "curie_weiss"; }
  int dim() const override { return dim_; }
  const SystemParams& params() const override { return params_; }
  std::vector<std::string> observable_names() const override { return {"m"}; }
  bool supports(Boundary b) const override { return b != Boundary::frozen; }
  std::unique_ptr<Evolver> make_evolver() const override {
    return std::make_unique<CurieWeissEvolver>(dim_, 1.0 / params_.T, params_.h);
  }
  void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary,
                         double* g) const override {
    std::vector<std::int8_t> box(ipow(p, dim_));
    extract_box(x, dim_, L, o, p, box.data());
    std::int64_t M = 0;
    for (auto s : box) M += s;
    g[0] = static_cast<double>(M) / static_cast<double>(box.size());
  }

 private:
  int dim_;
  SystemParams params_;
};

}  // namespace

std::unique_ptr<System> make_curie_weiss(int dim, const SystemParams& params) {
  return std::make_unique<CurieWeissSystem>(dim, params);
}

}  // namespace macrodyn
