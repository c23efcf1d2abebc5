// The closure autoencoder (docs/design.md §8.2.6): networks, training,
// encoding, checkpoints and the TorchScript export of the encoder. Torch stays in here.
#include "learn/autoencoder.hpp"
#include "learn/torch_files.hpp"
#include "learn/archive_values.hpp"
#include "learn/closure_trainer.hpp"
#include "learn/torch_device.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace macrodyn::learn {

namespace {

constexpr double kSlope = 0.2;  // LeakyReLU negative slope
constexpr double kBnEps = 1e-5;
constexpr double kBnMomentum = 0.1;
constexpr int kDecoderChannels = 128;

bool is_pow2(std::int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

int ilog2(std::int64_t v) {
  int k = 0;
  while ((std::int64_t{1} << (k + 1)) <= v) ++k;
  return k;
}

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

// Encoder depth (method-notes): 3 for p >= 32, else log2(p/2).
int encoder_depth(int p) { return p >= 32 ? 3 : ilog2(p / 2); }

// Patches per encoder chunk in encode_patches: fixed per model (at most 4096*64 sites).
std::int64_t encode_chunk(int p) {
  return std::max<std::int64_t>(1, std::min<std::int64_t>(4096, 4096 * 64 / (std::int64_t(p) * p)));
}

// psi: D x [Conv3x3 pad 1 -> BN -> LeakyReLU(0.2) -> MaxPool2] -> flatten -> Linear.
struct EncoderImpl : torch::nn::Module {
  std::vector<torch::nn::Conv2d> convs;
  std::vector<torch::nn::BatchNorm2d> bns;
  torch::nn::Linear fc{nullptr};

  EncoderImpl(int p, int closure_dim) {
    const int D = encoder_depth(p);
    int in = 1, side = p;
    for (int i = 0; i < D; ++i) {
      const int out = 32 << i;
      convs.push_back(register_module("conv" + std::to_string(i),
                                      torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1))));
      bns.push_back(register_module(
          "bn" + std::to_string(i),
          torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(kBnEps).momentum(kBnMomentum))));
      in = out;
      side /= 2;
    }
    fc = register_module("fc", torch::nn::Linear(in * side * side, closure_dim));
  }

  // x: [N, 1, p, p] float -> [N, closure_dim].
  torch::Tensor forward(torch::Tensor x) {
    for (std::size_t i = 0; i < convs.size(); ++i) {
      x = convs[i]->forward(x);
      x = bns[i]->forward(x);
      x = torch::leaky_relu(x, kSlope);
      x = torch::max_pool2d(x, {2, 2}, {2, 2});
    }
    return fc->forward(torch::flatten(x, 1));
  }
};
TORCH_MODULE(Encoder);

// Linear(in -> 128 s0^2) -> LeakyReLU -> [128, s0, s0] -> log2(side/s0) x ConvTranspose
// (3x3, stride 2, pad 1, output pad 1; channels max(16, in/2), the last 1) with BN +
// LeakyReLU between layers -> sigmoid. Output [N, 1, side, side].
struct DecoderImpl : torch::nn::Module {
  int s0 = 4;
  torch::nn::Linear fc{nullptr};
  std::vector<torch::nn::ConvTranspose2d> ups;
  std::vector<torch::nn::BatchNorm2d> bns;

  DecoderImpl(int in_dim, int side, int s0_) : s0(s0_) {
    fc = register_module("fc", torch::nn::Linear(in_dim, kDecoderChannels * s0 * s0));
    const int layers = ilog2(side / s0);
    int in = kDecoderChannels;
    for (int i = 0; i < layers; ++i) {
      const bool last = i + 1 == layers;
      const int out = last ? 1 : std::max(16, in / 2);
      ups.push_back(register_module(
          "up" + std::to_string(i),
          torch::nn::ConvTranspose2d(
              torch::nn::ConvTranspose2dOptions(in, out, 3).stride(2).padding(1).output_padding(1))));
      if (!last) {
        bns.push_back(register_module(
            "bn" + std::to_string(i),
            torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(kBnEps).momentum(kBnMomentum))));
      }
      in = out;
    }
  }

  torch::Tensor forward(torch::Tensor z) {
    auto h = torch::leaky_relu(fc->forward(z), kSlope).view({-1, kDecoderChannels, s0, s0});
    for (std::size_t i = 0; i < ups.size(); ++i) {
      h = ups[i]->forward(h);
      if (i < bns.size()) h = torch::leaky_relu(bns[i]->forward(h), kSlope);
    }
    return torch::sigmoid(h);
  }
};
TORCH_MODULE(Decoder);

