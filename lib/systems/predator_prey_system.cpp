#include "systems/predator_prey_system.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "core/fixed_point_sum.hpp"
#include "core/format.hpp"

namespace macrodyn::systems {

using fields::GhostedBox;
using fields::NoiseKey;
using fields::PredatorPreyParams;

namespace {

constexpr int kChannels = 2;  // u, v
constexpr int kVoxelBytes = kChannels * static_cast<int>(sizeof(float));
// The step slot of a cell's noise block (32 bits): the steps since the box's load, with the
// stream's sub slot (a patch index, a relax window: boxes of one work item that may cover
// the same cells) above bit 20. A stream of sub 0 (a trajectory) has all 32 bits for its
// steps; one of another sub, 2^20 steps and sub < 2^12. Streams of different purposes,
// levels or items never share a block, whatever the slot.
constexpr std::uint32_t kStepBits = 20;

inline float read_channel(const std::int8_t* x, std::int64_t cell, int ch) {
  float f;
  std::memcpy(&f, x + (cell * kChannels + ch) * static_cast<std::int64_t>(sizeof(float)), sizeof f);
  return f;
}
inline void write_channel(std::int8_t* x, std::int64_t cell, int ch, float f) {
  std::memcpy(x + (cell * kChannels + ch) * static_cast<std::int64_t>(sizeof(float)), &f, sizeof f);
}

// The box of side w at origin o of a side-L grid as the kernel sees it: x along the
// last (fastest) axis, y along the first in 2-D.
GhostedBox box_at(int dim, const Coord& o, int w) {
  GhostedBox b;
  b.nx = w;
  b.ny = dim == 1 ? 1 : w;
  b.x0 = dim == 1 ? o[0] : o[1];
  b.y0 = dim == 1 ? 0 : o[0];
  return b;
}

// Means of u and v of the box's float32 values, by fixed-point sums; values(cell, ch)
// gives the value of interior cell `cell` (row-major in the box).
template <class Values>
void box_means(std::int64_t cells, Values&& values, double* g) {
  FixedPointSum su, sv;
  for (std::int64_t i = 0; i < cells; ++i)
    if (!su.add(values(i, 0)) || !sv.add(values(i, 1)))
      throw std::runtime_error(
          "predator-prey: a field value is not finite or outside [-4, 4] (the run blew up; lower system.dt or "
          "system.eta)");
  g[0] = FixedPointSum::mean(su.raw(), cells);
  g[1] = FixedPointSum::mean(sv.raw(), cells);
}

class PredatorPreyEvolver final : public Evolver {
 public:
  // The keys are resolved once; a load only sets the grid's side (dx, the physical
  // Laplacian's scale and white noise follow from it).
  PredatorPreyEvolver(int dim, const SystemParams& params) : dim_(dim), p_(predator_prey_params(dim, params, 1)) {}

  void load(const std::int8_t* x, int L, const Coord& o, int w, Boundary b, const std::int8_t* stage_copy) override {
    if (w < L && b != Boundary::frozen)
      throw std::logic_error("predator-prey: a patch or window is evolved with a frozen halo");
    p_.n = L;
    box_ = box_at(dim_, o, w);
    if (box_.x0 + w > L || box_.y0 + box_.ny > (dim_ == 1 ? 1 : L))
      throw std::logic_error("predator-prey: a box must lie inside the grid (no wrapping)");
    const auto ghosted = static_cast<std::size_t>(box_.ghosted_size(dim_));
    gu_.resize(ghosted);
    gv_.resize(ghosted);
    const std::int64_t cells = static_cast<std::int64_t>(box_.nx) * box_.ny;
    un_.resize(static_cast<std::size_t>(cells));
    vn_.resize(static_cast<std::size_t>(cells));
    out_.resize(static_cast<std::size_t>(cells * kVoxelBytes));
    // Interior from x, the halo from the stage copy (x when none), clamped to the edge
    // value at the grid's boundary (zero flux; refreshed every step by the kernel's
    // fill_boundary_ghosts).
    const std::int8_t* halo = stage_copy ? stage_copy : x;
    const int gw = box_.nx + 2, rows = dim_ == 1 ? 1 : box_.ny + 2;
    for (int gj = 0; gj < rows; ++gj) {
      const bool row_inside = dim_ == 1 || (gj >= 1 && gj <= box_.ny);
      const std::int64_t y = dim_ == 1 ? 0 : std::clamp(box_.y0 + gj - 1, 0, L - 1);
      for (int gi = 0; gi < gw; ++gi) {
        const bool inside = row_inside && gi >= 1 && gi <= box_.nx;
        const std::int64_t cx = std::clamp(box_.x0 + gi - 1, 0, L - 1);
        const std::int64_t cell = y * L + cx;
        const std::int8_t* src = inside ? x : halo;
        const std::size_t at = static_cast<std::size_t>(gj) * gw + gi;
        gu_[at] = read_channel(src, cell, 0);
        gv_[at] = read_channel(src, cell, 1);
      }
    }
    steps_ = 0;
    write_out();
  }

