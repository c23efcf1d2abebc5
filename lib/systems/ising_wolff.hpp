#pragma once
// Wolff's single-cluster algorithm for the Ising model at h = 0 on a periodic side-L
// hypercubic lattice (U. Wolff, PRL 62, 361 (1989)): a cluster grown from a uniform seed
// site, adding each aligned neighbour with probability 1 - exp(-2 beta), then flipped.
// Detailed balance holds with respect to exp(-beta H), H = -sum_<ij> s_i s_j; near T_c
// the autocorrelation is a few cluster sweeps where single-spin dynamics needs L^2.17.
#include <cstdint>
#include <vector>

#include "systems/equilibrium.hpp"

namespace macrodyn::systems {

class WolffSampler final : public EquilibriumSampler {
 public:
  WolffSampler(int dim, int L, double beta);
  void load(const std::int8_t* x) override;
  std::int64_t update(Rng& rng) override;
  std::int64_t sites() const override { return n_; }
  double magnetisation() const override { return static_cast<double>(M_) / static_cast<double>(n_); }
  double energy() const override;
  const std::vector<std::int8_t>& spins() const { return s_; }

 private:
  int dim_, L_;
  std::int64_t n_;
  double p_add_;
  std::int64_t M_ = 0;  // sum of spins, kept up to date
  std::vector<std::int8_t> s_;
  std::vector<std::int64_t> stack_;
  std::int64_t stride_[3] = {0, 0, 0};
};

}  // namespace macrodyn::systems
