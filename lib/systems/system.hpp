#pragma once
// The uniform surface of a microscopic simulator (docs/design.md §3).
//
// A System is an immutable description (name, dimension, parameters, observables);
// an Evolver is a per-thread worker that holds one box (a window, a patch or the whole
// lattice) and evolves it. Virtual calls happen per box, never per site or event:
// the hot loops live in the concrete evolvers (ising.hpp, curie_weiss.hpp).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/boundary.hpp"
#include "core/dynamics.hpp"
#include "core/format.hpp"
#include "core/geometry.hpp"
#include "core/lattice_part.hpp"
#include "core/rng.hpp"
#include "systems/equilibrium.hpp"
#include "systems/initial_state.hpp"
#include "systems/params.hpp"
#include "systems/state_layout.hpp"

namespace macrodyn::systems {

// The values an observable can take ([-inf, inf] when unbounded).
struct ObservableRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
};


class Evolver {
 public:
  virtual ~Evolver() = default;

  // Load the side-w box with origin o (wrapping mod L) of the side-L lattice x.
  // `periodic`: the box is an isolated torus. `frozen`: neighbours outside are read
  // from `stage_copy` (the lattice as it was when the stage started) and never change.
  // `global`: the box feels the magnetisation of the rest of `stage_copy`.
  virtual void load(const std::int8_t* x, int L, const Coord& o, int w, Boundary b,
                    const std::int8_t* stage_copy) = 0;

  // The system's own dynamics for n events; returns the physical time elapsed. A jump
  // process: rejection-free events, the sum of Exp(R) waiting times (R the total rate
  // before each event). A discretised SPDE: n time steps of its dt (an event is a step;
  // System::events_per_sweep says how many make a sweep).
  virtual double run_events(std::uint64_t n, Rng& rng) = 0;

  // A jump process advanced by exactly `duration` of physical time: the events whose
  // cumulative waiting times stay within it, the box left in the state that holds at that
  // time (the waiting time that would cross it is dropped: by memorylessness the next one
  // starts afresh). Returns `duration`. For systems whose frames are timed
  // (System::frame_time); the default refuses.
  virtual double run_for(double /*duration*/, Rng& /*rng*/) {
    throw std::logic_error("this system's trajectories advance by events, not by physical time");
  }

  // One discrete-time heat-bath sweep in raster order, one uniform per site.
  virtual void heatbath_sweep(Rng& rng) = 0;

  // The box's sites, row-major, side^dim of them.
  virtual const std::int8_t* box() const = 0;
  virtual int side() const = 0;

  // Patch observables g of the box as it is evolved (size = System::observables()).
  virtual void observables(double* g) const = 0;

  // Write the box back into the lattice at the origin it was loaded from.
  virtual void store(std::int8_t* x, int L, const Coord& o) const = 0;
};

class System {
 public:
  virtual ~System() = default;
  virtual std::string name() const = 0;
  virtual int dim() const = 0;
  // The resolved values of the keys the system declared (its registry line's specs).
  virtual const SystemParams& params() const = 0;
  virtual std::vector<std::string> observable_names() const = 0;
  virtual bool supports(Boundary b) const = 0;
  // The dynamics its runs may use (small.dynamics, truth.dynamics); an evolver whose
  // system refuses heat_bath need not implement heatbath_sweep. Default: both.
  virtual bool supports_dynamics(Dynamics) const { return true; }
  virtual std::unique_ptr<Evolver> make_evolver() const = 0;

