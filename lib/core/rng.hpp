#pragma once
// One RNG for the whole code: counter-based Philox4x32-10 (Random123), keyed by the
// work item -- never by rank or thread -- so that data do not depend on how work is
// spread (docs/design.md §7.1).
//
// Key (2 x 32 bit)      = the user's seed.
// Counter (4 x 32 bit)  = { block, sub, item_lo, purpose<<24 | level<<16 | item_hi }
//   purpose : what the numbers are for (initial state, small run, relax, ...)
//   level   : upsampling level (0 elsewhere)
//   item    : run / snapshot id (48 bits)
//   sub     : window / patch id inside the item
//   block   : running block index inside the stream (2^32 blocks of 4 numbers)
#include <Random123/philox.h>

#include "core/exponential.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace macrodyn {

enum class Purpose : std::uint32_t {
  initial_state = 1,
  small_dynamics = 2,
  truth_dynamics = 3,
  draw = 4,
  relax = 5,
  patch_choice = 6,
  partial_evolution = 7,
  random_config = 8,
  benchmark = 9,
  test = 10,
  rollout = 11,
  replay = 12,  // the learner's replay buffer (reservoir draws, training batches)
  field_noise = 13,  // reaction-diffusion noise: one Philox block per (item, step, cell)
  field_initial = 14,  // reaction-diffusion initial conditions (m, k)
  upsample = 15,       // a system's completion of an upsampled state (System::after_upsampling)
  equilibrium = 16,    // an equilibrium sampler's chain (jobs/equilibrium.hpp): item = run, sub = side
  calibrate = 17,      // the measured loss factor's evolutions (jobs/calibrate.hpp): item = snapshot
  fss = 18,            // study fss's analysis draws (Binder crossing errors, jobs/fss_analysis.hpp)
};

struct WorkItem {
  std::uint64_t seed = 0;
  Purpose purpose = Purpose::test;
  std::uint32_t level = 0;
  std::uint64_t item = 0;
  std::uint32_t sub = 0;
};

// The key and the counter of block `block` of work item w, in the layout above. For
// callers that address blocks directly (one block per cell of a field, say) instead of
// streaming through them with Rng.
inline r123::Philox4x32::key_type philox_key(std::uint64_t seed) {
  return {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
}
inline r123::Philox4x32::ctr_type philox_counter(const WorkItem& w, std::uint32_t block) {
  if (w.item >> 48) throw std::invalid_argument("Rng: work item id exceeds 48 bits");
  if (w.level > 0xff) throw std::invalid_argument("Rng: level exceeds 8 bits");
  return {{block, w.sub, static_cast<std::uint32_t>(w.item),
           (static_cast<std::uint32_t>(w.purpose) << 24) | (w.level << 16) |
               static_cast<std::uint32_t>(w.item >> 32)}};
}

// A seed mixed with the bits of a value (splitmix64's finaliser): a stream keyed by a
// parameter's value (a temperature, a horizon) rather than its place in a list, so a
// result does not depend on the list it was computed in.
inline std::uint64_t seed_for_value(std::uint64_t seed, double value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  std::uint64_t z = seed ^ (bits + 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform double in the open interval (0, 1) with 53 random bits from two 32-bit words.
inline double uniform53(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t a = hi >> 5;  // 27 bits
  const std::uint64_t b = lo >> 6;  // 26 bits
  return (static_cast<double>((a << 26) | b) + 0.5) * 0x1.0p-53;
}

class Rng {
 public:
  using Philox = r123::Philox4x32;

  explicit Rng(const WorkItem& w) : item_(w), key_(philox_key(w.seed)), ctr_(philox_counter(w, 0)) {}

  // The work item this stream belongs to: an evolver that keys its numbers by site
  // rather than by draw order (a field's noise per cell and step) builds its own blocks
  // from it.
  const WorkItem& work_item() const { return item_; }

  std::uint32_t next_u32() {
    if (used_ == 4) refill();
    return buf_[used_++];
  }

  // Uniform double in the open interval (0, 1) with 53 random bits.
  double uniform() {
    const std::uint32_t hi = next_u32();
    return uniform53(hi, next_u32());
  }

  // Exp(1) variate (ziggurat; usually one 64-bit word).
  double exponential() {
    return exponential_ziggurat(*zig_, [this] { return next_u64(); }, [this] { return uniform(); });
  }

  std::uint64_t next_u64() {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  // Uniform integer in [0, n), n >= 1; 64-bit multiply-shift (bias below n / 2^64).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t r = (static_cast<std::uint64_t>(next_u32()) << 32) | next_u32();
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(r) * n) >> 64);
  }

 private:
  void refill() {
    if (ctr_[0] == 0xffffffffu) throw std::runtime_error("Rng: stream exhausted (2^34 numbers)");
    Philox::ctr_type out = philox_(ctr_, key_);
    ++ctr_[0];
    for (int i = 0; i < 4; ++i) buf_[i] = out[i];
    used_ = 0;
  }

  WorkItem item_;
  const ExpZiggurat* zig_ = &ExpZiggurat::table();
  Philox philox_;
  Philox::key_type key_;
  Philox::ctr_type ctr_;
  std::uint32_t buf_[4] = {0, 0, 0, 0};
  int used_ = 4;
};

}  // namespace macrodyn
