#pragma once
// Ising model on a D-dimensional simple hypercubic lattice (J = 1, field h), Glauber
// rates r = 1 / (1 + exp(beta dE)), dE = 2 s_i (sum_nn s_j + h).
//
// Continuous-time dynamics use the n-fold way: every site is in one of 2 (2D + 1)
// classes (its spin x the sum of its neighbours), all sites of a class have the same
// rate, and a class keeps its members in a dense list with O(1) insert and remove.
// An event picks a class with probability count*rate / R (at most 14 classes), then a
// member uniformly, flips it and re-files it and its 2D neighbours: O(1) per event.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "systems/system.hpp"

namespace macrodyn::systems {

template <int D>
class IsingEvolver final : public Evolver {
 public:
  static constexpr int Z = 2 * D;            // coordination number
  static constexpr int NC = 2 * (Z + 1);     // classes: spin x neighbour sum

  IsingEvolver(double beta, double h) : beta_(beta), h_(h) {
    for (int c = 0; c < NC; ++c) {
      const int s = c <= Z ? 1 : -1;
      const int nsum = 2 * (c % (Z + 1)) - Z;
      const double dE = 2.0 * s * (nsum + h);
      rate_[c] = 1.0 / (1.0 + std::exp(beta * dE));
      inv_rate_[c] = 1.0 / rate_[c];
    }
  }

  void load(const std::int8_t* x, int L, const Coord& o, int w, Boundary b,
            const std::int8_t* stage_copy) override {
    set_shape(w, b);
    extract_box(x, D, L, o, w, s_.data());
    if (b == Boundary::frozen) {
      for (std::size_t k = 0; k < halo_coord_.size(); ++k) {
        Coord c = halo_coord_[k];
        std::int64_t i = 0;
        for (int d = 0; d < D; ++d) i = i * L + ((o[d] + c[d]) % L + L) % L;
        s_[n_ + k] = stage_copy[i];
      }
    }
    rebuild();
  }

  // Load an isolated periodic box (tests, full-lattice runs).
  void load_periodic(const std::int8_t* box, int w) {
    set_shape(w, Boundary::periodic);
    for (std::int64_t i = 0; i < n_; ++i) s_[i] = box[i];
    rebuild();
  }

  double run_events(std::uint64_t n, Rng& rng) override {
    return run(n, rng, [](double) {});
  }

  // Exactly `duration` of physical time (Evolver::run_for): each waiting time is drawn
  // before its event, which happens only if it ends within the duration (the crossing
  // wait is dropped: memorylessness). The same law as run_events' events, other draws.
  double run_for(double duration, Rng& rng) override {
    if (!(duration >= 0) || !std::isfinite(duration))
      throw std::invalid_argument("IsingEvolver::run_for: the duration must be finite and >= 0");
    double t = 0.0;
    for (;;) {
      double cum[NC];
      const double R = cumulative_rates(cum);
      if (!(R > 0)) break;
      const double dt = rng.exponential() / R;
      if (t + dt > duration) break;
      t += dt;
      flip(chosen_site(cum, rng.uniform() * R));
    }
    return duration;
  }

  // Same as run_events; on_wait(dt) is called with each waiting time while the state it
  // applies to is still current (for time-weighted averages in tests).
  template <class OnWait>
  double run(std::uint64_t n, Rng& rng, OnWait&& on_wait) {
    double t = 0.0;
    for (std::uint64_t e = 0; e < n; ++e) {
      double cum[NC];
      const double R = cumulative_rates(cum);
      const std::int32_t site = chosen_site(cum, rng.uniform() * R);
      const double dt = rng.exponential() / R;
      on_wait(dt);
      t += dt;
      flip(site);
    }
    return t;
  }

  void heatbath_sweep(Rng& rng) override {
    for (std::int64_t i = 0; i < n_; ++i)
      if (rng.uniform() < rate_[cls_[i]]) flip(static_cast<std::int32_t>(i));
  }

