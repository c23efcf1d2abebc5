#pragma once
// A test-only system that exercises the System hooks no spin system of the registry
// does (docs/design.md §4, the checklist it follows): unsigned codes as states (uint8
// tables), a site mask, an interaction range of 2, its own [system] keys, its own initial states and random configurations, tiling
// as its upsampling rule, a patch choice that is not uniform.
//
// "checker2d": Ising spins on the even sublattice of a 2-D voxel grid, (x + y) even; the
// odd voxels are not sites. A state's byte is a code: 0 a down spin, 1 an up spin, 255 a
// voxel that is not a site (the evolver works on +-1 spins and 0 for non-sites inside). A site interacts with its 4 diagonal neighbours
// (+-1, +-1) with coupling J1 = 1 and its 4 axial second neighbours (+-2, 0), (0, +-2)
// with J2, both on the same sublattice, in a field h:
//   E = -(1/2) sum_i s_i (n1_i + J2 n2_i) - h sum_i s_i,  n1, n2 the neighbour sums.
// Dynamics: continuous-time Glauber (rate 1 / (1 + exp(beta dE)) per site) and heat-bath
// sweeps over the sites in raster order. Observables of a box: m, the mean spin of its
// sites, and unsat, the fraction of unsatisfied diagonal bonds (i, i + (1, 1)) and
// (i, i + (1, -1)) of its sites (torus bonds under `periodic`, real neighbours under
// `frozen`, as Ising's rho).
//
// Simple on purpose: event selection is a linear scan over the box's sites (O(sites)
// per event, fine for the test lattices; a production system keeps class lists, §2.5).
// register_checker_system() adds it to the registry of the test executable, so the
// conformance suite, which iterates the registry, holds it to every contract.
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "systems/system.hpp"

namespace macrodyn::testing {

// The state layout's codes and the evolver's spins.
inline std::int8_t checker_spin(std::int8_t byte) {
  const auto b = static_cast<std::uint8_t>(byte);
  return b == 1 ? 1 : b == 0 ? -1 : 0;
}
inline std::int8_t checker_byte(std::int8_t spin) {
  return static_cast<std::int8_t>(spin > 0 ? 1 : spin < 0 ? 0 : 255);
}
inline constexpr std::uint8_t kCheckerNoSite = 255;

class CheckerEvolver final : public systems::Evolver {
 public:
  CheckerEvolver(double beta, double J2, double h) : beta_(beta), J2_(J2), h_(h) {}

