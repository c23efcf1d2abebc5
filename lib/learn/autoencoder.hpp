#pragma once
// The closure autoencoder for 2D spin lattices (docs/design.md §1.8, §8.2.6 "Closure
// autoencoder"). A patch encoder psi maps a p x p patch of +-1 spins to closure_dim
// numbers; the learned closure of a snapshot is phi_hat(x) = (1/K) sum_I psi(x_I) over
// the row-major tiling (I = a*(L/p) + b, a the block row, x = row). The decoder sees
// z = (z*(x), phi_hat(x)) with z* = (m, rho) averaged over the patches, each computed on
// its patch as a torus (the same phi as everywhere else), and reconstructs the snapshot.
//
// No torch header here (docs/design.md §2.3): the networks are behind a pimpl and the data cross
// this boundary as plain arrays.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "learn/epoch_report.hpp"

namespace macrodyn::learn {

struct AutoencoderOptions {
  // 0 is allowed: no encoder, the decoder is fed z* alone (the baseline).
  int closure_dim = 2;
  // "global": z -> the whole L x L configuration (L <= 128, L/4 a power of 2, L >= 8).
  // "patch": (g*(patch), psi(patch)) -> the patch, for every patch (any L multiple of p).
  std::string decoder = "global";
  int epochs = 10;
  int batch = 512;  // snapshots per optimiser step (B*K patches through the encoder)
  double lr = 2e-4;
  std::uint64_t seed = 42;
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N" or "auto"
  int threads = 0;             // torch::set_num_threads when > 0 (a process-wide setting)
};

// n snapshots [n, L, L] of +-1, row-major, x = row; p is the patch side.
struct SpinSnapshots {
  int L = 0;
  int p = 0;
  std::int64_t n = 0;
  const std::int8_t* states = nullptr;
};

class ClosureAutoencoder {
 public:
  // Architecture, init and optimiser as docs/design.md §8.2.6: encoder D x [Conv3x3 -> BN ->
  // LeakyReLU(0.2) -> MaxPool2] (channels 32, 64, 128; D = 3 for p >= 32, else
  // log2(p/2)) -> Linear(closure_dim); decoder Linear -> LeakyReLU -> ConvTranspose
  // stack -> sigmoid; BCE loss; AdamW(lr, amsgrad, weight decay 0); shuffled batches
  // with drop_last (learn/closure_trainer.cpp). BN uses batch statistics while training,
  // running statistics for every encoding/evaluation afterwards. EpochReport::loss is the
  // mean over the epoch's batches of their mean BCE per site; samples are snapshots.
  //
  // Determinism: torch::manual_seed(seed) is called first (the weights are initialised
  // on the CPU from torch's global generator, then moved to the device) and batches are
  // drawn from a permutation generated from `seed` alone, so the same data, options,
  // device and thread count give a bit-identical model. Because the seed is global
  // state, do not train two models concurrently in one process.
  //
  // Throws std::invalid_argument (one sentence naming the option) for bad options or
  // data: unknown decoder or device, p not a power of 2 >= 4, L % p != 0, for "global"
  // L/4 not a power of 2 >= 2 or L > 128, batch < 1 or larger than n, lr <= 0, ...
  // on_step(epoch, step, steps) after every optimiser step (progress within long epochs;
  // it may throw to abandon the training).
  static ClosureAutoencoder train(const SpinSnapshots& data, const AutoencoderOptions& o,
                                  const std::function<void(const EpochReport&)>& on_epoch = {},
                                  const std::function<void(int epoch, std::int64_t step, std::int64_t steps)>& on_step = {});

  // Mean binary cross-entropy per site of reconstructing `data` (eval mode: BN running
  // statistics; log clamped at -100 as torch's binary_cross_entropy). The global
  // decoder needs data.L == L(); the patch decoder takes any L multiple of p.
  double reconstruction_bce(const SpinSnapshots& data) const;

  // Codes psi of n patches [n, p, p] (+-1) -> out [n, closure_dim], eval mode. Patches
  // go through the encoder in fixed-size zero-padded chunks (4096 patches for p <= 8,
  // 4096*64/p^2 for larger p, so a chunk holds at most 4096*64 sites), so the code of
  // the patch at position j does not depend on n. Nothing is written if closure_dim == 0.
  void encode_patches(const std::int8_t* patches, std::int64_t n, float* out) const;

  // phi_hat of n snapshots [n, L, L] (any L multiple of p): the mean over its K patches
  // (row-major tiling, I = a*(L/p) + b) of psi -> out [n, closure_dim].
  void encode_snapshots(const SpinSnapshots& s, float* out) const;

  int closure_dim() const;
  int patch() const;
  int L() const;
  const AutoencoderOptions& options() const;

  // Weights, BN buffers, options and dims (not the optimiser state) in a torch archive.
  void save(const std::string& path) const;
  static ClosureAutoencoder load(const std::string& path, const std::string& device = "cpu");

  // TorchScript module for the encoder alone: forward(x: float32 [n, p, p] of +-1) ->
  // [n, closure_dim] psi, BN applied with the running statistics; attributes `patch`
  // and `closure_dim`. Loadable by Python's torch.jit.load and C++ torch::jit::load.
  // Throws std::logic_error when closure_dim == 0 (there is no encoder).
  void export_encoder(const std::string& path) const;

  ~ClosureAutoencoder();
  ClosureAutoencoder(ClosureAutoencoder&&) noexcept;
  ClosureAutoencoder& operator=(ClosureAutoencoder&&) noexcept;

  struct Impl;

 private:
  explicit ClosureAutoencoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace macrodyn::learn
