#include "systems/nbmota/barrier_model.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <cmath>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/error.hpp"
#include "io/float_arrays.hpp"
#include "systems/nbmota/lattice.hpp"

namespace macrodyn::systems::nbmota {

namespace {

constexpr double kCutoffAngstrom = 7.5;
constexpr double kBatchNormEps = 1e-5;

// T_k of method notes §6: the voxel offset the model's position r reads for hop d_k.
std::array<int, 3> symmetry(int k, const std::array<int, 3>& r) {
  const int x = r[0], y = r[1], z = r[2];
  switch (k) {
    case 0: return {-x, -y, -z};
    case 1: return {-x, -y, z};
    case 2: return {-y, x, -z};
    case 3: return {-y, x, z};
    case 4: return {y, -x, -z};
    case 5: return {y, -x, z};
    case 6: return {x, y, -z};
    default: return {x, y, z};
  }
}

io::FloatArray array(const std::string& path, const std::string& name, std::vector<std::uint64_t> shape) {
  io::FloatArray a;
  try {
    a = io::read_float_array(path, name);
  } catch (const FileError& e) {
    throw InputError(std::string("barrier model: ") + e.what());
  }
  if (a.shape != shape) {
    std::string want, got;
    for (auto n : shape) want += (want.empty() ? "" : " x ") + std::to_string(n);
    for (auto n : a.shape) got += (got.empty() ? "" : " x ") + std::to_string(n);
    throw InputError("barrier model " + path + ": " + name + " is " + (got.empty() ? "a scalar" : got) + ", not " + want);
  }
  for (float v : a.values)
    if (!std::isfinite(v)) throw InputError("barrier model " + path + ": " + name + " holds a non-finite value");
  return a;
}

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
// One dense layer out[j] = relu(b[j] + sum_i in[i] w[i][j]) over 128 outputs, in two halves
// of 64 held in 8 registers; inputs in index order. Zeros are not skipped: which inputs a
// ReLU zeroes changes from barrier to barrier, and a mispredicted branch costs more than the
// 16 fused multiply-adds it saves (adding 0 x w leaves the sum as it is).
__attribute__((target("avx2,fma"))) void layer_avx2(const float* in, int n_in, const float* w, const float* b,
                                                     float* out) {
  for (int half = 0; half < 2; ++half) {
    const int j0 = half * 64;
    __m256 acc[8];
    for (int q = 0; q < 8; ++q) acc[q] = _mm256_loadu_ps(b + j0 + 8 * q);
    for (int i = 0; i < n_in; ++i) {
      const __m256 xv = _mm256_set1_ps(in[i]);
      const float* row = w + static_cast<std::ptrdiff_t>(i) * BarrierModel::kHidden + j0;
      for (int q = 0; q < 8; ++q) acc[q] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row + 8 * q), acc[q]);
    }
    const __m256 zero = _mm256_setzero_ps();
    for (int q = 0; q < 8; ++q) _mm256_storeu_ps(out + j0 + 8 * q, _mm256_max_ps(acc[q], zero));
  }
}
#endif

}  // namespace

void BarrierModel::set_kernel(Kernel k) {
  if (k == Kernel::avx2_fma && !cpu_has_avx2_fma())
    throw std::invalid_argument("BarrierModel: this CPU has no AVX2 with FMA");
  kernel_ = k;
}

BarrierModel::BarrierModel() {
  int s = 0;
  for (int i = 0; i < kCube; ++i)
    for (int j = 0; j < kCube; ++j)
      for (int l = 0; l < kCube; ++l) {
        const std::array<int, 3> r{i - kReach, j - kReach, l - kReach};
        const int r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
        // The centre (the vacancy, code 0) and voxels that are no site are always 0.
        if (r2 == 0 || !is_site(r[0] + kReach, r[1] + kReach, r[2] + kReach)) continue;
        if (kVoxelAngstrom * std::sqrt(static_cast<double>(r2)) > kCutoffAngstrom) continue;
        slot_index_[static_cast<std::size_t>(s)] = (i * kCube + j) * kCube + l;
        for (int k = 0; k < 8; ++k) read_[static_cast<std::size_t>(k)][static_cast<std::size_t>(s)] = symmetry(k, r);
        ++s;
      }
  if (s != kSlots) throw std::logic_error("BarrierModel: the cutoff sphere holds " + std::to_string(s) + " sites, not 112");
}

