#include "systems/nbmota/kmc.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "systems/nbmota/lattice.hpp"

namespace macrodyn::systems::nbmota {

namespace {

// Whether voxel a lies within the reach of the environment of voxel b on the side-n torus
// (Chebyshev distance <= kReach per axis, wrapping).
bool within_reach(std::int64_t a, std::int64_t b, int n) {
  const auto ca = coords(n, a), cb = coords(n, b);
  for (int ax = 0; ax < 3; ++ax) {
    const int d = wrap(ca[static_cast<std::size_t>(ax)] - cb[static_cast<std::size_t>(ax)], n);
    if (std::min(d, n - d) > BarrierModel::kReach) return false;
  }
  return true;
}

}  // namespace

AlloyKmc::AlloyKmc(const BarrierModel& model, double temperature_k)
    : AlloyKmc([&model](const std::uint8_t* codes, int n, std::int64_t v, float* e8) { model.barriers(codes, n, v, e8); },
               temperature_k) {}

AlloyKmc::AlloyKmc(BarrierFn barrier, double temperature_k)
    : barrier_fn_(std::move(barrier)), beta_(1.0 / (kBoltzmannEvPerK * temperature_k)) {
  if (!(temperature_k > 0) || !std::isfinite(temperature_k))
    throw std::invalid_argument("AlloyKmc: the temperature must be positive, got " + std::to_string(temperature_k));
}

void AlloyKmc::load(const std::uint8_t* codes, int n) {
  if (n < 2 || n % 2 != 0) throw std::invalid_argument("AlloyKmc: the box side must be even, got " + std::to_string(n));
  n_ = n;
  codes_.assign(codes, codes + static_cast<std::int64_t>(n) * n * n);
  vacancies_.clear();
  for (std::int64_t v = 0; v < static_cast<std::int64_t>(codes_.size()); ++v)
    if (codes_[static_cast<std::size_t>(v)] == kVacancy) vacancies_.push_back(v);
  barrier_.assign(vacancies_.size() * 8, 0.0f);
  rate_.assign(vacancies_.size() * 8, 0.0);
  vac_rate_.assign(vacancies_.size(), 0.0);
  hops_ = 0;
  for (std::size_t i = 0; i < vacancies_.size(); ++i) refresh(i);
}

void AlloyKmc::refresh(std::size_t i) {
  double sum = 0;
  float e8[8];
  barrier_fn_(codes_.data(), n_, vacancies_[i], e8);
  evaluations_ += 8;
  for (int k = 0; k < 8; ++k) {
    const float e = e8[k];
    const double r = std::isinf(e) ? 0.0 : kAttemptFrequency * std::exp(-beta_ * static_cast<double>(e));
    barrier_[i * 8 + static_cast<std::size_t>(k)] = e;
    rate_[i * 8 + static_cast<std::size_t>(k)] = r;
    sum += r;
  }
  vac_rate_[i] = sum;
}

double AlloyKmc::total_rate() const {
  double R = 0;
  for (double r : vac_rate_) R += r;
  return R;
}

double AlloyKmc::run_hops(std::uint64_t hops, Rng& rng) {
  double t = 0;
  for (std::uint64_t h = 0; h < hops; ++h) {
    const double R = total_rate();
    if (!(R > 0)) break;
    t += hop(R, rng, waiting_ == WaitingTime::mean_residence ? 1.0 / R : -1.0);
  }
  return t;
}

double AlloyKmc::run_for(double duration, Rng& rng) {
  if (!(duration >= 0) || !std::isfinite(duration))
    throw std::invalid_argument("AlloyKmc::run_for: the duration must be finite and >= 0");
  double t = 0;
  for (;;) {
    const double R = total_rate();
    if (!(R > 0)) break;
    const double wait = waiting_ == WaitingTime::mean_residence ? 1.0 / R : rng.exponential() / R;
    if (t + wait > duration) break;
    t += hop(R, rng, wait);
  }
  return duration;
}

double AlloyKmc::hop(double R, Rng& rng, double wait) {
  // The first (vacancy, direction) whose cumulative rate exceeds u R; rounding at the
  // end of a sum falls back to the last positive rate.
  double u = rng.uniform() * R;
  std::size_t i = vac_rate_.size(), last_i = 0;
  for (std::size_t j = 0; j < vac_rate_.size(); ++j) {
    if (vac_rate_[j] == 0.0) continue;
    last_i = j;
    if (u < vac_rate_[j]) {
      i = j;
      break;
    }
    u -= vac_rate_[j];
  }
  if (i == vac_rate_.size()) i = last_i;
  int k = -1, last_k = 0;
  for (int q = 0; q < 8; ++q) {
    const double r = rate_[i * 8 + static_cast<std::size_t>(q)];
    if (r == 0.0) continue;
    last_k = q;
    if (u < r) {
      k = q;
      break;
    }
    u -= r;
  }
  if (k < 0) k = last_k;
  // wait < 0: draw the waiting time after the choice (run_hops); else it is given.
  const double dt = wait >= 0 ? wait : rng.exponential() / R;
  // The hop: the atom at the target moves into the vacancy.
  const std::int64_t from = vacancies_[i];
  const auto c = coords(n_, from);
  const auto& d = kHops[static_cast<std::size_t>(k)];
  const std::int64_t to = voxel(n_, c[0] + d[0], c[1] + d[1], c[2] + d[2]);
  codes_[static_cast<std::size_t>(from)] = codes_[static_cast<std::size_t>(to)];
  codes_[static_cast<std::size_t>(to)] = kVacancy;
  vacancies_[i] = to;
  ++hops_;
  // Barriers whose environment holds `from` or `to`: the moved vacancy's, and its neighbours'.
  for (std::size_t j = 0; j < vacancies_.size(); ++j)
    if (j == i || within_reach(from, vacancies_[j], n_) || within_reach(to, vacancies_[j], n_)) refresh(j);
  return dt;
}

}  // namespace macrodyn::systems::nbmota
