#pragma once
// The byte layout of one streamed pair (phase B): what /pairs and /latent of the
// streamed dataset need, so the learner can both train on it and keep it.
//
//   int64 pair_id, int64 snapshot_id, int32 patch_index, int32 (padding), float64 dt,
//   float64 weight (1 / (K q) of the patch choice),
//   float32 z_star[ds], g_before[ds], g_after[ds],      (as /pairs)
//   float32 z0[d], z1[d], z1_naive[d],                    (as /latent, d = ds + closure)
//   int8 patch_before[ps], patch_after[ps]                (only with a closure)
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace macrodyn::mpi {

struct PairRowLayout {
  int ds = 0;            // observables z*
  int d = 0;             // latent dimension
  std::int64_t ps = 0;   // sites of a patch kept per state (0: states not kept)

  static constexpr std::size_t kPairIdAt = 0, kSnapshotAt = 8, kPatchAt = 16, kDtAt = 24, kWeightAt = 32;
  std::size_t off_zs() const { return 40; }
  std::size_t off_gb() const { return off_zs() + 4 * ds; }
  std::size_t off_ga() const { return off_gb() + 4 * ds; }
  std::size_t off_z0() const { return off_ga() + 4 * ds; }
  std::size_t off_z1() const { return off_z0() + 4 * d; }
  std::size_t off_z1n() const { return off_z1() + 4 * d; }
  std::size_t off_pb() const { return off_z1n() + 4 * d; }
  std::size_t off_pa() const { return off_pb() + static_cast<std::size_t>(ps); }
  // Rounded up to 8 bytes, so every row of a batch starts aligned for its int64s.
  std::size_t bytes() const { return (off_pa() + static_cast<std::size_t>(ps) + 7) / 8 * 8; }
};

// Typed access to a row's fields (rows are byte arrays inside stream batches).
struct PairRowView {
  const PairRowLayout* l;
  unsigned char* p;
  std::int64_t pair_id() const { return get<std::int64_t>(PairRowLayout::kPairIdAt); }
  std::int64_t snapshot_id() const { return get<std::int64_t>(PairRowLayout::kSnapshotAt); }
  std::int32_t patch_index() const { return get<std::int32_t>(PairRowLayout::kPatchAt); }
  double dt() const { return get<double>(PairRowLayout::kDtAt); }
  double weight() const { return get<double>(PairRowLayout::kWeightAt); }
  void set_weight(double w) { std::memcpy(p + PairRowLayout::kWeightAt, &w, 8); }
  void set_ids(std::int64_t pair, std::int64_t snapshot, std::int32_t patch, double dt) {
    std::memcpy(p + PairRowLayout::kPairIdAt, &pair, 8);
    std::memcpy(p + PairRowLayout::kSnapshotAt, &snapshot, 8);
    std::memcpy(p + PairRowLayout::kPatchAt, &patch, 4);
    std::memset(p + PairRowLayout::kPatchAt + 4, 0, 4);
    std::memcpy(p + PairRowLayout::kDtAt, &dt, 8);
  }
  float* zs() const { return reinterpret_cast<float*>(p + l->off_zs()); }
  float* gb() const { return reinterpret_cast<float*>(p + l->off_gb()); }
  float* ga() const { return reinterpret_cast<float*>(p + l->off_ga()); }
  float* z0() const { return reinterpret_cast<float*>(p + l->off_z0()); }
  float* z1() const { return reinterpret_cast<float*>(p + l->off_z1()); }
  float* z1n() const { return reinterpret_cast<float*>(p + l->off_z1n()); }
  std::int8_t* pb() const { return reinterpret_cast<std::int8_t*>(p + l->off_pb()); }
  std::int8_t* pa() const { return reinterpret_cast<std::int8_t*>(p + l->off_pa()); }

 private:
  template <class T>
  T get(std::size_t at) const {
    T v;
    std::memcpy(&v, p + at, sizeof v);
    return v;
  }
};

}  // namespace macrodyn::mpi
