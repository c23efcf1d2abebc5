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

Drift parse_drift(const std::string& name) {
  if (name == "mlp") return Drift::mlp;
  if (name == "onsager") return Drift::onsager;
  throw std::invalid_argument("drift must be mlp or onsager, not '" + name + "'");
}

const char* drift_name(Drift d) { return d == Drift::onsager ? "onsager" : "mlp"; }

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

namespace {
torch::Tensor onsager_f(const torch::Tensor& s) { return torch::relu(s).pow(2) - torch::relu(s - 0.5).pow(2); }
torch::Tensor onsager_df(const torch::Tensor& s) { return 2.0 * torch::relu(s) - 2.0 * torch::relu(s - 0.5); }
constexpr int kOnsagerHidden = 32;
}  // namespace

OnsagerDriftImpl::OnsagerDriftImpl(int d, int q) : dim(d), cond_dim(q) {
  const int h = kOnsagerHidden, e = q > 0 ? d : 0;
  if (q > 0) {
    emb0 = register_module("emb0", torch::nn::Linear(q, h));
    emb1 = register_module("emb1", torch::nn::Linear(h, d));
  }
  w0 = register_module("w0", torch::nn::Linear(d + e, h));
  w1 = register_module("w1", torch::nn::Linear(h, h));
  pot = register_module("pot", torch::nn::Linear(h, d));
  potlin = register_module("potlin", torch::nn::Linear(d, d));
  mat = register_module("mat", torch::nn::Linear(h, d * d));
  lin = register_module("lin", torch::nn::Linear(h, d));
  // The notes' initialisation at gain 0.1: Xavier weights, biases U(0, 0.05) (the
  // potential's U(0, 0.1)), the matrix layer's bias a random orthogonal d x d.
  torch::NoGradGuard no_grad;
  for (auto* l : {&w0, &w1, &pot, &potlin, &mat, &lin}) {
    torch::nn::init::xavier_uniform_((*l)->weight, 0.1);
    (*l)->bias.uniform_(0.0, l == &pot ? 0.1 : 0.05);
  }
  mat->bias.copy_(torch::nn::init::orthogonal_(torch::empty({d, d})).reshape({d * d}));
}

torch::Tensor OnsagerDriftImpl::forward(const torch::Tensor& z, const torch::Tensor& c) {
  const auto B = z.size(0);
  const auto x = cond_dim > 0 ? torch::cat({z, emb1(torch::relu(emb0(c)))}, 1) : z;
  const auto a0 = w0(x);
  const auto h1 = onsager_f(a0);
  const auto a1 = w1(h1);
  const auto h2 = onsager_f(a1) + h1;
  // grad_z V by the chain rule, backwards through the layers (a vector-Jacobian product).
  const auto v = 2.0 * (pot(h2) + potlin(z));
  const auto gh2 = v.matmul(pot->weight);
  const auto gh1 = gh2 + (onsager_df(a1) * gh2).matmul(w1->weight);
  const auto gx = (onsager_df(a0) * gh1).matmul(w0->weight);
  const auto g = -(gx.narrow(1, 0, dim) + v.matmul(potlin->weight) + z);
  const auto A = mat(h2).reshape({B, dim, dim});
  const auto lower = torch::tril(A), upper = torch::triu(A, 1);
  const auto mw = lower.matmul(lower.transpose(1, 2)) + upper - upper.transpose(1, 2);
  return mw.bmm(g.unsqueeze(2)).squeeze(2) + 0.1 * g + lin(h2);
}

SdeNetImpl::SdeNetImpl(int d, const SdeArchitecture& a) : dim(d), kind(a.diffusion), arch(a) {
  const int q = a.cond_dim;
  if (q < 0 || static_cast<int>(a.cond_offset.size()) != q || static_cast<int>(a.cond_scale.size()) != q)
    throw std::invalid_argument("the SDE's condition normalisation has the wrong size");
  if (a.drift == Drift::mlp) mu = register_module("mu", Mlp(d + q, d));
  else onsager = register_module("onsager", OnsagerDrift(d, q));
  switch (kind) {
    case Diffusion::full:
      sig = register_module("sigma", Mlp(d + q, d * d));
      // The reference's `arbitrary` diffusion: Xavier-uniform weights, default biases.
      for (auto* l : {&sig->l0, &sig->l1, &sig->l2, &sig->l3}) torch::nn::init::xavier_uniform_((*l)->weight);
      break;
    case Diffusion::diagonal: sig = register_module("sigma", Mlp(d + q, d)); break;
    case Diffusion::constant: sig_constant = register_parameter("sigma_constant", torch::ones({d})); break;
  }
  if (q > 0) {
    cond_offset = register_buffer("cond_offset", torch::tensor(a.cond_offset, torch::kFloat64).to(torch::kFloat32));
    cond_scale = register_buffer("cond_scale", torch::tensor(a.cond_scale, torch::kFloat64).to(torch::kFloat32));
  }
}

