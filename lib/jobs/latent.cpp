#include "jobs/latent.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/geometry.hpp"
#include "io/dataset.hpp"
#include "jobs/jobs.hpp"
#include "jobs/state_tables.hpp"
#include "learn/exported.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace {

constexpr std::int64_t kBlockPairs = 4096;

// Values a file may hold but physics may not: a pair's duration is finite and positive,
// its observables finite. FileError naming the first bad pair.
void check_pair_values(const std::string& path, std::int64_t first, std::int64_t m, int d, const double* dt,
                       const std::vector<float>& zs, const std::vector<float>& gb, const std::vector<float>& ga) {
  for (std::int64_t i = 0; i < m; ++i) {
    if (!(std::isfinite(dt[i]) && dt[i] > 0))
      throw FileError(path + ": /pairs/dt of pair " + std::to_string(first + i) + " is " + std::to_string(dt[i]) +
                      ", not a positive duration");
    for (int k = 0; k < d; ++k) {
      const auto j = static_cast<std::size_t>(i * d + k);
      if (!std::isfinite(zs[j]) || !std::isfinite(gb[j]) || !std::isfinite(ga[j]))
        throw FileError(path + ": pair " + std::to_string(first + i) + " has a non-finite observable");
    }
  }
}

}  // namespace

void snapshot_closure(const learn::ExportedEncoder& enc, const std::int8_t* states, std::int64_t n, int L,
                      std::vector<std::int8_t>& patches, std::vector<float>& codes, double* out) {
  const int p = enc.patch(), c = enc.closure_dim(), D = enc.dim(), vb = enc.voxel_bytes();
  const Tiling tiling{D, L, p};
  const std::int64_t K = tiling.patches(), bytes = ipow(p, D) * vb, snap_bytes = ipow(L, D) * vb;
  patches.resize(static_cast<std::size_t>(n * K * bytes));
  codes.resize(static_cast<std::size_t>(n * K * c));
  for (std::int64_t s = 0; s < n; ++s)
    for (std::int64_t I = 0; I < K; ++I)
      extract_box(states + s * snap_bytes, D, L, tiling.origin(I), p, patches.data() + (s * K + I) * bytes, vb);
  enc.encode_voxels(reinterpret_cast<const std::uint8_t*>(patches.data()), n * K, codes.data());
  for (std::int64_t s = 0; s < n; ++s)
    for (int k = 0; k < c; ++k) {
      double sum = 0;
      for (std::int64_t I = 0; I < K; ++I) sum += codes[static_cast<std::size_t>((s * K + I) * c + k)];
      out[s * c + k] = sum / static_cast<double>(K);
    }
}

LatentSet small_frame_pairs(const io::DatasetReader& ds, std::int64_t max_pairs) {
  const auto observables = ds.attr_strings("/small", "observables");
  const auto d = static_cast<std::int64_t>(observables.size());
  if (d < 1) throw FileError(ds.path() + ": /small lists no observables");
  const auto shape = ds.shape("/small/observables");
  if (shape.size() != 3 || shape[2] != static_cast<std::uint64_t>(d))
    throw FileError(ds.path() + ": /small/observables is not [runs, frames, " + std::to_string(d) + "]");
  const auto frames = static_cast<std::int64_t>(shape[1]);
  ds.require_table("/small/durations", {static_cast<std::uint64_t>(frames)});
  const auto runs = static_cast<std::int64_t>(ds.rows_committed("/small"));
  if (runs == 0 || frames < 2) throw FileError(ds.path() + " has no consecutive small-run frames");
  std::vector<float> g(static_cast<std::size_t>(runs * frames * d));
  std::vector<double> dur(static_cast<std::size_t>(runs * frames));
  ds.read_rows("/small/observables", 0, static_cast<std::uint64_t>(runs), io::DType::f32, g.data());
  ds.read_rows("/small/durations", 0, static_cast<std::uint64_t>(runs), io::DType::f64, dur.data());
  LatentSet out;
  out.variables = observables;
  for (std::int64_t r = 0; r < runs; ++r)
    for (std::int64_t k = 0; k + 1 < frames; ++k) {
      if (max_pairs > 0 && out.size() == max_pairs) return out;
      const float* a = g.data() + (r * frames + k) * d;
      out.z0.insert(out.z0.end(), a, a + d);
      out.z1.insert(out.z1.end(), a + d, a + 2 * d);
      out.z1_naive.insert(out.z1_naive.end(), a + d, a + 2 * d);
      const double dt = dur[static_cast<std::size_t>(r * frames + k + 1)];
      if (!(dt > 0 && std::isfinite(dt)))
        throw FileError(ds.path() + ": /small/durations holds a frame of duration " + std::to_string(dt));
      out.dt.push_back(dt);
    }
  return out;
}

