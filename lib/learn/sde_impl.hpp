#pragma once
// Torch side of SdeModel, shared by the lib/learn sources only (it includes torch; no
// other module may include it).
#include <torch/torch.h>

#include "learn/sde.hpp"

namespace macrodyn::learn {

// d_in -> 64 -> 64 -> 64 -> d_out with ReLU.
struct MlpImpl : torch::nn::Module {
  MlpImpl(int d_in, int d_out);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::Linear l0{nullptr}, l1{nullptr}, l2{nullptr}, l3{nullptr};
};
TORCH_MODULE(Mlp);

// The stochastic OnsagerNet drift (docs/design.md §1.9.2; method notes §6): with x = [z; e],
// e = the conditions' embedding (q -> 32 -> d, none without conditions),
// h1 = F(W0 x), h2 = F(W1 h1) + h1, F(s) = relu(s)^2 - relu(s - 1/2)^2,
// V = |Pot(h2) + PotLin(z)|^2 + |z|^2 / 2, g = -grad_z V (written out, no autograd in the
// forward, so the exported module evaluates it under no_grad), A = Mat(h2) as d x d,
// M = tril(A) tril(A)^T, W = triu(A, 1) - triu(A, 1)^T:
//   drift = (M + W) g + 0.1 g + Lin(h2).
struct OnsagerDriftImpl : torch::nn::Module {
  OnsagerDriftImpl(int dim, int cond_dim);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& c);  // c: normalised, undefined if none
  int dim, cond_dim;
  torch::nn::Linear emb0{nullptr}, emb1{nullptr}, w0{nullptr}, w1{nullptr}, pot{nullptr}, potlin{nullptr},
      mat{nullptr}, lin{nullptr};
};
TORCH_MODULE(OnsagerDrift);

struct SdeNetImpl : torch::nn::Module {
  explicit SdeNetImpl(int dim, const SdeArchitecture& arch);
  // c: raw conditions [B, cond_dim] (undefined without conditions).
  torch::Tensor drift(const torch::Tensor& z, const torch::Tensor& c = {});
  torch::Tensor sigma(const torch::Tensor& z, const torch::Tensor& c = {});  // [B, d, d]
  torch::Tensor normalised(const torch::Tensor& c) const;  // (c - offset) / scale
  int dim;
  Diffusion kind;
  SdeArchitecture arch;
  Mlp mu{nullptr};             // mlp drift
  OnsagerDrift onsager{nullptr};
  Mlp sig{nullptr};            // full / diagonal
  torch::Tensor sig_constant;  // constant
  torch::Tensor cond_offset, cond_scale;  // buffers [cond_dim]
};
TORCH_MODULE(SdeNet);

// The K-scaled negative log-likelihood, one value per pair (docs/design.md §1.9).
torch::Tensor sde_nll(const torch::Tensor& mu, const torch::Tensor& sigma, const torch::Tensor& z0,
                      const torch::Tensor& z1, const torch::Tensor& dt, double c, double eps);

struct SdeModel::Impl {
  SdeNet net{nullptr};
  torch::Device device{torch::kCPU};
};

// Copies n x d floats to a tensor on `device`.
torch::Tensor to_tensor(const float* data, std::int64_t n, int d, const torch::Device& device);

}  // namespace macrodyn::learn
