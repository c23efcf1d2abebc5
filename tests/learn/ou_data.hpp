#pragma once
// Ornstein-Uhlenbeck training data with exact transitions, for learner tests where the
// answer is known: dz = -theta z dt + s dW.
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/rng.hpp"
#include "learn/sde.hpp"

namespace macrodyn::test {

// Box-Muller on the work-item stream (tests only; deterministic for the seed).
inline double normal(Rng& rng) {
  const double u = rng.uniform(), v = rng.uniform();
  return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
}

// Exact one-step law of OU over dt: mean z e^{-theta dt}, variance s^2 (1 - e^{-2 theta dt}) / (2 theta).
inline double ou_step(double z, double theta, double s, double dt, Rng& rng) {
  const double a = std::exp(-theta * dt);
  return z * a + s * std::sqrt((1 - a * a) / (2 * theta)) * normal(rng);
}

// n pairs, z0 ~ U(-3, 3), theta*dt ~ U(0.005, 0.01).
inline learn::LatentPairs ou_pairs(std::int64_t n, double theta, double s, std::uint64_t seed) {
  learn::LatentPairs p;
  p.dim = 1;
  Rng rng(WorkItem{seed, Purpose::test, 0, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    const double z = -3 + 6 * rng.uniform();
    const double dt = (0.005 + 0.005 * rng.uniform()) / theta;
    p.z0.push_back(static_cast<float>(z));
    p.z1.push_back(static_cast<float>(ou_step(z, theta, s, dt, rng)));
    p.dt.push_back(dt);
  }
  return p;
}

// Least-squares slope through the origin of the learned drift on a grid of [-3, 3].
inline double drift_slope(const learn::SdeModel& m) {
  std::vector<float> z, mu(61);
  for (int i = 0; i <= 60; ++i) z.push_back(static_cast<float>(-3 + 0.1 * i));
  m.drift(z.data(), 61, mu.data());
  double zz = 0, zm = 0;
  for (int i = 0; i <= 60; ++i) {
    zz += double(z[i]) * z[i];
    zm += double(z[i]) * mu[i];
  }
  return zm / zz;
}

// Root mean square over the grid of the learned sigma (1-d).
inline double sigma_rms(const learn::SdeModel& m) {
  std::vector<float> z, s(61);
  for (int i = 0; i <= 60; ++i) z.push_back(static_cast<float>(-3 + 0.1 * i));
  m.sigma(z.data(), 61, s.data());
  double ss = 0;
  for (float v : s) ss += double(v) * v;
  return std::sqrt(ss / 61);
}

}  // namespace macrodyn::test
