#include "jobs/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "core/fixed_point_sum.hpp"
#include "core/output_guard.hpp"
#include "core/parallel.hpp"
#include "jobs/model_dir.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace {

[[noreturn]] void fail(const std::string& msg) { throw InputError(msg); }

std::string str(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void check_output(const Config& c) {
  if (c.output.empty()) fail("output.path is empty");
  refuse_output_is_input({c.output, "output.path"}, {{c.config_file, "--config"}});
  const auto slash = c.output.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : c.output.substr(0, slash));
  if (access(dir.c_str(), F_OK) != 0)
    fail("output.path '" + c.output + "': directory '" + dir + "' does not exist");
  if (access(dir.c_str(), W_OK) != 0)
    fail("output.path '" + c.output + "': directory '" + dir + "' is not writable");
  if (access(c.output.c_str(), F_OK) == 0) {
    if (!c.overwrite)
      fail("output.path '" + c.output + "' already exists; remove it or set output.overwrite = true");
    if (access(c.output.c_str(), W_OK) != 0)
      fail("output.path '" + c.output + "' exists and is not writable");
  }
}

void check_boundary(const System& sys, Boundary b, const char* key) {
  if (sys.supports(b)) return;
  std::string usable;  // asked of the system, not named here
  for (Boundary other : {Boundary::periodic, Boundary::frozen, Boundary::global})
    if (sys.supports(other)) usable += std::string(usable.empty() ? "" : " or ") + to_string(other);
  fail(std::string(key) + " = " + to_string(b) + " is not supported by system " + sys.name() + " (use " + usable + ")");
}

// Bytes per site of an evolver holding a box (Ising: class lists, positions, classes,
// neighbour table; an upper bound for Curie-Weiss too).
double evolver_bytes_per_site(int dim) { return 2.0 * (2 * dim + 1) * 4 + 4 + 2 + 2 * dim * 4; }

// Refuses a configuration whose memory estimate exceeds the machine's memory, before
// any work, instead of dying of it hours later.
void check_memory(const Config& c, Job job, const System& sys) {
  const int dim = sys.dim();
  const double vb = sys.state_layout().voxel_bytes();  // bytes a state takes per site
  const double threads = c.resolved_threads();
  double bytes = 0.0;
  std::string what;
  if (job == Job::simulate) {
    const double n = static_cast<double>(ipow(c.large_side, dim));
    const double frames = static_cast<double>(c.truth_sweeps + 1);
    // Blocks of 4 runs per thread keep their states (run_writer.cpp).
    bytes = threads * n * (evolver_bytes_per_site(dim) + 4.0 * vb * (c.has_closure() ? frames : 0.0) + 2.0 * vb);
    what = "truth runs of side " + std::to_string(c.large_side) + (c.has_closure() ? " with their states" : "");
  } else {
    const auto sides = upsampling_sides(c);
    const double frames = static_cast<double>(c.small_runs) * static_cast<double>(c.small_frames());
    bytes = frames * vb * static_cast<double>(ipow(sides.front(), dim));  // the small-frame pool
    what = "small.runs x the small runs' frames of side " + std::to_string(sides.front());
    // Intermediate levels are kept whole (each is the next level's pool), two at a time.
    for (std::size_t l = 1; l + 1 < sides.size(); ++l) {
      const double level = static_cast<double>(c.snapshots) * vb * static_cast<double>(ipow(sides[l], dim));
      if (level > bytes / 2) what = "large.snapshots upsampled snapshots of side " + std::to_string(sides[l]);
      bytes = std::max(bytes, level) + level;
    }
    // The last level is streamed in blocks of 1024 snapshots; calibrate keeps it whole.
    const double last = job == Job::calibrate ? static_cast<double>(c.snapshots) : 3.0 * 1024;
    bytes += last * vb * static_cast<double>(ipow(c.large_side, dim)) +
             threads * evolver_bytes_per_site(dim) * static_cast<double>(ipow(c.large_side, dim));
  }
  const double physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  if (physical > 0 && bytes > 0.8 * physical) {
    std::ostringstream msg;
    msg.precision(3);
    msg << "the configuration needs about " << bytes / (1 << 30) << " GiB (mostly " << what << "), more than 80% of this machine's "
        << physical / (1 << 30) << " GiB; reduce large.snapshots, small.runs or the sides";
    fail(msg.str());
  }
}

