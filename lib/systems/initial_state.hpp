#pragma once
// Initial spin states (docs/design.md §8.2.2): floor((1 + m0) n / 2) up spins at uniformly
// random positions, the rest down; m0 ~ U(-1, 1) when not given; or all up. The default
// of System::initial_state and System::random_configuration (systems/system.hpp).
#include <array>
#include <cstdint>

#include "core/rng.hpp"

namespace macrodyn::systems {

enum class InitialKind { random_m0, given_m0, all_up };

// The values that name a run's initial condition, in the order of
// System::initial_condition_names() (m0 for spins; m and k for predator-prey). Entries
// past the system's count, and entries not given (NaN), are the system's to fill.
constexpr int kMaxInitialValues = 4;
using InitialCondition = std::array<double, kMaxInitialValues>;
InitialCondition unset_condition();  // every entry NaN
// The condition of one given value (truth.m0 for a spin system), the rest NaN.
InitialCondition condition_of(double first);

// Fills x[0..n) and returns the m0 used (1 for all up).
double make_initial_state(std::int8_t* x, std::int64_t n, InitialKind kind, double m0, Rng& rng);

}  // namespace macrodyn::systems
