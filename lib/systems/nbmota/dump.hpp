#pragma once
// Reads the alloy's starting cell from a LAMMPS text dump (method notes §6: "ITEM: BOX
// BOUNDS pp pp pp" of a cubic box, "ITEM: ATOMS id type x y z", types 1 = Nb, 2 = Mo,
// 3 = Ta, coordinates on the 1.62 Å voxel grid).
#include <cstdint>
#include <string>
#include <vector>

namespace macrodyn::systems::nbmota {

struct AlloyCell {
  int N = 0;                        // voxel grid side (even): N^3 voxels, N^3 / 4 sites
  std::vector<std::uint8_t> codes;  // [N^3]: species, kVacancy at a site without an atom, kNoSite
};

// InputError with one sentence naming the file and what is wrong: missing or unreadable,
// no or bad header items, a box that is not cubic from 0 or not a whole even number of
// voxels, an atom of unknown type, off the voxel grid or off the BCC sites, two atoms on one
// site, or an atom count other than the header's.
AlloyCell read_lammps_dump(const std::string& path);

}  // namespace macrodyn::systems::nbmota