// Counts beyond 2^40 (and products of counts beyond 2^50) are no job anyone can run,
// and they overflow the 64-bit arithmetic of sizes and ids (a huge large.snapshots
// once ended with 0 pairs and exit 0).
constexpr double kMaxCount = 1099511627776.0;    // 2^40
constexpr double kMaxProduct = 1125899906842624.0;  // 2^50

void check_count(const char* key, double v) {
  if (v > kMaxCount) fail(std::string(key) + " = " + str(v) + " is more than 2^40; no job is that large");
}

void check_product(const std::string& what, double v) {
  if (v > kMaxProduct) fail(what + " = " + str(v) + " is more than 2^50; reduce them");
}

void check_counts(const Config& c, int dim) {
  const std::pair<const char*, double> counts[] = {
      {"small.runs", static_cast<double>(c.small_runs)},
      {"small.sweeps", static_cast<double>(c.small_sweeps)},
      {"large.snapshots", static_cast<double>(c.snapshots)},
      {"truth.runs", static_cast<double>(c.truth_runs)},
      {"truth.sweeps", static_cast<double>(c.truth_sweeps)},
      {"upsample.events", static_cast<double>(c.relax_events)},
      {"partial.events", static_cast<double>(c.partial_events)},
      {"team.max_sites", static_cast<double>(c.team_max_sites)},
      {"learn.ae_snapshots", static_cast<double>(c.learn_ae_snapshots)},
      {"learn.steps", static_cast<double>(c.learn_steps)},
      {"learn.steps_per_epoch", static_cast<double>(c.learn_steps_per_epoch)},
      {"learn.buffer", static_cast<double>(c.learn_buffer)},
      {"learn.min_fill", static_cast<double>(c.learn_min_fill)}};
  for (const auto& [key, value] : counts) check_count(key, value);
  check_product("small.runs x (small.sweeps + 1)",
                static_cast<double>(c.small_runs) * (static_cast<double>(c.small_sweeps) + 1.0));
  if (c.small_frame_stride < 1) fail("small.frame_stride must be at least 1 (1: a frame after every sweep)");
  if (c.small_dense_sweeps < 0) fail("small.dense_sweeps must be >= 0");
  check_product("truth.runs x (truth.sweeps + 1) x truth.m0 values",
                static_cast<double>(c.truth_runs) * (static_cast<double>(c.truth_sweeps) + 1.0) *
                    static_cast<double>(std::max<std::size_t>(1, c.truth_m0.size())));
  const double K = c.patch > 0 ? std::pow(static_cast<double>(c.large_side) / c.patch, dim) : 1.0;
  check_product("large.snapshots x patches", 2.0 * static_cast<double>(c.snapshots) * K);
}

// The system's own objection to a grid of side L (System::check_side).
void check_side(const System& sys, int L) {
  const std::string why = sys.check_side(L);
  if (!why.empty()) fail(why);
}

void check_truth_m0(const Config& c, const System& sys) {
  if (c.truth_init == InitialKind::given_m0 && c.truth_m0.empty())
    fail("truth.init = m0 needs truth.m0 (a comma-separated list of initial conditions)");
  const std::size_t q = sys.initial_condition_names().size();
  for (const InitialCondition& ic : c.truth_m0) {
    for (std::size_t k = q; k < ic.size(); ++k)
      if (!std::isnan(ic[k]))
        fail("truth.m0: an initial condition of system " + c.system + " has " + std::to_string(q) + " value(s) (" +
             join(sys.initial_condition_names(), ":") + "), not more");
    const std::string why = sys.check_initial_condition(ic, c.large_side);
    if (!why.empty()) fail("truth.m0: " + why);
  }
}