  double run_events(std::uint64_t n, Rng& rng) override {
    const WorkItem& wi = rng.work_item();
    if ((steps_ + n) >> 32 || (wi.sub != 0 && (wi.sub >> (32 - kStepBits) || (steps_ + n) >> kStepBits)))
      throw std::length_error(
          "predator-prey: a trajectory takes at most 2^32 steps, a patch or window 2^20 with a sub slot below 2^12");
    const int gw = box_.nx + 2;
    for (std::uint64_t s = 0; s < n; ++s, ++steps_) {
      const NoiseKey key{wi.seed, wi.purpose, wi.item, (wi.sub << kStepBits) | static_cast<std::uint32_t>(steps_),
                         wi.level};
      fields::fill_boundary_ghosts(dim_, p_.n, box_, gu_.data());
      fields::fill_boundary_ghosts(dim_, p_.n, box_, gv_.data());
      fields::step_box(p_, box_, gu_.data(), gv_.data(), un_.data(), vn_.data(), key);
      for (int j = 0; j < box_.ny; ++j) {
        const std::size_t dst = dim_ == 1 ? 1 : static_cast<std::size_t>(j + 1) * gw + 1;
        const std::size_t src = static_cast<std::size_t>(j) * box_.nx;
        std::copy(un_.begin() + src, un_.begin() + src + box_.nx, gu_.begin() + dst);
        std::copy(vn_.begin() + src, vn_.begin() + src + box_.nx, gv_.begin() + dst);
      }
    }
    write_out();
    return static_cast<double>(n) * p_.dt;
  }

  void heatbath_sweep(Rng&) override {
    throw std::logic_error("predator-prey: heat-bath sweeps are a spin dynamics");
  }

  const std::int8_t* box() const override { return out_.data(); }
  int side() const override { return box_.nx; }

  void observables(double* g) const override {
    box_means(static_cast<std::int64_t>(box_.nx) * box_.ny,
              [this](std::int64_t i, int ch) { return static_cast<double>(read_channel(out_.data(), i, ch)); }, g);
  }

  void store(std::int8_t* x, int L, const Coord& o) const override {
    const GhostedBox b = box_at(dim_, o, box_.nx);
    for (int j = 0; j < b.ny; ++j)
      std::memcpy(x + ((static_cast<std::int64_t>(b.y0) + j) * L + b.x0) * kVoxelBytes,
                  out_.data() + static_cast<std::int64_t>(j) * b.nx * kVoxelBytes,
                  static_cast<std::size_t>(b.nx) * kVoxelBytes);
  }

 private:
  // The interior as float32 voxels (the box's state as stored).
  void write_out() {
    const int gw = box_.nx + 2;
    std::int64_t k = 0;
    for (int j = 0; j < box_.ny; ++j)
      for (int i = 0; i < box_.nx; ++i, ++k) {
        const std::size_t at = dim_ == 1 ? static_cast<std::size_t>(i + 1) : static_cast<std::size_t>(j + 1) * gw + i + 1;
        write_channel(out_.data(), k, 0, static_cast<float>(gu_[at]));
        write_channel(out_.data(), k, 1, static_cast<float>(gv_[at]));
      }
  }

