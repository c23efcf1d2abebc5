#include "sampling/hierarchy.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "sampling/upsample.hpp"

using namespace macrodyn::systems;

namespace macrodyn::sampling {

RelaxSpec relax_at_side(const RelaxSpec& relax, int side) {
  RelaxSpec r = relax;
  r.window = std::min(relax.window, side);
  if (r.stride == 0) r.stride = r.window / 2;
  return r;
}

RelaxSpec relax_at_level(const HierarchySpec& spec, int level) {
  RelaxSpec r = relax_at_side(spec.relax, spec.sides[static_cast<std::size_t>(level)]);
  if (spec.last_events > 0 && level + 1 == static_cast<int>(spec.sides.size())) r.events = spec.last_events;
  return r;
}

void build_level_snapshot(const System& system, Evolver& evolver, const HierarchySpec& spec, int level,
                          const std::int8_t* pool, std::int64_t pool_count, std::int64_t j,
                          std::int8_t* out, std::vector<std::int8_t>& stage_copy) {
  const int dim = system.dim();
  const int src_side = spec.sides[level - 1];
  const int side = spec.sides[level];
  Rng draw({spec.seed, Purpose::draw, static_cast<std::uint32_t>(level), static_cast<std::uint64_t>(j), 0});
  const auto src = static_cast<std::int64_t>(draw.below(static_cast<std::uint64_t>(pool_count)));
  upsample_level(system, pool + src * ipow(src_side, dim) * system.state_layout().voxel_bytes(), src_side, spec.factor,
                 out, spec.seed, static_cast<std::uint32_t>(level), static_cast<std::uint64_t>(j),
                 System::FramePool{pool, pool_count, spec.frames_per_run, src});
  local_relax(system, evolver, out, side, relax_at_level(spec, level), spec.seed,
              static_cast<std::uint32_t>(level), static_cast<std::uint64_t>(j), stage_copy);
  system.after_relax(LatticePart::whole(out, dim, side), src_side, SoloSums{});
}

std::vector<std::int64_t> draw_without_replacement(std::int64_t pool_count, std::int64_t count,
                                                   std::uint64_t seed) {
  // Partial Fisher-Yates on a sparse map: O(count) memory and time.
  Rng rng({seed, Purpose::draw, 0, 0, 0});
  std::unordered_map<std::int64_t, std::int64_t> moved;
  auto at = [&](std::int64_t i) {
    auto it = moved.find(i);
    return it == moved.end() ? i : it->second;
  };
  std::vector<std::int64_t> out(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t k = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(pool_count - i)));
    const std::int64_t vi = at(i), vk = at(k);
    out[static_cast<std::size_t>(i)] = vk;
    moved[k] = vi;
  }
  return out;
}

}  // namespace macrodyn::sampling