// method-notes init: conv weights N(0, 0.02) (default biases), BN gamma N(1, 0.02),
// beta 0, Linear weights N(0, 0.02), biases 0. Draws from torch's global CPU generator.
void init_weights(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& sub : m.modules(/*include_self=*/false)) {
    if (auto* c = sub->as<torch::nn::Conv2d>()) {
      c->weight.normal_(0.0, 0.02);
    } else if (auto* t = sub->as<torch::nn::ConvTranspose2d>()) {
      t->weight.normal_(0.0, 0.02);
    } else if (auto* b = sub->as<torch::nn::BatchNorm2d>()) {
      b->weight.normal_(1.0, 0.02);
      b->bias.zero_();
    } else if (auto* l = sub->as<torch::nn::Linear>()) {
      l->weight.normal_(0.0, 0.02);
      l->bias.zero_();
    }
  }
}

// [B, L, L] float -> [B*K, 1, p, p], patch I = a*(L/p) + b.
torch::Tensor patchify(const torch::Tensor& x, int p) {
  const std::int64_t B = x.size(0), L = x.size(1), d = L / p;
  return x.reshape({B, d, p, d, p}).permute({0, 1, 3, 2, 4}).reshape({B * d * d, 1, p, p});
}

// z* = (m, rho) of each patch [N, 1, p, p] as a torus -> [N, 2].
// rho = (1/(2N)) sum_i [1/2(1 - s_i s_{i-x}) + 1/2(1 - s_i s_{i-y})] = mean(2 - a - b)/4.
torch::Tensor patch_zstar(const torch::Tensor& s) {
  const auto m = s.mean({1, 2, 3});
  const auto a = s * s.roll({1}, {2});
  const auto b = s * s.roll({1}, {3});
  const auto rho = (2.0 - a - b).mean({1, 2, 3}) / 4.0;
  return torch::stack({m, rho}, 1);
}

void validate(const AutoencoderOptions& o, int L, int p) {
  if (o.decoder != "global" && o.decoder != "patch") bad("decoder must be \"global\" or \"patch\", not \"" + o.decoder + "\".");
  if (o.closure_dim < 0) bad("closure_dim must be >= 0.");
  if (o.epochs < 0) bad("epochs must be >= 0.");
  if (o.batch < 1) bad("batch must be >= 1.");
  if (!(o.lr > 0)) bad("lr must be > 0.");
  if (o.threads < 0) bad("threads must be >= 0.");
  if (p < 4 || !is_pow2(p)) bad("patch side p must be a power of 2 >= 4, got " + std::to_string(p) + ".");
  if (L < p || L % p != 0) bad("lattice side L must be a positive multiple of the patch side p, got L = " + std::to_string(L) + ".");
  if (o.decoder == "global") {
    if (L > 128) bad("the global decoder needs L <= 128, got L = " + std::to_string(L) + " (use decoder \"patch\").");
    if (L % 4 != 0 || !is_pow2(L / 4) || L < 8) bad("the global decoder needs L = 4 * 2^k >= 8, got L = " + std::to_string(L) + ".");
  }
}

// Snapshots [idx..] gathered into a float tensor [B, L, L] on `dev`.
torch::Tensor gather(const SpinSnapshots& s, const std::int64_t* idx, std::int64_t B, const torch::Device& dev) {
  const std::int64_t sites = std::int64_t(s.L) * s.L;
  auto t = torch::empty({B, s.L, s.L}, torch::kInt8);
  auto* dst = t.data_ptr<std::int8_t>();
  for (std::int64_t i = 0; i < B; ++i)
    std::memcpy(dst + i * sites, s.states + idx[i] * sites, static_cast<std::size_t>(sites));
  return t.to(dev).to(torch::kFloat);
}

}  // namespace

struct ClosureAutoencoder::Impl {
  AutoencoderOptions o;
  int L = 0, p = 0;
  torch::Device device{torch::kCPU};
  Encoder enc{nullptr};  // null when closure_dim == 0
  Decoder dec{nullptr};