torch::Tensor SdeNetImpl::normalised(const torch::Tensor& c) const { return (c - cond_offset) / cond_scale; }

torch::Tensor SdeNetImpl::drift(const torch::Tensor& z, const torch::Tensor& c) {
  if (arch.cond_dim > 0 && !c.defined()) throw std::invalid_argument("this SDE needs its conditions");
  if (onsager) return onsager(z, arch.cond_dim > 0 ? normalised(c) : c);
  return mu(arch.cond_dim > 0 ? torch::cat({z, normalised(c)}, 1) : z);
}

torch::Tensor SdeNetImpl::sigma(const torch::Tensor& z, const torch::Tensor& c) {
  const auto B = z.size(0);
  if (arch.cond_dim > 0 && !c.defined()) throw std::invalid_argument("this SDE needs its conditions");
  const auto x = arch.cond_dim > 0 && kind != Diffusion::constant ? torch::cat({z, normalised(c)}, 1) : z;
  switch (kind) {
    case Diffusion::full: return sig(x).reshape({B, dim, dim});
    case Diffusion::diagonal: return torch::diag_embed(sig(x));
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
    : SdeModel(dim, SdeArchitecture{diffusion, Drift::mlp, 0, {}, {}}, seed, device) {}

SdeModel::SdeModel(int dim, const SdeArchitecture& arch, std::uint64_t seed, const std::string& device)
    : impl_(std::make_unique<Impl>()) {
  if (dim < 1) throw std::invalid_argument("the SDE needs a latent dimension >= 1");
  torch::manual_seed(seed);
  impl_->device = torch::Device(resolve_device(device));
  impl_->net = SdeNet(dim, arch);
  impl_->net->to(impl_->device);
}

SdeModel::~SdeModel() = default;
SdeModel::SdeModel(SdeModel&&) noexcept = default;
SdeModel& SdeModel::operator=(SdeModel&&) noexcept = default;

int SdeModel::dim() const { return impl_->net->dim; }
Diffusion SdeModel::diffusion() const { return impl_->net->kind; }
const SdeArchitecture& SdeModel::architecture() const { return impl_->net->arch; }

namespace {
void copy_out(const torch::Tensor& t, float* out) {
  const auto c = t.to(torch::kCPU).contiguous();
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), out);
}
}  // namespace

void SdeModel::drift(const float* z, std::int64_t B, float* out, const float* cond) const {
  torch::NoGradGuard no_grad;
  const int q = architecture().cond_dim;
  const auto c = q > 0 && cond ? to_tensor(cond, B, q, impl_->device) : torch::Tensor();
  copy_out(impl_->net->drift(to_tensor(z, B, dim(), impl_->device), c), out);
}

void SdeModel::sigma(const float* z, std::int64_t B, float* out, const float* cond) const {
  torch::NoGradGuard no_grad;
  const int q = architecture().cond_dim;
  const auto c = q > 0 && cond ? to_tensor(cond, B, q, impl_->device) : torch::Tensor();
  copy_out(impl_->net->sigma(to_tensor(z, B, dim(), impl_->device), c), out);
}

