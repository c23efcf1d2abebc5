// TorchScript runtime for exported models (see exported.hpp).
#include "learn/exported.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <stdexcept>

#include "learn/sde.hpp"

namespace macrodyn::learn {

namespace {

torch::jit::Module load_module(const std::string& path, const torch::Device& dev) {
  try {
    auto m = torch::jit::load(path, dev);
    m.eval();
    return m;
  } catch (const c10::Error& e) {
    throw std::runtime_error("cannot load the TorchScript module " + path + ": " + e.what_without_backtrace());
  }
}

void copy_out(const torch::Tensor& t, float* out) {
  const auto c = t.to(torch::kCPU, torch::kFloat32).contiguous();
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), out);
}

}  // namespace

struct ExportedSde::Impl {
  torch::jit::Module drift, diffusion;
  torch::Device device{torch::kCPU};
  int dim = 0;
};

ExportedSde::ExportedSde(const std::string& dir, int dim, const std::string& device)
    : impl_(std::make_unique<Impl>()) {
  impl_->device = torch::Device(resolve_device(device));
  impl_->drift = load_module(dir + "/drift.pt", impl_->device);
  impl_->diffusion = load_module(dir + "/diffusion.pt", impl_->device);
  impl_->dim = dim;
}
ExportedSde::~ExportedSde() = default;
ExportedSde::ExportedSde(ExportedSde&&) noexcept = default;
int ExportedSde::dim() const { return impl_->dim; }

void ExportedSde::eval(const float* z, std::int64_t B, float* drift, float* sigma) const {
  torch::NoGradGuard no_grad;
  const auto x = torch::from_blob(const_cast<float*>(z), {B, impl_->dim}, torch::kFloat32).to(impl_->device);
  copy_out(impl_->drift.forward({x}).toTensor(), drift);
  copy_out(impl_->diffusion.forward({x}).toTensor(), sigma);
}

struct ExportedEncoder::Impl {
  torch::jit::Module encoder;
  torch::Device device{torch::kCPU};
  int p = 0, closure_dim = 0;
  std::int64_t chunk = 0;
};

ExportedEncoder::ExportedEncoder(const std::string& path, int p, int closure_dim, const std::string& device,
                                 std::int64_t chunk)
    : impl_(std::make_unique<Impl>()) {
  if (chunk < 0) throw std::invalid_argument("encoder chunk must be >= 0");
  impl_->device = torch::Device(resolve_device(device));
  impl_->encoder = load_module(path, impl_->device);
  impl_->p = p;
  impl_->closure_dim = closure_dim;
  // The autoencoder's chunk rule (at most 4096 * 64 sites), so codes match it bit for bit.
  const std::int64_t sites = static_cast<std::int64_t>(p) * p;
  impl_->chunk = chunk > 0 ? chunk : (p <= 8 ? 4096 : 4096 * 64 / sites);
}
ExportedEncoder::~ExportedEncoder() = default;
ExportedEncoder::ExportedEncoder(ExportedEncoder&&) noexcept = default;
int ExportedEncoder::closure_dim() const { return impl_->closure_dim; }
int ExportedEncoder::patch() const { return impl_->p; }

void ExportedEncoder::encode(const std::int8_t* patches, std::int64_t n, float* out) const {
  torch::NoGradGuard no_grad;
  const std::int64_t p = impl_->p, sites = p * p;
  const std::int64_t kChunk = impl_->chunk;
  auto buf = torch::zeros({kChunk, p, p}, torch::kFloat32);
  for (std::int64_t b = 0; b < n; b += kChunk) {
    const auto m = std::min(kChunk, n - b);
    buf.zero_();
    buf.slice(0, 0, m).copy_(
        torch::from_blob(const_cast<std::int8_t*>(patches + b * sites), {m, p, p}, torch::kInt8).to(torch::kFloat32));
    const auto codes = impl_->encoder.forward({buf.to(impl_->device)}).toTensor().slice(0, 0, m);
    copy_out(codes, out + b * impl_->closure_dim);
  }
}

}  // namespace macrodyn::learn
