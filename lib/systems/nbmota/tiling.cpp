#include "systems/nbmota/tiling.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

#include "systems/nbmota/lattice.hpp"

namespace macrodyn::systems::nbmota {

namespace {

std::int8_t byte(std::uint8_t code) { return static_cast<std::int8_t>(code); }

// Relabels atoms of species a to b (or back) at random until a has `target` atoms: a
// partial Fisher-Yates draw of distinct atoms from the list of the relabelled species in
// voxel order, each chosen uniformly. The list is never built: the draw runs on list
// positions (a sparse map of the swapped ones), and the team finds where they are.
void balance(const LatticePart& x, std::uint8_t a, std::uint8_t b, std::int64_t target, Rng& rng,
             const TeamSums& team) {
  const std::int64_t count = count_holding(x, {byte(a)}, team)[0];
  if (count == target) return;
  const std::uint8_t from = count > target ? a : b, to = count > target ? b : a;
  const std::int64_t listed = count_holding(x, {byte(from)}, team)[0];
  const std::int64_t moves = std::min(count > target ? count - target : target - count, listed);
  std::unordered_map<std::int64_t, std::int64_t> swapped;  // list position -> entry there
  auto entry = [&](std::int64_t k) {
    const auto it = swapped.find(k);
    return it == swapped.end() ? k : it->second;
  };
  std::vector<std::int64_t> chosen(static_cast<std::size_t>(moves));
  for (std::int64_t k = 0; k < moves; ++k) {
    const auto pick = k + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(listed - k)));
    chosen[static_cast<std::size_t>(k)] = entry(pick);
    swapped[pick] = entry(k);
  }
  for (const std::int64_t v : nth_voxels_holding(x, byte(from), chosen, team)) {
    const Coord c = x.coords_of(v);
    if (x.holds(c)) x.data[x.local(c)] = byte(to);
  }
}

}  // namespace

void complete_tiling(const LatticePart& x, int Ls, const std::uint8_t* small, Rng& rng,
                     const System::FramePool* pool, const TeamSums& team) {
  const int L = x.L;
  if (L == Ls) return;
  const int f = L / Ls;
  const std::int64_t frame_voxels = static_cast<std::int64_t>(Ls) * Ls * Ls;
  const Coord& o = x.block.origin;
  const Coord& n = x.block.extent;
  const std::uint8_t* source = small;
  for (int a = 0; a < f; ++a)
    for (int b = 0; b < f; ++b)
      for (int c = 0; c < f; ++c) {
        if (pool && pool->frames_per_run > 0) {
          // A time-matched frame per tile: any run, a frame index within [t - 10, t + 10)
          // of the drawn frame's t, clipped to the run (method notes §6, step 1).
          const std::int64_t F = pool->frames_per_run, runs = pool->count / F, t = pool->source % F;
          const std::int64_t lo = std::max<std::int64_t>(0, t - 10), hi = std::min<std::int64_t>(F, t + 10);
          const auto run = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(runs)));
          const std::int64_t tt = lo + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(hi - lo)));
          source = reinterpret_cast<const std::uint8_t*>(pool->frames) + (run * F + tt) * frame_voxels;
        }
        int shift[3];
        for (int& s : shift) s = 2 * static_cast<int>(rng.below(static_cast<std::uint64_t>(Ls / 2)));
        // The tile's voxels in this part: [lo, hi) per axis, global coordinates.
        const int t[3] = {a * Ls, b * Ls, c * Ls};
        int lo[3], hi[3];
        bool empty = false;
        for (int d = 0; d < 3; ++d) {
          lo[d] = std::max(t[d], o[d]);
          hi[d] = std::min(t[d] + Ls, o[d] + n[d]);
          empty |= lo[d] >= hi[d];
        }
        if (empty) continue;
        for (int i = lo[0]; i < hi[0]; ++i)
          for (int j = lo[1]; j < hi[1]; ++j) {
            std::int8_t* row = x.data + x.local(Coord{i, j, lo[2]});
            for (int k = lo[2]; k < hi[2]; ++k)
              row[k - lo[2]] = byte(source[voxel(Ls, i - t[0] + shift[0], j - t[1] + shift[1], k - t[2] + shift[2])]);
          }
      }
  const auto counts = count_holding(x, {byte(kNb), byte(kMo), byte(kTa)}, team);
  const std::int64_t atoms = counts[0] + counts[1] + counts[2];
  if (atoms % 3 == 0) {
    balance(x, kNb, kMo, atoms / 3, rng, team);
    balance(x, kMo, kTa, atoms / 3, rng, team);
  }
}

