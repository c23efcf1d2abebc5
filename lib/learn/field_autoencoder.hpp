#pragma once
// The closure autoencoder of the predator-prey SPDE (docs/design.md §8.6.4): fields
// u and v on a cell-centred grid of n cells per axis (1-D or 2-D), tiled row-major into
// K = (n/p)^dim patches of side p (patch I = a*(n/p) + b in 2-D, a the block row). One
// encoder E, shared by both fields and all patches, maps a patch of one field to one
// number; the latent of a frame is
//   z = (mean u, mean v, zhat_u, zhat_v),  zhat_f = (1/K) sum_I E(patch I of field f),
// the means taken over the whole grid in double. A decoder maps the unnormalised z back
// to both fields. (z-score normalisation belongs to the SDE stage, not to this class.)
//
// No torch header here (docs/design.md §2.3): the networks are behind a pimpl and the data cross
// this boundary as plain arrays.
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "learn/epoch_report.hpp"

namespace macrodyn::learn {

// count frames of the two fields, float32, row-major.
struct FieldFrames {
  int dim = 1;    // 1 or 2
  int n = 0;      // cells per axis
  int patch = 0;  // patch side p (n % p == 0); K = (n/p)^dim patches, row-major tiling
  std::int64_t count = 0;
  const float* states = nullptr;  // [count, 2, n] (1-D) or [count, 2, n, n] (2-D): field 0 = u, 1 = v
};

// n states as a dataset stores them, [n, cells, C] float32 with the fields last (any
// alignment) -> the planar frames FieldFrames holds, [n, C, cells].
inline void planar_fields(const void* voxels, std::int64_t n, std::int64_t cells, int C, float* planar) {
  const auto* bytes = static_cast<const unsigned char*>(voxels);
  for (std::int64_t s = 0; s < n; ++s)
    for (std::int64_t k = 0; k < cells; ++k)
      for (int c = 0; c < C; ++c)
        std::memcpy(planar + (s * C + c) * cells + k, bytes + ((s * cells + k) * C + c) * 4, 4);
}

struct FieldAutoencoderOptions {
  int hidden = 32;  // width of both hidden layers of the encoder and of the decoder
  int epochs = 10;
  int batch = 256;  // frames per optimiser step; the last, short batch of an epoch is kept
  double lr = 1e-4;
  double weight_decay = 1e-4;  // L2 added to the gradient (torch's Adam, not AdamW)
  double beta1 = 0.9, beta2 = 0.95;
  std::uint64_t seed = 42;
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N" or "auto"
  int threads = 0;             // torch::set_num_threads when > 0 (a process-wide setting)
};

class FieldAutoencoder {
 public:
  // Encoder E: MLP p^dim -> hidden -> hidden -> 1 (ReLU between). Decoder: MLP 4 ->
  // hidden -> hidden -> 2 n^dim (ReLU between, linear output) fed the unnormalised z,
  // output read as [2, n^dim]. Xavier-uniform weights, zero biases. Loss: MSE over all
  // values of the batch. Adam (eps 1e-8) with L2 weight_decay, betas (beta1, beta2), lr.
  // Every epoch visits all frames once in shuffled batches of `batch`; the last batch
  // holds the remaining count % batch frames when that is not 0 (kept, as torch's
  // DataLoader does by default), so count < batch is allowed: one short batch per epoch.
  // EpochReport::loss is the frame-weighted mean of the batch losses; samples are frames.
  // The loop is shared with the spin autoencoder (learn/closure_trainer.cpp).
  //
  // Determinism: torch::manual_seed(seed) is called first (weights are initialised on
  // the CPU from torch's global generator, then moved to the device) and the batches are
  // drawn from a permutation generated from `seed` alone, so the same data, options,
  // device and thread count give a bit-identical model. Because the seed is global
  // state, do not train two models concurrently in one process.
  //
  // Throws std::invalid_argument (one sentence naming the option) for bad options or
  // data: dim not 1 or 2, n < 1, patch < 1 or n % patch != 0, count < 1, no states,
  // hidden < 1, epochs < 0, batch < 1, lr <= 0, weight_decay < 0, betas outside [0, 1),
  // threads < 0, unknown device.
  static FieldAutoencoder train(const FieldFrames& data, const FieldAutoencoderOptions& o,
                                const std::function<void(const EpochReport&)>& on_epoch = {});

  // E of m patches [m, p^dim] (a 2-D patch row-major, p x p) -> out [m]. Evaluated on
  // the CPU one patch at a time in float with a fixed order of operations (not through
  // torch's GEMM, whose rounding of a row depends on its position in the batch), so the
  // code of a patch is the same bits whatever m, its position and the thread count; it
  // agrees with the training-time (torch) forward to float rounding.
  void encode_patches(const float* patches, std::int64_t m, float* out) const;

  // z of every frame -> out [count, 4] (float32): (mean u, mean v, zhat_u, zhat_v), the
  // means in double, zhat the double mean of encode_patches over the frame's patches.
  // frames.dim must be the model's, frames.patch 0 or the model's; any n multiple of p.
  void latents(const FieldFrames& frames, float* out) const;

  // Mean squared reconstruction error per value over `frames` (accumulated in double;
  // the decoder is fed the z of latents()). Needs the model's dim and n.
  double reconstruction_mse(const FieldFrames& frames) const;

  int dim() const;
  int n() const;
  int patch() const;
  const FieldAutoencoderOptions& options() const;

  // Weights, dims and options (not the optimiser state) in a torch archive. load puts the
  // model on the CPU.
  void save(const std::string& path) const;
  static FieldAutoencoder load(const std::string& path);

  // TorchScript module for the encoder alone, in the model directory's encoder.pt
  // contract (learn/exported.hpp): forward(x: float32 [m, p (, p), 2], the patch's voxels
  // with the fields last, as the dataset stores them) -> [m, 2], E applied to each field;
  // int attributes `dim`, `patch`, `hidden`, `channels` (2) and `closure_dim` (2).
  // Loadable by Python's torch.jit.load and C++ torch::jit::load.
  void export_encoder(const std::string& path) const;

  ~FieldAutoencoder();
  FieldAutoencoder(FieldAutoencoder&&) noexcept;
  FieldAutoencoder& operator=(FieldAutoencoder&&) noexcept;

  struct Impl;

 private:
  explicit FieldAutoencoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace macrodyn::learn
