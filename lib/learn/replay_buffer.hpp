#pragma once
// The learner's replay buffer (docs/design.md §6.5): a fixed number of fixed-size
// rows (e.g. latent pairs carrying their pair id), filled while data arrive and sampled
// for training steps. Plain C++ (no torch, no MPI), header-only.
//
// Modes:
//   fifo      : row k (k-th inserted, 0-based) goes to slot k % capacity, overwriting
//               the oldest; the buffer holds the latest `capacity` rows.
//   reservoir : Vitter's algorithm R; after `seen` insertions every row seen so far is
//               in the buffer with probability capacity / seen (a uniform sample of the
//               whole stream, old data never forgotten).
//
// Randomness is Philox keyed by work items (Purpose::replay), never by a running RNG
// state, so the buffer's whole state is (rows, seen) and a checkpoint or a replay of
// the same insertions reproduces it:
//   insertion k's reservoir draw : {seed, replay, level 0, item k,    sub = stream}
//   sample(n, step)               : {seed, replay, level 1, item step, sub = stream}
// `stream` tells apart buffers that share a seed (e.g. one per data-parallel learner).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/rng.hpp"

namespace macrodyn::learn {

enum class ReplayMode { fifo, reservoir };

class ReplayBuffer {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  ReplayBuffer(std::size_t capacity, std::size_t row_bytes, ReplayMode mode, std::uint64_t seed,
               std::uint32_t stream = 0)
      : capacity_(capacity), row_bytes_(row_bytes), mode_(mode), seed_(seed), stream_(stream) {
    if (capacity == 0) throw std::invalid_argument("replay buffer: capacity must be positive");
    if (row_bytes == 0) throw std::invalid_argument("replay buffer: row_bytes must be positive");
    if (capacity > static_cast<std::size_t>(-1) / row_bytes)
      throw std::invalid_argument("replay buffer: capacity * row_bytes overflows");
    data_.assign(capacity * row_bytes, 0);  // all memory up front: no growth while training
  }

  // Offers one row; returns the slot it was written to, or npos if the reservoir
  // dropped it.
  std::size_t insert(const void* row) {
    const std::uint64_t k = seen_++;
    std::size_t slot = npos;
    if (k < capacity_) {
      slot = static_cast<std::size_t>(k);
    } else if (mode_ == ReplayMode::fifo) {
      slot = static_cast<std::size_t>(k % capacity_);
    } else {
      // Algorithm R: row k (k >= capacity) replaces a uniform slot with probability
      // capacity / (k + 1).
      Rng rng(WorkItem{seed_, Purpose::replay, 0, k, stream_});
      const std::uint64_t j = rng.below(k + 1);
      if (j < capacity_) slot = static_cast<std::size_t>(j);
    }
    if (slot != npos) std::memcpy(data_.data() + slot * row_bytes_, row, row_bytes_);
    return slot;
  }

  // n slot indices drawn uniformly from [0, size()) with replacement; the same (seed,
  // stream, step) gives the same indices, so a replay can redraw a step's batch.
  void sample(std::size_t n, std::uint64_t step, std::vector<std::size_t>& out) const {
    if (size() == 0) throw std::logic_error("replay buffer: sample() from an empty buffer");
    out.resize(n);
    Rng rng(WorkItem{seed_, Purpose::replay, 1, step, stream_});
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::size_t>(rng.below(size()));
  }

  const unsigned char* row(std::size_t slot) const {
    if (slot >= size()) throw std::out_of_range("replay buffer: slot out of range");
    return data_.data() + slot * row_bytes_;
  }

  std::size_t size() const { return seen_ < capacity_ ? static_cast<std::size_t>(seen_) : capacity_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t row_bytes() const { return row_bytes_; }
  std::uint64_t seen() const { return seen_; }
  ReplayMode mode() const { return mode_; }

  // The whole state, for checkpoints: the rows of slots [0, size()) and seen().
  const unsigned char* data() const { return data_.data(); }
  void restore(std::uint64_t seen, const void* rows) {
    seen_ = seen;
    std::memcpy(data_.data(), rows, size() * row_bytes_);
  }

 private:
  std::size_t capacity_;
  std::size_t row_bytes_;
  ReplayMode mode_;
  std::uint64_t seed_;
  std::uint32_t stream_;
  std::uint64_t seen_ = 0;
  std::vector<unsigned char> data_;
};

}  // namespace macrodyn::learn
