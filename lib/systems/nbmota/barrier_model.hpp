#pragma once
// The NbMoTa vacancy-migration barrier network (method notes §6; Xing et al. 2024) without
// torch: 729 -> 4 x [Linear 128, BatchNorm (eval), ReLU] -> Linear -> 1, the barrier E in eV
// of the hop toward +(1, 1, 1) of a vacancy's 9^3 voxel environment.
//
// Only 112 of the 729 inputs can be non-zero: the lattice sites (other than the vacancy
// itself) within 7.5 Å of the centre; the others are zeroed by the cutoff or are no site
// (code 0). So the first layer reads 112 rows of its weights, and the BatchNorms are folded
// into the Linears (in double, stored as float): about 63 600 multiply-adds a barrier. The
// hop toward d_k reads the environment through the symmetry T_k (an index map), so one
// network serves the 8 directions. A barrier is computed alone, in a fixed order of float
// operations: the same bits whichever batch, thread or rank evaluates it.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace macrodyn::systems::nbmota {

class BarrierModel {
 public:
  static constexpr int kCube = 9, kInputs = 729, kSlots = 112, kHidden = 128, kLayers = 4;

  // Reads barrier-model.h5 (layer1..layer4/{W, b, bn_gamma, bn_beta, bn_running_mean,
  // bn_running_var}, output/{W, b}; W stored (in, out)). InputError with one sentence naming
  // the file for a missing file or array, a wrong shape, a non-finite weight or a
  // non-positive running variance.
  static BarrierModel load(const std::string& path);

  // The features of hop k of the vacancy at voxel v of the periodic side-N grid `codes`:
  // all 729 (C order 81 i + 9 j + l, i along x), as the network's input; the cutoff and the
  // map no site -> 0 applied. For the tests and for users who check the model.
  void features(const std::uint8_t* codes, int N, std::int64_t v, int k, float* f729) const;

  // E (eV) of hop k of the vacancy at v; +infinity when the target site is vacant.
  float barrier(const std::uint8_t* codes, int N, std::int64_t v, int k) const;
  // The 8 barriers of the vacancy at v (d0 ... d7), each the same bits as barrier(); the
  // environment is gathered once.
  void barriers(const std::uint8_t* codes, int N, std::int64_t v, float* e8) const;

  // The network on the 112 slot values (the features at slot_index(s)).
  float forward(const float* slots) const;

  // The kernel of forward(): portable float code, or AVX2 with fused multiply-adds (chosen
  // at load when the CPU has them). Each gives the same bits for a barrier whatever else is
  // evaluated; the two differ by float rounding (about 1e-6 eV), so results are
  // bit-identical per machine and instruction set.
  enum class Kernel { portable, avx2_fma };
  Kernel kernel() const { return kernel_; }
  // Forces a kernel (tests, benchmarks); std::invalid_argument if the CPU lacks it.
  void set_kernel(Kernel k);

  // Flat feature index (81 i + 9 j + l) of slot s, increasing in s.
  int slot_index(int s) const { return slot_index_[static_cast<std::size_t>(s)]; }
  // Voxel offset (x, y, z) that slot s of hop k reads: T_k of the slot's offset.
  const std::array<int, 3>& read_offset(int k, int s) const {
    return read_[static_cast<std::size_t>(k)][static_cast<std::size_t>(s)];
  }
  // Reach of the environment in voxels per axis (4): a change farther away cannot change
  // a barrier.
  static constexpr int kReach = 4;

 private:
  BarrierModel();
  std::array<int, kSlots> slot_index_{};
  std::array<std::array<std::array<int, 3>, kSlots>, 8> read_{};
  std::vector<float> w1_;                                   // [kSlots][kHidden], folded
  std::array<std::vector<float>, kLayers> b_;               // [kHidden], folded
  std::array<std::vector<float>, kLayers - 1> w_;           // layers 2..4: [kHidden][kHidden], folded
  std::vector<float> w_out_;                                // [kHidden]
  float b_out_ = 0;
  Kernel kernel_ = Kernel::portable;
};

}  // namespace macrodyn::systems::nbmota
