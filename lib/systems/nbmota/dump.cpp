#include "systems/nbmota/dump.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "systems/nbmota/lattice.hpp"

namespace macrodyn::systems::nbmota {

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw InputError("the LAMMPS dump " + path + " " + what);
}

// The voxel index of a coordinate in Å, or -1 when it is not on the grid.
constexpr int kMaxSide = 1024;

int on_grid(double x) {
  const double v = x / kVoxelAngstrom;
  if (!(std::fabs(v) < 1e9)) return -1;  // NaN, infinite, or no voxel index
  const double r = std::round(v);
  return std::fabs(v - r) < 1e-3 ? static_cast<int>(r) : -1;
}

}  // namespace

AlloyCell read_lammps_dump(const std::string& path) {
  std::ifstream in(path);
  if (!in) bad(path, "cannot be read (missing or not a file)");
  std::string line;
  long long atoms = -1;
  double box = -1;
  int col_type = -1, col_x = -1, col_y = -1, col_z = -1, columns = 0;
  AlloyCell cell;
  long long seen = 0;
  bool in_atoms = false;
  while (std::getline(in, line)) {
    if (line.rfind("ITEM:", 0) == 0) {
      in_atoms = false;
      if (line.find("NUMBER OF ATOMS") != std::string::npos) {
        if (!std::getline(in, line) || !(std::istringstream(line) >> atoms) || atoms < 1)
          bad(path, "has no positive number after ITEM: NUMBER OF ATOMS");
      } else if (line.rfind("ITEM: BOX BOUNDS", 0) == 0) {
        for (int a = 0; a < 3; ++a) {
          double lo = 0, hi = 0;
          if (!std::getline(in, line) || !(std::istringstream(line) >> lo >> hi))
            bad(path, "has fewer than three box bounds after ITEM: BOX BOUNDS");
          if (lo != 0.0) bad(path, "has a box that does not start at 0 (axis " + std::to_string(a) + ")");
          if (a > 0 && std::fabs(hi - box) > 1e-6) bad(path, "has a box that is not cubic");
          box = hi;
        }
        const int N = on_grid(box);
        if (N < 2 || N % 2 != 0)
          bad(path, "has a box of " + std::to_string(box) + " Å, not a whole even number of 1.62 Å voxels");
        // A cell is held whole (N^3 bytes): refused before the allocation, not by it.
        if (N > kMaxSide)
          bad(path, "has a box of " + std::to_string(N) + " voxels per axis, more than " + std::to_string(kMaxSide) +
                        " (2^30 voxels); a start is a small cell");
        cell.N = N;
        cell.codes.assign(static_cast<std::size_t>(N) * N * N, kNoSite);
        for (int x = 0; x < N; ++x)
          for (int y = 0; y < N; ++y)
            for (int z = 0; z < N; ++z)
              if (is_site(x, y, z)) cell.codes[static_cast<std::size_t>(voxel(N, x, y, z))] = kVacancy;
      } else if (line.rfind("ITEM: ATOMS", 0) == 0) {
        std::istringstream h(line.substr(11));
        std::string name;
        for (int c = 0; h >> name; ++c, ++columns) {
          if (name == "type") col_type = c;
          if (name == "x") col_x = c;
          if (name == "y") col_y = c;
          if (name == "z") col_z = c;
        }
        if (col_type < 0 || col_x < 0 || col_y < 0 || col_z < 0)
          bad(path, "has no type, x, y and z columns in its ITEM: ATOMS line");
        if (cell.N == 0) bad(path, "lists atoms before its ITEM: BOX BOUNDS");
        in_atoms = true;
      }
      continue;
    }
    if (!in_atoms || line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream row(line);
    std::vector<double> v(static_cast<std::size_t>(columns));
    for (auto& x : v)
      if (!(row >> x)) bad(path, "has an atom line with fewer than " + std::to_string(columns) + " numbers: '" + line + "'");
    const double type = v[static_cast<std::size_t>(col_type)];
    if (type != 1 && type != 2 && type != 3) bad(path, "has an atom of type " + std::to_string(type) + " (Nb 1, Mo 2, Ta 3)");
    int idx[3];
    const int cols[3] = {col_x, col_y, col_z};
    for (int a = 0; a < 3; ++a) {
      idx[a] = on_grid(v[static_cast<std::size_t>(cols[a])]);
      if (idx[a] < 0 || idx[a] > cell.N)
        bad(path, "has an atom off the 1.62 Å voxel grid of its box: '" + line + "'");
    }
    if (!is_site(idx[0], idx[1], idx[2])) bad(path, "has an atom off the BCC sites: '" + line + "'");
    auto& code = cell.codes[static_cast<std::size_t>(voxel(cell.N, idx[0], idx[1], idx[2]))];
    if (code != kVacancy) bad(path, "has two atoms on one site: '" + line + "'");
    code = static_cast<std::uint8_t>(type);
    ++seen;
  }
  if (atoms < 0) bad(path, "has no ITEM: NUMBER OF ATOMS");
  if (cell.N == 0) bad(path, "has no ITEM: BOX BOUNDS");
  if (seen != atoms)
    bad(path, "lists " + std::to_string(seen) + " atoms, its header says " + std::to_string(atoms));
  return cell;
}

}  // namespace macrodyn::systems::nbmota