LatentSet encode_pairs(const io::DatasetReader& ds, const learn::ExportedEncoder* enc, std::int64_t max_pairs,
                       const std::function<void(std::int64_t, std::int64_t)>& on_block) {
  // The schema first: every table with the row shape the loops below assume.
  const auto observables = ds.attr_strings("/pairs", "observables");
  const int ds_ = static_cast<int>(observables.size());
  if (ds_ < 1) throw FileError(ds.path() + ": /pairs lists no observables");
  const auto width = static_cast<std::uint64_t>(ds_);
  ds.require_table("/pairs/dt", {});
  for (const char* t : {"/pairs/z_star", "/pairs/g_before", "/pairs/g_after"}) ds.require_table(t, {width});
  // The patch weights 1 / (K q) of a non-uniform choice (datasets before them: all 1).
  const bool weighted = ds.has("/pairs/weight");
  if (weighted) ds.require_table("/pairs/weight", {});
  const auto committed = static_cast<std::int64_t>(ds.rows_committed("/pairs"));
  const std::int64_t n = max_pairs > 0 ? std::min(max_pairs, committed) : committed;
  if (n == 0) throw FileError(ds.path() + " has no committed pairs");
  const int c = enc ? enc->closure_dim() : 0, d = ds_ + c;
  const int L = static_cast<int>(ds.attr_int("/pairs", "L")), p = static_cast<int>(ds.attr_int("/pairs", "patch"));
  if (L < 1 || p < 1 || L % p != 0)
    throw FileError(ds.path() + ": /pairs has L = " + std::to_string(L) + " and patch = " + std::to_string(p) +
                    "; the patch must divide L");
  std::unique_ptr<System> system;      // with a closure: the dataset's, for its states
  std::unique_ptr<StateCheck> check;
  std::int64_t patch_bytes = 0, snap_bytes = 0;
  if (enc) {
    system = dataset_system(ds);
    if (enc->patch() != p)
      throw InputError("the encoder was trained for patch " + std::to_string(enc->patch()) + " but " + ds.path() +
                       " has patch " + std::to_string(p));
    const int vb = system->state_layout().voxel_bytes();
    if (enc->dim() != system->dim() || enc->voxel_bytes() != vb)
      throw InputError("the encoder takes " + std::to_string(enc->dim()) + "-D patches of " +
                       std::to_string(enc->voxel_bytes()) + "-byte voxels, but the states of " + ds.path() + " are " +
                       std::to_string(system->dim()) + "-D with " + std::to_string(vb) + "-byte voxels");
    ds.require_table("/pairs/patch_before", state_shape(*system, p));
    ds.require_table("/pairs/patch_after", state_shape(*system, p));
    ds.require_table("/pairs/snapshot_id", {});
    ds.require_table("/snapshots/states", state_shape(*system, L));
    for (const char* t : {"/pairs/patch_before", "/pairs/patch_after", "/snapshots/states"})
      require_state_type(ds, t, *system);
    check = std::make_unique<StateCheck>(*system, L);
    patch_bytes = ipow(p, system->dim()) * vb;
    snap_bytes = ipow(L, system->dim()) * vb;
  }

  LatentSet out;
  out.variables = observables;
  for (int k = 0; k < c; ++k) out.variables.push_back("closure_" + std::to_string(k + 1));
  out.z0.resize(static_cast<std::size_t>(n * d));
  out.z1.resize(out.z0.size());
  out.z1_naive.resize(out.z0.size());
  out.dt.resize(static_cast<std::size_t>(n));

  std::vector<float> zs, gb, ga, cb, ca, codes;
  std::vector<double> cs, weight;
  std::vector<std::int64_t> sid;
  std::vector<std::uint8_t> pb, pa;
  std::vector<std::int8_t> states, patches;
  for (std::int64_t b0 = 0; b0 < n; b0 += kBlockPairs) {
    const std::int64_t m = std::min(kBlockPairs, n - b0);
    const auto rows = static_cast<std::uint64_t>(m), begin = static_cast<std::uint64_t>(b0);
    zs.resize(static_cast<std::size_t>(m * ds_));
    gb.resize(zs.size());
    ga.resize(zs.size());
    ds.read_rows("/pairs/z_star", begin, rows, io::DType::f32, zs.data());
    ds.read_rows("/pairs/g_before", begin, rows, io::DType::f32, gb.data());
    ds.read_rows("/pairs/g_after", begin, rows, io::DType::f32, ga.data());
    ds.read_rows("/pairs/dt", begin, rows, io::DType::f64, out.dt.data() + b0);
    weight.assign(static_cast<std::size_t>(m), 1.0);
    if (weighted) ds.read_rows("/pairs/weight", begin, rows, io::DType::f64, weight.data());
    for (std::int64_t i = 0; i < m; ++i)
      if (!(std::isfinite(weight[static_cast<std::size_t>(i)]) && weight[static_cast<std::size_t>(i)] > 0))
        throw FileError(ds.path() + ": /pairs/weight of pair " + std::to_string(b0 + i) + " is " +
                        std::to_string(weight[static_cast<std::size_t>(i)]) + ", not a positive weight");
    if (enc) {
      pb.resize(static_cast<std::size_t>(m * patch_bytes));
      pa.resize(pb.size());
      cb.resize(static_cast<std::size_t>(m * c));
      ca.resize(cb.size());
      ds.read_rows("/pairs/patch_before", begin, rows, state_dtype(*system), pb.data());
      ds.read_rows("/pairs/patch_after", begin, rows, state_dtype(*system), pa.data());
      enc->encode_voxels(pb.data(), m, cb.data());
      enc->encode_voxels(pa.data(), m, ca.data());
      // The block's snapshots, read as one contiguous range (snapshot ids ascend with
      // the pair index), each encoded once.
      sid.resize(static_cast<std::size_t>(m));
      ds.read_rows("/pairs/snapshot_id", begin, rows, io::DType::i64, sid.data());
      const auto [lo, hi] = std::minmax_element(sid.begin(), sid.end());
      const std::int64_t s0 = *lo, ns = *hi - *lo + 1;
      const auto snapshots = static_cast<std::int64_t>(ds.shape("/snapshots/states")[0]);
      if (s0 < 0 || *hi >= snapshots)
        throw FileError(ds.path() + ": /pairs/snapshot_id of pairs " + std::to_string(b0) + ".. names snapshot " +
                        std::to_string(s0 < 0 ? s0 : *hi) + ", outside the " + std::to_string(snapshots) +
                        " of /snapshots/states");
      if (ns > 4 * kBlockPairs)
        throw FileError(ds.path() + ": the snapshot ids of pairs " + std::to_string(b0) + ".. span " +
                        std::to_string(ns) + " snapshots; pairs are expected in snapshot order");
      states.resize(static_cast<std::size_t>(ns * snap_bytes));
      ds.read_rows("/snapshots/states", static_cast<std::uint64_t>(s0), static_cast<std::uint64_t>(ns),
                   state_dtype(*system), states.data());
      check_states(*check, states.data(), ns, table_rows(ds, "/snapshots/states", s0));
      cs.resize(static_cast<std::size_t>(ns * c));
      snapshot_closure(*enc, states.data(), ns, L, patches, codes, cs.data());
      for (std::int64_t i = 0; i < m; ++i)
        for (int k = 0; k < c; ++k) {
          const auto z = static_cast<float>(cs[static_cast<std::size_t>((sid[i] - s0) * c + k)]);
          const auto at = static_cast<std::size_t>((b0 + i) * d + ds_ + k);
          out.z0[at] = z;
          // docs/design.md §1.7: the weighted change (the weight is exactly 1 for a uniform choice).
          out.z1[at] = z + static_cast<float>(weight[static_cast<std::size_t>(i)]) * (ca[i * c + k] - cb[i * c + k]);
          out.z1_naive[at] = ca[i * c + k];
        }
    }
    check_pair_values(ds.path(), b0, m, ds_, out.dt.data() + b0, zs, gb, ga);
    for (std::int64_t i = 0; i < m; ++i)
      for (int k = 0; k < ds_; ++k) {
        const auto at = static_cast<std::size_t>((b0 + i) * d + k);
        const auto j = static_cast<std::size_t>(i * ds_ + k);
        out.z0[at] = zs[j];
        out.z1[at] = zs[j] + static_cast<float>(weight[static_cast<std::size_t>(i)]) * (ga[j] - gb[j]);
        out.z1_naive[at] = ga[j];
      }
    if (on_block) on_block(b0 + m, n);
  }
  return out;
}