void place_vacancies(const LatticePart& x, int Ls, const TeamSums& team) {
  const int L = x.L;
  if (L == Ls || Ls % 4 != 0) return;
  const int f = L / Ls;
  std::vector<std::int64_t> vacancies = voxels_holding(x, byte(kVacancy), team);
  const auto tiles = static_cast<std::size_t>(f) * f * f;
  if (vacancies.size() != tiles) return;
  // The codes at the tile centres (each held by one rank), then the swaps replayed on
  // the voxels they touch: the vacancies and the centres.
  std::vector<std::int64_t> centre(tiles), code(tiles, 0);
  for (std::size_t i = 0; i < tiles; ++i) {
    const int t = static_cast<int>(i);
    const Coord c{(t / (f * f)) * Ls + Ls / 2, ((t / f) % f) * Ls + Ls / 2, (t % f) * Ls + Ls / 2};
    centre[i] = x.index_of(c);
    if (x.holds(c)) code[i] = static_cast<std::uint8_t>(x.data[x.local(c)]);
  }
  team.sum(code.data(), code.size());
  std::unordered_map<std::int64_t, std::uint8_t> value;
  for (std::size_t i = 0; i < tiles; ++i) value[centre[i]] = static_cast<std::uint8_t>(code[i]);
  std::unordered_map<std::int64_t, std::size_t> vacancy_at;  // position -> index in `vacancies`
  for (std::size_t i = 0; i < tiles; ++i) {
    value[vacancies[i]] = kVacancy;
    vacancy_at[vacancies[i]] = i;
  }
  for (std::size_t i = 0; i < tiles; ++i) {
    const std::int64_t from = vacancies[i], to = centre[i];
    std::swap(value[from], value[to]);
    // A later vacancy that sat on this centre now sits where vacancy i was.
    const auto it = vacancy_at.find(to);
    if (it != vacancy_at.end() && it->second > i) {
      const std::size_t j = it->second;
      vacancy_at.erase(it);
      vacancies[j] = from;
      vacancy_at[from] = j;
    }
  }
  for (const auto& [v, code_here] : value) {
    const Coord c = x.coords_of(v);
    if (x.holds(c)) x.data[x.local(c)] = byte(code_here);
  }
}

System::PatchChoice choose_vacancy_tile(const ConstLatticePart& x, int p, Rng& rng, const TeamSums& team) {
  const Tiling tiling{3, x.L, p};
  const std::vector<std::int64_t> vacancies = voxels_holding(x, byte(kVacancy), team);
  if (vacancies.empty())
    return {static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(tiling.patches()))), 1.0};
  const int per_axis = x.L / p;
  auto tile_of = [&](std::int64_t v) {
    const Coord c = x.coords_of(v);
    return (static_cast<std::int64_t>(c[0] / p) * per_axis + c[1] / p) * per_axis + c[2] / p;
  };
  const std::int64_t I = tile_of(vacancies[static_cast<std::size_t>(rng.below(vacancies.size()))]);
  const auto in_tile = std::count_if(vacancies.begin(), vacancies.end(), [&](std::int64_t v) { return tile_of(v) == I; });
  const double q = static_cast<double>(in_tile) / static_cast<double>(vacancies.size());
  return {I, 1.0 / (static_cast<double>(tiling.patches()) * q)};
}

}  // namespace macrodyn::systems::nbmota
