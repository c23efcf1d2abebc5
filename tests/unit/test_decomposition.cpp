// Team decomposition (docs/design.md §6.2): rank grids of whole patches, blocks, owners, patches.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <vector>

#include "core/decomposition.hpp"
#include "core/error.hpp"
#include "core/lattice_part.hpp"
#include "core/rng.hpp"

using namespace macrodyn;

TEST_CASE("Decomposition chooses the most cubic grid of whole patches", "[decomposition]") {
  CHECK(Decomposition::choose(2, 64, 16, 1).ranks_per_axis == std::array<int, 3>{1, 1, 1});
  CHECK(Decomposition::choose(2, 64, 16, 2).ranks_per_axis == std::array<int, 3>{2, 1, 1});
  CHECK(Decomposition::choose(2, 64, 16, 4).ranks_per_axis == std::array<int, 3>{2, 2, 1});
  CHECK(Decomposition::choose(2, 64, 8, 8).ranks_per_axis == std::array<int, 3>{4, 2, 1});
  CHECK(Decomposition::choose(3, 64, 16, 8).ranks_per_axis == std::array<int, 3>{2, 2, 2});
  CHECK(Decomposition::choose(3, 64, 16, 4).ranks_per_axis == std::array<int, 3>{2, 2, 1});
  // 6 ranks on 6 patches per axis in 2D: 3 x 2 beats 6 x 1.
  CHECK(Decomposition::choose(2, 96, 16, 6).ranks_per_axis == std::array<int, 3>{3, 2, 1});
  // 4 patches per axis: 3 ranks cannot split them; 16 ranks in 2D only as 4 x 4.
  CHECK_THROWS_AS(Decomposition::choose(2, 64, 16, 3), InputError);
  CHECK(Decomposition::choose(2, 64, 16, 16).ranks_per_axis == std::array<int, 3>{4, 4, 1});
  CHECK_THROWS_AS(Decomposition::choose(2, 64, 16, 32), InputError);
  CHECK_THROWS_WITH(Decomposition::choose(2, 64, 16, 3), Catch::Contains("team.size"));
  CHECK_THROWS_WITH(Decomposition::with_grid(2, 64, 16, {3, 1, 1}), Catch::Contains("team.size"));
  CHECK_THROWS_AS(Decomposition::with_grid(2, 64, 16, {2, 2, 2}), InputError);  // 2D uses 2 axes
  CHECK(Decomposition::with_grid(2, 64, 16, {4, 1, 1}).team_size() == 4);
}

TEST_CASE("Decomposition blocks tile the lattice and owners agree with them", "[decomposition]") {
  for (int dim : {2, 3})
    for (int team : {1, 2, 4, 8}) {
      const int L = 16, p = 2;
      const auto dec = Decomposition::choose(dim, L, p, team);
      REQUIRE(dec.team_size() == team);
      std::int64_t sites = 0;
      for (int r = 0; r < team; ++r) {
        CHECK(dec.rank_at(dec.rank_coords(r)) == r);
        const Block b = dec.block(r);
        CHECK(b.sites() == dec.block_sites());
        sites += b.sites();
        // Every site of the block is owned by r, and the first rank-grid axis is slowest.
        for (int x = 0; x < b.extent[0]; ++x)
          for (int y = 0; y < b.extent[1]; ++y)
            for (int z = 0; z < b.extent[2]; ++z)
              CHECK(dec.owner(Coord{b.origin[0] + x, b.origin[1] + y, b.origin[2] + z}) == r);
      }
      CHECK(sites == ipow(L, dim));
    }
  // Row-major rank order, as MPI_Cart_create with reorder = 0.
  const auto dec = Decomposition::with_grid(2, 32, 4, {2, 4, 1});
  CHECK(dec.rank_coords(5) == Coord{1, 1, 0});
  CHECK(dec.block(5).origin == Coord{16, 8, 0});
  CHECK(dec.block(5).extent == Coord{16, 8, 1});
  CHECK(dec.rank_at(Coord{-1, 4, 0}) == 4);  // periodic
}

TEST_CASE("Decomposition gives every patch to exactly one rank, in increasing order", "[decomposition]") {
  for (int dim : {2, 3}) {
    const auto dec = Decomposition::choose(dim, 24, 3, dim == 2 ? 4 : 8);
    const Tiling tiling = dec.tiling();
    std::set<std::int64_t> seen;
    for (int r = 0; r < dec.team_size(); ++r) {
      const auto mine = dec.patches(r);
      CHECK(static_cast<std::int64_t>(mine.size()) == dec.patches_per_rank());
      for (std::size_t k = 0; k < mine.size(); ++k) {
        if (k > 0) CHECK(mine[k] > mine[k - 1]);
        CHECK(seen.insert(mine[k]).second);
        CHECK(dec.patch_owner(mine[k]) == r);
        CHECK(dec.owner(tiling.origin(mine[k])) == r);
      }
    }
    CHECK(static_cast<std::int64_t>(seen.size()) == tiling.patches());
  }
}

TEST_CASE("Decomposition smallest_team_size finds the fewest ranks that fit the memory", "[decomposition]") {
  CHECK(smallest_team_size(2, 64, 16, 64 * 64, 16) == 1);
  CHECK(smallest_team_size(2, 64, 16, 64 * 32, 16) == 2);
  CHECK(smallest_team_size(2, 64, 16, 64 * 64 / 3, 16) == 4);  // 3 ranks cannot split 4 patches
  CHECK(smallest_team_size(3, 64, 16, 32 * 32 * 32, 64) == 8);
  CHECK_THROWS_WITH(smallest_team_size(2, 64, 16, 100, 16), Catch::Contains("team.size"));
}

TEST_CASE("lattice part: the n-th voxel holding a value, counted in voxel order", "[decomposition]") {
  // One rank: the part is the whole lattice, the answers those of a plain scan (the
  // team's sums over several parts are held to the same in tests/mpi/test_team.cpp).
  for (int dim : {1, 2, 3}) {
    const int L = dim == 3 ? 12 : 20;
    std::vector<std::int8_t> x(static_cast<std::size_t>(ipow(L, dim)));
    Rng rng({5, Purpose::test, 0, static_cast<std::uint64_t>(dim), 0});
    for (auto& v : x) v = static_cast<std::int8_t>(rng.below(3));
    const ConstLatticePart part = ConstLatticePart::whole(x.data(), dim, L);
    std::vector<std::int64_t> where;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(x.size()); ++i)
      if (x[static_cast<std::size_t>(i)] == 2) where.push_back(i);
    CHECK(count_holding(part, {2, 0, 7}, SoloSums{}) ==
          std::vector<std::int64_t>{static_cast<std::int64_t>(where.size()),
                                    static_cast<std::int64_t>(std::count(x.begin(), x.end(), 0)), 0});
    CHECK(voxels_holding(part, 2, SoloSums{}) == where);
    const std::vector<std::int64_t> nths{0, 7, static_cast<std::int64_t>(where.size()) - 1, 3, 7};
    std::vector<std::int64_t> want;
    for (const std::int64_t n : nths) want.push_back(where[static_cast<std::size_t>(n)]);
    CHECK(nth_voxels_holding(part, 2, nths, SoloSums{}) == want);
    CHECK_THROWS_AS(nth_voxels_holding(part, 2, {static_cast<std::int64_t>(where.size())}, SoloSums{}),
                    std::out_of_range);
  }
}
