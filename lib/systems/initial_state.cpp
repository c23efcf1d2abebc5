#include "systems/initial_state.hpp"

#include <limits>

#include <cmath>

namespace macrodyn::systems {

double make_initial_state(std::int8_t* x, std::int64_t n, InitialKind kind, double m0, Rng& rng) {
  if (kind == InitialKind::all_up) {
    for (std::int64_t i = 0; i < n; ++i) x[i] = 1;
    return 1.0;
  }
  if (kind == InitialKind::random_m0) m0 = 2.0 * rng.uniform() - 1.0;
  const auto up = static_cast<std::int64_t>(std::floor((1.0 + m0) * static_cast<double>(n) / 2.0));
  for (std::int64_t i = 0; i < n; ++i) x[i] = i < up ? 1 : -1;
  // Fisher-Yates shuffle: every arrangement of `up` up spins equally likely.
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(i + 1)));
    const std::int8_t t = x[i];
    x[i] = x[j];
    x[j] = t;
  }
  return m0;
}

InitialCondition unset_condition() {
  InitialCondition c;
  c.fill(std::numeric_limits<double>::quiet_NaN());
  return c;
}

InitialCondition condition_of(double first) {
  InitialCondition c = unset_condition();
  c[0] = first;
  return c;
}

}  // namespace macrodyn::systems
