// The learner's replay buffer: FIFO order, capacity bound, reservoir inclusion
// probabilities, reproducible sampling.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "learn/replay_buffer.hpp"

using macrodyn::learn::ReplayBuffer;
using macrodyn::learn::ReplayMode;

namespace {

// Rows of 16 bytes: the item number and a checksum, so a torn copy would show.
struct Row {
  std::int64_t item;
  std::int32_t check;
};
static_assert(sizeof(Row) == 16, "padded row");

Row make_row(std::int64_t k) { return Row{k, static_cast<std::int32_t>(k * 7 + 3)}; }

Row read(const ReplayBuffer& b, std::size_t slot) {
  Row r;
  std::memcpy(&r, b.row(slot), sizeof r);
  return r;
}

}  // namespace

TEST_CASE("fifo keeps the latest capacity rows, oldest overwritten first", "[replay]") {
  ReplayBuffer b(10, sizeof(Row), ReplayMode::fifo, 1);
  CHECK(b.size() == 0);
  CHECK(b.capacity() == 10);
  for (std::int64_t k = 0; k < 25; ++k) {
    const Row r = make_row(k);
    CHECK(b.insert(&r) == static_cast<std::size_t>(k % 10));
    CHECK(b.size() == static_cast<std::size_t>(std::min<std::int64_t>(k + 1, 10)));
    CHECK(b.seen() == static_cast<std::uint64_t>(k + 1));
  }
  // Slot i holds the newest item k <= 24 with k % 10 == i: items 15..24.
  for (std::size_t i = 0; i < 10; ++i) {
    const Row r = read(b, i);
    const std::int64_t want = i < 5 ? 20 + static_cast<std::int64_t>(i) : 10 + static_cast<std::int64_t>(i);
    CHECK(r.item == want);
    CHECK(r.check == make_row(want).check);
  }
  CHECK_THROWS_AS(b.row(10), std::out_of_range);
}

TEST_CASE("reservoir never exceeds its capacity and keeps whole rows", "[replay]") {
  ReplayBuffer b(8, sizeof(Row), ReplayMode::reservoir, 5);
  for (std::int64_t k = 0; k < 1000; ++k) {
    const Row r = make_row(k);
    const std::size_t slot = b.insert(&r);
    if (k < 8) CHECK(slot == static_cast<std::size_t>(k));  // filling phase keeps everything
    CHECK((slot == ReplayBuffer::npos || slot < 8));
    CHECK(b.size() == static_cast<std::size_t>(std::min<std::int64_t>(k + 1, 8)));
  }
  std::vector<std::int64_t> items;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const Row r = read(b, i);
    CHECK(r.check == make_row(r.item).check);
    CHECK(r.item >= 0);
    CHECK(r.item < 1000);
    items.push_back(r.item);
  }
  std::sort(items.begin(), items.end());
  CHECK(std::adjacent_find(items.begin(), items.end()) == items.end());  // no duplicates
}

TEST_CASE("reservoir holds every item with probability capacity / seen", "[replay]") {
  // Algorithm R: after N insertions each item is kept with probability C/N. Count over
  // R independent buffers (different seeds); each count is Binomial(R, C/N), so its
  // standard error is sqrt(R p (1-p)); every item must be within 4 of them.
  const std::size_t C = 10;
  const int N = 50, R = 20000;
  std::vector<int> kept(N, 0);
  for (int rep = 0; rep < R; ++rep) {
    ReplayBuffer b(C, sizeof(Row), ReplayMode::reservoir, 1000 + static_cast<std::uint64_t>(rep));
    for (int k = 0; k < N; ++k) {
      const Row r = make_row(k);
      b.insert(&r);
    }
    REQUIRE(b.size() == C);
    for (std::size_t i = 0; i < C; ++i) ++kept[read(b, i).item];
  }
  const double p = static_cast<double>(C) / N;
  const double se = std::sqrt(R * p * (1 - p));
  for (int k = 0; k < N; ++k) {
    INFO("item " << k << " kept " << kept[k] << " times, expected " << R * p << " +- " << se);
    CHECK(std::fabs(kept[k] - R * p) < 4 * se);
  }
}

TEST_CASE("sampling is uniform and reproducible from the step number", "[replay]") {
  auto fill = [](ReplayBuffer& b) {
    for (std::int64_t k = 0; k < 300; ++k) {
      const Row r = make_row(k);
      b.insert(&r);
    }
  };
  ReplayBuffer a(64, sizeof(Row), ReplayMode::reservoir, 9), b(64, sizeof(Row), ReplayMode::reservoir, 9);
  ReplayBuffer other_stream(64, sizeof(Row), ReplayMode::reservoir, 9, 1);
  fill(a);
  fill(b);
  fill(other_stream);
  // Same seed and insertions: same contents.
  for (std::size_t i = 0; i < 64; ++i) CHECK(read(a, i).item == read(b, i).item);

  std::vector<std::size_t> x, y, z;
  a.sample(256, 17, x);
  b.sample(256, 17, y);
  CHECK(x == y);                  // a replay redraws the same indices
  a.sample(256, 17, y);
  CHECK(x == y);                  // and sampling does not advance any state
  a.sample(256, 18, z);
  CHECK(x != z);                  // another step, other indices
  other_stream.sample(256, 17, z);
  CHECK(x != z);                  // another stream, other indices

  // Uniform over the slots: counts within 4 standard errors.
  const std::size_t n = 64 * 2000;
  a.sample(n, 3, x);
  std::vector<int> count(64, 0);
  for (std::size_t i : x) {
    REQUIRE(i < 64);
    ++count[i];
  }
  const double p = 1.0 / 64, se = std::sqrt(n * p * (1 - p));
  for (int c : count) CHECK(std::fabs(c - n * p) < 4 * se);

  // A partly filled buffer samples only filled slots.
  ReplayBuffer small(64, sizeof(Row), ReplayMode::fifo, 9);
  CHECK_THROWS_AS(small.sample(1, 0, x), std::logic_error);
  for (std::int64_t k = 0; k < 5; ++k) {
    const Row r = make_row(k);
    small.insert(&r);
  }
  small.sample(1000, 0, x);
  for (std::size_t i : x) CHECK(i < 5);
}

TEST_CASE("restore reproduces a buffer from its rows and seen count", "[replay]") {
  ReplayBuffer a(16, sizeof(Row), ReplayMode::reservoir, 4);
  for (std::int64_t k = 0; k < 100; ++k) {
    const Row r = make_row(k);
    a.insert(&r);
  }
  ReplayBuffer b(16, sizeof(Row), ReplayMode::reservoir, 4);
  b.restore(a.seen(), a.data());
  // Continuing both with the same rows keeps them equal (draws keyed by item number).
  for (std::int64_t k = 100; k < 200; ++k) {
    const Row r = make_row(k);
    CHECK(a.insert(&r) == b.insert(&r));
  }
  for (std::size_t i = 0; i < 16; ++i) CHECK(read(a, i).item == read(b, i).item);
}

TEST_CASE("replay buffer rejects nonsense sizes", "[replay]") {
  CHECK_THROWS_AS(ReplayBuffer(0, 8, ReplayMode::fifo, 1), std::invalid_argument);
  CHECK_THROWS_AS(ReplayBuffer(8, 0, ReplayMode::fifo, 1), std::invalid_argument);
}
