#include "core/decomposition.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace macrodyn {

namespace {

void check_shape(int dim, int L, int p) {
  if (dim < 1 || dim > 3) throw InputError("team decomposition: dimension " + std::to_string(dim) + " is not 1, 2 or 3");
  if (p < 1 || L < 1 || L % p != 0)
    throw InputError("team decomposition: patch side " + std::to_string(p) + " does not divide the side " +
                     std::to_string(L));
}

std::string grid_text(int dim, const std::array<int, 3>& g) {
  std::string s = std::to_string(g[0]);
  for (int d = 1; d < dim; ++d) s += "x" + std::to_string(g[d]);
  return s;
}

}  // namespace

Decomposition Decomposition::with_grid(int dim, int L, int p, const std::array<int, 3>& grid) {
  check_shape(dim, L, p);
  const int per_axis = L / p;
  for (int d = 0; d < 3; ++d) {
    const bool ok = d < dim ? grid[d] >= 1 && per_axis % grid[d] == 0 : grid[d] == 1;
    if (!ok)
      throw InputError("team.size: a rank grid of " + grid_text(dim, grid) + " does not split the " +
                       std::to_string(per_axis) + " patches per axis (side " + std::to_string(L) +
                       ", patch " + std::to_string(p) + ") into whole patches");
  }
  Decomposition dec;
  dec.dim = dim;
  dec.L = L;
  dec.p = p;
  dec.ranks_per_axis = grid;
  return dec;
}

Decomposition Decomposition::choose(int dim, int L, int p, int team_size) {
  check_shape(dim, L, p);
  const int per_axis = L / p;
  // Block surface is proportional to the sum of the counts per axis (equal sides), so
  // the most cubic grid minimises that sum. Candidates come out with the first axis
  // largest first, so the first minimum found is the MPI_Dims_create-like one.
  std::array<int, 3> best{0, 0, 0};
  long best_sum = -1;
  // Counts are divisors of both team_size and per_axis: few, found in O(sqrt(team_size)).
  std::vector<int> divisors;
  for (int a = 1; team_size >= 1 && static_cast<long>(a) * a <= team_size; ++a)
    if (team_size % a == 0) {
      divisors.push_back(a);
      if (a != team_size / a) divisors.push_back(team_size / a);
    }
  std::sort(divisors.rbegin(), divisors.rend());
  for (int a : divisors) {
    if (per_axis % a != 0) continue;
    const int rest = team_size / a;
    if (dim == 1) {
      if (rest == 1) best_sum = a, best = {a, 1, 1};
      continue;
    }
    if (dim == 2) {
      if (per_axis % rest != 0) continue;
      const long sum = static_cast<long>(a) + rest;
      if (best_sum < 0 || sum < best_sum) best_sum = sum, best = {a, rest, 1};
      continue;
    }
    for (int b : divisors) {
      if (rest % b != 0 || per_axis % b != 0 || per_axis % (rest / b) != 0) continue;
      const long sum = static_cast<long>(a) + b + rest / b;
      if (best_sum < 0 || sum < best_sum) best_sum = sum, best = {a, b, rest / b};
    }
  }
  if (team_size < 1 || best_sum < 0)
    throw InputError("team.size = " + std::to_string(team_size) + " cannot split a side-" + std::to_string(L) +
                     " lattice of " + std::to_string(per_axis) + " patches per axis (patch " + std::to_string(p) +
                     ") into a rank grid of whole patches per rank");
  return with_grid(dim, L, p, best);
}

std::int64_t Decomposition::block_sites() const {
  std::int64_t n = 1;
  for (int d = 0; d < dim; ++d) n *= extent(d);
  return n;
}

Coord Decomposition::rank_coords(int rank) const {
  Coord c{0, 0, 0};
  for (int d = dim - 1; d >= 0; --d) {
    c[d] = rank % ranks_per_axis[d];
    rank /= ranks_per_axis[d];
  }
  return c;
}

int Decomposition::rank_at(const Coord& c) const {
  int r = 0;
  for (int d = 0; d < dim; ++d) {
    const int P = ranks_per_axis[d];
    r = r * P + ((c[d] % P) + P) % P;
  }
  return r;
}

Block Decomposition::block(int rank) const {
  const Coord c = rank_coords(rank);
  Block b;
  for (int d = 0; d < dim; ++d) {
    b.extent[d] = extent(d);
    b.origin[d] = c[d] * b.extent[d];
  }
  return b;
}

int Decomposition::owner(const Coord& site) const {
  Coord c{0, 0, 0};
  for (int d = 0; d < dim; ++d) c[d] = site[d] / extent(d);
  return rank_at(c);
}

std::int64_t Decomposition::patches_per_rank() const {
  std::int64_t n = 1;
  for (int d = 0; d < dim; ++d) n *= extent(d) / p;
  return n;
}

std::vector<std::int64_t> Decomposition::patches(int rank) const {
  const Block b = block(rank);
  const std::int64_t d_all = L / p;
  Coord n{1, 1, 1}, q0{0, 0, 0};
  for (int d = 0; d < dim; ++d) {
    n[d] = b.extent[d] / p;
    q0[d] = b.origin[d] / p;
  }
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(patches_per_rank()));
  // Row-major over the block's patch coordinates: global indices come out increasing.
  for (int a = 0; a < n[0]; ++a)
    for (int c = 0; c < n[1]; ++c)
      for (int e = 0; e < n[2]; ++e) {
        const Coord q{q0[0] + a, q0[1] + c, q0[2] + e};
        std::int64_t I = 0;
        for (int d = 0; d < dim; ++d) I = I * d_all + q[d];
        out.push_back(I);
      }
  return out;
}

int Decomposition::patch_owner(std::int64_t patch_index) const {
  return owner(tiling().origin(patch_index));
}

int smallest_team_size(int dim, int L, int p, std::int64_t max_sites_per_rank, int max_ranks) {
  check_shape(dim, L, p);
  const std::int64_t n = ipow(L, dim);
  const std::int64_t fewest = max_sites_per_rank < 1 ? n + 1 : (n + max_sites_per_rank - 1) / max_sites_per_rank;
  for (std::int64_t t64 = std::max<std::int64_t>(1, fewest); t64 <= max_ranks; ++t64) {
    const int t = static_cast<int>(t64);
    if (n % t != 0 || n / t > max_sites_per_rank) continue;
    try {
      Decomposition::choose(dim, L, p, t);
      return t;
    } catch (const InputError&) {
    }
  }
  throw InputError("team.size: no team of at most " + std::to_string(max_ranks) + " ranks splits a side-" +
                   std::to_string(L) + " lattice (patch " + std::to_string(p) + ") into blocks of at most " +
                   std::to_string(max_sites_per_rank) + " sites per rank");
}

}  // namespace macrodyn
