// TorchScript runtime for exported models (see exported.hpp).
#include "learn/exported.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "learn/field_encoder_weights.hpp"
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
  std::vector<float> condition;  // empty: the modules take z alone
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

void ExportedSde::set_condition(const std::vector<float>& c) { impl_->condition = c; }

void ExportedSde::eval(const float* z, std::int64_t B, float* drift, float* sigma) const {
  torch::NoGradGuard no_grad;
  const auto x = torch::from_blob(const_cast<float*>(z), {B, impl_->dim}, torch::kFloat32).to(impl_->device);
  std::vector<torch::jit::IValue> in{x};
  if (!impl_->condition.empty()) {
    const auto q = static_cast<std::int64_t>(impl_->condition.size());
    in.emplace_back(torch::from_blob(impl_->condition.data(), {1, q}, torch::kFloat32).to(impl_->device).expand({B, q}));
  }
  copy_out(impl_->drift.forward(in).toTensor(), drift);
  copy_out(impl_->diffusion.forward(in).toTensor(), sigma);
}

struct ExportedEncoder::Impl {
  torch::jit::Module encoder;
  torch::Device device{torch::kCPU};
  int p = 0, closure_dim = 0, dim = 2;
  std::int64_t chunk = 0;
  bool field = false;  // a field encoder: E per field on the CPU
  FieldEncoderWeights E;
};

ExportedEncoder::ExportedEncoder(const std::string& path, int p, int closure_dim, const std::string& device,
                                 std::int64_t chunk)
    : impl_(std::make_unique<Impl>()) {
  if (chunk < 0) throw std::invalid_argument("encoder chunk must be >= 0");
  impl_->device = torch::Device(resolve_device(device));
  impl_->encoder = load_module(path, impl_->device);
  impl_->p = p;
  impl_->closure_dim = closure_dim;
  auto& m = impl_->encoder;
  if (m.hasattr("hidden")) {
    impl_->field = true;
    impl_->dim = static_cast<int>(m.attr("dim").toInt());
    const auto patch = m.attr("patch").toInt(), channels = m.attr("channels").toInt();
    if (patch != p || channels != closure_dim)
      throw std::runtime_error(path + " encodes patches of side " + std::to_string(patch) + " with " +
                               std::to_string(channels) + " fields, not side " + std::to_string(p) + " with " +
                               std::to_string(closure_dim));
    auto& E = impl_->E;
    const auto tensor = [&m](const char* name) { return m.attr(name).toTensor(); };
    E = field_encoder_weights(tensor("l0_weight"), tensor("l0_bias"), tensor("l1_weight"), tensor("l1_bias"),
                              tensor("l2_weight"), tensor("l2_bias"));
    std::int64_t cells = 1;
    for (int a = 0; a < impl_->dim; ++a) cells *= p;
    if (E.in != cells) throw std::runtime_error(path + ": the encoder's input width is not the patch's cell count");
  }
  // The autoencoder's chunk rule (at most 4096 * 64 sites), so codes match it bit for bit.
  const std::int64_t sites = static_cast<std::int64_t>(p) * p;
  impl_->chunk = chunk > 0 ? chunk : (p <= 8 ? 4096 : 4096 * 64 / sites);
}
ExportedEncoder::~ExportedEncoder() = default;
ExportedEncoder::ExportedEncoder(ExportedEncoder&&) noexcept = default;
int ExportedEncoder::closure_dim() const { return impl_->closure_dim; }
int ExportedEncoder::patch() const { return impl_->p; }
int ExportedEncoder::dim() const { return impl_->dim; }
int ExportedEncoder::voxel_bytes() const { return impl_->field ? 4 * impl_->closure_dim : 1; }

void ExportedEncoder::encode(const std::int8_t* patches, std::int64_t n, float* out) const {
  if (impl_->field) throw std::logic_error("ExportedEncoder::encode takes spin patches; a field encoder takes encode_voxels");
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

void ExportedEncoder::encode_voxels(const std::uint8_t* patches, std::int64_t n, float* out) const {
  if (!impl_->field) return encode(reinterpret_cast<const std::int8_t*>(patches), n, out);
  const auto& E = impl_->E;
  const int C = impl_->closure_dim;
  const std::int64_t cells = E.in, vb = 4 * C;
  // Patches are independent: splitting them over torch's threads changes no bit.
  at::parallel_for(0, n, 64, [&](std::int64_t b, std::int64_t e) {
    std::vector<float> x(static_cast<std::size_t>(cells)), h(static_cast<std::size_t>(2 * E.hidden));
    for (std::int64_t i = b; i < e; ++i)
      for (int c = 0; c < C; ++c) {
        const std::uint8_t* v = patches + i * cells * vb + 4 * c;
        for (std::int64_t k = 0; k < cells; ++k) std::memcpy(&x[static_cast<std::size_t>(k)], v + k * vb, 4);
        out[i * C + c] = E(x.data(), h.data(), h.data() + E.hidden);
      }
  });
}

}  // namespace macrodyn::learn
