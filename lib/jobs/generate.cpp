// macrodyn generate: small trajectories -> hierarchical upsampling -> partial
// evolution, written to one HDF5 dataset (docs/design.md §5.3) block by block, each block
// committed (rows, then rows_committed, then flush) so a crash loses at most one block.
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "core/stop.hpp"
#include "io/dataset.hpp"
#include "jobs/jobs.hpp"
#include "jobs/run_writer.hpp"
#include "jobs/state_tables.hpp"
#include "sampling/hierarchy.hpp"
#include "systems/initial_state.hpp"
#include "sampling/partial_evolution.hpp"
#include "sampling/trajectory.hpp"
#include "systems/system.hpp"

using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::jobs {

const char* const kMacrodynVersion = "0.1.0";

namespace {

using io::DType;

// Rows of snapshots processed (and committed) together: bounds memory and loss.
constexpr std::int64_t kBlockSnapshots = 1024;

struct Workers {
  std::vector<std::unique_ptr<Evolver>> evolvers;
  std::vector<std::vector<std::int8_t>> stage_copies;
  Workers(const System& sys, int n) : stage_copies(static_cast<std::size_t>(n)) {
    for (int i = 0; i < n; ++i) evolvers.push_back(sys.make_evolver());
  }
};

std::uint64_t chunk_rows_for(std::int64_t row_bytes) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(1, (256 * 1024) / std::max<std::int64_t>(row_bytes, 1)));
}

// /small: runs of side L_s from random initial states. Returns their frames: the pool
// of the first upsampling level.
std::vector<std::int8_t> write_small_runs(const Config& c, const System& sys, Workers& workers,
                                          io::DatasetWriter& out) {
  const int Ls = c.resolved_small_side();
  RunsSpec spec;
  spec.group = "/small";
  spec.info = io::GroupInfo{1, Ls, Ls, "periodic", sys.observable_names()};
  spec.side = Ls;
  spec.sweeps = c.small_sweeps;
  spec.frames = c.small_frames();
  spec.runs = c.small_runs;
  const TrajectorySpec run = small_trajectory(c);
  spec.spec_of = [run](std::int64_t) { return run; };
  spec.purpose = Purpose::small_dynamics;
  spec.seed = c.seed;
  spec.store_states = c.has_closure();
  spec.keep_all_states = true;
  spec.threads = c.resolved_threads();
  spec.progress = c.progress;
  spec.what = "generate: small runs";
  return run_and_write(sys, workers.evolvers, spec, out);
}

// Pair rows of one block, columnar, ready to append.
struct PairColumns {
  std::vector<std::int64_t> snapshot_id;
  std::vector<std::int32_t> patch_index;
  std::vector<double> dt, weight;
  std::vector<float> z_star, g_before, g_after;
  std::vector<std::int8_t> patch_before, patch_after;
  void clear() {
    snapshot_id.clear(); patch_index.clear(); dt.clear(); weight.clear(); z_star.clear(); g_before.clear();
    g_after.clear(); patch_before.clear(); patch_after.clear();
  }
  void add(const PairRecord& r) {
    snapshot_id.push_back(r.snapshot_id);
    patch_index.push_back(r.patch_index);
    dt.push_back(r.dt);
    weight.push_back(r.weight);
    z_star.insert(z_star.end(), r.z_star.begin(), r.z_star.end());
    g_before.insert(g_before.end(), r.g_before.begin(), r.g_before.end());
    g_after.insert(g_after.end(), r.g_after.begin(), r.g_after.end());
    patch_before.insert(patch_before.end(), r.patch_before.begin(), r.patch_before.end());
    patch_after.insert(patch_after.end(), r.patch_after.begin(), r.patch_after.end());
  }
};