BarrierModel BarrierModel::load(const std::string& path) {
  BarrierModel m;
  const std::uint64_t H = kHidden;
  for (int layer = 0; layer < kLayers; ++layer) {
    const std::string g = "layer" + std::to_string(layer + 1) + "/";
    const std::uint64_t in = layer == 0 ? kInputs : H;
    const auto W = array(path, g + "W", {in, H});
    const auto b = array(path, g + "b", {H});
    const auto gamma = array(path, g + "bn_gamma", {H});
    const auto beta = array(path, g + "bn_beta", {H});
    const auto mean = array(path, g + "bn_running_mean", {H});
    const auto var = array(path, g + "bn_running_var", {H});
    // BatchNorm (eval) folded into the Linear: y s + (b - mean) s + beta, s = gamma / sqrt(var + eps).
    std::vector<double> scale(H);
    for (std::uint64_t j = 0; j < H; ++j) {
      if (!(var.values[j] + kBatchNormEps > 0))
        throw InputError("barrier model " + path + ": " + g + "bn_running_var has a value <= -1e-5");
      scale[j] = gamma.values[j] / std::sqrt(static_cast<double>(var.values[j]) + kBatchNormEps);
    }
    auto& bias = m.b_[static_cast<std::size_t>(layer)];
    bias.resize(H);
    for (std::uint64_t j = 0; j < H; ++j)
      bias[j] = static_cast<float>((static_cast<double>(b.values[j]) - mean.values[j]) * scale[j] + beta.values[j]);
    // Layer 1 keeps only the rows of the 112 slots; the other inputs are always 0.
    std::vector<float>& w = layer == 0 ? m.w1_ : m.w_[static_cast<std::size_t>(layer - 1)];
    const std::uint64_t rows = layer == 0 ? static_cast<std::uint64_t>(kSlots) : H;
    w.resize(rows * H);
    for (std::uint64_t r = 0; r < rows; ++r) {
      const std::uint64_t row = layer == 0 ? static_cast<std::uint64_t>(m.slot_index_[r]) : r;
      for (std::uint64_t j = 0; j < H; ++j) w[r * H + j] = static_cast<float>(W.values[row * H + j] * scale[j]);
    }
  }
  m.w_out_ = array(path, "output/W", {H, 1}).values;
  m.b_out_ = array(path, "output/b", {1}).values[0];
  m.kernel_ = cpu_has_avx2_fma() ? Kernel::avx2_fma : Kernel::portable;
  return m;
}

namespace {

// The wrapped voxel indices of the offsets -kReach .. kReach along each axis around v: the
// environment is read with table look-ups, not a division per voxel.
struct Around {
  int at[3][2 * BarrierModel::kReach + 1];
  Around(int N, std::int64_t v) {
    const auto c = coords(N, v);
    for (int a = 0; a < 3; ++a)
      for (int o = -BarrierModel::kReach; o <= BarrierModel::kReach; ++o)
        at[a][o + BarrierModel::kReach] = wrap(c[static_cast<std::size_t>(a)] + o, N);
  }
  std::int64_t voxel(int N, const std::array<int, 3>& o) const {
    const int k = BarrierModel::kReach;
    return (static_cast<std::int64_t>(at[0][o[0] + k]) * N + at[1][o[1] + k]) * N + at[2][o[2] + k];
  }
};

// The 112 slot values of hop k (its environment read through T_k): the species code, 0
// for a vacancy or no site.
void gather_slots(const BarrierModel& m, const std::uint8_t* codes, int N, const Around& around, int k, float* slots) {
  for (int s = 0; s < BarrierModel::kSlots; ++s) {
    const std::uint8_t code = codes[around.voxel(N, m.read_offset(k, s))];
    slots[s] = code == kNoSite ? 0.0f : static_cast<float>(code);
  }
}

bool target_vacant(const std::uint8_t* codes, int N, const Around& around, int k) {
  return codes[around.voxel(N, kHops[static_cast<std::size_t>(k)])] == kVacancy;
}

}  // namespace

