#pragma once
// An equilibrium sampler: a Markov chain whose stationary law is a system's, used for the
// ground truth of finite-size scaling (docs/design.md §8.5.8). The equilibrium law does not
// depend on the dynamics, so a cluster algorithm (Wolff for the Ising models) may stand in
// for the system's own slow dynamics near a critical point; it never makes trajectories.
#include <cstdint>

#include "core/rng.hpp"

namespace macrodyn::systems {

class EquilibriumSampler {
 public:
  virtual ~EquilibriumSampler() = default;
  // Loads a state of the sampler's lattice (row-major, side^dim +-1 spins).
  virtual void load(const std::int8_t* x) = 0;
  // One update of the chain (a Wolff cluster flip); returns how many sites it changed.
  virtual std::int64_t update(Rng& rng) = 0;
  virtual std::int64_t sites() const = 0;
  // The magnetisation per site and the total energy of the current state.
  virtual double magnetisation() const = 0;
  virtual double energy() const = 0;
};

}  // namespace macrodyn::systems
