#pragma once
// Vacancy kinetic Monte Carlo of the NbMoTa alloy (method notes §6) on a periodic box: the
// whole grid, or a tile evolved as its own torus (partial evolution, relax windows).
//
// Every vacancy v and hop direction k has the rate 10^13 exp(-E_vk / (k_B T)), 0 when the
// target is vacant. One hop: choose (v, k) with probability rate / R (rejection-free, R the
// total rate), advance time by an Exp(R) draw (the reference uses the mean 1/R: docs/design.md
// §8.7), swap. Barriers are cached per (vacancy, direction) and recomputed only for the
// vacancies whose 9^3 environment holds one of the two sites a hop changed: about 8 network
// evaluations per hop at 1/1024 vacancy concentration. Selection scans the per-vacancy
// totals, then the 8 directions: O(vacancies), a few hundred additions at most for the sizes
// of the notes. All randomness from the caller's Rng, so a run is its work item's.
#include <cstdint>
#include <functional>
#include <vector>

#include "core/rng.hpp"
#include "systems/nbmota/barrier_model.hpp"

namespace macrodyn::systems::nbmota {

class AlloyKmc {
 public:
  // E (eV) of the 8 hops d0 ... d7 of the vacancy at voxel v of the periodic side-n box
  // (+inf: no hop) into e8. It must depend only on the box within BarrierModel::kReach of v
  // (the cache relies on it).
  using BarrierFn = std::function<void(const std::uint8_t* codes, int n, std::int64_t v, float* e8)>;

  AlloyKmc(const BarrierModel& model, double temperature_k);
  // Any barrier function, e.g. a stand-in whose rates satisfy detailed balance (tests).
  AlloyKmc(BarrierFn barrier, double temperature_k);

  // Loads the periodic side-n box `codes` (n even) and computes every barrier.
  void load(const std::uint8_t* codes, int n);

  // How a hop advances time: an Exp(R) draw (the default, exact for the jump process), or
  // the mean residence time 1/R (the reference's variant, method notes §6).
  enum class WaitingTime { exponential, mean_residence };
  void set_waiting_time(WaitingTime w) { waiting_ = w; }

  // `hops` hops (fewer if no hop is possible: R = 0); returns the physical time elapsed (s).
  double run_hops(std::uint64_t hops, Rng& rng);
  // Advances by exactly `duration` seconds: the hops whose waiting times add up to at most
  // it; the waiting time that would cross it is dropped (memorylessness of Exp(R)), so the
  // box holds the state of that time. Returns `duration`.
  double run_for(double duration, Rng& rng);

  const std::vector<std::uint8_t>& codes() const { return codes_; }
  int side() const { return n_; }
  const std::vector<std::int64_t>& vacancies() const { return vacancies_; }
  // The total rate R of the current state (s^-1) and the hops made since load.
  double total_rate() const;
  std::uint64_t hops() const { return hops_; }
  std::uint64_t barrier_evaluations() const { return evaluations_; }

  // The cached barrier of vacancy i (in vacancies()) toward d_k.
  float cached_barrier(std::size_t i, int k) const { return barrier_[i * 8 + static_cast<std::size_t>(k)]; }

 private:
  void refresh(std::size_t i);  // the 8 barriers and rates of vacancy i
  // One hop at total rate R > 0; returns its waiting time (`wait`, or an Exp(R) draw after
  // the choice when wait < 0).
  double hop(double R, Rng& rng, double wait);
  BarrierFn barrier_fn_;
  double beta_;  // 1 / (k_B T) in 1/eV
  int n_ = 0;
  std::vector<std::uint8_t> codes_;
  std::vector<std::int64_t> vacancies_;
  std::vector<float> barrier_;     // [vacancies][8]
  std::vector<double> rate_;       // [vacancies][8]
  std::vector<double> vac_rate_;   // [vacancies]: the sum of its 8, in direction order
  std::uint64_t hops_ = 0, evaluations_ = 0;
  WaitingTime waiting_ = WaitingTime::exponential;
};

}  // namespace macrodyn::systems::nbmota
