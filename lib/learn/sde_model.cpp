// The neural SDE: drift and diffusion networks, the K-scaled loss and TorchScript export.
#include <torch/script.h>

#include <cstdio>
#include <stdexcept>
#include <thread>

#include "learn/sde_impl.hpp"
#include "learn/torch_files.hpp"

namespace macrodyn::learn {

Diffusion parse_diffusion(const std::string& name) {
  if (name == "full") return Diffusion::full;
  if (name == "diagonal") return Diffusion::diagonal;
  if (name == "constant") return Diffusion::constant;
  throw std::invalid_argument("diffusion must be full, diagonal or constant, not '" + name + "'");
}

const char* diffusion_name(Diffusion d) {
  switch (d) {
    case Diffusion::full: return "full";
    case Diffusion::diagonal: return "diagonal";
    case Diffusion::constant: return "constant";
  }
  return "?";
}

std::string resolve_device(const std::string& want) {
  if (want == "cpu") return "cpu";
  if (want == "cuda") {
    if (!torch::cuda::is_available())
      throw std::invalid_argument("--device cuda was asked for, but the linked libtorch sees no CUDA GPU");
    return "cuda";
  }
  if (want == "auto") return torch::cuda::is_available() ? "cuda" : "cpu";
  throw std::invalid_argument("--device must be auto, cpu or cuda, not '" + want + "'");
}

void set_torch_threads(int n) {
  const unsigned cores = std::thread::hardware_concurrency();
  torch::set_num_threads(n > 0 ? n : static_cast<int>(cores ? cores : 1));
}

MlpImpl::MlpImpl(int d_in, int d_out) {
  l0 = register_module("l0", torch::nn::Linear(d_in, 64));
  l1 = register_module("l1", torch::nn::Linear(64, 64));
  l2 = register_module("l2", torch::nn::Linear(64, 64));
  l3 = register_module("l3", torch::nn::Linear(64, d_out));
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  x = torch::relu(l0(x));
  x = torch::relu(l1(x));
  x = torch::relu(l2(x));
  return l3(x);
}

SdeNetImpl::SdeNetImpl(int d, Diffusion diffusion) : dim(d), kind(diffusion) {
  mu = register_module("mu", Mlp(d, d));
  switch (kind) {
    case Diffusion::full:
      sig = register_module("sigma", Mlp(d, d * d));
      // The reference's `arbitrary` diffusion: Xavier-uniform weights, default biases.
      for (auto* l : {&sig->l0, &sig->l1, &sig->l2, &sig->l3}) torch::nn::init::xavier_uniform_((*l)->weight);
      break;
    case Diffusion::diagonal: sig = register_module("sigma", Mlp(d, d)); break;
    case Diffusion::constant: sig_constant = register_parameter("sigma_constant", torch::ones({d})); break;
  }
}

torch::Tensor SdeNetImpl::drift(const torch::Tensor& z) { return mu(z); }

torch::Tensor SdeNetImpl::sigma(const torch::Tensor& z) {
  const auto B = z.size(0);
  switch (kind) {
    case Diffusion::full: return sig(z).reshape({B, dim, dim});
    case Diffusion::diagonal: return torch::diag_embed(sig(z));
    case Diffusion::constant: return torch::diag_embed(sig_constant.expand({B, dim}));
  }
  return {};
}

namespace {

// r^T Sigma^-1 r + log det Sigma through Sigma = L L^T. For the small latent dimensions of
// macrostates the factorisation is unrolled over the d(d+1)/2 entries as batched
// elementwise operations: one batched LAPACK call per 2x2..4x4 matrix (and its backward)
// costs far more than the arithmetic. Same algorithm, same autograd, no inverse.
torch::Tensor nll_unrolled(const torch::Tensor& cov, const torch::Tensor& r) {
  const auto d = cov.size(1);
  std::vector<std::vector<torch::Tensor>> l(d, std::vector<torch::Tensor>(d));
  std::vector<torch::Tensor> y(d);
  torch::Tensor quad, logdiag;
  for (int64_t j = 0; j < d; ++j) {
    auto s = cov.select(1, j).select(1, j);
    for (int64_t k = 0; k < j; ++k) s = s - l[j][k] * l[j][k];
    l[j][j] = torch::sqrt(s);
    for (int64_t i = j + 1; i < d; ++i) {
      auto t = cov.select(1, i).select(1, j);
      for (int64_t k = 0; k < j; ++k) t = t - l[i][k] * l[j][k];
      l[i][j] = t / l[j][j];
    }
    auto yj = r.select(1, j);
    for (int64_t k = 0; k < j; ++k) yj = yj - l[j][k] * y[k];
    y[j] = yj / l[j][j];
    quad = j == 0 ? y[j] * y[j] : quad + y[j] * y[j];
    logdiag = j == 0 ? torch::log(l[j][j]) : logdiag + torch::log(l[j][j]);
  }
  return quad + 2.0 * logdiag;
}

torch::Tensor nll_lapack(const torch::Tensor& cov, const torch::Tensor& r) {
  const auto chol = torch::linalg_cholesky(cov);
  const auto y = torch::linalg_solve_triangular(chol, r.unsqueeze(2), /*upper=*/false);
  return y.pow(2).sum({1, 2}) + 2.0 * torch::log(torch::diagonal(chol, 0, 1, 2)).sum(1);
}

}  // namespace

torch::Tensor sde_nll(const torch::Tensor& mu, const torch::Tensor& sigma, const torch::Tensor& z0,
                      const torch::Tensor& z1, const torch::Tensor& dt, double c, double eps) {
  const auto d = z0.size(1);
  const auto h = dt.unsqueeze(1);  // [B, 1]
  const auto r = z1 - z0 - mu * h;  // [B, d]
  auto cov = torch::matmul(sigma, sigma.transpose(1, 2)) * (c * h.unsqueeze(2));
  cov = cov + eps * torch::eye(d, z0.options());
  return d <= 6 ? nll_unrolled(cov, r) : nll_lapack(cov, r);
}

torch::Tensor to_tensor(const float* data, std::int64_t n, int d, const torch::Device& device) {
  return torch::from_blob(const_cast<float*>(data), {n, d}, torch::kFloat32).to(device, /*non_blocking=*/false,
                                                                                /*copy=*/true);
}

SdeModel::SdeModel(int dim, Diffusion diffusion, std::uint64_t seed, const std::string& device)
    : impl_(std::make_unique<Impl>()) {
  if (dim < 1) throw std::invalid_argument("the SDE needs a latent dimension >= 1");
  torch::manual_seed(seed);
  impl_->device = torch::Device(resolve_device(device));
  impl_->net = SdeNet(dim, diffusion);
  impl_->net->to(impl_->device);
}

SdeModel::~SdeModel() = default;
SdeModel::SdeModel(SdeModel&&) noexcept = default;
SdeModel& SdeModel::operator=(SdeModel&&) noexcept = default;

int SdeModel::dim() const { return impl_->net->dim; }
Diffusion SdeModel::diffusion() const { return impl_->net->kind; }

namespace {
void copy_out(const torch::Tensor& t, float* out) {
  const auto c = t.to(torch::kCPU).contiguous();
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), out);
}
}  // namespace

