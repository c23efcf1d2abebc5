#pragma once
// The check of a state against its system's layout and site mask (docs/design.md §3.2),
// run on every state read from a file before it is used (train, encode, evaluate).
#include <cstdint>
#include <string>
#include <vector>

#include "systems/system.hpp"

namespace macrodyn::systems {

class StateCheck {
 public:
  // The checks of side-L states of `system` (its layout and mask, taken once).
  StateCheck(const System& system, int L);

  // "" when every voxel of x (state_bytes() bytes) holds what the layout allows (a spin
  // or a code on a site, no_site elsewhere, finite field values); otherwise the first
  // fault as a phrase, e.g. "voxel (3, 4) holds 5, which is not a spin (+1 or -1)".
  std::string problem(const std::int8_t* x) const;

  // Voxels per state (side^dim).
  std::int64_t sites() const { return static_cast<std::int64_t>(mask_.size()); }
  // Bytes per state (sites() x the layout's voxel bytes).
  std::int64_t state_bytes() const { return sites() * layout_.voxel_bytes(); }

 private:
  bool allowed(std::int64_t i, std::int8_t v) const;
  std::string field_problem(const std::int8_t* x) const;
  std::string voxel_name(std::int64_t i) const;  // "(3, 4)"

  StateLayout layout_;
  int dim_, L_;
  std::vector<std::uint8_t> mask_;  // 1: a site
};

}  // namespace macrodyn::systems
