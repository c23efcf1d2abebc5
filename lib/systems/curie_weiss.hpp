#pragma once
// Curie-Weiss model: H = -(1/N) sum_{i<j} s_i s_j - h sum_i s_i, Glauber rates,
// dE_i = 2 s_i ((S - s_i)/N + h). The sites live on a D-dimensional index grid only so
// that patches and windows are defined; the dynamics ignore the geometry.
//
// Two-class O(1) selection: all up spins share one rate and all down spins another;
// both depend only on the number k of up spins in the box, so they are tabulated for
// k = 0..n when a box is loaded.
#include <cmath>
#include <cstdint>
#include <vector>

#include "systems/system.hpp"

namespace macrodyn::systems {

class CurieWeissEvolver final : public Evolver {
 public:
  CurieWeissEvolver(int dim, double beta, double h) : dim_(dim), beta_(beta), h_(h) {}

  // `periodic`: the box is an isolated Curie-Weiss system of w^D spins.
  // `global`: the box's spins feel S = (sum of stage_copy outside the box) + box sum,
  // with N = L^D, updated as they flip.
  void load(const std::int8_t* x, int L, const Coord& o, int w, Boundary b,
            const std::int8_t* stage_copy) override {
    w_ = w;
    n_ = ipow(w, dim_);
    s_.resize(n_);
    extract_box(x, dim_, L, o, w, s_.data());
    std::int64_t N = n_, S_rest = 0;
    if (b == Boundary::global) {
      N = ipow(L, dim_);
      std::int64_t total = 0;
      for (std::int64_t i = 0; i < N; ++i) total += stage_copy[i];
      S_rest = total - sum_box(stage_copy, dim_, L, o, w);
    }
    tabulate(N, S_rest);
    rebuild();
  }

  void load_periodic(const std::int8_t* box, int w) {
    w_ = w;
    n_ = ipow(w, dim_);
    s_.assign(box, box + n_);
    tabulate(n_, 0);
    rebuild();
  }

  double run_events(std::uint64_t n, Rng& rng) override { return run(n, rng, [](double) {}); }

  template <class OnWait>
  double run(std::uint64_t n, Rng& rng, OnWait&& on_wait) {
    double t = 0.0;
    for (std::uint64_t e = 0; e < n; ++e) {
      const std::int64_t k = count_[0];
      const double a_up = k * rate_up_[k];
      const double a_dn = (n_ - k) * rate_dn_[k];
      const double R = a_up + a_dn;
      const double x = rng.uniform() * R;
      std::int32_t site;
      if ((x < a_up && k > 0) || k == n_) {
        std::int64_t j = static_cast<std::int64_t>(x / rate_up_[k]);
        if (j >= k) j = k - 1;
        site = slot_[j];
      } else {
        std::int64_t j = static_cast<std::int64_t>((x - a_up) / rate_dn_[k]);
        if (j >= n_ - k) j = n_ - k - 1;
        if (j < 0) j = 0;
        site = slot_[n_ + j];
      }
      const double dt = rng.exponential() / R;
      on_wait(dt);
      t += dt;
      flip(site);
    }
    return t;
  }

  void heatbath_sweep(Rng& rng) override {
    for (std::int64_t i = 0; i < n_; ++i) {
      const std::int64_t k = count_[0];
      const double r = s_[i] > 0 ? rate_up_[k] : rate_dn_[k];
      if (rng.uniform() < r) flip(static_cast<std::int32_t>(i));
    }
  }

  const std::int8_t* box() const override { return s_.data(); }
  int side() const override { return w_; }
  void observables(double* g) const override {
    g[0] = static_cast<double>(2 * count_[0] - n_) / static_cast<double>(n_);
  }
  void store(std::int8_t* x, int L, const Coord& o) const override {
    insert_box(x, dim_, L, o, w_, s_.data());
  }

  std::int64_t up_count() const { return count_[0]; }
  std::int64_t sites() const { return n_; }
  // Magnetisation sum of the whole system the box belongs to.
  std::int64_t system_magnetisation_sum() const { return S_rest_ + 2 * count_[0] - n_; }
  double total_rate() const {
    const std::int64_t k = count_[0];
    return k * rate_up_[k] + (n_ - k) * rate_dn_[k];
  }

 private:
  void tabulate(std::int64_t N, std::int64_t S_rest) {
    if (N == tab_N_ && S_rest == S_rest_ && n_ == tab_n_) return;
    tab_N_ = N;
    S_rest_ = S_rest;
    tab_n_ = n_;
    rate_up_.resize(n_ + 1);
    rate_dn_.resize(n_ + 1);
    for (std::int64_t k = 0; k <= n_; ++k) {
      const double S = static_cast<double>(S_rest + 2 * k - n_);
      const double dE_up = 2.0 * ((S - 1.0) / static_cast<double>(N) + h_);
      const double dE_dn = -2.0 * ((S + 1.0) / static_cast<double>(N) + h_);
      rate_up_[k] = 1.0 / (1.0 + std::exp(beta_ * dE_up));
      rate_dn_[k] = 1.0 / (1.0 + std::exp(beta_ * dE_dn));
    }
  }

  // slot_[0..n): up spins in [0, count_[0]), down spins in [n, n + count_[1]).
  void rebuild() {
    slot_.resize(2 * n_);
    pos_.resize(n_);
    count_[0] = count_[1] = 0;
    for (std::int64_t i = 0; i < n_; ++i) {
      const int c = s_[i] > 0 ? 0 : 1;
      pos_[i] = count_[c];
      slot_[c * n_ + count_[c]++] = static_cast<std::int32_t>(i);
    }
  }

  void flip(std::int32_t i) {
    const int from = s_[i] > 0 ? 0 : 1, to = 1 - from;
    const std::int32_t last = slot_[from * n_ + --count_[from]];
    slot_[from * n_ + pos_[i]] = last;
    pos_[last] = pos_[i];
    pos_[i] = count_[to];
    slot_[to * n_ + count_[to]++] = i;
    s_[i] = static_cast<std::int8_t>(-s_[i]);
  }

  int dim_;
  double beta_, h_;
  int w_ = 0;
  std::int64_t n_ = 0;
  std::vector<std::int8_t> s_;
  std::vector<std::int32_t> slot_, pos_;
  std::int64_t count_[2] = {0, 0};
  std::vector<double> rate_up_, rate_dn_;
  std::int64_t tab_N_ = -1, tab_n_ = -1, S_rest_ = 0;
};

std::unique_ptr<System> make_curie_weiss(int dim, const SystemParams& params);
// Its [system] keys: T (temperature, k_B = J = 1) and h (external field).
std::vector<ParamSpec> curie_weiss_param_specs();

}  // namespace macrodyn::systems
