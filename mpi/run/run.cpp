#include "mpi/run/run.hpp"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/error.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_info.hpp"
#include "learn/autoencoder.hpp"
#include "learn/exported.hpp"
#include "learn/sde.hpp"
#include "mpi/run/learner.hpp"
#include "mpi/run/roles.hpp"
#include "mpi/run/simulator.hpp"
#include "mpi/run/stream_file.hpp"
#include "mpi/stream.hpp"
#include "mpi/team_check.hpp"

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

void say(const Config& c, bool on, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
void say(const Config& c, bool on, const char* fmt, ...) {
  if (!on || !c.progress) return;
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
}

// Phase A on learner 0: the autoencoder on `n` snapshots of side L, encoder exported.
void train_autoencoder(const Config& c, const std::vector<std::int8_t>& states, std::int64_t n) {
  learn::AutoencoderOptions ao;
  ao.closure_dim = c.learn_closure_dim;
  ao.decoder = "global";
  ao.epochs = c.learn_ae_epochs;
  ao.batch = static_cast<int>(std::min<std::int64_t>(512, n));
  ao.seed = c.seed;
  ao.device = learn::resolve_device(c.learn_device);
  ao.threads = c.learn_threads;
  say(c, true, "run: autoencoder (closure %d) on %lld snapshots of side %d\n", ao.closure_dim,
      static_cast<long long>(n), c.large_side);
  auto ae = learn::ClosureAutoencoder::train(
      learn::SpinSnapshots{c.large_side, c.patch, n, states.data()}, ao, [&](const learn::EpochReport& r) {
        say(c, true, "  autoencoder epoch %d/%d  bce %.5f  %.1f s  %.0f snapshots/s\n", r.epoch, ao.epochs, r.loss,
            r.seconds, r.samples_per_s);
      });
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
  info.T = c.T;
  info.h = c.h;
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
                                             const ModelInfo& info) {
  if (c.stream_save.empty()) return nullptr;
  const Tiling tiling{sys.dim(), c.large_side, c.patch};
  io::GroupInfo pairs{tiling.patches(), c.patch, c.large_side, to_string(c.partial_boundary), sys.observable_names()};
  return std::make_unique<StreamFile>(c.stream_save, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion},
                                      pairs, info.variables, layout, sys.dim(), c.patch);
}

}  // namespace

