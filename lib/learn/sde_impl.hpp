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

struct SdeNetImpl : torch::nn::Module {
  SdeNetImpl(int dim, Diffusion diffusion);
  torch::Tensor drift(const torch::Tensor& z);
  torch::Tensor sigma(const torch::Tensor& z);  // [B, d, d]
  int dim;
  Diffusion kind;
  Mlp mu{nullptr};
  Mlp sig{nullptr};            // full / diagonal
  torch::Tensor sig_constant;  // constant
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
