// Euler–Maruyama ensembles, chunk by chunk: a chunk of at most `batch` trajectories is
// carried through all steps before the next one starts, so the buffers handed to the
// model are allocated once and stay hot in cache.
#include "macro/rollout.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "macro/normal.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <string>

namespace macrodyn::macro {
namespace {

// double -> float that is defined for every input: out-of-range values become +-inf and
// NaN stays NaN (a plain conversion of an out-of-range double is undefined behaviour).
float to_float(double x) {
  if (std::fabs(x) <= static_cast<double>(FLT_MAX)) return static_cast<float>(x);
  if (std::isnan(x)) return std::numeric_limits<float>::quiet_NaN();
  return x > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
}

void check_inputs(const SdeFunctions& f, const std::vector<double>& z0, int steps, double dt,
                  std::int64_t batch) {
  if (f.dim < 1) throw InputError("euler_maruyama: the model dimension must be at least 1, got " + std::to_string(f.dim) + ".");
  if (!f.eval) throw InputError("euler_maruyama: the model has no eval function.");
  if (z0.size() % static_cast<std::size_t>(f.dim) != 0)
    throw InputError("euler_maruyama: z0 has " + std::to_string(z0.size()) +
                     " values, not a multiple of the dimension " + std::to_string(f.dim) + ".");
  if (steps < 0) throw InputError("euler_maruyama: steps must be non-negative, got " + std::to_string(steps) + ".");
  if (!(std::isfinite(dt) && dt > 0))
    throw InputError("euler_maruyama: dt must be finite and positive, got " + std::to_string(dt) + ".");
  if (batch < 1) throw InputError("euler_maruyama: batch must be at least 1, got " + std::to_string(batch) + ".");
}

}  // namespace

std::vector<double> euler_maruyama(const SdeFunctions& f, const std::vector<double>& z0, int steps,
                                   double dt, std::uint64_t seed, std::int64_t batch,
                                   const std::function<void(std::int64_t, std::int64_t)>& on_chunk) {
  check_inputs(f, z0, steps, dt, batch);
  const std::int64_t d = f.dim;
  const std::int64_t B = static_cast<std::int64_t>(z0.size()) / d;
  const std::int64_t T = static_cast<std::int64_t>(steps) + 1;
  std::vector<double> out(static_cast<std::size_t>(B * T * d));
  if (B == 0) return out;
  for (std::int64_t b = 0; b < B; ++b)
    std::copy_n(z0.begin() + b * d, d, out.begin() + b * T * d);

  const std::int64_t chunk = std::min(batch, B);
  std::vector<float> zf(static_cast<std::size_t>(chunk * d));
  std::vector<float> drift(static_cast<std::size_t>(chunk * d));
  std::vector<float> sigma(static_cast<std::size_t>(chunk * d * d));
  std::vector<double> xi(static_cast<std::size_t>(d));
  std::vector<NormalStream> noise;
  noise.reserve(static_cast<std::size_t>(chunk));
  const double sqrt_dt = std::sqrt(dt);

  for (std::int64_t c0 = 0; c0 < B; c0 += chunk) {
    const std::int64_t n = std::min(chunk, B - c0);
    noise.clear();
    for (std::int64_t b = 0; b < n; ++b)
      noise.emplace_back(WorkItem{seed, Purpose::rollout, 0, static_cast<std::uint64_t>(c0 + b), 0});

    for (std::int64_t k = 1; k < T; ++k) {
      for (std::int64_t b = 0; b < n; ++b) {
        const double* prev = out.data() + ((c0 + b) * T + k - 1) * d;
        for (std::int64_t i = 0; i < d; ++i) zf[b * d + i] = to_float(prev[i]);
      }
      f.eval(zf.data(), n, drift.data(), sigma.data());
      for (std::int64_t b = 0; b < n; ++b) {
        const double* prev = out.data() + ((c0 + b) * T + k - 1) * d;
        double* next = out.data() + ((c0 + b) * T + k) * d;
        // Every step draws d variates even for a non-finite state, so that the streams of
        // the other steps stay where they are.
        for (std::int64_t j = 0; j < d; ++j) xi[j] = noise[b]();
        const float* mu = drift.data() + b * d;
        const float* s = sigma.data() + b * d * d;
        for (std::int64_t i = 0; i < d; ++i) {
          double dw = 0.0;
          for (std::int64_t j = 0; j < d; ++j) dw += static_cast<double>(s[i * d + j]) * xi[j];
          next[i] = prev[i] + static_cast<double>(mu[i]) * dt + sqrt_dt * dw;
        }
      }
    }
    if (on_chunk) on_chunk(c0 + n, B);
  }
  return out;
}

}  // namespace macrodyn::macro