// The keys only `macrodyn run` reads; rank counts are checked where they are known (mpi/run).
void validate_run(const Config& c) {
  if (c.team_size < 0) fail("team.size must be >= 0 (0 = automatic)");
  if (c.team_max_sites < 1) fail("team.max_sites must be at least 1");
  if (c.stream_batch < 1) fail("stream.batch must be at least 1");
  if (c.stream_credits < 1) fail("stream.credits must be at least 1");
  if (!(c.stream_timeout > 0)) fail("stream.timeout must be a positive number of seconds");
  if (c.stream_sync_rounds < 1) fail("stream.sync_rounds must be at least 1");
  if (c.learn_ranks < 1) fail("learn.ranks must be at least 1");
  if (c.learn_out.empty()) fail("learn.out (the model directory) is empty");
  // One overwrite policy: a model (or an interrupted run's checkpoint) is replaced only
  // when asked (macrodyn run --resume sets output.overwrite: it continues its own run).
  for (const char* held : {"/model.json", "/checkpoint.json"})
    if (!c.overwrite && access((c.learn_out + held).c_str(), F_OK) == 0)
      fail("learn.out '" + c.learn_out + "' already holds " + (held[1] == 'm' ? "a model" : "an interrupted run") +
           "; pass --resume to continue it, --output.overwrite true to replace it, or another --learn.out");
  if (c.learn_ae_snapshots < 0) fail("learn.ae_snapshots must be >= 0 (0 = large.snapshots)");
  if (c.learn_ae_epochs < 1) fail("learn.ae_epochs must be at least 1");
  if (c.learn_closure_dim < 0) fail("learn.closure_dim must be >= 0");
  if (c.learn_method != "kscaled" && c.learn_method != "naive")
    fail("learn.method = '" + c.learn_method + "' must be kscaled or naive");
  if (c.learn_diffusion != "full" && c.learn_diffusion != "diagonal" && c.learn_diffusion != "constant")
    fail("learn.diffusion = '" + c.learn_diffusion + "' must be full, diagonal or constant");
  if (!(c.learn_lr > 0)) fail("learn.lr must be positive");
  if (c.learn_batch < 1) fail("learn.batch must be at least 1");
  if (c.learn_steps < 1) fail("learn.steps must be at least 1");
  if (c.learn_steps_per_epoch < 1) fail("learn.steps_per_epoch must be at least 1");
  if (c.learn_steps_per_batch < 0) fail("learn.steps_per_batch must be >= 0");
  if (c.learn_buffer < 1) fail("learn.buffer must be at least 1");
  if (c.learn_buffer_kind != "fifo" && c.learn_buffer_kind != "reservoir")
    fail("learn.buffer_kind = '" + c.learn_buffer_kind + "' must be fifo or reservoir");
  if (c.learn_min_fill < 1 || c.learn_min_fill > c.learn_buffer)
    fail("learn.min_fill = " + std::to_string(c.learn_min_fill) + " must be between 1 and learn.buffer = " +
         std::to_string(c.learn_buffer));
  if (c.learn_device != "auto" && c.learn_device != "cpu" && c.learn_device != "cuda")
    fail("learn.device = '" + c.learn_device + "' must be auto, cpu or cuda");
  check_threads(c.learn_threads, "learn.threads");
  refuse_output_dir_is_input({c.learn_out, "learn.out"}, {{c.config_file, "--config"}});
  if (!(c.learn_checkpoint_every > 0)) fail("learn.checkpoint_every must be a positive number of seconds");
  // The truth the verdict judges against (truth.runs = 0: none, the verdict says so).
  if (c.truth_runs < 0) fail("truth.runs must be >= 0 (0 = no verdict)");
  if (c.truth_runs > 0) {
    if (c.truth_sweeps < 2) fail("truth.sweeps must be at least 2");
    check_truth_m0(c, *make_system(c.system, c.system_params));
    if (c.verdict_ensemble < 1) fail("verdict.ensemble must be at least 1");
    check_count("verdict.ensemble", static_cast<double>(c.verdict_ensemble));
    // The evaluation holds every predicted path (evaluate refuses more than 4e8 values):
    // refused here, before the training, not after it.
    const double m0s = c.truth_init == InitialKind::given_m0 ? static_cast<double>(c.truth_m0.size()) : 1.0;
    const double values = static_cast<double>(c.truth_runs) * m0s * static_cast<double>(c.verdict_ensemble) *
                          (static_cast<double>(c.truth_sweeps) + 1.0) *
                          (make_system(c.system, c.system_params)->num_observables() +
                           (c.has_closure() ? c.learn_closure_dim : 0));
    if (values > 4e8)
      fail("verdict.ensemble = " + std::to_string(c.verdict_ensemble) + " x the truth runs and frames makes " +
           str(values) + " predicted values, more than 4e8; lower verdict.ensemble, truth.runs or truth.sweeps");
  }
  if (c.has_closure() && c.learn_closure_dim > 0) {
    const auto network = make_system(c.system, c.system_params)->closure_network();
    if (network == systems::System::ClosureNetwork::none)
      fail("closure.kind = autoencoder: system " + c.system + " has no learned closure; set closure.kind = none");
    const auto channels = static_cast<int>(make_system(c.system, c.system_params)->state_layout().channels.size());
    if (network == systems::System::ClosureNetwork::field_mlp && c.learn_closure_dim != channels)
      fail("learn.closure_dim = " + std::to_string(c.learn_closure_dim) + ": the closure of system " + c.system +
           " has one code per field, " + std::to_string(channels) + " (or 0 for none)");
    if (network == systems::System::ClosureNetwork::spin_cnn && c.large_side > 128)
      fail("closure.kind = autoencoder in macrodyn run streams whole snapshots to the global decoder, which needs "
           "large.side <= 128; set closure.kind = none for large.side = " + std::to_string(c.large_side));
  }
  if (!c.stream_save.empty()) {
    Config out = c;
    out.output = c.stream_save;
    try {
      check_output(out);
    } catch (const InputError& e) {
      fail(std::string("stream.save: ") + e.what());
    }
  }
}

}  // namespace