  const std::int8_t* box() const override { return s_.data(); }
  int side() const override { return w_; }
  std::int64_t sites() const { return n_; }

  void observables(double* g) const override {
    g[0] = static_cast<double>(M_) / n_;
    std::int64_t unsat = 0;
    for (std::int64_t i = 0; i < n_; ++i)
      for (int d = 0; d < D; ++d) unsat += s_[i] != s_[nb_[i * Z + 2 * d]];
    g[1] = static_cast<double>(unsat) / (static_cast<double>(D) * n_);
  }

  void store(std::int8_t* x, int L, const Coord& o) const override {
    insert_box(x, D, L, o, w_, s_.data());
  }

  // Exact integer bookkeeping for tests: magnetisation sum and bond sum (bonds to a
  // frozen halo included); energy = -bonds - h M.
  std::int64_t magnetisation_sum() const { return M_; }
  std::int64_t bond_sum() const { return bonds_; }
  double energy() const { return -static_cast<double>(bonds_) - h_ * static_cast<double>(M_); }
  double total_rate() const {
    double R = 0.0;
    for (int c = 0; c < NC; ++c) R += static_cast<double>(count_[c]) * rate_[c];
    return R;
  }

 private:
  // Cumulative class weights into cum; returns R, the last one.
  double cumulative_rates(double* cum) const {
    double R = 0.0;
    for (int c = 0; c < NC; ++c) {
      R += static_cast<double>(count_[c]) * rate_[c];
      cum[c] = R;
    }
    return R;
  }
  // The site at x in [0, R): its class is the number of cumulative weights <= x (branchless;
  // empty classes are skipped because their cumulative weight equals the previous one),
  // then a member uniformly from the remainder.
  std::int32_t chosen_site(const double* cum, double x) const {
    int c = 0;
    for (int k = 0; k < NC - 1; ++k) c += x >= cum[k];
    while (count_[c] == 0) --c;  // rounding at the top end: last non-empty class
    const double acc = c > 0 ? cum[c - 1] : 0.0;
    std::int64_t k = static_cast<std::int64_t>((x - acc) * inv_rate_[c]);
    if (k >= count_[c]) k = count_[c] - 1;
    if (k < 0) k = 0;
    return list_[c][k];
  }

  static int class_of(int s, int nsum) { return (s > 0 ? 0 : Z + 1) + (nsum + Z) / 2; }

  // Neighbour table for side w under boundary b: periodic wraps inside the box; frozen
  // points outside neighbours at halo entries stored after the n box sites.
  // Neighbour order per site: axis 0 (-, +), axis 1 (-, +), ...
  void set_shape(int w, Boundary b) {
    if (w == w_ && b == b_) return;
    w_ = w;
    b_ = b;
    n_ = ipow(w, D);
    nb_.assign(n_ * Z, 0);
    halo_coord_.clear();
    std::int64_t stride[D];
    stride[D - 1] = 1;
    for (int d = D - 2; d >= 0; --d) stride[d] = stride[d + 1] * w;
    for (std::int64_t i = 0; i < n_; ++i) {
      Coord c{0, 0, 0};
      for (int d = 0; d < D; ++d) c[d] = static_cast<int>((i / stride[d]) % w);
      for (int d = 0; d < D; ++d)
        for (int dir = 0; dir < 2; ++dir) {
          const int step = dir == 0 ? -1 : 1;
          const int cd = c[d] + step;
          std::int64_t j;
          if (cd >= 0 && cd < w) {
            j = i + step * stride[d];
          } else if (b == Boundary::frozen) {
            Coord hc = c;
            hc[d] = cd;
            j = n_ + static_cast<std::int64_t>(halo_coord_.size());
            halo_coord_.push_back(hc);
          } else {
            j = i + step * stride[d] - step * stride[d] * w;
          }
          nb_[i * Z + 2 * d + dir] = static_cast<std::int32_t>(j);
        }
    }
    s_.assign(n_ + halo_coord_.size(), 1);
    cls_.assign(n_, 0);
    pos_.assign(n_, 0);
    slot_.assign(NC * n_, 0);
    for (int c = 0; c < NC; ++c) list_[c] = slot_.data() + c * n_;
  }

