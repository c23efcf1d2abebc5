#pragma once
// The training loop of the closure autoencoders (docs/design.md §1.8 and §8.2.6 for the
// spins, §8.6.4 for the predator-prey fields), for the lib/learn sources only (it includes
// torch). One loop, so that what makes a trained model reproducible cannot drift apart
// between the two: the trainer owns the seeding, the move to the device, the seeded
// per-epoch shuffle, the batch policy, the optimiser step, the epoch reports and the
// callbacks; a model supplies its networks and their init, the input adapter, the
// reconstruction loss and its optimiser preset.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "learn/epoch_report.hpp"

namespace macrodyn::learn {

// What happens to the items % batch items left at the end of an epoch's permutation.
// Each policy keeps the epoch-loss arithmetic its model has always used (with equal
// batches the two means agree, but not to the bit), so reports stay reproducible.
enum class LastBatch {
  drop,  // not visited this epoch (drop_last, §8.2.6); epoch loss = plain mean of the batch losses
  keep,  // one short batch (torch's DataLoader default, §8.6.4); epoch loss = item-weighted mean
};

// The optimiser a model trains with (eps 1e-8 for both).
struct OptimiserPreset {
  enum class Kind { adamw_amsgrad, adam_l2 };
  Kind kind = Kind::adamw_amsgrad;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, weight_decay = 0.0;

  // Spins (§8.2.6): AdamW with amsgrad, betas (0.9, 0.999), no weight decay.
  static OptimiserPreset adamw_amsgrad(double lr) { return {Kind::adamw_amsgrad, lr, 0.9, 0.999, 0.0}; }
  // Fields (§8.6.4): torch's Adam, whose weight decay is L2 added to the gradient (the
  // reference's choice, not AdamW's decoupled decay).
  static OptimiserPreset adam_l2(double lr, double weight_decay, double beta1, double beta2) {
    return {Kind::adam_l2, lr, beta1, beta2, weight_decay};
  }
};

// What a model gives the trainer. The functions may capture the model's state by
// reference: the trainer calls them only inside train_closure.
struct ClosureModel {
  // Constructs the networks on the CPU and returns them in optimiser order (their
  // parameters go to the optimiser in this order). Called once, right after
  // torch::manual_seed, because construction already draws default weights.
  std::function<std::vector<torch::nn::Module*>()> build;
  // The model's init of one network, applied to each in order after build; it draws from
  // torch's global CPU generator, so the seed fixes the initial weights.
  std::function<void(torch::nn::Module&)> init_weights;
  // Input adapter: the items idx[0 .. B) -> the batch's input tensors on the device.
  std::function<std::vector<torch::Tensor>(const std::int64_t* idx, std::int64_t B)> inputs;
  // Reconstruction loss of a batch: a scalar tensor, the mean over the batch's values.
  std::function<torch::Tensor(const std::vector<torch::Tensor>& batch)> loss;
  OptimiserPreset optimiser;
};

struct ClosureTraining {
  std::int64_t items = 0;  // training items (snapshots, frames), indexed 0 .. items - 1
  int epochs = 0;
  int batch = 1;  // items per optimiser step
  LastBatch last = LastBatch::drop;
  std::uint64_t seed = 0;  // torch::manual_seed and the epoch shuffle
  int threads = 0;         // torch::set_num_threads when > 0 (a process-wide setting)
  torch::Device device{torch::kCPU};
};

using EpochCallback = std::function<void(const EpochReport&)>;
using StepCallback = std::function<void(int epoch, std::int64_t step, std::int64_t steps)>;

// Builds, seeds and trains the model's networks; they end in eval mode on the device.
// Every epoch visits the items in the order of the next EpochShuffle(items, seed)
// permutation, in consecutive batches. on_step(epoch, step, steps) follows every
// optimiser step (it may throw to abandon the training), on_epoch every epoch. Returns
// the epoch reports (the loss history). The models check their data with their own
// sentences first; here items < 1, batch < 1, or items < batch with drop, throw
// std::invalid_argument.
std::vector<EpochReport> train_closure(const ClosureTraining& t, const ClosureModel& model,
                                       const EpochCallback& on_epoch = {}, const StepCallback& on_step = {});

}  // namespace macrodyn::learn