SystemParams system_params_in_ini(const std::string& ini) {
  SystemParams out;
  std::istringstream in(ini);
  std::string line, section;
  while (std::getline(in, line)) {
    const auto hash = line.find_first_of("#;");
    if (hash != std::string::npos) line.erase(hash);
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
    if (line.front() == '[') {
      section = line;
      continue;
    }
    const auto eq = line.find('=');
    if (section != "[system]" || eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    key.erase(key.find_last_not_of(" \t") + 1);
    if (key == "name") continue;
    std::string value = line.substr(eq + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end == value.c_str() || *end != '\0')
      out.set_word(key, value);  // a word key's value (systems/params.hpp)
    else
      out.set(key, v);
  }
  return out;
}

SystemParams resolved_system_params(const Config& c) {
  return is_system_name(c.system) ? resolve_system_params(c.system, c.system_params) : c.system_params;
}

int Config::resolved_threads() const { return resolve_threads(threads); }

std::int64_t Config::small_frames() const {
  return sampling::frame_count(static_cast<std::uint64_t>(std::max<std::int64_t>(0, small_sweeps)),
                               static_cast<std::uint64_t>(std::max<std::int64_t>(0, small_dense_sweeps)),
                               static_cast<std::uint64_t>(std::max<std::int64_t>(1, small_frame_stride)));
}

sampling::TrajectorySpec small_trajectory(const Config& c) {
  sampling::TrajectorySpec t{c.resolved_small_side(), static_cast<std::uint64_t>(c.small_sweeps), c.small_dynamics,
                             c.small_init, systems::condition_of(c.small_m0)};
  t.dense = static_cast<std::uint64_t>(c.small_dense_sweeps);
  t.stride = static_cast<std::uint64_t>(c.small_frame_stride);
  return t;
}

std::vector<int> upsampling_sides(const Config& c) {
  std::vector<int> sides{c.resolved_small_side()};
  while (sides.back() < c.large_side) sides.push_back(sides.back() * c.factor);
  return sides;
}

sampling::HierarchySpec hierarchy_spec(const Config& c) {
  sampling::HierarchySpec h{
      upsampling_sides(c), c.factor,
      sampling::RelaxSpec{c.relax_window, c.relax_stride, c.relax_events, c.relax_boundary, c.relax_offset}, c.seed,
      c.small_frames()};
  h.last_events = c.relax_last_events;
  return h;
}

std::int64_t random_snapshots(const Config& c) {
  return c.random_configs && upsampling_sides(c).size() > 1 ? c.snapshots : 0;
}

void validate(const Config& c, Job job) {

  if (!is_system_name(c.system)) {
    std::string names;
    for (const auto& n : system_names()) names += (names.empty() ? "" : ", ") + n;
    fail("system.name = '" + c.system + "' is not a known system (one of: " + names + ")");
  }
  const auto sys = make_system(c.system, c.system_params);  // refuses another system's keys
  // The dynamics the job's runs use: small runs (not simulate's) and truth runs.
  if (job != Job::simulate && !sys->supports_dynamics(c.small_dynamics))
    fail(std::string("small.dynamics = ") + to_string(c.small_dynamics) + ": system " + c.system +
         " does not support it");
  if ((job == Job::simulate || (job == Job::run && c.truth_runs > 0)) && !sys->supports_dynamics(c.truth_dynamics))
    fail(std::string("truth.dynamics = ") + to_string(c.truth_dynamics) + ": system " + c.system +
         " does not support it");
  check_threads(c.threads, "run.threads");
  check_counts(c, sys->dim());
  if (c.closure != "autoencoder" && c.closure != "none")
    fail("closure.kind = '" + c.closure + "' must be autoencoder or none");

  if (c.large_side < 2) fail("large.side = " + std::to_string(c.large_side) + " must be at least 2");
  if (c.patch < 2) fail("partial.patch = " + std::to_string(c.patch) + " must be at least 2");
  if (c.large_side % c.patch != 0)
    fail("partial.patch = " + std::to_string(c.patch) + " does not divide large.side = " +
         std::to_string(c.large_side));

  if (job == Job::simulate) {
    check_side(*sys, c.large_side);
    if (c.truth_runs < 1) fail("truth.runs must be at least 1");
    if (c.truth_sweeps < 1) fail("truth.sweeps must be at least 1");
    check_truth_m0(c, *sys);
    check_memory(c, job, *sys);
    check_output(c);
    return;
  }

  const int Ls = c.resolved_small_side();
  if (Ls < 2) fail("small.side = " + std::to_string(Ls) + " must be at least 2");
  if (c.small_runs < 1) fail("small.runs must be at least 1");
  if (c.small_sweeps < 1) fail("small.sweeps must be at least 1");
  if (c.small_init == InitialKind::given_m0) {
    const std::string why = sys->check_initial_condition(condition_of(c.small_m0), Ls);
    if (!why.empty()) fail("small.m0: " + why);
  }
  if (c.snapshots < 1) fail("large.snapshots must be at least 1");
  // Block magnification and interpolation take 2 or 3 per level; tiling copies the small
  // state any number of times (the alloy's 65 536 sites are 4^3 tiles of one level).
  const bool tiling = sys->upsampling_rule() == System::UpsamplingRule::tiling;
  if (tiling ? (c.factor < 2 || c.factor > 16) : (c.factor != 2 && c.factor != 3))
    fail("upsample.factor = " + std::to_string(c.factor) + " must be " +
         (tiling ? "between 2 and 16 (system " + c.system + " upsamples by tiling)" : std::string("2 or 3")));
  if (Ls > c.large_side)
    fail("small.side = " + std::to_string(Ls) + " exceeds large.side = " + std::to_string(c.large_side));
  {
    std::int64_t s = Ls;
    while (s < c.large_side) s *= c.factor;
    if (s != c.large_side)
      fail("large.side = " + std::to_string(c.large_side) + " is not small.side = " + std::to_string(Ls) +
           " times a power of upsample.factor = " + std::to_string(c.factor));
  }
  if (Ls == c.large_side) {
    const std::int64_t pool = c.small_runs * c.small_frames();
    if (c.snapshots > pool)
      fail("large.snapshots = " + std::to_string(c.snapshots) + " exceeds the " + std::to_string(pool) +
           " small frames it is drawn from without replacement when small.side = large.side");
  }
  check_boundary(*sys, c.partial_boundary, "partial.boundary");
  if (c.relax_window != 0) check_boundary(*sys, c.relax_boundary, "upsample.boundary");
  if (c.relax_boundary == Boundary::global)
    fail("upsample.boundary = global is not supported: windows of a colour phase evolve independently");
  if (c.relax_window != 0 && c.relax_window < 2)
    fail("upsample.window = " + std::to_string(c.relax_window) + " must be at least 2, or 0 for no relax");
  if (sys->upsampling_rule() == System::UpsamplingRule::linear_interpolation && c.factor != 2)
    fail("upsample.factor = " + std::to_string(c.factor) + ": system " + c.system +
         " upsamples by linear interpolation, which doubles the side; use 2");
  if (c.relax_stride < 0) fail("upsample.stride must be >= 0 (0 = window / 2)");
  for (int side : upsampling_sides(c)) {
    if (side == Ls || c.relax_window == 0) continue;
    const int w = std::min(c.relax_window, side);
    const int stride = c.relax_stride ? c.relax_stride : w / 2;
    if (stride < 1 || side % stride != 0 || stride > w)
      fail("upsample.stride = " + std::to_string(stride) + " must be between 1 and the window side and divide the level side " +
           std::to_string(side));
    if (c.relax_offset < 0 || c.relax_offset >= stride)
      fail("upsample.offset = " + std::to_string(c.relax_offset) + " must be in [0, upsample.stride = " +
           std::to_string(stride) + ")");
  }
  for (int side : upsampling_sides(c)) check_side(*sys, side);
  if (job == Job::run) {
    validate_run(c);
    return;
  }
  check_memory(c, job, *sys);
  if (job != Job::calibrate) check_output(c);
}

}  // namespace macrodyn::jobs
