#pragma once
// The field closure encoder E (docs/design.md §8.6.4: MLP cells -> hidden -> hidden -> 1,
// ReLU between) evaluated on the CPU one patch of one field at a time, in float with a
// fixed order of operations and no BLAS: a patch's code does not depend on how many
// patches are encoded together, on its position among them, nor on the thread count
// (OpenBLAS's sgemm rounds a row differently depending on where it sits in the matrix).
// Shared by the autoencoder (learn/field_autoencoder.cpp) and the model directory's
// encoder.pt runtime (learn/exported.cpp), so both give the same bits. No torch here.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace macrodyn::learn {

struct FieldEncoderWeights {
  std::int64_t in = 0, hidden = 0;
  std::vector<float> w0t, b0, w1t, b1, w2;  // hidden layers transposed: [in][hidden]
  float b2 = 0;

  // out = relu(W x + b) with W given transposed [n_in][hidden].
  void layer(const float* wt, const float* b, const float* x, std::int64_t n_in, float* out) const {
    std::fill(out, out + hidden, 0.0f);
    for (std::int64_t i = 0; i < n_in; ++i) {
      const float xi = x[i];
      const float* row = wt + i * hidden;
      for (std::int64_t j = 0; j < hidden; ++j) out[j] += row[j] * xi;
    }
    for (std::int64_t j = 0; j < hidden; ++j) out[j] = std::max(out[j] + b[j], 0.0f);
  }

  // E(x) of one patch of `in` values; h0, h1 are scratch of `hidden` floats.
  float operator()(const float* x, float* h0, float* h1) const {
    layer(w0t.data(), b0.data(), x, in, h0);
    layer(w1t.data(), b1.data(), h0, hidden, h1);
    float s = 0;
    for (std::int64_t j = 0; j < hidden; ++j) s += w2[static_cast<std::size_t>(j)] * h1[j];
    return s + b2;
  }
};

}  // namespace macrodyn::learn