// Pair tables are chunked by the rows of one block (pairs = one), so that every commit
// completes whole chunks and they are stored compressed (io keeps an incomplete chunk
// uncompressed to stay crash-safe).
void create_pair_tables(const Config& c, const System& sys, io::DatasetWriter& out) {
  const int dim = sys.dim();
  const auto d = static_cast<std::uint64_t>(sys.num_observables());
  const Tiling tiling{dim, c.large_side, c.patch};
  out.create_group("/pairs", io::GroupInfo{tiling.patches(), c.patch, c.large_side,
                                           to_string(c.partial_boundary), sys.observable_names()});
  out.set_attr("/pairs", "pairs", std::string(c.pairs == PairsMode::one ? "one" : "all"));
  const auto rows = static_cast<std::uint64_t>(kBlockSnapshots);
  out.create_table("/pairs/snapshot_id", DType::i64, {}, rows, true);
  out.create_table("/pairs/patch_index", DType::i32, {}, rows, true);
  out.create_table("/pairs/dt", DType::f64, {}, rows, true);
  out.create_table("/pairs/weight", DType::f64, {}, rows, true);
  out.create_table("/pairs/z_star", DType::f32, {d}, rows, true);
  out.create_table("/pairs/g_before", DType::f32, {d}, rows, true);
  out.create_table("/pairs/g_after", DType::f32, {d}, rows, true);
  if (c.has_closure()) {
    const auto ps = state_shape(sys, c.patch);
    const std::int64_t bytes = ipow(c.patch, dim) * sys.state_layout().voxel_bytes();
    out.create_table("/pairs/patch_before", state_dtype(sys), ps, chunk_rows_for(bytes), true);
    out.create_table("/pairs/patch_after", state_dtype(sys), ps, chunk_rows_for(bytes), true);
  }
}

void append_pairs(const Config& c, const PairColumns& p, io::DatasetWriter& out) {
  const auto rows = static_cast<std::uint64_t>(p.dt.size());
  out.append("/pairs/snapshot_id", p.snapshot_id.data(), rows);
  out.append("/pairs/patch_index", p.patch_index.data(), rows);
  out.append("/pairs/dt", p.dt.data(), rows);
  out.append("/pairs/weight", p.weight.data(), rows);
  out.append("/pairs/z_star", p.z_star.data(), rows);
  out.append("/pairs/g_before", p.g_before.data(), rows);
  out.append("/pairs/g_after", p.g_after.data(), rows);
  if (c.has_closure()) {
    out.append("/pairs/patch_before", p.patch_before.data(), rows);
    out.append("/pairs/patch_after", p.patch_after.data(), rows);
  }
}

}  // namespace

