#pragma once
// The neural SDE dz = mu(z) dt + sigma(z) dW and its training with the K-scaled loss
// (docs/design.md §1.9). No torch header here (docs/design.md §2.3): the model is behind a pimpl and the
// data cross this boundary as plain arrays.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace macrodyn::learn {

// full: an MLP gives a d x d matrix (Sigma = sigma sigma^T); diagonal: an MLP gives the
// d diagonal entries; constant: a learned vector v, sigma = diag(v), initialised to ones.
enum class Diffusion { full, diagonal, constant };
Diffusion parse_diffusion(const std::string& name);  // throws std::invalid_argument
const char* diffusion_name(Diffusion d);

// mlp: d -> 64 -> 64 -> 64 -> d; onsager: the stochastic OnsagerNet drift (M + W) g + 0.1 g +
// f with g = -grad V, M = L L^T positive semi-definite, W antisymmetric (docs/design.md §1.9.2).
enum class Drift { mlp, onsager };
Drift parse_drift(const std::string& name);  // throws std::invalid_argument
const char* drift_name(Drift d);

// What the networks are. Conditions (e.g. the temperature) are extra inputs of drift and
// diffusion, constant along a trajectory; the networks see c_n = (c - offset) / scale.
struct SdeArchitecture {
  Diffusion diffusion = Diffusion::full;
  Drift drift = Drift::mlp;
  int cond_dim = 0;
  std::vector<double> cond_offset, cond_scale;  // [cond_dim]
};

// Training pairs in the model's coordinates: z1 is the target (K-scaled or naive).
struct LatentPairs {
  int dim = 0;
  std::vector<float> z0, z1;  // [n, dim]
  std::vector<double> dt;     // [n], in the model's time unit
  int cond_dim = 0;
  std::vector<float> cond;    // [n, cond_dim]: each pair's conditions, raw (e.g. T in K)
  std::int64_t size() const { return static_cast<std::int64_t>(dt.size()); }
};

// "auto" -> "cuda" when the linked libtorch sees a GPU, else "cpu"; "cuda" without a GPU
// throws std::invalid_argument naming --device.
std::string resolve_device(const std::string& want);

// torch's intra-op threads for this process: n > 0 as given, 0 = all cores. (Debian's
// libtorch starts with one.) Training is bit-identical only for the same thread count.
void set_torch_threads(int n);

class SdeModel {
 public:
  // Drift MLP d -> 64 -> 64 -> 64 -> d (ReLU, PyTorch default init); diffusion as chosen
  // (full: the same shape to d*d with Xavier-uniform weights). Initialised from `seed`.
  SdeModel(int dim, Diffusion diffusion, std::uint64_t seed, const std::string& device = "cpu");
  // Any architecture; with the MLP drift and no condition, the same weights as above.
  SdeModel(int dim, const SdeArchitecture& arch, std::uint64_t seed, const std::string& device = "cpu");
  ~SdeModel();
  SdeModel(SdeModel&&) noexcept;
  SdeModel& operator=(SdeModel&&) noexcept;

  int dim() const;
  Diffusion diffusion() const;
  const SdeArchitecture& architecture() const;

  // Evaluated on B states (row-major float32): drift [B, d], sigma [B, d, d]; `cond`
  // [B, cond_dim] raw conditions (null without conditions).
  void drift(const float* z, std::int64_t B, float* out, const float* cond = nullptr) const;
  void sigma(const float* z, std::int64_t B, float* out, const float* cond = nullptr) const;

  // Mean over the pairs of r^T Sigma^-1 r + log det Sigma with r = z1 - z0 - mu(z0) dt and
  // Sigma = c sigma sigma^T dt + eps I (Cholesky, no explicit inverse; no 1/2, no 2 pi).
  double loss(const LatentPairs& pairs, double c, double eps) const;

  // TorchScript modules drift.pt (z [B,d] -> [B,d]) and diffusion.pt (z -> [B,d,d]) in
  // `dir`, loadable by torch::jit::load and Python's torch.jit.load. With conditions their
  // forward is (z, c) with c [B, cond_dim] raw.
  void export_torchscript(const std::string& dir) const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct SdeOptions {
  Diffusion diffusion = Diffusion::full;
  Drift drift = Drift::mlp;
  // Normalisation of the pairs' conditions (sizes = LatentPairs::cond_dim).
  std::vector<double> cond_offset, cond_scale;
  double loss_factor = 1.0;  // c: K for the K-scaled loss, 1 for naive
  double eps = 1e-4;
  double lr = 1e-3;
  int patience = 5;             // ReduceLROnPlateau patience (epochs)
  int epochs = 100;
  int batch = 1024;
  std::uint64_t seed = 42;
  std::string device = "auto";
  int threads = 0;              // torch::set_num_threads when > 0
  std::string checkpoint;       // written after every epoch when not empty
  bool resume = false;          // continue from `checkpoint` when it exists
};

struct SdeEpochReport {
  int epoch = 0;          // 1-based
  int epochs = 0;
  double train_loss = 0;  // mean over the epoch's batches
  double val_loss = 0;    // NaN without validation pairs
  double lr = 0;          // learning rate used in this epoch
  double seconds = 0;
  double samples_per_s = 0;
};

// AdamW (amsgrad, weight decay 0, betas 0.9/0.999, eps 1e-8), batches shuffled with a
// generator keyed by (seed, epoch), ReduceLROnPlateau (factor 0.5, patience 5, relative
// threshold 1e-4, min 5e-6) stepped on the mean training loss; each epoch first logs
// the validation loss (factor 1, as the reference), then trains. The last batch of an
// epoch may be short. `should_stop` is polled after every epoch (after the checkpoint);
// it returns true to end training early (the checkpoint then allows --resume).
// Bit-identical for the same data, options, device and thread count, resumed or not.
SdeModel train_sde(const LatentPairs& train, const LatentPairs& val, const SdeOptions& o,
                   const std::function<void(const SdeEpochReport&)>& on_epoch = {},
                   const std::function<bool()>& should_stop = {});

}  // namespace macrodyn::learn
