// The neural SDE learner on cases where the answer is known: Ornstein-Uhlenbeck with exact
// transitions, K independent OU "patches" (the K-scaled loss against the naive one), the
// loss against its closed form, and resume = uninterrupted.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "learn/sde.hpp"
#include "ou_data.hpp"

using namespace macrodyn;

namespace {

learn::SdeOptions quick_options(int epochs, double lr = 3e-3) {
  learn::SdeOptions o;
  o.epochs = epochs;
  o.lr = lr;
  o.device = "cpu";
  o.seed = 7;
  o.threads = 1;  // ctest runs two tests at once on two cores
  return o;
}

}  // namespace

TEST_CASE("SDE learns Ornstein-Uhlenbeck drift and diffusion from exact transitions", "[learn][sde][ou]") {
  const double theta = 1.0, s = 0.8;
  const std::int64_t n = 1000000;
  const auto pairs = test::ou_pairs(n, theta, s, 11);
  // Standard error of the drift slope from n transitions: the Fisher information of theta
  // is sum z0^2 dt / s^2.
  double info = 0;
  for (std::int64_t i = 0; i < n; ++i) info += double(pairs.z0[i]) * pairs.z0[i] * pairs.dt[i];
  const double se_theta = s / std::sqrt(info);
  // Sigma from n squared increments: relative SE 1/sqrt(2n).
  const double se_sigma = s / std::sqrt(2.0 * n);

  for (const auto kind : {learn::Diffusion::full, learn::Diffusion::constant}) {
    // Large batches: the drift signal per pair is small next to the noise (theta z dt
    // against s sqrt(dt)), so SGD noise, not data, would limit the slope otherwise.
    // A small epsilon: Sigma = sigma^2 dt + eps would bias sigma^2 by eps / dt (2 % here).
    auto o = quick_options(8, 1e-3);
    o.batch = 4096;
    o.eps = 1e-6;
    o.patience = 1;
    o.diffusion = kind;
    const auto m = learn::train_sde(pairs, {}, o, [](const learn::SdeEpochReport& r) {
      std::printf("  epoch %d loss %.5f lr %.2e %.0f samples/s\n", r.epoch, r.train_loss, r.lr, r.samples_per_s);
    });
    const double slope = test::drift_slope(m), sigma = test::sigma_rms(m);
    std::printf("OU %s: drift slope %.4f (exact %.4f, SE %.4f), sigma %.4f (exact %.4f, SE %.5f)\n",
                learn::diffusion_name(kind), slope, -theta, se_theta, sigma, s, se_sigma);
    CHECK(std::abs(slope + theta) <= std::max(0.05 * theta, 4 * se_theta));
    CHECK(std::abs(sigma - s) <= std::max(0.05 * s, 4 * se_sigma));
  }
}

TEST_CASE("K-scaled pairs from one evolved OU patch recover the mean's SDE and naive pairs do not",
          "[learn][sde][ou]") {
  // K independent OU "patches" x_k (dx = -theta x dt + s dW); the macro variable is their
  // mean z, whose exact SDE is dz = -theta z dt + (s / sqrt K) dW. Pairs come from evolving
  // one random patch exactly, with the real target formulas of docs/design.md §1.7.
  const int K = 16;
  const double theta = 1.0, s = 1.0;
  const std::int64_t n = 500000;
  learn::LatentPairs kscaled, naive;
  kscaled.dim = naive.dim = 1;
  Rng rng(WorkItem{5, Purpose::test, 0, 2});
  std::vector<double> x(K);
  double info = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    // Patches scattered around a common level, so that z covers [-2, 2].
    const double level = -2 + 4 * rng.uniform();
    double z = 0;
    for (auto& v : x) z += (v = level + s / std::sqrt(2 * theta) * test::normal(rng)) / K;
    const int I = static_cast<int>(rng.below(K));
    const double dt = (0.005 + 0.005 * rng.uniform()) / theta;
    const double after = test::ou_step(x[I], theta, s, dt, rng);
    for (auto* p : {&kscaled, &naive}) {
      p->z0.push_back(static_cast<float>(z));
      p->dt.push_back(dt);
    }
    kscaled.z1.push_back(static_cast<float>(z + (after - x[I])));  // g(x_{t+dt,I}) - g(x_{t,I}) added to phi
    naive.z1.push_back(static_cast<float>(after));                    // g(x_{t+dt,I}) alone
    info += z * z * dt;
  }
  // The K-scaled increment has the mean's drift and s^2 dt variance: SE of theta s / sqrt(info).
  const double se_theta = s / std::sqrt(info);
  const double sigma_true = s / std::sqrt(double(K));

  auto o = quick_options(20, 3e-3);
  o.batch = 4096;
  o.eps = 1e-6;
  o.patience = 1;
  o.diffusion = learn::Diffusion::constant;
  o.loss_factor = K;
  const auto mk = learn::train_sde(kscaled, {}, o);
  o.loss_factor = 1;
  const auto mn = learn::train_sde(naive, {}, o);
  const double slope_k = test::drift_slope(mk), sigma_k = test::sigma_rms(mk);
  const double slope_n = test::drift_slope(mn), sigma_n = test::sigma_rms(mn);
  std::printf("K=%d OU patches: K-scaled slope %.4f sigma %.4f; naive slope %.4f sigma %.4f; exact %.4f, %.4f "
              "(SE theta %.4f)\n",
              K, slope_k, sigma_k, slope_n, sigma_n, -theta, sigma_true, se_theta);
  REQUIRE(4 * se_theta < 0.1 * theta);  // the data resolve the 10 % criterion
  CHECK(std::abs(slope_k + theta) <= 0.1 * theta);
  CHECK(std::abs(sigma_k - sigma_true) <= 0.1 * sigma_true);
  // The naive target carries the patch's own deviation from the mean: its diffusion is
  // off by far more than 10 %.
  CHECK(std::abs(sigma_n - sigma_true) > 0.1 * sigma_true);
}

