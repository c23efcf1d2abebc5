#include "systems/ising.hpp"

namespace macrodyn {

void ising_patch_observables(int dim, const std::int8_t* x, int L, const Coord& o, int p,
                             Boundary b, double* g) {
  const bool wrap_in_box = b != Boundary::frozen;
  auto at = [&](int a, int c, int e) -> int {
    // Site at box-relative coordinates (a, c[, e]); outside the box only for frozen.
    auto fold = [&](int v, int origin) {
      if (wrap_in_box) v = (v % p + p) % p;
      return ((origin + v) % L + L) % L;
    };
    if (dim == 2) return x[static_cast<std::int64_t>(fold(a, o[0])) * L + fold(c, o[1])];
    return x[(static_cast<std::int64_t>(fold(a, o[0])) * L + fold(c, o[1])) * L + fold(e, o[2])];
  };
  std::int64_t M = 0, unsat = 0;
  if (dim == 2) {
    for (int a = 0; a < p; ++a)
      for (int c = 0; c < p; ++c) {
        const int s = at(a, c, 0);
        M += s;
        unsat += (s != at(a - 1, c, 0)) + (s != at(a, c - 1, 0));
      }
  } else {
    for (int a = 0; a < p; ++a)
      for (int c = 0; c < p; ++c)
        for (int e = 0; e < p; ++e) {
          const int s = at(a, c, e);
          M += s;
          unsat += (s != at(a - 1, c, e)) + (s != at(a, c - 1, e)) + (s != at(a, c, e - 1));
        }
  }
  const double n = static_cast<double>(ipow(p, dim));
  g[0] = static_cast<double>(M) / n;
  g[1] = static_cast<double>(unsat) / (dim * n);
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
  bool supports(Boundary b) const override { return b != Boundary::global; }
  std::unique_ptr<Evolver> make_evolver() const override {
    return std::make_unique<IsingEvolver<D>>(1.0 / params_.T, params_.h);
  }
  void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary b,
                         double* g) const override {
    ising_patch_observables(D, x, L, o, p, b, g);
  }

 private:
  SystemParams params_;
};

}  // namespace

std::unique_ptr<System> make_ising(int dim, const SystemParams& params) {
  if (dim == 2) return std::make_unique<IsingSystem<2>>(params);
  return std::make_unique<IsingSystem<3>>(params);
}

}  // namespace macrodyn
