// Relax events per level (method notes §4: 32 events per window at the last level of the
// chain to L = 128): upsample.last_events sets the last level's events and only its.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "core/rng.hpp"
#include "sampling/hierarchy.hpp"
#include "systems/system.hpp"

using namespace macrodyn;
using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace {

// Level `level` snapshot j of `spec` from `pool` (count configurations of the level below).
std::vector<std::int8_t> level_snapshot(const System& sys, const HierarchySpec& spec, int level,
                                        const std::vector<std::int8_t>& pool, std::int64_t count, std::int64_t j) {
  auto ev = sys.make_evolver();
  const int side = spec.sides[static_cast<std::size_t>(level)];
  std::vector<std::int8_t> out(static_cast<std::size_t>(side * side)), stage;
  build_level_snapshot(sys, *ev, spec, level, pool.data(), count, j, out.data(), stage);
  return out;
}

}  // namespace

TEST_CASE("relax: upsample.last_events applies to the last level only", "[sampling][relax]") {
  const auto sys = make_system("ising2d", SystemParams{{"T", 2.27}, {"h", 0.0}});
  HierarchySpec many{{8, 16, 32}, 2, RelaxSpec{8, 4, 64, Boundary::frozen, 0}, 11, 0};
  HierarchySpec few = many;
  few.relax.events = 8;
  HierarchySpec last = many;
  last.last_events = 8;
  CHECK(relax_at_level(last, 1).events == 64);
  CHECK(relax_at_level(last, 2).events == 8);
  CHECK(relax_at_level(many, 2).events == 64);

  const std::int64_t count = 4;
  std::vector<std::int8_t> small(static_cast<std::size_t>(count * 64)), mid(static_cast<std::size_t>(count * 256));
  Rng rng({3, Purpose::test, 0, 0, 0});
  for (auto& s : small) s = rng.below(2) ? 1 : -1;
  for (auto& s : mid) s = rng.below(2) ? 1 : -1;
  for (std::int64_t j = 0; j < 3; ++j) {
    // Level 1 (not the last): last_events changes nothing.
    CHECK(level_snapshot(*sys, last, 1, small, count, j) == level_snapshot(*sys, many, 1, small, count, j));
    CHECK(level_snapshot(*sys, last, 1, small, count, j) != level_snapshot(*sys, few, 1, small, count, j));
    // Level 2 (the last): the few events' snapshot.
    CHECK(level_snapshot(*sys, last, 2, mid, count, j) == level_snapshot(*sys, few, 2, mid, count, j));
    CHECK(level_snapshot(*sys, last, 2, mid, count, j) != level_snapshot(*sys, many, 2, mid, count, j));
  }
}
