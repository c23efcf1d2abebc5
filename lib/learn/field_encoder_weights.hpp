#pragma once
// The field encoder's CPU weights (learn/field_encoder_cpu.hpp) from its three Linear
// layers' tensors [out, in] and biases, wherever they come from: the autoencoder's modules
// or an exported encoder.pt. For the lib/learn sources only (it includes torch).
#include <torch/torch.h>

#include <vector>

#include "learn/field_encoder_cpu.hpp"

namespace macrodyn::learn {

inline std::vector<float> flat_floats(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

inline FieldEncoderWeights field_encoder_weights(const torch::Tensor& w0, const torch::Tensor& b0,
                                                 const torch::Tensor& w1, const torch::Tensor& b1,
                                                 const torch::Tensor& w2, const torch::Tensor& b2) {
  FieldEncoderWeights w;
  w.in = w0.size(1);
  w.hidden = w0.size(0);
  w.w0t = flat_floats(w0.t());
  w.b0 = flat_floats(b0);
  w.w1t = flat_floats(w1.t());
  w.b1 = flat_floats(b1);
  w.w2 = flat_floats(w2);
  w.b2 = flat_floats(b2)[0];
  return w;
}

}  // namespace macrodyn::learn