  Impl(const AutoencoderOptions& opt, int L_, int p_, torch::Device dev) : o(opt), L(L_), p(p_), device(dev) {
    if (o.closure_dim > 0) enc = Encoder(p, o.closure_dim);
    if (o.decoder == "global") {
      dec = Decoder(2 + o.closure_dim, L, 4);
    } else {
      dec = Decoder(2 + o.closure_dim, p, std::min(4, p / 2));
    }
  }

  // The networks, encoder first: the optimiser's parameter order.
  std::vector<torch::nn::Module*> nets() {
    std::vector<torch::nn::Module*> v;
    if (enc) v.push_back(enc.get());
    v.push_back(dec.get());
    return v;
  }

  void to_device() {
    for (auto* m : nets()) m->to(device);
  }

  void set_train(bool on) {
    for (auto* m : nets()) m->train(on);
  }

  // Reconstruction probabilities and targets in {0, 1} for a batch x [B, L', L'].
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    const std::int64_t B = x.size(0), K = (x.size(1) / p) * (x.size(1) / p);
    const auto patches = patchify(x, p);
    torch::Tensor zstar;
    {
      torch::NoGradGuard ng;
      zstar = patch_zstar(patches);
    }
    if (o.decoder == "global") {
      auto z = zstar.view({B, K, 2}).mean(1);
      if (enc) z = torch::cat({z, enc->forward(patches).view({B, K, o.closure_dim}).mean(1)}, 1);
      return {dec->forward(z), (x.unsqueeze(1) + 1.0) * 0.5};
    }
    auto z = zstar;
    if (enc) z = torch::cat({z, enc->forward(patches)}, 1);
    return {dec->forward(z), (patches + 1.0) * 0.5};
  }
};

ClosureAutoencoder::ClosureAutoencoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClosureAutoencoder::~ClosureAutoencoder() = default;
ClosureAutoencoder::ClosureAutoencoder(ClosureAutoencoder&&) noexcept = default;
ClosureAutoencoder& ClosureAutoencoder::operator=(ClosureAutoencoder&&) noexcept = default;

int ClosureAutoencoder::closure_dim() const { return impl_->o.closure_dim; }
int ClosureAutoencoder::patch() const { return impl_->p; }
int ClosureAutoencoder::L() const { return impl_->L; }
const AutoencoderOptions& ClosureAutoencoder::options() const { return impl_->o; }

ClosureAutoencoder ClosureAutoencoder::train(const SpinSnapshots& data, const AutoencoderOptions& o,
                                             const std::function<void(const EpochReport&)>& on_epoch,
                                             const std::function<void(int, std::int64_t, std::int64_t)>& on_step) {
  validate(o, data.L, data.p);
  if (!data.states || data.n < 1) bad("training data must hold at least one snapshot.");
  if (data.n < o.batch) bad("batch (" + std::to_string(o.batch) + ") must not exceed the number of snapshots (" + std::to_string(data.n) + ") with drop_last.");
  const auto dev = parse_device(o.device);

  std::unique_ptr<Impl> impl;
  ClosureModel model;
  model.build = [&] {
    impl = std::make_unique<Impl>(o, data.L, data.p, dev);
    return impl->nets();
  };
  model.init_weights = init_weights;
  model.inputs = [&](const std::int64_t* idx, std::int64_t B) { return std::vector<torch::Tensor>{gather(data, idx, B, dev)}; };
  model.loss = [&](const std::vector<torch::Tensor>& batch) {
    auto [prob, target] = impl->forward(batch[0]);
    return torch::binary_cross_entropy(prob, target);
  };
  model.optimiser = OptimiserPreset::adamw_amsgrad(o.lr);
  train_closure({data.n, o.epochs, o.batch, LastBatch::drop, o.seed, o.threads, dev}, model, on_epoch, on_step);
  return ClosureAutoencoder(std::move(impl));
}

double ClosureAutoencoder::reconstruction_bce(const SpinSnapshots& data) const {
  auto& m = *impl_;
  if (!data.states || data.n < 1) bad("reconstruction_bce needs at least one snapshot.");
  if (data.p != 0 && data.p != m.p) bad("snapshots' patch side p must match the model's (" + std::to_string(m.p) + ").");
  if (m.o.decoder == "global" ? data.L != m.L : (data.L < m.p || data.L % m.p != 0))
    bad("snapshot side L = " + std::to_string(data.L) + " does not fit the model's decoder.");
  torch::NoGradGuard ng;
  m.set_train(false);
  const std::int64_t chunk = std::max<std::int64_t>(1, 65536 / (std::int64_t(data.L) * data.L));
  std::vector<std::int64_t> idx;
  double sum = 0;
  for (std::int64_t s = 0; s < data.n; s += chunk) {
    const std::int64_t B = std::min(chunk, data.n - s);
    idx.resize(static_cast<std::size_t>(B));
    for (std::int64_t i = 0; i < B; ++i) idx[static_cast<std::size_t>(i)] = s + i;
    auto [prob, target] = m.forward(gather(data, idx.data(), B, m.device));
    sum += torch::binary_cross_entropy(prob, target, {}, torch::Reduction::Sum).to(torch::kDouble).item<double>();
  }
  return sum / (double(data.n) * data.L * data.L);
}

