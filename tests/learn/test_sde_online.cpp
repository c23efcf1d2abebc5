// Online SDE training (the learner of `macrodyn run`): single steps on batches drawn
// from a buffer learn a known process, resume is bit-identical, and the gradient hook
// (where data-parallel learners average gradients) is what the optimiser applies.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "core/rng.hpp"
#include "learn/sde_online.hpp"
#include "ou_data.hpp"

using namespace macrodyn;

namespace {

// Batch of `n` pairs drawn uniformly with replacement from `all`, keyed by the step.
learn::LatentPairs draw(const learn::LatentPairs& all, std::int64_t n, std::int64_t step) {
  learn::LatentPairs b;
  b.dim = all.dim;
  Rng rng(WorkItem{3, Purpose::test, 0, static_cast<std::uint64_t>(step)});
  for (std::int64_t k = 0; k < n; ++k) {
    const auto i = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(all.size())));
    for (int j = 0; j < all.dim; ++j) {
      b.z0.push_back(all.z0[i * all.dim + j]);
      b.z1.push_back(all.z1[i * all.dim + j]);
    }
    b.dt.push_back(all.dt[i]);
  }
  return b;
}

std::vector<float> drift_on_grid(const learn::SdeModel& m) {
  std::vector<float> z, mu(61);
  for (int i = 0; i <= 60; ++i) z.push_back(static_cast<float>(-3 + 0.1 * i));
  m.drift(z.data(), 61, mu.data());
  return mu;
}

learn::OnlineSdeOptions options() {
  learn::OnlineSdeOptions o;
  o.diffusion = learn::Diffusion::constant;
  o.eps = 1e-6;
  o.lr = 1e-3;
  o.steps_per_epoch = 50;
  o.patience = 2;
  o.seed = 5;
  return o;
}

}  // namespace

TEST_CASE("online SDE steps on buffer draws learn Ornstein-Uhlenbeck", "[learn][sde][online]") {
  learn::set_torch_threads(1);
  const double theta = 1.0, s = 0.8;
  const std::int64_t n = 200000;
  const auto pairs = test::ou_pairs(n, theta, s, 17);
  double info = 0;
  for (std::int64_t i = 0; i < n; ++i) info += double(pairs.z0[i]) * pairs.z0[i] * pairs.dt[i];
  const double se_theta = s / std::sqrt(info), se_sigma = s / std::sqrt(2.0 * n);

  learn::OnlineSdeTrainer t(1, options());
  for (std::int64_t k = 0; k < 1500; ++k) t.step(draw(pairs, 4096, k));
  const double slope = test::drift_slope(t.model()), sigma = test::sigma_rms(t.model());
  std::printf("online OU: drift slope %.4f (exact %.4f, SE %.4f), sigma %.4f (exact %.4f, SE %.5f), lr %.2e\n",
              slope, -theta, se_theta, sigma, s, se_sigma, t.lr());
  CHECK(std::abs(slope + theta) <= std::max(0.05 * theta, 4 * se_theta));
  CHECK(std::abs(sigma - s) <= std::max(0.05 * s, 4 * se_sigma));
}

TEST_CASE("online SDE trainer: save + load + steps = uninterrupted steps, bit for bit", "[learn][sde][online]") {
  learn::set_torch_threads(1);
  const auto pairs = test::ou_pairs(20000, 1.0, 0.8, 19);
  auto o = options();
  o.diffusion = learn::Diffusion::full;
  o.steps_per_epoch = 2;  // the scheduler state crosses the checkpoint too
  learn::OnlineSdeTrainer whole(1, o);
  for (int k = 0; k < 8; ++k) whole.step(draw(pairs, 256, k));

  const auto path = std::filesystem::temp_directory_path() / ("online_sde_" + std::to_string(::getpid()) + ".ckpt");
  {
    learn::OnlineSdeTrainer first(1, o);
    for (int k = 0; k < 5; ++k) first.step(draw(pairs, 256, k));
    first.save(path.string());
  }
  learn::OnlineSdeTrainer resumed(1, o);
  resumed.load(path.string());
  CHECK(resumed.steps() == 5);
  for (int k = 5; k < 8; ++k) resumed.step(draw(pairs, 256, k));
  std::filesystem::remove(path);
  CHECK(resumed.lr() == whole.lr());
  CHECK(drift_on_grid(resumed.model()) == drift_on_grid(whole.model()));
}

TEST_CASE("online SDE trainer applies the gradient the hook leaves", "[learn][sde][online]") {
  learn::set_torch_threads(1);
  const auto pairs = test::ou_pairs(5000, 1.0, 0.8, 23);
  const auto o = options();
  learn::OnlineSdeTrainer plain(1, o), identity(1, o), zero(1, o);
  std::int64_t seen = 0;
  identity.set_gradient_hook([&seen](float*, std::int64_t n) { seen = n; });
  zero.set_gradient_hook([](float* g, std::int64_t n) { std::fill(g, g + n, 0.0f); });
  const auto before = drift_on_grid(zero.model());
  for (int k = 0; k < 3; ++k) {
    const auto b = draw(pairs, 512, k);
    plain.step(b);
    identity.step(b);
    zero.step(b);
  }
  // Drift 1->64->64->64->1 plus the constant diffusion vector (1).
  CHECK(seen == (64 + 64) + (64 * 64 + 64) * 2 + (64 + 1) + 1);
  CHECK(drift_on_grid(identity.model()) == drift_on_grid(plain.model()));
  // AdamW with zero gradients and no weight decay does not move.
  CHECK(drift_on_grid(zero.model()) == before);
}
