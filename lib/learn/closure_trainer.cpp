// The training loop of both closure autoencoders (learn/closure_trainer.hpp; docs/design.md
// §1.8, §8.2.6, §8.6.4).
#include "learn/closure_trainer.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <utility>

#include "learn/epoch_shuffle.hpp"

namespace macrodyn::learn {

namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimiser(const OptimiserPreset& o, std::vector<torch::Tensor> params) {
  switch (o.kind) {
    case OptimiserPreset::Kind::adamw_amsgrad:
      return std::make_unique<torch::optim::AdamW>(
          std::move(params),
          torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(1e-8).weight_decay(o.weight_decay).amsgrad(true));
    case OptimiserPreset::Kind::adam_l2:
      return std::make_unique<torch::optim::Adam>(
          std::move(params),
          torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}).eps(1e-8).weight_decay(o.weight_decay));
  }
  throw std::logic_error("unknown optimiser preset");
}

}  // namespace

std::vector<EpochReport> train_closure(const ClosureTraining& t, const ClosureModel& model,
                                       const EpochCallback& on_epoch, const StepCallback& on_step) {
  const bool drop = t.last == LastBatch::drop;
  if (t.items < 1 || t.batch < 1 || (drop && t.items < t.batch))
    throw std::invalid_argument("closure training needs items >= 1, batch >= 1 and, dropping the last batch, items >= batch.");
  if (t.threads > 0) torch::set_num_threads(t.threads);

  // Seed before the networks exist: construction and init both draw from torch's global
  // CPU generator, and on the CPU, so the initial weights do not depend on the device.
  torch::manual_seed(t.seed);
  const std::vector<torch::nn::Module*> nets = model.build();
  for (auto* net : nets) model.init_weights(*net);
  std::vector<torch::Tensor> params;
  for (auto* net : nets) {
    net->to(t.device);
    for (auto& p : net->parameters()) params.push_back(p);
  }
  const auto opt = make_optimiser(model.optimiser, std::move(params));

  // The batches come from a permutation of `seed` alone (not torch's generator).
  EpochShuffle shuffle(t.items, t.seed);
  const std::int64_t steps = drop ? t.items / t.batch : (t.items + t.batch - 1) / t.batch;
  std::vector<EpochReport> history;

  for (auto* net : nets) net->train(true);
  for (int epoch = 1; epoch <= t.epochs; ++epoch) {
    const std::vector<std::int64_t>& perm = shuffle.next();
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;  // drop: sum of batch losses; keep: sum of (batch loss) * (items in the batch)
    std::int64_t seen = 0;
    for (std::int64_t s = 0; s < steps; ++s) {
      const std::int64_t first = s * t.batch, B = std::min<std::int64_t>(t.batch, t.items - first);
      auto loss = model.loss(model.inputs(perm.data() + first, B));
      opt->zero_grad();
      loss.backward();
      opt->step();
      loss_sum += drop ? loss.item<double>() : loss.item<double>() * double(B);
      seen += B;
      if (on_step) on_step(epoch, s + 1, steps);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    history.push_back(EpochReport{epoch, loss_sum / double(drop ? steps : seen), secs, secs > 0 ? double(seen) / secs : 0.0});
    if (on_epoch) on_epoch(history.back());
  }
  for (auto* net : nets) net->train(false);
  return history;
}

}  // namespace macrodyn::learn