  // g of the side-p box at origin o of the side-L lattice x, computed exactly as the
  // box is evolved under boundary b (as a torus for `periodic`, with its real
  // neighbours for `frozen`); docs/design.md §1.6.
  virtual void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary b,
                                 double* g) const = 0;

  // What the verdict of a learned model judges (jobs/verdict.hpp): the observables
  // whose mean and fluctuations it must reproduce, and each observable's physical range
  // (a predicted path leaving it is flagged). Defaults: the first observable, no range.
  virtual std::vector<std::string> judged_observables() const { return {observable_names().front()}; }
  virtual std::vector<ObservableRange> observable_ranges() const {
    return std::vector<ObservableRange>(observable_names().size());
  }

  // The network of the learned closure for this system's states (docs/design.md §1.8),
  // trained by the one closure trainer (learn/closure_trainer.hpp): none; spin_cnn, the 2-D
  // CNN autoencoder of +-1 spin patches (BCE, AdamW amsgrad; learn/autoencoder.hpp);
  // field_mlp, an MLP per patch shared by the float fields with a global decoder, one code
  // per field (MSE, Adam with L2; learn/field_autoencoder.hpp). Default: none.
  enum class ClosureNetwork { none, spin_cnn, field_mlp };
  virtual ClosureNetwork closure_network() const { return ClosureNetwork::none; }

  // How a learned model measures time (docs/design.md §1.9): in physical time, or in
  // units of the mean duration of its training pairs (train --time-unit auto).
  enum class TimeUnit { physical, mean_dt };
  virtual TimeUnit time_unit() const { return TimeUnit::mean_dt; }

  // Observables the learner leaves in physical units; the others are mapped to [0, 1]
  // by the training data's range (docs/design.md §1.9), or standardised with the mean and
  // unbiased standard deviation of the training z0 (z_score: the predator-prey latents,
  // §8.6.4, whose one-step changes are small against their range). Defaults: none raw,
  // min-max.
  virtual std::vector<std::string> raw_observables() const { return {}; }
  enum class Normalisation { min_max, z_score };
  virtual Normalisation latent_normalisation() const { return Normalisation::min_max; }

  // Whether observable i of a whole lattice equals the mean of its values over the
  // patches of any tiling (a plain site average such as the magnetisation): then stored
  // whole-lattice observables stand for the patch-averaged macrostate and a truth need
  // not keep its states (jobs/truth.hpp). Default: no.
  virtual bool tiling_invariant(int /*observable*/) const { return false; }

  // Whether observable i of a whole lattice is unchanged, bit for bit, by the
  // upsampling's block magnification (sampling/upsample.hpp): true for a site average.
  // The conformance suite holds every system to its answer. Default: no.
  virtual bool kept_by_upsampling(int /*observable*/) const { return false; }

  // The reference training of the paper for this system, used by the studies when no
  // option overrides it (docs/design.md §8.3-§8.4): SDE learning rate, diffusion form,
  // and whether the truth is resampled in its own time (false: frame k is time k Delta).
  struct ReferenceTraining {
    double lr = 1e-3;
    std::string diffusion = "full";
    bool interpolate_truth = true;
  };
  virtual ReferenceTraining reference_training() const { return {}; }

  // Whether a team of several ranks may split one lattice (local interactions), and the
  // interaction range r in sites: the width of the halos a team exchanges and of the ring
  // a `frozen` window or patch reads (mpi/team_halo.hpp; a team's blocks must be at
  // least r wide).
  virtual bool team_splittable() const { return false; }
  virtual int interaction_range() const { return 1; }

  // What a state's bytes mean (systems/state_layout.hpp; docs/design.md §3.2) and which
  // voxels of a side-L grid are sites (mask[i] = 1; the others hold layout.no_site and
  // never change). Defaults: +-1 spins, every voxel a site. The mask is asked once per
  // lattice side by the checks of states read from files, never in a hot loop.
  virtual StateLayout state_layout() const { return {}; }
  virtual void site_mask(int L, std::uint8_t* mask) const { std::fill(mask, mask + ipow(L, dim()), std::uint8_t{1}); }

  // States (docs/design.md §3.2). A run's initial condition is a few named values
  // (initial_condition_names(), at most kMaxInitialValues): m0 for spins, (m, k) for a
  // field u = m + k cos(10 pi x). initial_state fills x[0..n) for condition `kind`:
  // given values are read from c (a NaN entry: the system's default), drawn ones (kind
  // random_m0) written into it, so that c holds the condition used; all randomness from
  // `rng`. check_initial_condition says what is wrong with given values for a side-L grid (one phrase,
  // e.g. "m0 = 2 is outside [-1, 1]"), or "". random_configuration: the random states
  // added to the upsampled snapshots (large.random_configs). Defaults: +-1 spins with
  // floor((1 + m0) n / 2) up (make_initial_state), m0 ~ U(-1, 1) when drawn.
  virtual std::vector<std::string> initial_condition_names() const { return {"m0"}; }
  virtual void initial_state(std::int8_t* x, std::int64_t n, InitialKind kind, InitialCondition& c, Rng& rng) const {
    c[0] = make_initial_state(x, n, kind, c[0], rng);
  }
  virtual std::string check_initial_condition(const InitialCondition& c, int /*L*/) const {
    if (c[0] >= -1.0 && c[0] <= 1.0) return "";
    return "m0 = " + shortest(c[0]) + " is outside [-1, 1]";
  }
  virtual void random_configuration(std::int8_t* x, std::int64_t n, Rng& rng) const {
    make_initial_state(x, n, InitialKind::random_m0, 0.0, rng);
  }
  // The same for a condition of one value (c0, the rest the system's defaults); returns
  // the first value used.
  double initial_state(std::int8_t* x, std::int64_t n, InitialKind kind, double c0, Rng& rng) const {
    InitialCondition c = condition_of(c0);
    initial_state(x, n, kind, c, rng);
    return c[0];
  }

  // The patch partial evolution evolves when pairs = one (docs/design.md §1.7): its index
  // among the K side-p patches of the side-L snapshot, drawn with `rng` only, and the
  // weight 1 / (K q) of the probability q it had. The K-scaled target adds weight x the
  // patch's change, which keeps its expectation the mean change over the tiling whatever
  // the choice. A choice that is not uniform reads the snapshot: `x` is this rank's part of
  // it and `team` sums over the parts (core/lattice_part.hpp), so every rank of a team
  // makes the same choice as one rank holding the whole lattice. Default: uniform,
  // rng.below(K), weight exactly 1.
  struct PatchChoice {
    std::int64_t index = 0;
    double weight = 1.0;
  };
  virtual bool uniform_patch_choice() const { return true; }
  virtual PatchChoice choose_patch(const ConstLatticePart& x, int p, Rng& rng, const TeamSums& /*team*/) const {
    return {static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(Tiling{dim(), x.L, p}.patches()))), 1.0};
  }

  // How a small state becomes a large one (sampling/upsample.hpp): block magnification
  // (every site an f^D block: keeps site averages), tiling (f^D periodic copies: a
  // periodic state's intensive observables are kept) or linear interpolation on cell
  // centres (fields; f a power of 2). A team of several ranks upsamples its block in place
  // (block magnification) or from the whole small state (tiling); linear interpolation
  // needs the whole lattice.
  enum class UpsamplingRule { block_magnification, tiling, linear_interpolation };
  virtual UpsamplingRule upsampling_rule() const { return UpsamplingRule::block_magnification; }
  // The small frames an upsampled state was drawn from, when they are trajectories: `count`
  // frames of `frames_per_run` per run, run-major, and the index `source` of the drawn one
  // (the first level of the hierarchy; elsewhere none).
  struct FramePool {
    const std::int8_t* frames = nullptr;
    std::int64_t count = 0, frames_per_run = 0, source = 0;
  };
  // Completes a side-L state just upsampled by the rule from the side-Ls state `small`, in
  // place, drawing from `rng` only (keyed by the snapshot: sampling::upsample_level): e.g.
  // the alloy's tiles from time-matched frames of `pool` (null when there is none),
  // shifted, rebalanced to equimolar. `x` is this rank's part of the state and `team` sums
  // over the parts (core/lattice_part.hpp): a team's ranks together must give the bits of
  // one rank holding the whole lattice. Default: nothing.
  virtual void after_upsampling(const LatticePart& /*x*/, int /*Ls*/, const std::int8_t* /*small*/, Rng& /*rng*/,
                                const FramePool* /*pool*/, const TeamSums& /*team*/) const {}
  // Completes the same state after its LocalRelax (the alloy moves one vacancy to each
  // tile's centre then, as the reference does), on parts as above. Default: nothing.
  virtual void after_relax(const LatticePart& /*x*/, int /*Ls*/, const TeamSums& /*team*/) const {}

  // What is wrong with running this system's evolvers on a side-L grid (one phrase naming
  // the key, e.g. an explicit time step above the stability limit of that grid), or "".
  // Config validation asks it for every side a job's runs use, before any work.
  // Default: nothing.
  virtual std::string check_side(int /*L*/) const { return ""; }

  // Whether `simulate` runs this system's truth with the distributed PETSc solver of
  // mpi/fields across the ranks of the job (a reaction-diffusion field of the kernel in
  // systems/predator_prey.hpp) instead of the serial evolvers. Default: no.
  virtual bool distributed_truth() const { return false; }

  // Events that make one sweep of a box of `sites` voxels: a trajectory frame
  // (sampling/trajectory.hpp) and a partial evolution's default length. Default: one per
  // site (a jump process); a discretised SPDE updates every cell in one step: 1.
  virtual std::uint64_t events_per_sweep(std::int64_t sites) const { return static_cast<std::uint64_t>(sites); }

  // Physical time between the frames of a continuous-time trajectory (small and truth
  // runs), or 0: a frame is events_per_sweep events. With a positive value frames are at
  // fixed physical times (Evolver::run_for). Default: 0.
  virtual double frame_time() const { return 0.0; }

  // A sampler of the equilibrium law on a periodic side-L lattice (systems/equilibrium.hpp)
  // for the ground truths that need only that law (macrodyn equilibrium, docs/design.md
  // §8.5.8), or null, and then why_no_equilibrium_sampler() says why (one phrase).
  // Default: none.
  virtual std::unique_ptr<EquilibriumSampler> make_equilibrium_sampler(int /*L*/) const { return nullptr; }
  virtual std::string why_no_equilibrium_sampler() const {
    return "system " + name() + " has no equilibrium sampler (a chain with its stationary law)";
  }

  int num_observables() const { return static_cast<int>(observable_names().size()); }
};

// Registry: the one place that maps a config's system name to a simulator and its
// parameters. make_system resolves `given` against the system's specs (defaults for the
// keys not given; InputError for a key it does not declare or a value out of domain).
std::unique_ptr<System> make_system(const std::string& name, const SystemParams& given = {});
std::vector<std::string> system_names();
bool is_system_name(const std::string& name);
// Adds a system to the registry at run time, for one that lives outside lib/systems (the
// tests' test-only system, tests/unit/checker_system.hpp); call it before any job starts.
// InputError if the name is taken.
void register_system(const std::string& name, std::unique_ptr<System> (*make)(const SystemParams&),
                     std::vector<ParamSpec> (*specs)());
// The [system] keys `name` declares (InputError for an unknown name).
std::vector<ParamSpec> system_param_specs(const std::string& name);
// SystemParams::resolve with the specs of `name`.
SystemParams resolve_system_params(const std::string& name, const SystemParams& given);

}  // namespace macrodyn::systems