  void load(const std::int8_t* x, int L, const Coord& o, int w, Boundary b, const std::int8_t* stage) override {
    // Even sides keep the sublattice consistent across a torus seam and give every row
    // w / 2 sites (site_of).
    if (w % 2 != 0 || L % 2 != 0) throw std::invalid_argument("checker2d: box and lattice sides must be even");
    w_ = w;
    const auto n = static_cast<std::size_t>(w) * static_cast<std::size_t>(w);
    cells_.assign(n, 0);
    sites_.clear();
    neighbours_.clear();
    parity_ = (o[0] + o[1]) & 1;
    for (int i = 0; i < w; ++i)
      for (int j = 0; j < w; ++j) cells_[idx(i, j)] = checker_spin(x[wrap(o[0] + i, L) * L + wrap(o[1] + j, L)]);
    // Neighbour slots: 4 diagonal, then 4 axial second neighbours, per site.
    static const int kD[8][2] = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}, {2, 0}, {-2, 0}, {0, 2}, {0, -2}};
    for (int i = 0; i < w; ++i)
      for (int j = 0; j < w; ++j) {
        if (((i + j + parity_) & 1) != 0) continue;
        sites_.push_back(static_cast<std::int32_t>(idx(i, j)));
        for (const auto& d : kD) {
          const int a = i + d[0], c = j + d[1];
          if (b == Boundary::periodic || (a >= 0 && a < w && c >= 0 && c < w)) {
            neighbours_.push_back(static_cast<std::int32_t>(idx(wrap(a, w), wrap(c, w))));
          } else {  // frozen: a ring cell, read once from the stage copy
            neighbours_.push_back(static_cast<std::int32_t>(cells_.size()));
            cells_.push_back(checker_spin(stage[wrap(o[0] + a, L) * L + wrap(o[1] + c, L)]));
          }
        }
      }
    rates_.assign(sites_.size(), 0.0);
    for (std::size_t k = 0; k < sites_.size(); ++k) rates_[k] = rate(k);
  }

  double run_events(std::uint64_t n, Rng& rng) override {
    double t = 0.0;
    for (std::uint64_t e = 0; e < n; ++e) {
      double R = 0.0;
      for (double r : rates_) R += r;
      const double x = rng.uniform() * R;
      std::size_t k = 0;
      for (double c = rates_[0]; c <= x && k + 1 < rates_.size(); c += rates_[++k]) {
      }
      t += rng.exponential() / R;
      flip(k);
    }
    return t;
  }

  void heatbath_sweep(Rng& rng) override {
    for (std::size_t k = 0; k < sites_.size(); ++k) {
      const double hl = local_field(k);
      const double p_up = 1.0 / (1.0 + std::exp(-2.0 * beta_ * hl));
      const std::int8_t s = rng.uniform() < p_up ? 1 : -1;
      if (s != cells_[static_cast<std::size_t>(sites_[k])]) flip(k);
    }
  }

  // The box as state bytes (codes), refreshed on each call.
  const std::int8_t* box() const override {
    box_.resize(static_cast<std::size_t>(w_) * static_cast<std::size_t>(w_));
    for (std::size_t k = 0; k < box_.size(); ++k) box_[k] = checker_byte(cells_[k]);
    return box_.data();
  }
  int side() const override { return w_; }

  void observables(double* g) const override {
    long long M = 0, unsat = 0;
    for (std::size_t k = 0; k < sites_.size(); ++k) {
      const int s = cells_[static_cast<std::size_t>(sites_[k])];
      M += s;
      for (int q = 0; q < 2; ++q)  // slots 0, 1: (1, 1) and (1, -1)
        unsat += s != cells_[static_cast<std::size_t>(neighbours_[8 * k + static_cast<std::size_t>(q)])];
    }
    const auto n = static_cast<double>(sites_.size());
    g[0] = static_cast<double>(M) / n;
    g[1] = static_cast<double>(unsat) / (2.0 * n);
  }

  void store(std::int8_t* x, int L, const Coord& o) const override {
    for (int i = 0; i < w_; ++i)
      for (int j = 0; j < w_; ++j) x[wrap(o[0] + i, L) * L + wrap(o[1] + j, L)] = checker_byte(cells_[idx(i, j)]);
  }

 private:
  static int wrap(int a, int n) { return ((a % n) + n) % n; }
  std::size_t idx(int i, int j) const { return static_cast<std::size_t>(i) * static_cast<std::size_t>(w_) + static_cast<std::size_t>(j); }
  double local_field(std::size_t k) const {
    double n1 = 0, n2 = 0;
    for (int q = 0; q < 4; ++q) n1 += cells_[static_cast<std::size_t>(neighbours_[8 * k + static_cast<std::size_t>(q)])];
    for (int q = 4; q < 8; ++q) n2 += cells_[static_cast<std::size_t>(neighbours_[8 * k + static_cast<std::size_t>(q)])];
    return n1 + J2_ * n2 + h_;
  }
  double rate(std::size_t k) const {
    const double dE = 2.0 * cells_[static_cast<std::size_t>(sites_[k])] * local_field(k);
    return 1.0 / (1.0 + std::exp(beta_ * dE));
  }
  // Flips site k and refreshes the rates of it and of the sites whose fields it enters.
  void flip(std::size_t k) {
    auto& s = cells_[static_cast<std::size_t>(sites_[k])];
    s = static_cast<std::int8_t>(-s);
    rates_[k] = rate(k);
    for (std::size_t q = 0; q < 8; ++q) {
      const std::int32_t c = neighbours_[8 * k + q];
      if (static_cast<std::size_t>(c) >= static_cast<std::size_t>(w_) * static_cast<std::size_t>(w_)) continue;  // ring
      const int i = c / w_, j = c % w_;
      const std::size_t site = site_of(i, j);
      rates_[site] = rate(site);
    }
  }
  // The site number of box cell (i, j) (a site): row i holds w/2 sites, in order.
  std::size_t site_of(int i, int j) const {
    return static_cast<std::size_t>(i) * static_cast<std::size_t>(w_ / 2) + static_cast<std::size_t>(j / 2);
  }

  double beta_, J2_, h_;
  int w_ = 0, parity_ = 0;
  std::vector<std::int8_t> cells_;           // spins: the box (w^2, row-major), then frozen ring cells
  mutable std::vector<std::int8_t> box_;     // box() as codes
  std::vector<std::int32_t> sites_;          // box cells that are sites, raster order
  std::vector<std::int32_t> neighbours_;     // 8 per site: cells_ indices
  std::vector<double> rates_;                // per site
};