  int dim_;
  PredatorPreyParams p_;
  GhostedBox box_;
  std::vector<double> gu_, gv_, un_, vn_;
  std::vector<std::int8_t> out_;
  std::uint64_t steps_ = 0;
};

class PredatorPreySystem final : public System {
 public:
  PredatorPreySystem(int dim, const SystemParams& p) : dim_(dim), params_(p) {
    predator_prey_params(dim_, params_, 1).validate();
    if (params_.get("m_min") > params_.get("m_max")) throw InputError("system.m_min must not exceed system.m_max");
    if (params_.get("k_min") > params_.get("k_max")) throw InputError("system.k_min must not exceed system.k_max");
    if (params_.get("Du") < 0 || params_.get("Dv") < 0) throw InputError("system.Du and system.Dv must be >= 0");
  }
  std::string name() const override { return dim_ == 1 ? "predator_prey" : "predator_prey2d"; }
  int dim() const override { return dim_; }
  const SystemParams& params() const override { return params_; }
  std::vector<std::string> observable_names() const override { return {"u", "v"}; }
  std::vector<std::string> judged_observables() const override { return {"u", "v"}; }
  bool supports(Boundary b) const override { return b == Boundary::frozen; }
  bool supports_dynamics(Dynamics d) const override { return d == Dynamics::continuous_time; }
  std::unique_ptr<Evolver> make_evolver() const override {
    if (params_.get("scheme") != 0)
      throw InputError("system.scheme = semi_implicit is solved by simulate's distributed solver only; this job steps "
                       "the fields explicitly (system.scheme = explicit)");
    return std::make_unique<PredatorPreyEvolver>(dim_, params_);
  }
  void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary, double* g) const override {
    const GhostedBox b = box_at(dim_, o, p);
    box_means(static_cast<std::int64_t>(b.nx) * b.ny,
              [&](std::int64_t i, int ch) {
                const std::int64_t cell = (b.y0 + i / b.nx) * static_cast<std::int64_t>(L) + b.x0 + i % b.nx;
                return static_cast<double>(read_channel(x, cell, ch));
              },
              g);
  }

  // docs/design.md §8.6.4: physical time (delta t = dt), truth frames at k dt.
  TimeUnit time_unit() const override { return TimeUnit::physical; }
  Normalisation latent_normalisation() const override { return Normalisation::z_score; }
  ClosureNetwork closure_network() const override { return ClosureNetwork::field_mlp; }
  ReferenceTraining reference_training() const override { return {1e-3, "full", false}; }
  // A grid mean is the mean of the patch means of any tiling (equal cell counts).
  bool tiling_invariant(int) const override { return true; }

  StateLayout state_layout() const override {
    StateLayout l;
    l.value = StateLayout::Value::field;
    l.channels = {"u", "v"};
    return l;
  }
  std::uint64_t events_per_sweep(std::int64_t) const override { return 1; }
  // The explicit step's stability limit depends on the grid (the physical Laplacian scales
  // with n^2); the semi-implicit scheme has none (simulate's solver only).
  std::string check_side(int L) const override {
    const PredatorPreyParams p = predator_prey_params(dim_, params_, L);
    if (params_.get("scheme") != 0 || !(p.dt > p.explicit_dt_limit())) return "";
    return "system.dt = " + shortest(p.dt) + " is above the explicit stability limit " +
           shortest(p.explicit_dt_limit()) + " of the " + fields::to_string(p.laplacian) + " Laplacian on " +
           std::to_string(L) + " cells; lower it (or, for simulate, set system.scheme = semi_implicit)";
  }
  bool distributed_truth() const override { return true; }
  UpsamplingRule upsampling_rule() const override { return UpsamplingRule::linear_interpolation; }

  // u = m + k cos(10 pi x), v = 1 - m - k cos(10 pi x) (docs/design.md §8.6.1). Random:
  // m then k uniform in their ranges; given: (m, k), k the middle of its range when not
  // given.
  std::vector<std::string> initial_condition_names() const override { return {"m", "k"}; }
  using System::initial_state;
  void initial_state(std::int8_t* x, std::int64_t n, InitialKind kind, InitialCondition& c, Rng& rng) const override {
    resolve_predator_prey_condition(params_, kind, c, rng);
    fill(x, n, c[0], c[1]);
  }
  std::string check_initial_condition(const InitialCondition& c, int) const override {
    if (!std::isfinite(c[0])) return "m = " + shortest(c[0]) + " is not a finite number";
    if (!std::isnan(c[1]) && !std::isfinite(c[1])) return "k is not a finite number";
    // |u|, |v| <= 4 keep the fixed-point means exact (core/fixed_point_sum.hpp).
    const double k = std::isnan(c[1]) ? 0.0 : std::fabs(c[1]);
    if (std::fabs(c[0]) + k > 3.0 || std::fabs(1.0 - c[0]) + k > 3.0)
      return "m = " + shortest(c[0]) + ", k = " + shortest(k) + " start the fields outside [-3, 3]";
    return "";
  }
  void random_configuration(std::int8_t* x, std::int64_t n, Rng& rng) const override {
    InitialCondition c = unset_condition();
    resolve_predator_prey_condition(params_, InitialKind::random_m0, c, rng);
    fill(x, n, c[0], c[1]);
  }

