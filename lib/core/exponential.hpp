#pragma once
// Exp(1) variates by the ziggurat method (Marsaglia & Tsang 2000, 256 layers): exact in
// law and cheaper than -log(U): 99% of draws need one table lookup and one multiply.
// One 64-bit random word per draw: the 8 low bits pick the layer, the top 53 bits the
// position in it.
#include <cmath>
#include <cstdint>

namespace macrodyn {

struct ExpZiggurat {
  static constexpr int kLayers = 256;
  static constexpr double kR = 7.69711747013104972;      // where the tail starts
  static constexpr double kArea = 3.949659822581557e-3;  // area of every layer
  double x[kLayers + 1];  // x[0] = kArea / exp(-kR) > x[1] = kR > ... > x[256] = 0
  double f[kLayers + 1];  // exp(-x[i])

  ExpZiggurat() {
    x[0] = kArea / std::exp(-kR);
    x[1] = kR;
    for (int i = 2; i < kLayers; ++i) x[i] = -std::log(kArea / x[i - 1] + std::exp(-x[i - 1]));
    x[kLayers] = 0.0;
    for (int i = 0; i <= kLayers; ++i) f[i] = std::exp(-x[i]);
  }

  static const ExpZiggurat& table() {
    static const ExpZiggurat t;
    return t;
  }
};

// `next_u64` returns uniformly random 64-bit words, `uniform` U(0, 1) variates.
template <class NextU64, class Uniform>
inline double exponential_ziggurat(const ExpZiggurat& z, NextU64&& next_u64, Uniform&& uniform) {
  double offset = 0.0;
  for (;;) {
    const std::uint64_t bits = next_u64();
    const int i = static_cast<int>(bits & 0xff);
    const double v = static_cast<double>(bits >> 11) * 0x1.0p-53 * z.x[i];
    if (__builtin_expect(v < z.x[i + 1], 1)) return offset + v;  // inside the layer's rectangle
    if (i == 0) {
      offset += ExpZiggurat::kR;  // the tail beyond kR is exponential again: shift, redraw
      continue;
    }
    // The wedge between the rectangle and the density exp(-v).
    if (z.f[i + 1] + (z.f[i] - z.f[i + 1]) * uniform() < std::exp(-v)) return offset + v;
  }
}

}  // namespace macrodyn
