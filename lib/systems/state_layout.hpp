#pragma once
// What the bytes of a state mean (docs/design.md §3.2).
//
// Every state the pipeline moves (small runs, snapshots, patches, halos, truth frames,
// dataset tables) is voxel_bytes() bytes per voxel of a side-L grid, row-major, the
// bytes of a voxel together. The system says how to read them:
//  - spin: one signed byte, +1 or -1 (int8 tables);
//  - code: one byte 0 .. n-1 naming a species or an occupancy (uint8 tables, at most 127
//    codes so that the byte reads the same as int8);
//  - field: one float32 per channel (u, v, ...), the channels of a voxel adjacent
//    (float32 tables with a trailing channel axis).
// Voxels that are not sites (System::site_mask) hold `no_site` (codes only).
// Code outside lib/systems never reads a voxel's value: it copies voxel_bytes() per voxel.
#include <cstdint>
#include <string>
#include <vector>

namespace macrodyn::systems {

struct StateLayout {
  enum class Value { spin, code, field };
  Value value = Value::spin;
  std::vector<std::string> codes;     // Value::code: the name of each code 0 .. n-1
  std::uint8_t no_site = 0;           // the byte of a voxel that is not a site
  std::vector<std::string> channels = {};  // Value::field: the name of each float32 channel

  int voxel_bytes() const { return value == Value::field ? 4 * static_cast<int>(channels.size()) : 1; }
};

}  // namespace macrodyn::systems