 private:
  void fill(std::int8_t* x, std::int64_t n, double m, double k) const {
    const int L = static_cast<int>(std::llround(std::pow(static_cast<double>(n), 1.0 / dim_)));
    const PredatorPreyParams p = predator_prey_params(dim_, params_, L);
    std::vector<double> u, v;
    fields::initial_state(p, m, k, u, v);
    for (std::int64_t i = 0; i < n; ++i) {
      write_channel(x, i, 0, static_cast<float>(u[static_cast<std::size_t>(i)]));
      write_channel(x, i, 1, static_cast<float>(v[static_cast<std::size_t>(i)]));
    }
  }

  int dim_;
  SystemParams params_;
};

}  // namespace

std::vector<ParamSpec> predator_prey_param_specs() {
  std::vector<ParamSpec> s = {
      {"a", 3.0, "predator growth rate: f_v = a v (u - b) + Dv Lap v"},
      {"b", 0.4, "prey level at which predators neither grow nor decline"},
      {"Du", 0.0, "prey diffusion coefficient, >= 0"},
      {"Dv", 1.0, "predator diffusion coefficient, >= 0"},
      {"dt", 0.01, "Euler-Maruyama time step (one event), > 0", true},
      {"eta", 0.02, "noise amplitude: x += eta sqrt(dt) xi per cell, field and step, >= 0"},
      {"laplacian", 0, "the Laplacian: grid ([1, -2, 1] per axis) or physical (divided by dx^2, dx = 1 / side)"},
      {"noise", 0, "the noise: additive (eta) or white (space-time white noise, eta dx^(-dim/2))"},
      {"scheme", 0,
       "time stepping: explicit (Euler-Maruyama, every command) or semi_implicit (implicit diffusion by a PETSc "
       "linear solve, for simulate; the explicit dt limit is dx'^2 / (2 dim max(Du, Dv)))"},
      {"m_min", 0.45, "initial states u = m + k cos(10 pi x): smallest m of a random one", false, false},
      {"m_max", 0.55, "largest m of a random initial state", false, false},
      {"k_min", 0.05, "smallest k of a random initial state", false, false},
      {"k_max", 0.15, "largest k of a random initial state", false, false},
  };
  s[6].words = {"grid", "physical"};
  s[7].words = {"additive", "white"};
  s[8].words = {"explicit", "semi_implicit"};
  s[6].in_title = s[7].in_title = s[8].in_title = false;
  return s;
}

void resolve_predator_prey_condition(const SystemParams& params, InitialKind kind, InitialCondition& c, Rng& rng) {
  if (kind == InitialKind::all_up) throw InputError("predator-prey: an all-up initial state is a spin state");
  const double k_mid = 0.5 * (params.get("k_min") + params.get("k_max"));
  if (kind == InitialKind::random_m0) {
    const double m0 = params.get("m_min"), m1 = params.get("m_max");
    const double k0 = params.get("k_min"), k1 = params.get("k_max");
    c[0] = m0 + (m1 - m0) * rng.uniform();
    c[1] = k0 + (k1 - k0) * rng.uniform();
  }
  if (std::isnan(c[1])) c[1] = k_mid;
}

PredatorPreyParams predator_prey_params(int dim, const SystemParams& params, int L) {
  PredatorPreyParams p;
  p.dim = dim;
  p.n = L;
  p.a = params.get("a");
  p.b = params.get("b");
  p.Du = params.get("Du");
  p.Dv = params.get("Dv");
  p.dt = params.get("dt");
  p.eta = params.get("eta");
  p.laplacian = params.get("laplacian") == 0 ? fields::Laplacian::grid : fields::Laplacian::physical;
  p.noise = params.get("noise") == 0 ? fields::NoiseKind::additive : fields::NoiseKind::space_time_white;
  return p;
}

fields::FieldScheme predator_prey_scheme(const SystemParams& params) {
  return params.get("scheme") == 0 ? fields::FieldScheme::explicit_euler : fields::FieldScheme::semi_implicit;
}

std::unique_ptr<System> make_predator_prey(int dim, const SystemParams& params) {
  return std::make_unique<PredatorPreySystem>(dim, params);
}

}  // namespace macrodyn::systems
