#pragma once
// Online training of the neural SDE (docs/design.md §6.5): the learner of `macrodyn run` draws
// batches from its replay buffer while pairs still arrive, so training is a sequence of
// single optimiser steps rather than epochs over a fixed set. Same model, loss, AdamW
// and plateau rule as train_sde; an "epoch" of the scheduler is `steps_per_epoch` steps.
// No torch header here (docs/design.md §2.3).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "learn/sde.hpp"

namespace macrodyn::learn {

struct OnlineSdeOptions {
  Diffusion diffusion = Diffusion::full;
  double loss_factor = 1.0;  // c: K for the K-scaled loss, 1 for naive
  double eps = 1e-4;
  double lr = 1e-3;
  int patience = 5;
  std::int64_t steps_per_epoch = 100;  // the plateau scheduler sees the mean loss of these
  std::uint64_t seed = 42;
  std::string device = "cpu";
};

struct OnlineStepReport {
  std::int64_t step = 0;   // 1-based, steps done so far
  double loss = 0;         // of this step's batch, before the update
  double lr = 0;           // used by this step
  bool epoch_end = false;  // the plateau scheduler was stepped after this step
  double epoch_loss = 0;   // its input (mean loss of the scheduler epoch), if epoch_end
};

class OnlineSdeTrainer {
 public:
  OnlineSdeTrainer(int dim, const OnlineSdeOptions& o);
  ~OnlineSdeTrainer();
  OnlineSdeTrainer(OnlineSdeTrainer&&) noexcept;

  // Data-parallel learners: called between backward and the optimiser step with the
  // gradient of all parameters flattened (float32, parameter order); the hook replaces it
  // in place, e.g. by the average over the learner ranks.
  void set_gradient_hook(std::function<void(float* grad, std::int64_t n)> hook);
  // Data-parallel learners: maps this learner's batch loss to the one reported and fed to
  // the plateau scheduler (e.g. the mean over the learner ranks), so that every rank
  // changes its learning rate at the same step.
  void set_loss_hook(std::function<double(double loss)> hook);

  // One AdamW step on `batch` (model coordinates). Throws std::runtime_error when the
  // loss is not finite (naming the step).
  OnlineStepReport step(const LatentPairs& batch);

  // The summed loss of `batch` with factor 1 and no update: the validation loss of
  // held-out pairs, as train_sde logs it (sum, so that learners can add theirs).
  double validation_loss_sum(const LatentPairs& batch) const;

  std::int64_t steps() const;
  double lr() const;
  const SdeModel& model() const;

  // Weights, AdamW moments, scheduler and counters; write then rename, so a crash never
  // leaves a torn file. load() restores them so that the following steps are
  // bit-identical to those of the trainer that saved (same device and threads).
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace macrodyn::learn
