#include "systems/state_check.hpp"

#include "core/geometry.hpp"

namespace macrodyn::systems {

StateCheck::StateCheck(const System& system, int L)
    : layout_(system.state_layout()), dim_(system.dim()), L_(L), mask_(static_cast<std::size_t>(ipow(L, dim_))) {
  system.site_mask(L, mask_.data());
}

std::string StateCheck::problem(const std::int8_t* x) const {
  const auto n = static_cast<std::int64_t>(mask_.size());
  const auto codes = static_cast<int>(layout_.codes.size());
  for (std::int64_t i = 0; i < n; ++i) {
    const int signed_value = x[i];
    const int byte = static_cast<std::uint8_t>(x[i]);
    std::string why;
    if (!mask_[static_cast<std::size_t>(i)]) {
      if (byte != layout_.no_site) why = "which is not a site and must hold " + std::to_string(layout_.no_site);
    } else if (layout_.value == StateLayout::Value::spin) {
      if (signed_value != 1 && signed_value != -1) why = "which is not a spin (+1 or -1)";
    } else if (byte >= codes) {
      why = "which is not a code of this system (0 .. " + std::to_string(codes - 1) + ")";
    }
    if (why.empty()) continue;
    std::string at = "(";
    std::int64_t rest = i, stride = ipow(L_, dim_ - 1);
    for (int d = 0; d < dim_; ++d, rest %= stride, stride /= L_)
      at += (d ? ", " : "") + std::to_string(rest / stride);
    const int shown = layout_.value == StateLayout::Value::spin ? signed_value : byte;
    return "voxel " + at + ") holds " + std::to_string(shown) + ", " + why;
  }
  return "";
}

}  // namespace macrodyn::systems
