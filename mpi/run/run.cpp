#include "mpi/run/run.hpp"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "core/stop.hpp"
#include "mpi/run/checkpoint.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_info.hpp"
#include "jobs/report.hpp"
#include "jobs/state_tables.hpp"
#include "jobs/verdict.hpp"
#include "learn/autoencoder.hpp"
#include "learn/field_autoencoder.hpp"
#include "learn/exported.hpp"
#include "learn/sde.hpp"
#include "mpi/run/learner.hpp"
#include "mpi/run/roles.hpp"
#include "mpi/run/simulator.hpp"
#include "mpi/run/snapshot_file.hpp"
#include "mpi/run/stream_file.hpp"
#include "mpi/run/truth_phase.hpp"
#include "mpi/stream.hpp"
#include "mpi/check.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::mpi {

namespace fs = std::filesystem;

MpiSession::MpiSession(int& argc, char**& argv) {
  int provided = 0;
  check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

void abort_job(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return; this tells the compiler so
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr int kTagSnapshots = 1;  // phase A stream
constexpr int kTagPairs = 2;      // phase B stream


// Phase A on learner 0: the system's closure network on `n` snapshots of side L (their
// bytes as stored), encoder exported.
void train_autoencoder(const Config& c, const System& sys, const std::vector<std::int8_t>& states, std::int64_t n) {
  const auto on_epoch = [&](const learn::EpochReport& r) {
    log_if(c.progress, "  autoencoder epoch %d/%d  loss %.5g  %.1f s  %.0f snapshots/s\n", r.epoch, c.learn_ae_epochs,
        r.loss, r.seconds, r.samples_per_s);
  };
  log_if(c.progress, "run: autoencoder (closure %d) on %lld snapshots of side %d\n", c.learn_closure_dim,
      static_cast<long long>(n), c.large_side);
  if (sys.closure_network() == System::ClosureNetwork::field_mlp) {
    const int channels = static_cast<int>(sys.state_layout().channels.size());
    const std::int64_t cells = ipow(c.large_side, sys.dim());
    std::vector<float> planar(static_cast<std::size_t>(n * cells * channels));
    learn::planar_fields(states.data(), n, cells, channels, planar.data());
    learn::FieldAutoencoderOptions ao;
    ao.epochs = c.learn_ae_epochs;
    ao.seed = c.seed;
    ao.device = learn::resolve_device(c.learn_device);
    ao.threads = c.learn_threads;
    auto ae = learn::FieldAutoencoder::train(learn::FieldFrames{sys.dim(), c.large_side, c.patch, n, planar.data()}, ao,
                                             on_epoch);
    ae.save(c.learn_out + "/autoencoder.bin");
    ae.export_encoder(c.learn_out + "/encoder.pt");
    return;
  }
  learn::AutoencoderOptions ao;
  ao.closure_dim = c.learn_closure_dim;
  ao.decoder = "global";
  ao.epochs = c.learn_ae_epochs;
  ao.batch = static_cast<int>(std::min<std::int64_t>(512, n));
  ao.seed = c.seed;
  ao.device = learn::resolve_device(c.learn_device);
  ao.threads = c.learn_threads;
  auto ae = learn::ClosureAutoencoder::train(learn::SpinSnapshots{c.large_side, c.patch, n, states.data()}, ao, on_epoch);
  ae.save(c.learn_out + "/autoencoder.bin");
  ae.export_encoder(c.learn_out + "/encoder.pt");
}

// World rank 0's encoder.pt to every rank; each loads its own copy.
std::unique_ptr<learn::ExportedEncoder> share_encoder(const Config& c, int world_rank) {
  std::vector<char> bytes;
  const std::string path = c.learn_out + "/encoder.pt";
  if (world_rank == 0) {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::int64_t size = static_cast<std::int64_t>(bytes.size());
  check_mpi(MPI_Bcast(&size, 1, MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  bytes.resize(static_cast<std::size_t>(size));
  check_mpi(MPI_Bcast(bytes.data(), mpi_count(size, "encoder"), MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
  // Simulators encode on the CPU, one patch per call: a patch's code is then the same bits
  // whichever rank encodes it next to which others.
  const std::string device = "cpu";
  const std::int64_t chunk = 1;
  if (world_rank == 0) return std::make_unique<learn::ExportedEncoder>(path, c.patch, c.learn_closure_dim, device, chunk);
  // Other ranks read their own copy: the model directory need not be on a shared disk.
  const fs::path mine = fs::temp_directory_path() /
                        ("macrodyn-encoder-" + std::to_string(::getpid()) + "-" + std::to_string(world_rank) + ".pt");
  {
    std::ofstream out(mine, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw FileError("cannot write the encoder copy " + mine.string());
  }
  auto enc = std::make_unique<learn::ExportedEncoder>(mine.string(), c.patch, c.learn_closure_dim, device, chunk);
  fs::remove(mine);
  return enc;
}

ModelInfo base_info(const Config& c, const System& sys, bool closure) {
  ModelInfo info;
  info.macrodyn_version = kMacrodynVersion;
  info.system = c.system;
  info.params = resolved_system_params(c);
  info.L = c.large_side;
  info.patch = c.patch;
  info.K = Tiling{sys.dim(), c.large_side, c.patch}.patches();
  info.boundary = to_string(c.partial_boundary);
  info.variables = sys.observable_names();
  info.z_star_dim = sys.num_observables();
  if (closure) {
    for (int k = 0; k < c.learn_closure_dim; ++k) info.variables.push_back("closure_" + std::to_string(k + 1));
    info.closure_dim = c.learn_closure_dim;
    info.encoder = "encoder.pt";
    info.decoder = "global";
  }
  info.dataset = c.stream_save.empty() ? "(streamed by macrodyn run, not kept)" : fs::absolute(c.stream_save).string();
  info.dataset_version = kMacrodynVersion;
  info.dataset_seed = c.seed;
  return info;
}

std::unique_ptr<StreamFile> open_stream_file(const Config& c, const System& sys, const PairRowLayout& layout,
                                             const ModelInfo& info, std::int64_t keep_rows) {
  if (c.stream_save.empty()) return nullptr;
  const Tiling tiling{sys.dim(), c.large_side, c.patch};
  io::GroupInfo pairs{tiling.patches(), c.patch, c.large_side, to_string(c.partial_boundary), sys.observable_names()};
  const std::string snapshots = layout.ps > 0 ? fs::path(SnapshotFile::path_for(c.stream_save)).filename().string() : "";
  return std::make_unique<StreamFile>(c.stream_save, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion},
                                      pairs, info.variables, layout, state_shape(sys, c.patch), state_dtype(sys),
                                      keep_rows, snapshots);
}

// Pairs a learner receives in a round: the owners of the evolved patches decide.
class RowCounter {
 public:
  RowCounter(const Config& c, const Roles& roles, const Decomposition& dec, std::int64_t snapshots)
      : c_(c), roles_(roles), dec_(dec), snapshots_(snapshots) {}
  std::int64_t round(std::int64_t r, int learner_rank) const {
    std::int64_t n = 0;
    const std::int64_t K = dec_.tiling().patches();
    for (int t = 0; t < roles_.teams; ++t) {
      const std::int64_t j = r * roles_.teams + t;
      if (j >= snapshots_) break;
      auto learner_of = [&](int team_rank) {
        return roles_.colocated ? 0 : (t * roles_.team_size + team_rank) % roles_.learners;
      };
      if (c_.pairs == PairsMode::all) {
        for (int k = 0; k < roles_.team_size; ++k)
          if (learner_of(k) == learner_rank) n += dec_.patches_per_rank();
      } else {
        const std::int64_t I = chosen_patch(c_.seed, j, K);
        if (learner_of(dec_.patch_owner(I)) == learner_rank) n += 1;
      }
    }
    return n;
  }

 private:
  const Config& c_;
  const Roles& roles_;
  const Decomposition& dec_;
  std::int64_t snapshots_;
};

// Tests of kill-and-resume: MACRODYN_TEST_KILL="point:index[:USR1]" sends this process
// SIGKILL (or SIGUSR1) when it reaches that point: "round:5" after its share of round 5,
// "checkpoint:7" right after the checkpoint at the sync point of round 7.
void test_kill_point(const char* point, std::int64_t index) {
  static const char* spec = std::getenv("MACRODYN_TEST_KILL");
  if (!spec) return;
  const std::string at = std::string(point) + ":" + std::to_string(index);
  const std::string s(spec);
  if (s == at) std::raise(SIGKILL);
  if (s == at + ":USR1") std::raise(SIGUSR1);
}

// The SDE losses of learn.out/metrics.csv (step,loss,...), in step order.
std::vector<double> logged_losses(const std::string& metrics) {
  std::vector<double> out;
  std::ifstream in(metrics);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto comma = line.find(',');
    if (comma != std::string::npos) out.push_back(std::strtod(line.c_str() + comma + 1, nullptr));
  }
  return out;
}

// The training warnings of a run: still improving from the per-step losses
// (metrics.csv), validation rising from the per-epoch history (history.csv), over the
// last epochs that all saw the final held-out set (it grows while pairs stream in).
std::vector<std::string> run_training_warnings(const std::string& learn_out) {
  std::vector<std::string> out = improving_warnings(logged_losses(learn_out + "/metrics.csv"), "the SDE training");
  std::vector<double> train, val;
  std::vector<long long> held;
  std::ifstream in(learn_out + "/history.csv");
  std::string line;
  std::getline(in, line);  // epoch,train_loss,val_loss,lr,val_pairs
  while (std::getline(in, line)) {
    double epoch, t, v, lr;
    long long n;
    if (std::sscanf(line.c_str(), "%lf,%lf,%lf,%lf,%lld", &epoch, &t, &v, &lr, &n) != 5) break;
    train.push_back(t);
    val.push_back(v);
    held.push_back(n);
  }
  std::size_t first = held.size();
  while (first > 0 && held[first - 1] == held.back()) --first;
  const std::vector<double> t(train.begin() + static_cast<std::ptrdiff_t>(first), train.end()),
      v(val.begin() + static_cast<std::ptrdiff_t>(first), val.end());
  for (auto& w : overfitting_warnings(t, v, "the SDE training")) out.push_back(std::move(w));
  return out;
}

// World rank 0, after the model is written: evaluate it against the truth, judge it, and
// keep metrics.csv, the band plots and verdict.txt in learn.out/verdict.
Verdict judge_run(const Config& c, const std::string& no_truth, const std::string& truth_path) {
  std::vector<std::string> warnings = run_training_warnings(c.learn_out);
  if (!no_truth.empty()) {
    Verdict v = not_judged(no_truth);
    v.warnings = warnings;
    return v;
  }
  EvaluateOptions o;
  o.model_dir = c.learn_out;
  o.truth_path = truth_path;
  o.output_dir = c.learn_out + "/verdict";
  o.ensemble = c.verdict_ensemble;
  // The truth as the system's reference protocol compares it: Curie-Weiss frames at
  // k Delta (linear interpolation between frames 2.6 time units apart lowers the truth's
  // std by about 10 %, which read as a std ratio of 1.28 for a model whose ratio is 1.16).
  o.interpolate = make_system(c.system, c.system_params)->reference_training().interpolate_truth;
  o.seed = c.seed;
  o.device = c.learn_device;
  o.threads = c.threads;
  o.progress = c.progress;
  o.plots = std::system("gnuplot --version >/dev/null 2>&1") == 0;
  if (!o.plots) warnings.push_back("no band plots: the gnuplot program is missing (apt-get install gnuplot-nox)");
  try {
    return evaluate_and_judge(o, warnings);
  } catch (const std::exception& e) {
    // The model is written: a failed evaluation ends the job with its reason, not an abort.
    Verdict v = not_judged(std::string("the evaluation failed: ") + e.what());
    v.warnings = warnings;
    return v;
  }
}


// ---------------------------------------------------------------------------------------
// The phases of run(), in the order it calls them.

// The job as every phase sees it, fixed by set_up: this rank, the system, the roles of
// the ranks (with their communicators) and the snapshot counts.
struct Setup {
  int world_rank = 0, world_size = 1;
  std::unique_ptr<System> sys;
  int dim = 0;
  Roles roles;
  Decomposition dec;
  bool closure = false;       // a closure is learned (phase A)
  std::int64_t n_a = 0;       // phase A snapshots
  std::int64_t n_random = 0;  // random-magnetisation snapshots, the last of phase B's
  std::int64_t n_b = 0;       // phase B snapshots
};

// Where the job starts: after the checkpoint of a --resume (resumed), or afresh.
struct ResumePoint {
  RunCheckpoint ck;
  std::string ck_dir;
  bool resumed = false;
};

// Phase B's learner, snapshot file and streams. run() keeps them until it returns, as it
// did when it was one function: they are destroyed after phase C and roles.free(), in
// the reverse of this order (the snapshot file's close is collective over the simulators).
struct Streams {
  std::unique_ptr<OnlineLearner> learner;
  std::unique_ptr<SnapshotFile> snapshot_file;
  std::unique_ptr<StreamSender> out;
  std::unique_ptr<StreamReceiver> in;
};

// Setup: the system, the team size and decomposition, the roles (the communicators are
// split here, collectively), the snapshot counts of phases A and B; refuses a job the
// ranks cannot run. World rank 0 creates learn.out and writes config.ini.
Setup set_up(const Config& c) {
  int world_rank = 0, world_size = 1;
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &world_rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &world_size), "MPI_Comm_size");
  auto sys = make_system(c.system, c.system_params);
  const int dim = sys->dim();
  if (world_size > 1 && c.learn_ranks >= world_size)
    throw InputError("learn.ranks = " + std::to_string(c.learn_ranks) + " leaves none of the " +
                     std::to_string(world_size) + " ranks to simulate (only a single process plays both roles)");
  const int sims = world_size == 1 ? 1 : world_size - c.learn_ranks;
  // A system no team may split (not team_splittable, e.g. Curie-Weiss's global field, or
  // voxels wider than the halos' byte) runs in teams of one rank, each making whole
  // snapshots; refused here on every rank alike, before any rank waits for another.
  const bool splittable = sys->team_splittable() && sys->state_layout().voxel_bytes() == 1;
  if (c.team_size > 1 && !splittable)
    throw InputError("team.size = " + std::to_string(c.team_size) + ": system " + c.system +
                     " is not split over ranks (each rank makes whole snapshots); use team.size = 1");
  const int team_size = c.team_size ? c.team_size
                        : splittable ? smallest_team_size(dim, c.large_side, c.patch, c.team_max_sites, sims)
                                     : 1;
  Roles roles = Roles::make(world_size == 1 ? 1 : c.learn_ranks, team_size);
  const Decomposition dec = Decomposition::choose(dim, c.large_side, c.patch, team_size);
  const bool closure = c.has_closure() && c.learn_closure_dim > 0;
  // learn.ae_snapshots is a budget: at most large.snapshots (the default 2000 also
  // serves smaller jobs).
  const std::int64_t n_a =
      closure ? (c.learn_ae_snapshots ? std::min(c.learn_ae_snapshots, c.snapshots) : c.snapshots) : 0;
  // Phase B snapshots: the upsampled ones, then the random-magnetisation ones.
  const std::int64_t n_random = random_snapshots(c), n_b = c.snapshots + n_random;
  if (n_random > 0 && team_size > 1)
    throw InputError("large.random_configs = true needs team.size = 1 (got " + std::to_string(team_size) +
                     "): a random-magnetisation configuration is a shuffle of the whole lattice, which one rank "
                     "must hold; set large.random_configs = false for teams of several ranks");
  if (world_rank == 0) {
    fs::create_directories(c.learn_out);
    write_file_atomically(c.learn_out + "/config.ini", c.ini_text);  // the report's provenance
  }
  return Setup{world_rank, world_size, std::move(sys), dim, std::move(roles), dec, closure, n_a, n_random, n_b};
}

// The report's sizes, and the job in two lines on world rank 0 before the work.
RunReport announce(const Config& c, const Setup& setup) {
  const Roles& roles = setup.roles;
  const Decomposition& dec = setup.dec;
  const int world_rank = setup.world_rank, world_size = setup.world_size, dim = setup.dim;
  const std::int64_t n_random = setup.n_random, n_b = setup.n_b;
  const bool closure = setup.closure;
  RunReport rep;
  rep.ranks = world_size;
  rep.learners = roles.learners;
  rep.teams = roles.teams;
  rep.team_size = roles.team_size;
  rep.snapshots = n_b;
  log_if(c.progress && world_rank == 0,
      "run: %d rank(s): %d learner(s), %d team(s) of %d simulator rank(s) (rank grid %dx%dx%d, block %lld sites)%s\n",
      world_size, roles.learners, roles.teams, roles.team_size, dec.ranks_per_axis[0], dec.ranks_per_axis[1],
      dec.ranks_per_axis[2], static_cast<long long>(dec.block_sites()), roles.colocated ? ", co-located" : "");

  // The job in one line before the work (the whole configuration is learn.out/config.ini).
  log_if(c.progress && world_rank == 0,
      "run: %s (%s): L %d from %d^%d patches (K %lld), %lld snapshots%s, %s, %lld SDE steps; verdict against %s; "
      "configuration in %s/config.ini\n",
      c.system.c_str(), resolved_system_params(c).describe().c_str(), c.large_side, c.patch, dim,
      static_cast<long long>(Tiling{dim, c.large_side, c.patch}.patches()), static_cast<long long>(c.snapshots),
      n_random > 0 ? (" + " + std::to_string(n_random) + " random").c_str() : "",
      closure ? ("closure of " + std::to_string(c.learn_closure_dim)).c_str() : "no closure",
      static_cast<long long>(c.learn_steps),
      c.truth_runs > 0 ? (std::to_string(c.truth_runs) + " truth runs x " +
                          std::to_string(std::max<std::size_t>(1, c.truth_init == InitialKind::given_m0 ? c.truth_m0.size() : 1)) +
                          " initial conditions, " + std::to_string(c.truth_sweeps) + " sweeps").c_str()
                       : "no truth (truth.runs = 0)",
      c.learn_out.c_str());
  return rep;
}

// --resume: learner 0 finds the checkpoint and tells everybody how far the job got;
// every learner reads it, and world rank 0 counts the resume. Afresh without one.
ResumePoint agree_on_resume(const Config& c, const Setup& setup, bool resume) {
  const Roles& roles = setup.roles;
  const int world_rank = setup.world_rank;
  RunCheckpoint ck;
  std::string ck_dir;
  int found = 0;
  if (resume && world_rank == 0) {
    ck_dir = find_checkpoint(c.learn_out);
    if (!ck_dir.empty()) {
      ck = read_checkpoint_json(ck_dir + "/checkpoint.json");
      found = 1;
    }
  }
  std::int64_t shared[5] = {found, ck.rounds_done, ck.teams, ck.team_size, ck.learners};
  check_mpi(MPI_Bcast(shared, 5, MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  const bool resumed = shared[0] == 1;
  if (resumed) {
    if (shared[2] != roles.teams || shared[3] != roles.team_size || shared[4] != roles.learners)
      throw InputError("--resume: the checkpoint in " + c.learn_out + " was written by " + std::to_string(shared[4]) +
                       " learner(s) and " + std::to_string(shared[2]) + " team(s) of " + std::to_string(shared[3]) +
                       "; run with the same ranks, learn.ranks and team.size");
    if (roles.learner) {
      // Every learner reads the shared checkpoint directory (same file system).
      ck_dir = find_checkpoint(c.learn_out);
      ck = read_checkpoint_json(ck_dir + "/checkpoint.json");
      ck.resumes += 1;
    }
    ck.rounds_done = shared[1];
    log_if(c.progress && world_rank == 0, "run: resuming from %s after round %lld (resume %lld)\n", ck_dir.c_str(),
        static_cast<long long>(ck.rounds_done), static_cast<long long>(ck.resumes));
    if (world_rank == 0) write_checkpoint_json(c.learn_out + "/checkpoint.json", ck);  // the resume counted
  } else if (resume) {
    log_if(c.progress && world_rank == 0, "run: --resume: no checkpoint in %s, starting afresh\n", c.learn_out.c_str());
  }
  return ResumePoint{ck, ck_dir, resumed};
}

// Phase A: the closure autoencoder on learner 0. The team roots stream whole snapshots
// to it (in turn in a single process); its encoder then goes to every rank (after a
// resume: the one in learn.out). Null without a closure.
std::unique_ptr<learn::ExportedEncoder> phase_a(const Config& c, const Setup& setup, const ResumePoint& from, Simulator* sim,
                                                RunReport& rep) {
  const Roles& roles = setup.roles;
  const int world_rank = setup.world_rank, dim = setup.dim;
  const std::int64_t n_a = setup.n_a;
  const bool closure = setup.closure, resumed = from.resumed;
  const auto t_a = Clock::now();
  std::unique_ptr<learn::ExportedEncoder> encoder;
  if (closure && !resumed) {
    const std::int64_t side_sites = ipow(c.large_side, dim) * setup.sys->state_layout().voxel_bytes();  // bytes
    std::vector<std::int8_t> states;
    if (world_rank == 0) states.resize(static_cast<std::size_t>(n_a * side_sites));
    auto keep = [&](std::int64_t j, const std::int8_t* x) {
      std::memcpy(states.data() + j * side_sites, x, static_cast<std::size_t>(side_sites));
    };
    const std::size_t row_bytes = static_cast<std::size_t>((8 + side_sites + 7) / 8 * 8);
    StreamOptions so{c.stream_batch, c.stream_credits, c.stream_timeout, kTagSnapshots};
    if (roles.colocated) {
      for (std::int64_t j : sim->my_snapshots(n_a)) sim->snapshot(j, keep);
    } else if (roles.simulator) {
      std::unique_ptr<StreamSender> out;
      if (roles.team_rank == 0) out = std::make_unique<StreamSender>(roles.stream_comm, 0, row_bytes, so);
      std::vector<unsigned char> row(row_bytes, 0);
      for (std::int64_t j : sim->my_snapshots(n_a))
        sim->snapshot(j, [&](std::int64_t id, const std::int8_t* x) {
          std::memcpy(row.data(), &id, 8);
          std::memcpy(row.data() + 8, x, static_cast<std::size_t>(side_sites));
          out->push(row.data());
        });
      if (out) out->finish();
    } else if (world_rank == 0) {
      std::vector<int> roots;
      for (int t = 0; t < roles.teams; ++t) roots.push_back(roles.learners + t * roles.team_size);
      StreamReceiver in(roles.stream_comm, roots, row_bytes, so);
      Batch b;
      std::int64_t got = 0;
      while (in.next(b))
        for (int i = 0; i < b.rows; ++i) {
          std::int64_t id;
          std::memcpy(&id, b.row(i), 8);
          keep(id, reinterpret_cast<const std::int8_t*>(b.row(i) + 8));
          ++got;
        }
      if (got != n_a)
        throw std::runtime_error("phase A received " + std::to_string(got) + " snapshots, expected " +
                                 std::to_string(n_a));
    }
    if (world_rank == 0) train_autoencoder(c, *setup.sys, states, n_a);
  }
  if (closure) encoder = share_encoder(c, world_rank);  // after a resume: the one in learn.out
  rep.phase_a_seconds = since(t_a);
  return encoder;
}

// Phase B, first: the online learners (restored from the checkpoint on a resume, learner
// 0 with the stream.save file), the simulators' /snapshots file and the pair streams.
void open_streams(const Config& c, const Setup& setup, const ResumePoint& from, Streams& s) {
  const Roles& roles = setup.roles;
  const int dim = setup.dim;
  const std::int64_t n_b = setup.n_b;
  const bool closure = setup.closure, resumed = from.resumed;
  const RunCheckpoint& ck = from.ck;
  const auto& sys = setup.sys;
  PairRowLayout layout;
  layout.ds = sys->num_observables();
  layout.d = layout.ds + (closure ? c.learn_closure_dim : 0);
  layout.ps = closure ? ipow(c.patch, dim) * sys->state_layout().voxel_bytes() : 0;
  const ModelInfo info = base_info(c, *sys, closure);
  if (roles.learner)
    s.learner = std::make_unique<OnlineLearner>(
        c, layout, info, roles.learner_comm,
        roles.world_rank == 0 ? open_stream_file(c, *sys, layout, info, resumed ? ck.stream_rows : 0) : nullptr,
        resumed ? &ck : nullptr, from.ck_dir);
  // /snapshots of stream.save when a closure is learned: written collectively by the simulators.
  if (roles.simulator && layout.ps > 0 && !c.stream_save.empty()) {
    const Tiling tiling{dim, c.large_side, c.patch};
    s.snapshot_file = std::make_unique<SnapshotFile>(
        c.stream_save, roles.sim_comm, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion},
        io::GroupInfo{tiling.patches(), c.patch, c.large_side, to_string(c.partial_boundary), sys->observable_names()},
        state_shape(*sys, c.large_side), dim, n_b, c.snapshots, resumed, state_dtype(*sys));
  }
  const StreamOptions so{c.stream_batch, c.stream_credits, c.stream_timeout, kTagPairs};
  if (!roles.colocated && roles.simulator)
    s.out = std::make_unique<StreamSender>(roles.stream_comm, roles.learner_of_mine, layout.bytes(), so);
  if (!roles.colocated && roles.learner)
    s.in = std::make_unique<StreamReceiver>(roles.stream_comm, roles.my_senders, layout.bytes(), so);
}

// Phase B, the rounds: every team builds its snapshot of the round and streams its pairs
// (co-located: hands them to the learner); at each sync point the learners receive,
// training between messages, every pair of the rounds so far, and every rank agrees on a
// stop signal and the checkpoint. Then the streams end. Returns the signal that stopped
// the job at a sync point (after its checkpoint), or 0.
int stream_rounds(const Config& c, const Setup& setup, const ResumePoint& from, Simulator* sim,
                  const learn::ExportedEncoder* encoder, Streams& s) {
  const Roles& roles = setup.roles;
  const std::int64_t n_b = setup.n_b;
  const bool resumed = from.resumed;
  const RunCheckpoint& ck = from.ck;
  OnlineLearner* const learner = s.learner.get();
  SnapshotFile* const snapshot_file = s.snapshot_file.get();
  StreamSender* const out = s.out.get();
  StreamReceiver* const in = s.in.get();
  const std::int64_t rounds = (n_b + roles.teams - 1) / roles.teams;
  const std::int64_t r0 = resumed ? ck.rounds_done : 0;
  const RowCounter rows_for(c, roles, setup.dec, n_b);
  Batch batch;
  std::int64_t in_message = 0, expected = learner ? learner->pairs_received() : 0;
  auto ingest_local = [&](const unsigned char* row) {
    learner->ingest(row);
    if (++in_message == c.stream_batch) {
      in_message = 0;
      learner->message_done();
      if (learner->all_ready()) learner->train(c.learn_steps_per_batch);
    }
  };
  // Learners: receive (training between messages) until every learner holds `expected`
  // pairs; the loop's end is decided collectively, so the learners leave it together.
  auto receive_until_expected = [&] {
    for (;;) {
      int fresh = 0;
      while (in->poll(batch)) {
        for (int i = 0; i < batch.rows; ++i) learner->ingest(batch.row(i));
        learner->message_done();
        ++fresh;
      }
      int flags[2] = {learner->pairs_received() >= expected ? 1 : 0, fresh}, all[2] = {0, 0};
      check_mpi(MPI_Allreduce(&flags[0], &all[0], 1, MPI_INT, MPI_MIN, roles.learner_comm), "MPI_Allreduce");
      check_mpi(MPI_Allreduce(&flags[1], &all[1], 1, MPI_INT, MPI_MAX, roles.learner_comm), "MPI_Allreduce");
      if (all[1] > 0 && learner->all_ready()) learner->train(static_cast<std::int64_t>(c.learn_steps_per_batch) * all[1]);
      if (all[0] == 1) return;
      if (all[1] == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  auto last_checkpoint = Clock::now();
  std::int64_t checkpoints = resumed ? ck.checkpoints : 0;
  int stopped_by = 0;
  // The stream's own progress (the SDE lines say nothing while learn.steps_per_batch = 0
  // defers the training): snapshots of this run, every 10 s, from world rank 0.
  const std::int64_t first = std::min(n_b, r0 * roles.teams);
  Progress streamed("run: phase B, snapshots streamed", n_b - first, "snapshots",
                    c.progress && roles.world_rank == 0, 10.0);
  for (std::int64_t r = r0; r < rounds; ++r) {
    streamed.update(std::min(n_b, r * roles.teams) - first);
    if (roles.simulator) {
      const std::int64_t j = sim->snapshot_of_round(r, n_b);
      if (j >= 0) {
        if (roles.colocated) sim->pairs(j, encoder, ingest_local);
        else sim->pairs(j, encoder, [&](const unsigned char* row) { out->push(row); });
      }
      if (snapshot_file) snapshot_file->write(j, sim->block_geometry(), sim->block());
    }
    if (learner) expected += rows_for.round(r, roles.world_rank);
    test_kill_point("round", r);
    const bool sync = (r + 1) % c.stream_sync_rounds == 0 || r + 1 == rounds;
    if (!sync) continue;
    // Sync point: every pair of rounds <= r is with its learner, nothing later is.
    if (out) out->flush();
    if (snapshot_file) snapshot_file->commit(std::min(n_b, (r + 1) * roles.teams));
    if (in) receive_until_expected();
    if (learner) learner->gather_stream_rows();
    if (roles.colocated && in_message > 0) {
      // A sync point ends a message, as the senders' flush does: training then depends
      // only on the rounds, not on where a run was stopped and resumed.
      in_message = 0;
      learner->message_done();
      if (learner->all_ready()) learner->train(c.learn_steps_per_batch);
    }
    int flags[2] = {stop_signal().load(), 0};
    if (roles.world_rank == 0)
      flags[1] = since(last_checkpoint) >= c.learn_checkpoint_every && r + 1 < rounds ? 1 : 0;
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    if (flags[0] != 0 || flags[1] != 0) {
      if (learner) {
        RunCheckpoint next;
        next.rounds_done = r + 1;
        next.teams = roles.teams;
        next.team_size = roles.team_size;
        next.learners = roles.learners;
        next.checkpoints = ++checkpoints;
        next.resumes = resumed ? ck.resumes : 0;
        const std::string dir = c.learn_out + "/checkpoint.new";
        learner->save(dir, next);
        if (roles.world_rank == 0) {
          write_checkpoint_json(dir + "/checkpoint.json", next);
          swap_in_checkpoint(c.learn_out);
          write_checkpoint_json(c.learn_out + "/checkpoint.json", next);
          log_if(c.progress, "run: checkpoint %lld after round %lld/%lld (%lld SDE steps)\n", static_cast<long long>(next.checkpoints),
              static_cast<long long>(r + 1), static_cast<long long>(rounds), static_cast<long long>(next.steps));
        }
      }
      last_checkpoint = Clock::now();
      check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
      test_kill_point("checkpoint", r);
    }
    if (flags[0] != 0) {
      stopped_by = flags[0];
      break;
    }
  }
  // End of the streams (also after a stop: the receivers see every end marker).
  if (out) out->finish();
  if (in)
    while (in->next(batch))
      throw std::runtime_error("a simulator sent pairs after its last sync point");
  return stopped_by;
}

// Phase B, last (learners): the stream rates, then the SDE steps left; the model is
// written (drift.pt, diffusion.pt, model.json in learn.out).
void finish_learning(const Config& c, const Setup& setup, const ResumePoint& from, OnlineLearner* learner, RunReport& rep) {
  const Roles& roles = setup.roles;
  const bool resumed = from.resumed;
  const RunCheckpoint& ck = from.ck;
  if (!learner->all_ready())
    throw InputError("the stream ended with fewer than learn.min_fill = " + std::to_string(c.learn_min_fill) +
                     " pairs on a learner; lower learn.min_fill or raise large.snapshots");
  std::int64_t received = learner->pairs_received();
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &received, 1, MPI_INT64_T, MPI_SUM, roles.learner_comm), "MPI_Allreduce");
  rep.pairs = received;
  rep.pairs_per_s = static_cast<double>(received - (resumed ? ck.pairs_received : 0)) / rep.phase_b_seconds;
  // Sum over learners of each one's rate while pairs were streaming to it.
  double rate = learner->ingest_seconds() > 0 ? static_cast<double>(learner->pairs_ingested()) / learner->ingest_seconds() : 0.0;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &rate, 1, MPI_DOUBLE, MPI_SUM, roles.learner_comm), "MPI_Allreduce");
  rep.streaming_pairs_per_s = rate;
  learner->train(learner->steps_left());
  learner->finish();
  rep.sde_steps = c.learn_steps;
}

// Phase B: latent pairs streamed to the learners, SDE trained online, in rounds (one
// snapshot per team each) with a sync point every stream.sync_rounds rounds. Returns the
// signal that stopped the job at a sync point (checkpoint written), or 0.
int phase_b(const Config& c, const Setup& setup, const ResumePoint& from, Simulator* sim,
            const learn::ExportedEncoder* encoder, Streams& s, RunReport& rep) {
  const auto t_b = Clock::now();
  open_streams(c, setup, from, s);
  const int stopped_by = stream_rounds(c, setup, from, sim, encoder, s);
  rep.phase_b_seconds = since(t_b);
  if (stopped_by != 0) {
    rep.stopped_by = stopped_by;
    return stopped_by;
  }
  if (s.learner) finish_learning(c, setup, from, s.learner.get(), rep);
  rep.phase_b_seconds = since(t_b);
  return 0;
}

// Phase C: the truth for the verdict, simulated by the simulators while the learners
// finish training (in turn in a single process), then judged on world rank 0, which
// also writes report.html.
void phase_c(const Config& c, const Setup& setup, RunReport& rep) {
  const int world_rank = setup.world_rank;
  const auto& sys = setup.sys;
  const Roles& roles = setup.roles;
  const auto t_c = Clock::now();
  const std::string no_truth = truth_not_possible(c, *sys);
  const std::string truth_path = c.learn_out + "/truth.h5";
  if (no_truth.empty()) simulate_truth(c, *sys, roles, truth_path);
  rep.truth_seconds = since(t_c);
  if (world_rank == 0) {
    const auto t_v = Clock::now();
    rep.verdict = judge_run(c, no_truth, truth_path);
    try {
      rep.report = write_report(c.learn_out);
    } catch (const std::exception& e) {
      rep.verdict.warnings.push_back(std::string("no report: ") + e.what());
    }
    rep.verdict_seconds = since(t_v);
  }
}

}  // namespace

RunReport run(const Config& c, bool resume) {
  const auto start = Clock::now();
  Setup setup = set_up(c);
  RunReport rep = announce(c, setup);
  const ResumePoint from = agree_on_resume(c, setup, resume);

  // Learners train with learn.threads torch threads; simulators encode with one.
  learn::set_torch_threads(setup.roles.learner ? c.learn_threads : 1);
  std::unique_ptr<Simulator> sim;
  if (setup.roles.simulator)
    sim = std::make_unique<Simulator>(c, *setup.sys, setup.roles.team_comm, setup.roles.team, setup.roles.teams, setup.dec);

  const std::unique_ptr<learn::ExportedEncoder> encoder = phase_a(c, setup, from, sim.get(), rep);
  Streams streams;  // until run() returns (see Streams)
  const int stopped_by = phase_b(c, setup, from, sim.get(), encoder.get(), streams, rep);
  if (stopped_by == 0) phase_c(c, setup, rep);
  setup.roles.free();
  rep.seconds = since(start);
  return rep;
}

}  // namespace macrodyn::mpi