RunReport run(const Config& c) {
  const auto start = Clock::now();
  int world_rank = 0, world_size = 1;
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &world_rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &world_size), "MPI_Comm_size");
  const auto sys = make_system(c.system, SystemParams{c.T, c.h});
  const int dim = sys->dim();
  if (world_size > 1 && c.learn_ranks >= world_size)
    throw InputError("learn.ranks = " + std::to_string(c.learn_ranks) + " leaves none of the " +
                     std::to_string(world_size) + " ranks to simulate (only a single process plays both roles)");
  if (world_size > 1 && c.learn_ranks > 1 && !c.stream_save.empty())
    throw InputError("stream.save is written by the learner; it needs learn.ranks = 1");
  const int sims = world_size == 1 ? 1 : world_size - c.learn_ranks;
  const int team_size =
      c.team_size ? c.team_size : smallest_team_size(dim, c.large_side, c.patch, c.team_max_sites, sims);
  Roles roles = Roles::make(world_size == 1 ? 1 : c.learn_ranks, team_size);
  const Decomposition dec = Decomposition::choose(dim, c.large_side, c.patch, team_size);
  const bool closure = c.has_closure() && c.learn_closure_dim > 0;
  const std::int64_t n_a = closure ? (c.learn_ae_snapshots ? c.learn_ae_snapshots : c.snapshots) : 0;
  if (n_a > c.snapshots)
    throw InputError("learn.ae_snapshots = " + std::to_string(n_a) + " exceeds large.snapshots = " +
                     std::to_string(c.snapshots));
  if (world_rank == 0) fs::create_directories(c.learn_out);

  RunReport rep;
  rep.ranks = world_size;
  rep.learners = roles.learners;
  rep.teams = roles.teams;
  rep.team_size = roles.team_size;
  rep.snapshots = c.snapshots;
  say(c, world_rank == 0,
      "run: %d rank(s): %d learner(s), %d team(s) of %d simulator rank(s) (rank grid %dx%dx%d, block %lld sites)%s\n",
      world_size, roles.learners, roles.teams, roles.team_size, dec.ranks_per_axis[0], dec.ranks_per_axis[1],
      dec.ranks_per_axis[2], static_cast<long long>(dec.block_sites()), roles.colocated ? ", co-located" : "");

  std::unique_ptr<Simulator> sim;
  if (roles.simulator) sim = std::make_unique<Simulator>(c, *sys, roles.team_comm, roles.team, roles.teams, dec);

  // Phase A: the closure autoencoder on learner 0.
  const auto t_a = Clock::now();
  std::unique_ptr<learn::ExportedEncoder> encoder;
  if (closure) {
    const std::int64_t side_sites = ipow(c.large_side, dim);
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
    if (world_rank == 0) train_autoencoder(c, states, n_a);
    encoder = share_encoder(c, world_rank);
  }
  rep.phase_a_seconds = since(t_a);

  // Phase B: latent pairs streamed to the learners, SDE trained online.
  const auto t_b = Clock::now();
  PairRowLayout layout;
  layout.ds = sys->num_observables();
  layout.d = layout.ds + (closure ? c.learn_closure_dim : 0);
  layout.ps = closure ? ipow(c.patch, dim) : 0;
  const ModelInfo info = base_info(c, *sys, closure);
  std::unique_ptr<OnlineLearner> learner;
  if (roles.learner)
    learner = std::make_unique<OnlineLearner>(c, layout, info, roles.learner_comm,
                                              roles.world_rank == 0 ? open_stream_file(c, *sys, layout, info) : nullptr);
  const StreamOptions so{c.stream_batch, c.stream_credits, c.stream_timeout, kTagPairs};
  const std::int64_t total = c.snapshots;
  if (roles.colocated) {
    std::int64_t in_message = 0;
    auto ingest = [&](const unsigned char* row) {
      learner->ingest(row);
      if (++in_message == c.stream_batch) {
        in_message = 0;
        learner->message_done();
        if (learner->all_ready()) learner->train(c.learn_steps_per_batch);
      }
    };
    for (std::int64_t j = 0; j < total; ++j) sim->pairs(j, encoder.get(), ingest);
    learner->message_done();
  } else if (roles.simulator) {
    StreamSender out(roles.stream_comm, roles.learner_of_mine, layout.bytes(), so);
    for (std::int64_t j : sim->my_snapshots(total))
      sim->pairs(j, encoder.get(), [&](const unsigned char* row) { out.push(row); });
    out.finish();
  } else {
    StreamReceiver in(roles.stream_comm, roles.my_senders, layout.bytes(), so);
    Batch b;
    for (;;) {
      int fresh = 0;
      while (in.poll(b)) {
        for (int i = 0; i < b.rows; ++i) learner->ingest(b.row(i));
        learner->message_done();
        ++fresh;
      }
      int flags[2] = {in.done() ? 1 : 0, fresh}, all[2] = {0, 0};
      check_mpi(MPI_Allreduce(&flags[0], &all[0], 1, MPI_INT, MPI_MIN, roles.learner_comm), "MPI_Allreduce");
      check_mpi(MPI_Allreduce(&flags[1], &all[1], 1, MPI_INT, MPI_MAX, roles.learner_comm), "MPI_Allreduce");
      if (all[0] == 1) break;
      if (all[1] > 0 && learner->all_ready()) learner->train(static_cast<std::int64_t>(c.learn_steps_per_batch) * all[1]);
      if (all[1] == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  rep.phase_b_seconds = since(t_b);
  if (learner) {
    if (!learner->all_ready())
      throw InputError("the stream ended with fewer than learn.min_fill = " + std::to_string(c.learn_min_fill) +
                       " pairs on a learner; lower learn.min_fill or raise large.snapshots");
    std::int64_t received = learner->pairs_received();
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, &received, 1, MPI_INT64_T, MPI_SUM, roles.learner_comm), "MPI_Allreduce");
    rep.pairs = received;
    rep.pairs_per_s = static_cast<double>(received) / rep.phase_b_seconds;
    learner->train(learner->steps_left());
    learner->finish();
    rep.sde_steps = c.learn_steps;
  }
  roles.free();
  rep.seconds = since(start);
  return rep;
}

}  // namespace macrodyn::mpi