  void rebuild() {
    for (int c = 0; c < NC; ++c) count_[c] = 0;
    M_ = 0;
    std::int64_t bonds2 = 0;
    for (std::int64_t i = 0; i < n_; ++i) {
      int sum = 0;
      for (int k = 0; k < Z; ++k) sum += s_[nb_[i * Z + k]];
      M_ += s_[i];
      // Bonds inside the box are seen from both ends, halo bonds from one.
      for (int k = 0; k < Z; ++k) {
        const std::int32_t j = nb_[i * Z + k];
        bonds2 += (j < n_ ? 1 : 2) * s_[i] * s_[j];
      }
      const int c = class_of(s_[i], sum);
      cls_[i] = static_cast<std::uint8_t>(c);
      pos_[i] = count_[c];
      slot_[c * n_ + count_[c]++] = static_cast<std::int32_t>(i);
    }
    bonds_ = bonds2 / 2;
  }

  void move(std::int32_t i, int to) {
    const int from = cls_[i];
    std::int32_t* from_list = list_[from];
    std::int32_t* to_list = list_[to];
    const std::int32_t p = pos_[i];
    const std::int32_t last = from_list[--count_[from]];
    from_list[p] = last;
    pos_[last] = p;
    pos_[i] = count_[to];
    to_list[count_[to]++] = i;
    cls_[i] = static_cast<std::uint8_t>(to);
  }

  // The class of a site encodes its spin and neighbour sum, so a flip needs no other
  // per-site state: the flipped site changes spin block, each neighbour's sum moves by
  // -2 s, i.e. its class index by -s.
  void flip(std::int32_t i) {
    const int c = cls_[i];
    const int s = c <= Z ? 1 : -1;
    const int nsum = 2 * (c % (Z + 1)) - Z;
    s_[i] = static_cast<std::int8_t>(-s);
    M_ -= 2 * s;
    bonds_ -= 2 * s * nsum;
    move(i, c + s * (Z + 1));
    const std::int32_t* nb = &nb_[static_cast<std::int64_t>(i) * Z];
    for (int k = 0; k < Z; ++k) {
      const std::int32_t j = nb[k];
      if (j >= n_) continue;  // frozen halo
      move(j, cls_[j] - s);
    }
  }

  double beta_, h_;
  double rate_[NC];
  int w_ = 0;
  Boundary b_ = Boundary::periodic;
  std::int64_t n_ = 0;
  std::vector<std::int8_t> s_;        // n box sites, then frozen halo entries
  std::vector<std::uint8_t> cls_;     // class per box site (encodes spin and neighbour sum)
  std::vector<std::int32_t> pos_;     // position in its class list
  std::vector<std::int32_t> slot_;    // NC lists of capacity n
  std::vector<std::int32_t> nb_;      // Z neighbours per site
  std::vector<Coord> halo_coord_;     // box-relative coordinates of halo entries
  std::int32_t count_[NC] = {};
  std::int32_t* list_[NC] = {};      // list_[c] = &slot_[c * n]
  double inv_rate_[NC];
  std::int64_t M_ = 0;
  std::int64_t bonds_ = 0;
};

// Patch observables (m, rho) of a side-p box of a side-L lattice as the box is evolved:
// rho = fraction of unsatisfied bonds (i, i - e_d), wrapping inside the box for
// `periodic`, reading the real lower neighbour for `frozen`.
void ising_patch_observables(int dim, const std::int8_t* x, int L, const Coord& o, int p,
                             Boundary b, double* g);

std::unique_ptr<System> make_ising(int dim, const SystemParams& params);
// Its [system] keys: T (temperature, k_B = J = 1) and h (external field).
std::vector<ParamSpec> ising_param_specs();

}  // namespace macrodyn::systems
