#pragma once
// What the bytes of a state mean (docs/design.md §3.2).
//
// Every state the pipeline moves (small runs, snapshots, patches, halos, truth frames,
// dataset tables) is one byte per voxel of a side-L grid, row-major. The system says how
// to read that byte: a spin (+1 or -1, signed: int8 tables) or a code 0 .. n-1 naming a
// species or an occupancy (unsigned: uint8 tables, at most 127 codes so that the byte
// reads the same as int8). Voxels that are not sites (System::site_mask) hold `no_site`.
// Fields of floats with several channels per site are not states of this kind; they
// arrive with the predator-prey system's move onto the common pipeline.
#include <cstdint>
#include <string>
#include <vector>

namespace macrodyn::systems {

struct StateLayout {
  enum class Value { spin, code };
  Value value = Value::spin;
  std::vector<std::string> codes;  // Value::code: the name of each code 0 .. n-1
  std::uint8_t no_site = 0;        // the byte of a voxel that is not a site
};

}  // namespace macrodyn::systems
