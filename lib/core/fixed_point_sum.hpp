#pragma once
// Sums of field values that do not depend on how the cells are split: every value is
// rounded to float32 (the stored precision), then to a multiple of 2^-32, and the
// integers are added. Integer addition is associative, so per-rank partial sums reduced
// in any order (MPI_SUM on int64) give the bits of the serial sum.
//
// Range: |value| <= 4 and at most 2^28 terms keep the sum inside int64 (4 * 2^32 * 2^28
// = 2^62). Fields outside [-4, 4] have blown up; add() says so instead of wrapping.
#include <cmath>
#include <cstdint>

namespace macrodyn {

class FixedPointSum {
 public:
  static constexpr double kScale = 4294967296.0;  // 2^32
  static constexpr double kMaxAbs = 4.0;
  static constexpr std::int64_t kMaxTerms = std::int64_t{1} << 28;

  // False (and nothing added) when the value is not finite or |value| > kMaxAbs.
  bool add(double value) {
    const double x = static_cast<double>(static_cast<float>(value));
    if (!(std::fabs(x) <= kMaxAbs)) return false;
    sum_ += std::llround(x * kScale);
    return true;
  }
  std::int64_t raw() const { return sum_; }
  // The mean of `terms` values whose fixed-point sum is `raw`.
  static double mean(std::int64_t raw, std::int64_t terms) {
    return static_cast<double>(raw) / kScale / static_cast<double>(terms);
  }

 private:
  std::int64_t sum_ = 0;
};

}  // namespace macrodyn
