#include "systems/ising.hpp"

#include "systems/ising_wolff.hpp"

namespace macrodyn::systems {

void ising_patch_observables(int dim, const std::int8_t* x, int L, const Coord& o, int p,
                             Boundary b, double* g) {
  // Work on a contiguous copy of the box; only the lower faces of a `frozen` box read
  // the lattice again (their real neighbours).
  thread_local std::vector<std::int8_t> box;
  const std::int64_t n = ipow(p, dim);
  box.resize(static_cast<std::size_t>(n));
  extract_box(x, dim, L, o, p, box.data());
  std::int64_t stride[3] = {0, 0, 0};
  stride[dim - 1] = 1;
  for (int d = dim - 2; d >= 0; --d) stride[d] = stride[d + 1] * p;

  std::int64_t M = 0, unsat = 0;
  for (std::int64_t i = 0; i < n; ++i) M += box[i];
  Coord c{0, 0, 0};
  for (std::int64_t i = 0; i < n; ++i) {
    const int s = box[i];
    for (int d = 0; d < dim; ++d) {
      int lower;
      if (c[d] > 0) {
        lower = box[i - stride[d]];
      } else if (b != Boundary::frozen) {
        lower = box[i + (p - 1) * stride[d]];
      } else {
        std::int64_t j = 0;
        for (int k = 0; k < dim; ++k) {
          const int v = k == d ? o[k] - 1 : o[k] + c[k];
          j = j * L + ((v % L) + L) % L;
        }
        lower = x[j];
      }
      unsat += s != lower;
    }
    for (int d = dim - 1; d >= 0; --d) {  // advance the box coordinates of i
      if (++c[d] < p) break;
      c[d] = 0;
    }
  }
  g[0] = static_cast<double>(M) / static_cast<double>(n);
  g[1] = static_cast<double>(unsat) / (dim * static_cast<double>(n));
}

namespace {

template <int D>
class IsingSystem final : public System {
 public:
  explicit IsingSystem(const SystemParams& p) : params_(p) {}
  std::string name() const override { return D == 2 ? "ising2d" : "ising3d"; }
  int dim() const override { return D; }
  const SystemParams& params() const override { return params_; }
  std::vector<std::string> observable_names() const override { return {"m", "rho"}; }
  // m is judged; rho, the domain-wall fraction, is a fraction of bonds.
  std::vector<ObservableRange> observable_ranges() const override { return {{-1.0, 1.0}, {0.0, 1.0}}; }
  bool supports(Boundary b) const override { return b != Boundary::global; }
  ClosureNetwork closure_network() const override { return D == 2 ? ClosureNetwork::spin_cnn : ClosureNetwork::none; }
  // The magnetisation stays raw (docs/design.md §8.2); it is a site average, rho is not
  // (a patch's rho counts its torus bonds).
  std::vector<std::string> raw_observables() const override { return {"m"}; }
  bool tiling_invariant(int observable) const override { return observable == 0; }
  bool kept_by_upsampling(int observable) const override { return observable == 0; }  // rho is divided
  // Nearest-neighbour bonds: one-site halos, any block decomposition.
  bool team_splittable() const override { return true; }
  std::unique_ptr<Evolver> make_evolver() const override {
    return std::make_unique<IsingEvolver<D>>(1.0 / params_.get("T"), params_.get("h"));
  }
  void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary b,
                         double* g) const override {
    ising_patch_observables(D, x, L, o, p, b, g);
  }
  // Wolff's cluster algorithm (systems/ising_wolff.hpp), which needs h = 0.
  std::unique_ptr<EquilibriumSampler> make_equilibrium_sampler(int L) const override {
    if (params_.get("h") != 0.0) return nullptr;
    return std::make_unique<WolffSampler>(D, L, 1.0 / params_.get("T"));
  }
  std::string why_no_equilibrium_sampler() const override {
    return "system " + name() + " samples its equilibrium with Wolff's cluster algorithm, which needs system.h = 0 (got " +
           shortest(params_.get("h")) + ")";
  }

 private:
  SystemParams params_;
};

}  // namespace

std::vector<ParamSpec> ising_param_specs() {
  return {{"T", 2.5, "temperature (k_B = J = 1), > 0", true}, {"h", 0.1, "external field"}};
}

std::unique_ptr<System> make_ising(int dim, const SystemParams& params) {
  if (dim == 2) return std::make_unique<IsingSystem<2>>(params);
  return std::make_unique<IsingSystem<3>>(params);
}

}  // namespace macrodyn::systems