void SdeModel::drift(const float* z, std::int64_t B, float* out) const {
  torch::NoGradGuard no_grad;
  copy_out(impl_->net->drift(to_tensor(z, B, dim(), impl_->device)), out);
}

void SdeModel::sigma(const float* z, std::int64_t B, float* out) const {
  torch::NoGradGuard no_grad;
  copy_out(impl_->net->sigma(to_tensor(z, B, dim(), impl_->device)), out);
}

double SdeModel::loss(const LatentPairs& p, double c, double eps) const {
  torch::NoGradGuard no_grad;
  const auto& dev = impl_->device;
  const auto z0 = to_tensor(p.z0.data(), p.size(), p.dim, dev);
  const auto z1 = to_tensor(p.z1.data(), p.size(), p.dim, dev);
  const auto dt = torch::from_blob(const_cast<double*>(p.dt.data()), {p.size()}, torch::kFloat64)
                      .to(dev, torch::kFloat32);
  return sde_nll(impl_->net->drift(z0), impl_->net->sigma(z0), z0, z1, dt, c, eps).mean().item<double>();
}

namespace {

// TorchScript source of the MLP forward over registered parameters <prefix>{0..3}_{w,b}.
std::string mlp_source(const std::string& prefix) {
  std::string s;
  for (int i = 0; i < 4; ++i) {
    const std::string w = "self." + prefix + std::to_string(i) + "_w", b = "self." + prefix + std::to_string(i) + "_b";
    s += "        x = torch.addmm(" + b + ", x, " + w + ".t())\n";
    if (i < 3) s += "        x = torch.relu(x)\n";
  }
  return s;
}

void register_mlp(torch::jit::Module& m, const std::string& prefix, Mlp& mlp) {
  int i = 0;
  for (auto* l : {&mlp->l0, &mlp->l1, &mlp->l2, &mlp->l3}) {
    m.register_parameter(prefix + std::to_string(i) + "_w", (*l)->weight.detach().to(torch::kCPU).clone(), false);
    m.register_parameter(prefix + std::to_string(i) + "_b", (*l)->bias.detach().to(torch::kCPU).clone(), false);
    ++i;
  }
}

}  // namespace

void SdeModel::export_torchscript(const std::string& dir) const {
  auto& net = impl_->net;
  torch::jit::Module drift("macrodyn_drift");
  register_mlp(drift, "mu", net->mu);
  drift.define("def forward(self, z):\n        x = z\n" + mlp_source("mu") + "        return x\n");
  save_module(drift, dir + "/drift.pt");

  torch::jit::Module diffusion("macrodyn_diffusion");
  const std::string d = std::to_string(net->dim);
  std::string body = "def forward(self, z):\n        x = z\n";
  switch (net->kind) {
    case Diffusion::full:
      register_mlp(diffusion, "sigma", net->sig);
      body += mlp_source("sigma") + "        return x.reshape(z.size(0), " + d + ", " + d + ")\n";
      break;
    case Diffusion::diagonal:
      register_mlp(diffusion, "sigma", net->sig);
      body += mlp_source("sigma") + "        return torch.diag_embed(x)\n";
      break;
    case Diffusion::constant:
      diffusion.register_parameter("sigma_constant", net->sig_constant.detach().to(torch::kCPU).clone(), false);
      body += "        return torch.diag_embed(self.sigma_constant.expand(z.size(0), " + d + "))\n";
      break;
  }
  diffusion.define(body);
  save_module(diffusion, dir + "/diffusion.pt");
}

}  // namespace macrodyn::learn