void write_latent(const std::string& path, const io::DatasetReader& src, const LatentSet& set) {
  io::DatasetWriter w(path, io::RootInfo{src.attr_uint("/", "seed"), src.attr_string("/", "system"),
                                         src.attr_string("/", "config"), kMacrodynVersion});
  io::GroupInfo info{src.attr_int("/pairs", "K"), src.attr_int("/pairs", "patch"), src.attr_int("/pairs", "L"),
                     src.attr_string("/pairs", "boundary"), set.variables};
  w.create_group("/latent", info);
  const auto d = static_cast<std::uint64_t>(set.dim()), rows = static_cast<std::uint64_t>(set.size());
  const std::uint64_t chunk = 16384;
  w.create_table("/latent/z0", io::DType::f32, {d}, chunk, true);
  w.create_table("/latent/z1", io::DType::f32, {d}, chunk, true);
  w.create_table("/latent/z1_naive", io::DType::f32, {d}, chunk, true);
  w.create_table("/latent/dt", io::DType::f64, {}, chunk, true);
  w.append("/latent/z0", set.z0.data(), rows);
  w.append("/latent/z1", set.z1.data(), rows);
  w.append("/latent/z1_naive", set.z1_naive.data(), rows);
  w.append("/latent/dt", set.dt.data(), rows);
  w.set_attr("/latent", "source", src.path());
  w.commit("/latent", rows);
}

