// The closure autoencoders' shared training loop (learn/closure_trainer.hpp) on a toy
// model: the batch policies (drop_last against a kept short batch) and their epoch-loss
// averages, the callbacks and the loss history, train/eval modes, and seeding (the same
// seed gives the same weights, another seed other ones).
// torch first: glog (pulled in by torch) defines its own CHECK, which would otherwise
// replace Catch's.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "learn/closure_trainer.hpp"

using namespace macrodyn;
using learn::ClosureModel;
using learn::ClosureTraining;
using learn::EpochReport;
using learn::LastBatch;

namespace {

// A linear map R^2 -> R^2 learning the identity on items x_i = (i, -i) / 10, recording
// what the trainer asks of it.
struct Toy {
  torch::nn::Linear net{nullptr};
  int builds = 0;
  std::vector<std::vector<std::int64_t>> batches;  // the items of every batch, in order
  std::vector<double> losses;                      // every batch loss, in order
  bool trained_in_train_mode = true;

  ClosureModel model() {
    ClosureModel m;
    m.build = [this] {
      ++builds;
      net = torch::nn::Linear(2, 2);
      return std::vector<torch::nn::Module*>{net.get()};
    };
    m.init_weights = [](torch::nn::Module& mod) {
      torch::NoGradGuard ng;
      for (auto& p : mod.parameters()) p.normal_(0.0, 0.5);
    };
    m.inputs = [this](const std::int64_t* idx, std::int64_t B) {
      batches.emplace_back(idx, idx + B);
      auto x = torch::empty({B, 2}, torch::kFloat);
      for (std::int64_t i = 0; i < B; ++i) {
        x[i][0] = double(idx[i]) / 10;
        x[i][1] = -double(idx[i]) / 10;
      }
      return std::vector<torch::Tensor>{x};
    };
    m.loss = [this](const std::vector<torch::Tensor>& b) {
      trained_in_train_mode = trained_in_train_mode && net->is_training();
      auto loss = torch::mse_loss(net->forward(b[0]), b[0]);
      losses.push_back(loss.item<double>());
      return loss;
    };
    m.optimiser = learn::OptimiserPreset::adamw_amsgrad(1e-2);
    return m;
  }

  std::vector<torch::Tensor> weights() const {
    std::vector<torch::Tensor> w;
    for (const auto& p : net->parameters()) w.push_back(p.detach().clone());
    return w;
  }
};

ClosureTraining plan(LastBatch last, std::int64_t items = 10, int batch = 4, int epochs = 3, std::uint64_t seed = 7) {
  ClosureTraining t;
  t.items = items;
  t.epochs = epochs;
  t.batch = batch;
  t.last = last;
  t.seed = seed;
  return t;
}

bool same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

}  // namespace

