#pragma once
// The order in which an epoch visits n training items, for the lib/learn trainers:
// Fisher-Yates over the previous epoch's order, driven by a 64-bit Mersenne twister
// seeded with `seed` (its output is fixed by the C++ standard; the bounded draw is our
// own multiply-shift), so the same seed gives the same batches on every platform.
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace macrodyn::learn {

class EpochShuffle {
 public:
  EpochShuffle(std::int64_t n, std::uint64_t seed) : eng_(seed), order_(static_cast<std::size_t>(n)) {
    for (std::int64_t i = 0; i < n; ++i) order_[static_cast<std::size_t>(i)] = i;
  }

  // Reshuffles and returns the order of the next epoch.
  const std::vector<std::int64_t>& next() {
    for (std::int64_t i = static_cast<std::int64_t>(order_.size()) - 1; i > 0; --i) {
      const auto j = static_cast<std::int64_t>((static_cast<unsigned __int128>(eng_()) * static_cast<std::uint64_t>(i + 1)) >> 64);
      std::swap(order_[static_cast<std::size_t>(i)], order_[static_cast<std::size_t>(j)]);
    }
    return order_;
  }

 private:
  std::mt19937_64 eng_;
  std::vector<std::int64_t> order_;
};

}  // namespace macrodyn::learn