double SdeModel::loss(const LatentPairs& p, double c, double eps) const {
  torch::NoGradGuard no_grad;
  const auto& dev = impl_->device;
  const auto z0 = to_tensor(p.z0.data(), p.size(), p.dim, dev);
  const auto z1 = to_tensor(p.z1.data(), p.size(), p.dim, dev);
  const auto dt = torch::from_blob(const_cast<double*>(p.dt.data()), {p.size()}, torch::kFloat64)
                      .to(dev, torch::kFloat32);
  const auto cond = p.cond_dim > 0 ? to_tensor(p.cond.data(), p.size(), p.cond_dim, dev) : torch::Tensor();
  return sde_nll(impl_->net->drift(z0, cond), impl_->net->sigma(z0, cond), z0, z1, dt, c, eps).mean().item<double>();
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

namespace {

void register_linear(torch::jit::Module& m, const std::string& name, torch::nn::Linear& l) {
  m.register_parameter(name + "_w", l->weight.detach().to(torch::kCPU).clone(), false);
  m.register_parameter(name + "_b", l->bias.detach().to(torch::kCPU).clone(), false);
}

std::string linear(const std::string& name, const std::string& x) {
  return "torch.addmm(self." + name + "_b, " + x + ", self." + name + "_w.t())";
}

// The forward's head: its arguments, the normalised conditions cn and the MLPs' input x.
std::string head(const SdeNetImpl& net) {
  if (net.arch.cond_dim == 0) return "def forward(self, z):\n        x = z\n";
  return "def forward(self, z, c):\n        cn = (c - self.cond_offset) / self.cond_scale\n"
         "        x = torch.cat([z, cn], 1)\n";
}

void register_conditions(torch::jit::Module& m, const SdeNetImpl& net) {
  if (net.arch.cond_dim == 0) return;
  m.register_buffer("cond_offset", net.cond_offset.detach().to(torch::kCPU).clone());
  m.register_buffer("cond_scale", net.cond_scale.detach().to(torch::kCPU).clone());
}

// OnsagerDriftImpl::forward as TorchScript (the same operations, so the same bits).
std::string onsager_source(const OnsagerDriftImpl& o) {
  const std::string d = std::to_string(o.dim);
  std::string s;
  if (o.cond_dim > 0)
    s += "        x = torch.cat([z, " + linear("emb1", "torch.relu(" + linear("emb0", "cn") + ")") + "], 1)\n";
  s += "        a0 = " + linear("w0", "x") + "\n";
  s += "        h1 = torch.relu(a0).pow(2) - torch.relu(a0 - 0.5).pow(2)\n";
  s += "        a1 = " + linear("w1", "h1") + "\n";
  s += "        h2 = torch.relu(a1).pow(2) - torch.relu(a1 - 0.5).pow(2) + h1\n";
  s += "        v = 2.0 * (" + linear("pot", "h2") + " + " + linear("potlin", "z") + ")\n";
  s += "        gh2 = v.matmul(self.pot_w)\n";
  s += "        gh1 = gh2 + ((2.0 * torch.relu(a1) - 2.0 * torch.relu(a1 - 0.5)) * gh2).matmul(self.w1_w)\n";
  s += "        gx = ((2.0 * torch.relu(a0) - 2.0 * torch.relu(a0 - 0.5)) * gh1).matmul(self.w0_w)\n";
  s += "        g = -(gx.narrow(1, 0, " + d + ") + v.matmul(self.potlin_w) + z)\n";
  s += "        A = " + linear("mat", "h2") + ".reshape(z.size(0), " + d + ", " + d + ")\n";
  s += "        lower = torch.tril(A)\n        upper = torch.triu(A, 1)\n";
  s += "        mw = lower.matmul(lower.transpose(1, 2)) + upper - upper.transpose(1, 2)\n";
  s += "        return mw.bmm(g.unsqueeze(2)).squeeze(2) + 0.1 * g + " + linear("lin", "h2") + "\n";
  return s;
}

}  // namespace

void SdeModel::export_torchscript(const std::string& dir) const {
  auto& net = impl_->net;
  torch::jit::Module drift("macrodyn_drift");
  register_conditions(drift, *net);
  if (net->onsager) {
    auto& o = net->onsager;
    if (o->cond_dim > 0) {
      register_linear(drift, "emb0", o->emb0);
      register_linear(drift, "emb1", o->emb1);
    }
    for (auto [name, l] : {std::pair{"w0", &o->w0}, {"w1", &o->w1}, {"pot", &o->pot}, {"potlin", &o->potlin},
                           {"mat", &o->mat}, {"lin", &o->lin}})
      register_linear(drift, name, *l);
    // The OnsagerNet builds its own x = [z; embedding] from z and cn.
    drift.define(head(*net) + onsager_source(*o));
  } else {
    register_mlp(drift, "mu", net->mu);
    drift.define(head(*net) + mlp_source("mu") + "        return x\n");
  }
  save_module(drift, dir + "/drift.pt");

  torch::jit::Module diffusion("macrodyn_diffusion");
  register_conditions(diffusion, *net);
  const std::string d = std::to_string(net->dim);
  std::string body = head(*net);
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