void ClosureAutoencoder::encode_patches(const std::int8_t* patches, std::int64_t n, float* out) const {
  auto& m = *impl_;
  if (!m.enc || n <= 0) return;
  torch::NoGradGuard ng;
  m.set_train(false);
  const std::int64_t chunk = encode_chunk(m.p), sites = std::int64_t(m.p) * m.p;
  const int c = m.o.closure_dim;
  auto buf = torch::empty({chunk, 1, m.p, m.p}, torch::kFloat);
  for (std::int64_t s = 0; s < n; s += chunk) {
    const std::int64_t B = std::min(chunk, n - s);
    buf.zero_();
    float* dst = buf.data_ptr<float>();
    const std::int8_t* src = patches + s * sites;
    for (std::int64_t i = 0; i < B * sites; ++i) dst[i] = float(src[i]);
    const auto psi = m.enc->forward(buf.to(m.device)).to(torch::kCPU).contiguous();
    std::memcpy(out + s * c, psi.data_ptr<float>(), sizeof(float) * static_cast<std::size_t>(B * c));
  }
}

void ClosureAutoencoder::encode_snapshots(const SpinSnapshots& s, float* out) const {
  auto& m = *impl_;
  if (!m.enc || s.n <= 0) return;
  if (s.p != 0 && s.p != m.p) bad("snapshots' patch side p must match the model's (" + std::to_string(m.p) + ").");
  if (s.L < m.p || s.L % m.p != 0) bad("snapshot side L = " + std::to_string(s.L) + " must be a multiple of the patch side " + std::to_string(m.p) + ".");
  const int p = m.p, c = m.o.closure_dim, d = s.L / p;
  const std::int64_t K = std::int64_t(d) * d, sites = std::int64_t(s.L) * s.L;
  const std::int64_t group = std::max<std::int64_t>(1, encode_chunk(p) / K);  // snapshots per call
  std::vector<std::int8_t> patches;
  std::vector<float> psi;
  for (std::int64_t g0 = 0; g0 < s.n; g0 += group) {
    const std::int64_t G = std::min(group, s.n - g0);
    patches.resize(static_cast<std::size_t>(G * sites));
    psi.resize(static_cast<std::size_t>(G * K * c));
    for (std::int64_t k = 0; k < G; ++k) {
      const std::int8_t* x = s.states + (g0 + k) * sites;
      for (int a = 0; a < d; ++a)
        for (int b = 0; b < d; ++b) {
          std::int8_t* dst = patches.data() + ((k * K) + std::int64_t(a) * d + b) * p * p;
          for (int r = 0; r < p; ++r)
            std::memcpy(dst + r * p, x + (std::int64_t(a) * p + r) * s.L + std::int64_t(b) * p, static_cast<std::size_t>(p));
        }
    }
    encode_patches(patches.data(), G * K, psi.data());
    for (std::int64_t k = 0; k < G; ++k)
      for (int j = 0; j < c; ++j) {
        double acc = 0;
        for (std::int64_t I = 0; I < K; ++I) acc += psi[static_cast<std::size_t>((k * K + I) * c + j)];
        out[(g0 + k) * c + j] = static_cast<float>(acc / double(K));
      }
  }
}

void ClosureAutoencoder::save(const std::string& path) const {
  auto& m = *impl_;
  torch::serialize::OutputArchive ar;
  write_int(ar, "meta_format", 1);
  write_int(ar, "meta_closure_dim", m.o.closure_dim);
  write_string(ar, "meta_decoder", m.o.decoder);
  write_int(ar, "meta_L", m.L);
  write_int(ar, "meta_p", m.p);
  write_int(ar, "meta_epochs", m.o.epochs);
  write_int(ar, "meta_batch", m.o.batch);
  write_double(ar, "meta_lr", m.o.lr);
  write_int(ar, "meta_seed", static_cast<std::int64_t>(m.o.seed));
  write_int(ar, "meta_threads", m.o.threads);
  write_string(ar, "meta_device", m.o.device);
  if (m.enc) {
    torch::serialize::OutputArchive e;
    m.enc->save(e);
    ar.write("encoder", e);
  }
  torch::serialize::OutputArchive d;
  m.dec->save(d);
  ar.write("decoder", d);
  save_archive_file(ar, path);
}