class CheckerSystem : public systems::System {
 public:
  explicit CheckerSystem(const systems::SystemParams& p) : params_(p) {}
  std::string name() const override { return "checker2d"; }
  int dim() const override { return 2; }
  const systems::SystemParams& params() const override { return params_; }
  std::vector<std::string> observable_names() const override { return {"m", "unsat"}; }
  std::vector<systems::ObservableRange> observable_ranges() const override { return {{-1.0, 1.0}, {0.0, 1.0}}; }
  bool supports(Boundary b) const override { return b != Boundary::global; }
  std::unique_ptr<systems::Evolver> make_evolver() const override {
    return std::make_unique<CheckerEvolver>(1.0 / params_.get("T"), params_.get("J2"), params_.get("h"));
  }
  void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary b, double* g) const override {
    CheckerEvolver ev(1.0, 0.0, 0.0);
    ev.load(x, L, o, p, b, x);
    ev.observables(g);
  }
  // Codes 0 (down) and 1 (up) on the sites, 255 on the odd voxels.
  systems::StateLayout state_layout() const override {
    return {systems::StateLayout::Value::code, {"down", "up"}, kCheckerNoSite};
  }
  void site_mask(int L, std::uint8_t* mask) const override {
    for (int i = 0; i < L; ++i)
      for (int j = 0; j < L; ++j) mask[i * L + j] = ((i + j) & 1) == 0;
  }
  using System::initial_state;
  void initial_state(std::int8_t* x, std::int64_t n, systems::InitialKind kind, systems::InitialCondition& c,
                     Rng& rng) const override {
    const int L = static_cast<int>(std::lround(std::sqrt(static_cast<double>(n))));
    std::vector<std::int8_t> spins(static_cast<std::size_t>(n / 2));
    c[0] = systems::make_initial_state(spins.data(), static_cast<std::int64_t>(spins.size()), kind, c[0], rng);
    std::size_t k = 0;
    for (int i = 0; i < L; ++i)
      for (int j = 0; j < L; ++j) x[i * L + j] = checker_byte(((i + j) & 1) == 0 ? spins[k++] : 0);
  }
  void random_configuration(std::int8_t* x, std::int64_t n, Rng& rng) const override {
    initial_state(x, n, systems::InitialKind::random_m0, 0.0, rng);
  }
  // A patch choice that is not uniform (the hook no spin system exercises): patch I with
  // probability q_I proportional to 1 + (its up spins), weight 1 / (K q_I).
  bool uniform_patch_choice() const override { return false; }
  PatchChoice choose_patch(const ConstLatticePart& x, int p, Rng& rng, const TeamSums& team) const override {
    const int L = x.L;
    const Tiling tiling{2, L, p};
    const std::int64_t K = tiling.patches();
    // Up spins per patch over this rank's part, summed over the team.
    std::vector<std::int64_t> up(static_cast<std::size_t>(K), 0);
    for (int i = 0; i < x.block.extent[0]; ++i)
      for (int j = 0; j < x.block.extent[1]; ++j)
        if (x.data[static_cast<std::int64_t>(i) * x.block.extent[1] + j] == 1)
          ++up[static_cast<std::size_t>(((x.block.origin[0] + i) / p) * (L / p) + (x.block.origin[1] + j) / p)];
    team.sum(up.data(), up.size());
    std::vector<double> q(static_cast<std::size_t>(K));
    double total = 0;
    for (std::int64_t I = 0; I < K; ++I) {
      q[static_cast<std::size_t>(I)] = 1.0 + static_cast<double>(up[static_cast<std::size_t>(I)]);
      total += q[static_cast<std::size_t>(I)];
    }
    const double u = rng.uniform() * total;
    std::int64_t I = 0;
    for (double c = q[0]; c <= u && I + 1 < K; c += q[static_cast<std::size_t>(++I)]) {
    }
    return {I, total / (static_cast<double>(K) * q[static_cast<std::size_t>(I)])};
  }
  // Block magnification would break the mask; tiling keeps it (even sides).
  UpsamplingRule upsampling_rule() const override { return UpsamplingRule::tiling; }
  bool tiling_invariant(int observable) const override { return observable == 0; }
  bool kept_by_upsampling(int) const override { return true; }
  int interaction_range() const override { return 2; }

 private:
  systems::SystemParams params_;
};

inline std::vector<systems::ParamSpec> checker_param_specs() {
  return {{"T", 2.5, "temperature (k_B = J1 = 1), > 0", true},
          {"h", 0.1, "external field"},
          {"J2", 0.5, "coupling to the axial second neighbours"}};
}

// Adds checker2d to this process's registry, once (each test executable that wants it
// calls this while loading, so the registry-driven suites see it).
inline bool register_checker_system() {
  static const bool done = [] {
    systems::register_system(
        "checker2d",
        [](const systems::SystemParams& p) -> std::unique_ptr<systems::System> {
          return std::make_unique<CheckerSystem>(p);
        },
        checker_param_specs);
    return true;
  }();
  return done;
}

}  // namespace macrodyn::testing
