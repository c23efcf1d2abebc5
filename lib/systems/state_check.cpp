#include "systems/state_check.hpp"

#include <cmath>
#include <cstring>

#include "core/geometry.hpp"

namespace macrodyn::systems {

StateCheck::StateCheck(const System& system, int L)
    : layout_(system.state_layout()), dim_(system.dim()), L_(L), mask_(static_cast<std::size_t>(ipow(L, dim_))) {
  system.site_mask(L, mask_.data());
}

// Whether voxel i holds what the layout allows (the cheap test; the sentence is built
// only for the first voxel that fails).
bool StateCheck::allowed(std::int64_t i, std::int8_t v) const {
  const auto byte = static_cast<std::uint8_t>(v);
  if (!mask_[static_cast<std::size_t>(i)]) return byte == layout_.no_site;
  if (layout_.value == StateLayout::Value::spin) return v == 1 || v == -1;
  return byte < layout_.codes.size();
}

// Fields: the first voxel (and its channel) holding a value that is not finite.
std::string StateCheck::field_problem(const std::int8_t* x) const {
  const auto n = static_cast<std::int64_t>(mask_.size());
  const auto channels = static_cast<std::int64_t>(layout_.channels.size());
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t ch = 0; ch < channels; ++ch) {
      float v;
      std::memcpy(&v, x + (i * channels + ch) * 4, 4);
      if (!std::isfinite(v))
        return "voxel " + voxel_name(i) + " holds " + layout_.channels[static_cast<std::size_t>(ch)] + " = " +
               std::to_string(v) + ", which is not a finite number";
    }
  return "";
}

std::string StateCheck::voxel_name(std::int64_t i) const {
  std::string at = "(";
  std::int64_t rest = i, stride = ipow(L_, dim_ - 1);
  for (int d = 0; d < dim_; ++d, rest %= stride, stride /= L_) at += (d ? ", " : "") + std::to_string(rest / stride);
  return at + ")";
}

std::string StateCheck::problem(const std::int8_t* x) const {
  if (layout_.value == StateLayout::Value::field) return field_problem(x);
  const auto n = static_cast<std::int64_t>(mask_.size());
  std::int64_t i = 0;
  while (i < n && allowed(i, x[i])) ++i;
  if (i == n) return "";
  const int byte = static_cast<std::uint8_t>(x[i]);
  std::string why;
  if (!mask_[static_cast<std::size_t>(i)])
    why = "which is not a site and must hold " + std::to_string(layout_.no_site);
  else if (layout_.value == StateLayout::Value::spin)
    why = "which is not a spin (+1 or -1)";
  else
    why = "which is not a code of this system (0 .. " + std::to_string(layout_.codes.size() - 1) + ")";
  const int shown = layout_.value == StateLayout::Value::spin ? static_cast<int>(x[i]) : byte;
  return "voxel " + voxel_name(i) + " holds " + std::to_string(shown) + ", " + why;
}

}  // namespace macrodyn::systems