ClosureAutoencoder ClosureAutoencoder::load(const std::string& path, const std::string& device) {
  const auto dev = parse_device(device);
  torch::serialize::InputArchive ar;
  ar.load_from(path, torch::Device(torch::kCPU));
  if (read_value(ar, "meta_format").toInt() != 1) throw std::runtime_error(path + ": unknown closure autoencoder format.");
  AutoencoderOptions o;
  o.closure_dim = static_cast<int>(read_value(ar, "meta_closure_dim").toInt());
  o.decoder = read_value(ar, "meta_decoder").toStringRef();
  const int L = static_cast<int>(read_value(ar, "meta_L").toInt());
  const int p = static_cast<int>(read_value(ar, "meta_p").toInt());
  o.epochs = static_cast<int>(read_value(ar, "meta_epochs").toInt());
  o.batch = static_cast<int>(read_value(ar, "meta_batch").toInt());
  o.lr = read_value(ar, "meta_lr").toDouble();
  o.seed = static_cast<std::uint64_t>(read_value(ar, "meta_seed").toInt());
  o.threads = static_cast<int>(read_value(ar, "meta_threads").toInt());
  o.device = device;
  validate(o, L, p);
  auto impl = std::make_unique<Impl>(o, L, p, dev);
  if (impl->enc) {
    torch::serialize::InputArchive e;
    ar.read("encoder", e);
    impl->enc->load(e);
  }
  torch::serialize::InputArchive d;
  ar.read("decoder", d);
  impl->dec->load(d);
  impl->to_device();
  impl->set_train(false);
  return ClosureAutoencoder(std::move(impl));
}

void ClosureAutoencoder::export_encoder(const std::string& path) const {
  auto& m = *impl_;
  if (!m.enc) throw std::logic_error("closure_dim is 0: there is no encoder to export.");
  torch::jit::Module mod("MacrodynClosureEncoder");
  auto put = [&](const std::string& name, const torch::Tensor& t, bool buffer) {
    mod.register_parameter(name, t.detach().to(torch::kCPU).clone(), buffer);
  };
  std::ostringstream src;
  src << "def forward(self, x):\n"
      << "    h = x.unsqueeze(1)\n";
  for (std::size_t i = 0; i < m.enc->convs.size(); ++i) {
    const auto s = std::to_string(i);
    auto& conv = m.enc->convs[i];
    auto& bn = m.enc->bns[i];
    put("conv" + s + "_weight", conv->weight, false);
    put("conv" + s + "_bias", conv->bias, false);
    put("bn" + s + "_weight", bn->weight, false);
    put("bn" + s + "_bias", bn->bias, false);
    put("bn" + s + "_running_mean", bn->running_mean, true);
    put("bn" + s + "_running_var", bn->running_var, true);
    src << "    h = torch.conv2d(h, self.conv" << s << "_weight, self.conv" << s << "_bias, [1, 1], [1, 1])\n"
        << "    h = torch.batch_norm(h, self.bn" << s << "_weight, self.bn" << s << "_bias, self.bn" << s
        << "_running_mean, self.bn" << s << "_running_var, False, 0.1, 1e-05, True)\n"
        << "    h = torch.leaky_relu(h, 0.2)\n"
        << "    h = torch.max_pool2d(h, [2, 2], [2, 2])\n";
  }
  put("fc_weight", m.enc->fc->weight, false);
  put("fc_bias", m.enc->fc->bias, false);
  src << "    h = torch.flatten(h, 1)\n"
      << "    return torch.linear(h, self.fc_weight, self.fc_bias)\n";
  mod.register_attribute("patch", c10::IntType::get(), c10::IValue(std::int64_t(m.p)));
  mod.register_attribute("closure_dim", c10::IntType::get(), c10::IValue(std::int64_t(m.o.closure_dim)));
  mod.define(src.str());
  mod.eval();
  save_module(mod, path);
}

}  // namespace macrodyn::learn
