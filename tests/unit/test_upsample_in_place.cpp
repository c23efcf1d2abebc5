// In-place UPSAMPLE of a (possibly rectangular) block: what a team rank does to its
// block between levels (docs/design.md §6.3).
#include <catch2/catch.hpp>

#include <vector>

#include "core/geometry.hpp"
#include "core/rng.hpp"
#include "sampling/upsample.hpp"

using namespace macrodyn::sampling;

using namespace macrodyn;

namespace {

std::vector<std::int8_t> random_spins(std::int64_t n, std::uint64_t item) {
  Rng rng({5, Purpose::test, 0, item, 0});
  std::vector<std::int8_t> x(static_cast<std::size_t>(n));
  for (auto& s : x) s = rng.below(2) ? 1 : -1;
  return x;
}

}  // namespace

TEST_CASE("upsample in place equals upsample_blocks on square lattices", "[sampling][upsample]") {
  for (int dim : {2, 3})
    for (int m : {2, 3})
      for (int Ls : {1, 3, 8}) {
        const auto src = random_spins(ipow(Ls, dim), static_cast<std::uint64_t>(dim * 100 + m * 10 + Ls));
        std::vector<std::int8_t> expect(static_cast<std::size_t>(ipow(Ls * m, dim)));
        upsample_blocks(src.data(), dim, Ls, m, expect.data());
        std::vector<std::int8_t> buf(expect.size(), 0);
        std::copy(src.begin(), src.end(), buf.begin());
        upsample_blocks_in_place(buf.data(), dim, {Ls, Ls, Ls}, m);
        CHECK(buf == expect);
      }
}

TEST_CASE("upsample in place of a rectangular block equals the naive magnification", "[sampling][upsample]") {
  const std::array<int, 3> shapes[] = {{1, 5, 1}, {4, 2, 1}, {3, 7, 1}, {2, 3, 5}, {5, 1, 2}, {1, 1, 4}};
  for (int dim : {2, 3})
    for (int m : {2, 3})
      for (auto e : shapes) {
        if (dim == 2) e[2] = 1;
        const std::int64_t n = static_cast<std::int64_t>(e[0]) * e[1] * e[2];
        const auto src = random_spins(n, static_cast<std::uint64_t>(n * 7 + m + dim));
        std::array<std::int64_t, 3> E{e[0] * m, e[1] * m, dim == 3 ? e[2] * m : 1};
        std::vector<std::int8_t> expect(static_cast<std::size_t>(E[0] * E[1] * E[2]));
        for (std::int64_t x = 0; x < E[0]; ++x)
          for (std::int64_t y = 0; y < E[1]; ++y)
            for (std::int64_t z = 0; z < E[2]; ++z) {
              const std::int64_t sz = dim == 3 ? z / m : 0;
              expect[static_cast<std::size_t>((x * E[1] + y) * E[2] + z)] =
                  src[static_cast<std::size_t>(((x / m) * e[1] + y / m) * e[2] + sz)];
            }
        std::vector<std::int8_t> buf(expect.size(), 0);
        std::copy(src.begin(), src.end(), buf.begin());
        upsample_blocks_in_place(buf.data(), dim, e, m);
        CHECK(buf == expect);
      }
}