TEST_CASE("SDE loss equals its closed form for a 2x2 covariance", "[learn][sde]") {
  // The model's own drift and sigma, read through the public API, then the loss written
  // out in double: Sigma = c sigma sigma^T dt + eps I, quad = r^T Sigma^-1 r with the
  // explicit 2x2 inverse, plus log det Sigma.
  const learn::SdeModel m(2, learn::Diffusion::full, 3, "cpu");
  learn::LatentPairs p;
  p.dim = 2;
  p.z0 = {0.1f, -0.4f, 0.7f, 0.2f, -1.3f, 0.9f};
  p.z1 = {0.15f, -0.35f, 0.6f, 0.3f, -1.0f, 0.8f};
  p.dt = {0.5, 0.25, 0.125};
  const double c = 4, eps = 1e-3;
  std::vector<float> mu(6), sg(12);
  m.drift(p.z0.data(), 3, mu.data());
  m.sigma(p.z0.data(), 3, sg.data());
  double expected = 0;
  for (int i = 0; i < 3; ++i) {
    const float* s = &sg[4 * i];
    const double a = c * p.dt[i] * (double(s[0]) * s[0] + double(s[1]) * s[1]) + eps;
    const double b = c * p.dt[i] * (double(s[0]) * s[2] + double(s[1]) * s[3]);
    const double d = c * p.dt[i] * (double(s[2]) * s[2] + double(s[3]) * s[3]) + eps;
    const double r0 = p.z1[2 * i] - p.z0[2 * i] - mu[2 * i] * p.dt[i];
    const double r1 = p.z1[2 * i + 1] - p.z0[2 * i + 1] - mu[2 * i + 1] * p.dt[i];
    const double det = a * d - b * b;
    expected += (d * r0 * r0 - 2 * b * r0 * r1 + a * r1 * r1) / det + std::log(det);
  }
  expected /= 3;
  const double got = m.loss(p, c, eps);
  std::printf("loss %.7f, closed form %.7f\n", got, expected);
  CHECK(got == Approx(expected).epsilon(1e-5));

  // A hand-computed value: constant diffusion starts at sigma = I, so with dt = 1, c = 1
  // and eps = 1 the covariance is 2 I: loss = |r|^2 / 2 + 2 log 2 for r = z1 - z0 - mu.
  const learn::SdeModel mc(2, learn::Diffusion::constant, 3, "cpu");
  learn::LatentPairs q;
  q.dim = 2;
  q.z0 = {0.0f, 0.0f};
  q.dt = {1.0};
  std::vector<float> mu0(2);
  mc.drift(q.z0.data(), 1, mu0.data());
  q.z1 = {mu0[0] + 1.0f, mu0[1] - 2.0f};  // r = (1, -2)
  CHECK(mc.loss(q, 1.0, 1.0) == Approx(5.0 / 2 + 2 * std::log(2.0)).epsilon(1e-6));
}

TEST_CASE("A resumed SDE training equals an uninterrupted one bit for bit", "[learn][sde][resume]") {
  const auto pairs = test::ou_pairs(20000, 1.0, 0.8, 21);
  const auto val = test::ou_pairs(2000, 1.0, 0.8, 22);
  const std::string dir = std::string(MACRODYN_TEST_TMPDIR) + "/sde_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto o = quick_options(6);
  o.patience = 1;  // the scheduler state must survive the restart too
  std::vector<double> losses_a, losses_b;
  o.checkpoint = dir + "/a.ckpt";
  const auto a = learn::train_sde(pairs, val, o, [&](const learn::SdeEpochReport& r) {
    losses_a.push_back(r.train_loss);
  });
  o.checkpoint = dir + "/b.ckpt";
  auto record = [&](const learn::SdeEpochReport& r) { losses_b.push_back(r.train_loss); };
  learn::train_sde(pairs, val, o, record, [&] { return losses_b.size() == 3; });  // "interrupted"
  REQUIRE(losses_b.size() == 3);
  o.resume = true;
  const auto b = learn::train_sde(pairs, val, o, record);
  REQUIRE(losses_b.size() == 6);
  for (int e = 0; e < 6; ++e) CHECK(losses_a[e] == losses_b[e]);
  std::vector<float> z(200), da(200), db(200), sa(200), sb(200);
  for (int i = 0; i < 200; ++i) z[i] = -3 + 0.03f * i;
  a.drift(z.data(), 200, da.data());
  b.drift(z.data(), 200, db.data());
  a.sigma(z.data(), 200, sa.data());
  b.sigma(z.data(), 200, sb.data());
  CHECK(da == db);
  CHECK(sa == sb);
}

TEST_CASE("SDE training rejects bad options with a clear message", "[learn][sde]") {
  const auto pairs = test::ou_pairs(100, 1.0, 1.0, 1);
  auto o = quick_options(1);
  o.batch = 0;
  CHECK_THROWS_WITH(learn::train_sde(pairs, {}, o), Catch::Contains("batch"));
  o = quick_options(1);
  o.loss_factor = 0;
  CHECK_THROWS_WITH(learn::train_sde(pairs, {}, o), Catch::Contains("loss factor"));
  o = quick_options(1);
  o.device = "tpu";
  CHECK_THROWS_WITH(learn::train_sde(pairs, {}, o), Catch::Contains("--device"));
  CHECK_THROWS_WITH(learn::parse_diffusion("arbitrary"), Catch::Contains("full, diagonal or constant"));
  CHECK_THROWS_WITH(learn::train_sde(learn::LatentPairs{}, {}, quick_options(1)), Catch::Contains("no training pairs"));
}