TEST_CASE("closure trainer drops or keeps the last short batch and averages the epoch loss to match", "[learn][closure_trainer]") {
  for (const LastBatch last : {LastBatch::drop, LastBatch::keep}) {
    const bool drop = last == LastBatch::drop;
    INFO((drop ? "drop" : "keep"));
    Toy toy;
    std::vector<EpochReport> reported;
    std::vector<std::int64_t> steps_seen;
    const auto history = learn::train_closure(
        plan(last), toy.model(), [&](const EpochReport& r) { reported.push_back(r); },
        [&](int epoch, std::int64_t step, std::int64_t steps) {
          CHECK(epoch == int(reported.size()) + 1);
          CHECK(step == std::int64_t(steps_seen.size() % std::size_t(steps)) + 1);
          steps_seen.push_back(steps);
        });
    // 10 items in batches of 4: two full batches, and a third of 2 unless dropped.
    const std::size_t per_epoch = drop ? 2 : 3;
    REQUIRE(toy.batches.size() == 3 * per_epoch);
    CHECK(steps_seen == std::vector<std::int64_t>(3 * per_epoch, std::int64_t(per_epoch)));
    CHECK(toy.builds == 1);
    CHECK(toy.trained_in_train_mode);
    CHECK_FALSE(toy.net->is_training());
    REQUIRE(history.size() == 3);
    REQUIRE(reported.size() == 3);
    for (int e = 0; e < 3; ++e) {
      std::vector<std::int64_t> visited;
      double sum = 0;
      for (std::size_t s = 0; s < per_epoch; ++s) {
        const auto& b = toy.batches[std::size_t(e) * per_epoch + s];
        CHECK(b.size() == (s < 2 ? 4u : 2u));
        visited.insert(visited.end(), b.begin(), b.end());
        const double l = toy.losses[std::size_t(e) * per_epoch + s];
        sum += drop ? l : l * double(b.size());
      }
      // No item twice in an epoch; all of them when the short batch is kept.
      std::sort(visited.begin(), visited.end());
      CHECK(std::adjacent_find(visited.begin(), visited.end()) == visited.end());
      if (!drop) {
        std::vector<std::int64_t> all(10);
        std::iota(all.begin(), all.end(), 0);
        CHECK(visited == all);
      }
      CHECK(history[std::size_t(e)].epoch == e + 1);
      CHECK(history[std::size_t(e)].loss == sum / (drop ? 2.0 : 10.0));
      CHECK(reported[std::size_t(e)].loss == history[std::size_t(e)].loss);
      CHECK(history[std::size_t(e)].samples_per_s >= 0);
    }
    // Successive epochs draw different orders.
    CHECK(toy.batches[0] != toy.batches[per_epoch]);
  }
}

TEST_CASE("closure trainer: fewer items than a batch are one short batch when kept, refused when dropped", "[learn][closure_trainer]") {
  Toy kept;
  const auto h = learn::train_closure(plan(LastBatch::keep, 3, 4, 2), kept.model());
  REQUIRE(kept.batches.size() == 2);
  CHECK(kept.batches[0].size() == 3);
  CHECK(h.size() == 2);
  CHECK(h[0].loss == kept.losses[0] * 3 / 3.0);

  Toy dropped;
  CHECK_THROWS_AS(learn::train_closure(plan(LastBatch::drop, 3, 4, 2), dropped.model()), std::invalid_argument);
  CHECK(dropped.builds == 0);
  Toy none;
  CHECK_THROWS_AS(learn::train_closure(plan(LastBatch::keep, 0, 4, 2), none.model()), std::invalid_argument);

  // No epochs: the networks are built and initialised, nothing is trained.
  Toy idle;
  CHECK(learn::train_closure(plan(LastBatch::keep, 10, 4, 0), idle.model()).empty());
  CHECK(idle.builds == 1);
  CHECK(idle.batches.empty());
  CHECK_FALSE(idle.net->is_training());
}

TEST_CASE("closure trainer: the seed fixes the initial weights, the batches and the trained weights", "[learn][closure_trainer]") {
  for (const LastBatch last : {LastBatch::drop, LastBatch::keep}) {
    INFO((last == LastBatch::drop ? "drop" : "keep"));
    auto run = [&](std::uint64_t seed, int epochs, learn::OptimiserPreset opt) {
      Toy toy;
      auto m = toy.model();
      m.optimiser = opt;
      learn::train_closure(plan(last, 10, 4, epochs, seed), m);
      return std::make_pair(toy.weights(), toy.batches);
    };
    for (const auto& opt : {learn::OptimiserPreset::adamw_amsgrad(1e-2), learn::OptimiserPreset::adam_l2(1e-2, 1e-4, 0.9, 0.95)}) {
      const auto a = run(7, 3, opt), b = run(7, 3, opt), c = run(8, 3, opt);
      CHECK(same(a.first, b.first));
      CHECK(a.second == b.second);
      CHECK_FALSE(same(a.first, c.first));
      CHECK(a.second != c.second);
      // Training moved the weights away from the seeded init, which the seed alone fixes.
      const auto init = run(7, 0, opt), init_again = run(7, 0, opt);
      CHECK(same(init.first, init_again.first));
      CHECK_FALSE(same(init.first, a.first));
    }
  }
}