LatentSet read_latent(const std::string& path) {
  io::DatasetReader r(path);
  LatentSet set;
  set.variables = r.attr_strings("/latent", "observables");
  const auto d = static_cast<std::size_t>(set.dim());
  if (d == 0) throw FileError(path + ": /latent lists no variables");
  for (const char* t : {"/latent/z0", "/latent/z1", "/latent/z1_naive"}) r.require_table(t, {d});
  r.require_table("/latent/dt", {});
  const auto n = r.rows_committed("/latent");
  set.z0.resize(n * d);
  set.z1.resize(n * d);
  set.z1_naive.resize(n * d);
  set.dt.resize(n);
  r.read_rows("/latent/z0", 0, n, io::DType::f32, set.z0.data());
  r.read_rows("/latent/z1", 0, n, io::DType::f32, set.z1.data());
  r.read_rows("/latent/z1_naive", 0, n, io::DType::f32, set.z1_naive.data());
  r.read_rows("/latent/dt", 0, n, io::DType::f64, set.dt.data());
  for (std::size_t i = 0; i < n; ++i) {
    if (!(std::isfinite(set.dt[i]) && set.dt[i] > 0))
      throw FileError(path + ": /latent/dt of pair " + std::to_string(i) + " is not a positive duration");
    for (std::size_t k = 0; k < d; ++k)
      if (!std::isfinite(set.z0[i * d + k]) || !std::isfinite(set.z1[i * d + k]) || !std::isfinite(set.z1_naive[i * d + k]))
        throw FileError(path + ": /latent pair " + std::to_string(i) + " has a non-finite value");
  }
  return set;
}

}  // namespace macrodyn::jobs