JobSummary generate(const Config& c) {
  const auto start = std::chrono::steady_clock::now();
  const auto sys = make_system(c.system, c.system_params);
  const int dim = sys->dim(), threads = c.resolved_threads();
  const int L = c.large_side;
  const std::int64_t sites = ipow(L, dim), n = sites * sys->state_layout().voxel_bytes();  // n: bytes per state
  Workers workers(*sys, threads);

  io::DatasetWriter out(c.output, io::RootInfo{c.seed, c.system, c.ini_text, kMacrodynVersion});
  JobSummary summary;
  summary.path = c.output;

  std::vector<std::int8_t> pool = write_small_runs(c, *sys, workers, out);
  std::int64_t pool_count = c.small_runs * c.small_frames();
  summary.small_frames = pool_count;

  const HierarchySpec h = hierarchy_spec(c);
  const int levels = static_cast<int>(h.sides.size()) - 1;

  // Intermediate levels are kept whole: each is the pool of the next.
  for (int level = 1; level < levels; ++level) {
    const std::int64_t m = ipow(h.sides[level], dim) * sys->state_layout().voxel_bytes();
    std::vector<std::int8_t> next(static_cast<std::size_t>(c.snapshots * m));
    Progress progress("generate: level " + std::to_string(level) + "/" + std::to_string(levels) +
                          " (side " + std::to_string(h.sides[level]) + ")",
                      c.snapshots, "snapshots", c.progress);
    for (std::int64_t b0 = 0; b0 < c.snapshots; b0 += kBlockSnapshots) {
      const std::int64_t b1 = std::min(c.snapshots, b0 + kBlockSnapshots);
      parallel_for(b0, b1, threads, [&](std::int64_t j, int w) {
        build_level_snapshot(*sys, *workers.evolvers[w], h, level, pool.data(), pool_count, j,
                             next.data() + j * m, workers.stage_copies[w]);
      });
      progress.update(b1);
      check_stop("the small runs (no snapshots yet) in " + c.output);
    }
    pool.swap(next);
    pool_count = c.snapshots;
  }

  // Last level, streamed: build, partially evolve, write, commit, block by block.
  const bool upsampled = levels > 0;
  const std::int64_t n_random = random_snapshots(c);
  const std::int64_t total = c.snapshots + n_random;
  const Tiling tiling{dim, L, c.patch};
  if (c.has_closure()) {
    out.create_group("/snapshots", io::GroupInfo{tiling.patches(), c.patch, L,
                                                 to_string(c.relax_boundary), sys->observable_names()});
    out.create_table("/snapshots/states", state_dtype(*sys), state_shape(*sys, L), chunk_rows_for(n), true);
    out.create_table("/snapshots/random", DType::i8, {}, static_cast<std::uint64_t>(kBlockSnapshots), true);
  }
  create_pair_tables(c, *sys, out);
  std::vector<std::int64_t> chosen;
  if (!upsampled) chosen = draw_without_replacement(pool_count, c.snapshots, c.seed);

  const PartialSpec pspec{c.patch, c.partial_boundary, c.pairs, c.partial_events};
  std::vector<std::int8_t> block(static_cast<std::size_t>(kBlockSnapshots * n));
  std::vector<std::vector<PairRecord>> records(static_cast<std::size_t>(kBlockSnapshots));
  std::vector<std::int8_t> is_random(static_cast<std::size_t>(kBlockSnapshots));
  PairColumns columns;
  std::int64_t pairs_written = 0;
  Progress progress("generate: snapshots + partial evolution (side " + std::to_string(L) + ")", total,
                    "snapshots", c.progress);
  for (std::int64_t b0 = 0; b0 < total; b0 += kBlockSnapshots) {
    const std::int64_t b1 = std::min(total, b0 + kBlockSnapshots);
    parallel_for(b0, b1, threads, [&](std::int64_t j, int w) {
      std::int8_t* x = block.data() + (j - b0) * n;
      Evolver& ev = *workers.evolvers[w];
      const bool random = j >= c.snapshots;
      is_random[static_cast<std::size_t>(j - b0)] = random ? 1 : 0;
      if (random) {
        Rng rng({c.seed, Purpose::random_config, 0, static_cast<std::uint64_t>(j), 0});
        sys->random_configuration(x, sites, rng);
      } else if (upsampled) {
        build_level_snapshot(*sys, ev, h, levels, pool.data(), pool_count, j, x, workers.stage_copies[w]);
      } else {
        std::memcpy(x, pool.data() + chosen[static_cast<std::size_t>(j)] * n, static_cast<std::size_t>(n));
      }
      partial_evolution(*sys, ev, x, L, pspec, c.seed, j, c.has_closure(),
                        records[static_cast<std::size_t>(j - b0)]);
    });
    columns.clear();
    for (std::int64_t j = b0; j < b1; ++j)
      for (const PairRecord& r : records[static_cast<std::size_t>(j - b0)]) columns.add(r);
    if (c.has_closure()) {
      out.append("/snapshots/states", block.data(), static_cast<std::uint64_t>(b1 - b0));
      out.append("/snapshots/random", is_random.data(), static_cast<std::uint64_t>(b1 - b0));
      out.commit("/snapshots", static_cast<std::uint64_t>(b1));
    }
    append_pairs(c, columns, out);
    pairs_written += static_cast<std::int64_t>(columns.dt.size());
    out.commit("/pairs", static_cast<std::uint64_t>(pairs_written));
    progress.update(b1);
    check_stop(std::to_string(pairs_written) + " pairs in " + c.output);
  }
  summary.snapshots = total;
  summary.pairs = pairs_written;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace macrodyn::jobs