void BarrierModel::features(const std::uint8_t* codes, int N, std::int64_t v, int k, float* f729) const {
  float slots[kSlots];
  gather_slots(*this, codes, N, Around(N, v), k, slots);
  std::fill(f729, f729 + kInputs, 0.0f);
  for (int s = 0; s < kSlots; ++s) f729[slot_index_[static_cast<std::size_t>(s)]] = slots[s];
}

float BarrierModel::barrier(const std::uint8_t* codes, int N, std::int64_t v, int k) const {
  const Around around(N, v);
  if (target_vacant(codes, N, around, k)) return std::numeric_limits<float>::infinity();
  float slots[kSlots];
  gather_slots(*this, codes, N, around, k, slots);
  return forward(slots);
}

void BarrierModel::barriers(const std::uint8_t* codes, int N, std::int64_t v, float* e8) const {
  const Around around(N, v);
  float slots[kSlots];
  for (int k = 0; k < 8; ++k) {
    if (target_vacant(codes, N, around, k)) {
      e8[k] = std::numeric_limits<float>::infinity();
      continue;
    }
    gather_slots(*this, codes, N, around, k, slots);
    e8[k] = forward(slots);
  }
}

float BarrierModel::forward(const float* slots) const {
  alignas(64) float h[kHidden], g[kHidden];
#if defined(__x86_64__) && defined(__GNUC__)
  if (kernel_ == Kernel::avx2_fma) {
    layer_avx2(slots, kSlots, w1_.data(), b_[0].data(), h);
    for (int layer = 1; layer < kLayers; ++layer) {
      layer_avx2(h, kHidden, w_[static_cast<std::size_t>(layer - 1)].data(), b_[static_cast<std::size_t>(layer)].data(), g);
      std::copy(g, g + kHidden, h);
    }
    float e = b_out_;
    for (int j = 0; j < kHidden; ++j) e += h[j] * w_out_[static_cast<std::size_t>(j)];
    return e;
  }
#endif
  std::copy(b_[0].begin(), b_[0].end(), h);
  // Zero inputs are skipped: which ones are is a property of the data, so the order of the
  // remaining additions, and the result, do not depend on anything else.
  for (int s = 0; s < kSlots; ++s) {
    const float f = slots[s];
    if (f == 0.0f) continue;
    const float* w = w1_.data() + static_cast<std::size_t>(s) * kHidden;
    for (int j = 0; j < kHidden; ++j) h[j] += f * w[j];
  }
  for (int j = 0; j < kHidden; ++j) h[j] = std::max(h[j], 0.0f);
  for (int layer = 1; layer < kLayers; ++layer) {
    const std::vector<float>& W = w_[static_cast<std::size_t>(layer - 1)];
    std::copy(b_[static_cast<std::size_t>(layer)].begin(), b_[static_cast<std::size_t>(layer)].end(), g);
    for (int i = 0; i < kHidden; ++i) {
      const float x = h[i];
      if (x == 0.0f) continue;  // after ReLU: many
      const float* w = W.data() + static_cast<std::size_t>(i) * kHidden;
      for (int j = 0; j < kHidden; ++j) g[j] += x * w[j];
    }
    for (int j = 0; j < kHidden; ++j) h[j] = std::max(g[j], 0.0f);
  }
  float e = b_out_;
  for (int j = 0; j < kHidden; ++j) e += h[j] * w_out_[static_cast<std::size_t>(j)];
  return e;
}

}  // namespace macrodyn::systems::nbmota
