// The predator-prey closure autoencoder (docs/design.md §8.6.4): networks, training,
// encoding, checkpoints and the TorchScript export of the encoder. Torch stays in here.
#include "learn/field_autoencoder.hpp"
#include "learn/field_encoder_weights.hpp"
#include "learn/torch_files.hpp"
#include "learn/archive_values.hpp"
#include "learn/closure_trainer.hpp"
#include "learn/torch_device.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace macrodyn::learn {

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

std::int64_t cells(int n, int dim) { return dim == 1 ? std::int64_t(n) : std::int64_t(n) * n; }

// Mean of n floats, summed in double in index order (grid means and mean codes).
double mean_of(const float* x, std::int64_t n) {
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += x[i];
  return s / double(n);
}

// in -> hidden -> hidden -> out, ReLU between, linear output.
struct MlpImpl : torch::nn::Module {
  torch::nn::Linear l0{nullptr}, l1{nullptr}, l2{nullptr};

  MlpImpl(std::int64_t in, int hidden, std::int64_t out) {
    l0 = register_module("l0", torch::nn::Linear(in, hidden));
    l1 = register_module("l1", torch::nn::Linear(hidden, hidden));
    l2 = register_module("l2", torch::nn::Linear(hidden, out));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    return l2->forward(torch::relu(l1->forward(torch::relu(l0->forward(x)))));
  }
};
TORCH_MODULE(Mlp);

// Xavier-uniform weights, zero biases, layer by layer in order (l0, l1, l2); draws from
// torch's global CPU generator.
void init_weights(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& sub : m.modules(/*include_self=*/false)) {
    if (auto* l = sub->as<torch::nn::Linear>()) {
      torch::nn::init::xavier_uniform_(l->weight);
      l->bias.zero_();
    }
  }
}

// The encoder's weights on the CPU for encode_patches (learn/field_encoder_cpu.hpp).
FieldEncoderWeights weights_of(MlpImpl& e) {
  return field_encoder_weights(e.l0->weight, e.l0->bias, e.l1->weight, e.l1->bias, e.l2->weight, e.l2->bias);
}

void validate_geometry(int dim, int n, int p) {
  if (dim != 1 && dim != 2) bad("dim must be 1 or 2, got " + std::to_string(dim) + ".");
  if (n < 1) bad("n (cells per axis) must be >= 1, got " + std::to_string(n) + ".");
  if (p < 1 || n % p != 0) bad("patch must divide n = " + std::to_string(n) + ", got patch = " + std::to_string(p) + ".");
}

void validate(const FieldAutoencoderOptions& o) {
  if (o.hidden < 1) bad("hidden must be >= 1.");
  if (o.epochs < 0) bad("epochs must be >= 0.");
  if (o.batch < 1) bad("batch must be >= 1.");
  if (!(o.lr > 0)) bad("lr must be > 0.");
  if (!(o.weight_decay >= 0)) bad("weight_decay must be >= 0.");
  if (!(o.beta1 >= 0 && o.beta1 < 1)) bad("beta1 must lie in [0, 1).");
  if (!(o.beta2 >= 0 && o.beta2 < 1)) bad("beta2 must lie in [0, 1).");
  if (o.threads < 0) bad("threads must be >= 0.");
}

// Frames [idx..] -> x [B, 2 N] and their grid means [B, 2] (summed in double), on the CPU.
void gather(const FieldFrames& f, const std::int64_t* idx, std::int64_t B, torch::Tensor& x, torch::Tensor& means) {
  const std::int64_t N = cells(f.n, f.dim);
  x = torch::empty({B, 2 * N}, torch::kFloat);
  means = torch::empty({B, 2}, torch::kFloat);
  float* dst = x.data_ptr<float>();
  float* mu = means.data_ptr<float>();
  for (std::int64_t i = 0; i < B; ++i) {
    const float* src = f.states + idx[i] * 2 * N;
    std::memcpy(dst + i * 2 * N, src, sizeof(float) * static_cast<std::size_t>(2 * N));
    for (int fld = 0; fld < 2; ++fld) mu[i * 2 + fld] = static_cast<float>(mean_of(src + fld * N, N));
  }
}

}  // namespace

struct FieldAutoencoder::Impl {
  FieldAutoencoderOptions o;
  int dim = 1, n = 0, p = 0;
  std::int64_t N = 0, K = 0, P = 0;  // cells per field, patches per field, values per patch
  torch::Device device{torch::kCPU};
  Mlp enc{nullptr}, dec{nullptr};

  Impl(const FieldAutoencoderOptions& opt, int dim_, int n_, int p_, torch::Device dev)
      : o(opt), dim(dim_), n(n_), p(p_), N(cells(n_, dim_)), K(cells(n_ / p_, dim_)), P(cells(p_, dim_)), device(dev),
        enc(P, opt.hidden, 1), dec(4, opt.hidden, 2 * N) {}

  void set_train(bool on) {
    enc->train(on);
    dec->train(on);
  }

  // x [B, 2 N] -> its patches [B * 2 * K, P] (field-major, then row-major tiling).
  torch::Tensor patchify(const torch::Tensor& x) const {
    const std::int64_t B = x.size(0), d = n / p;
    if (dim == 1) return x.reshape({B * 2 * K, P});
    return x.reshape({B, 2, d, p, d, p}).permute({0, 1, 2, 4, 3, 5}).reshape({B * 2 * K, P});
  }

  // Training forward: reconstruction [B, 2 N] of x [B, 2 N] with grid means [B, 2].
  torch::Tensor reconstruct(const torch::Tensor& x, const torch::Tensor& means) {
    const auto zhat = enc->forward(patchify(x)).view({x.size(0), 2, K}).mean(2);
    return dec->forward(torch::cat({means, zhat}, 1));
  }

  // frames.dim and patch fit the model; with same_n, n as well (the decoder's size).
  void check(const FieldFrames& f, bool same_n) const {
    if (f.dim != dim) bad("frames' dim must be the model's (" + std::to_string(dim) + "), got " + std::to_string(f.dim) + ".");
    if (f.patch != 0 && f.patch != p) bad("frames' patch must be 0 or the model's (" + std::to_string(p) + ").");
    if (same_n ? f.n != n : (f.n < p || f.n % p != 0))
      bad(std::string("frames' n = ") + std::to_string(f.n) + (same_n ? " must be the model's n = " + std::to_string(n) + "." : " must be a multiple of the model's patch " + std::to_string(p) + "."));
    if (f.count < 0 || (f.count > 0 && !f.states)) bad("frames' count must be >= 0 and states set when count > 0.");
  }
};

FieldAutoencoder::FieldAutoencoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FieldAutoencoder::~FieldAutoencoder() = default;
FieldAutoencoder::FieldAutoencoder(FieldAutoencoder&&) noexcept = default;
FieldAutoencoder& FieldAutoencoder::operator=(FieldAutoencoder&&) noexcept = default;

int FieldAutoencoder::dim() const { return impl_->dim; }
int FieldAutoencoder::n() const { return impl_->n; }
int FieldAutoencoder::patch() const { return impl_->p; }
const FieldAutoencoderOptions& FieldAutoencoder::options() const { return impl_->o; }

FieldAutoencoder FieldAutoencoder::train(const FieldFrames& data, const FieldAutoencoderOptions& o,
                                         const std::function<void(const EpochReport&)>& on_epoch) {
  validate_geometry(data.dim, data.n, data.patch);
  validate(o);
  if (data.count < 1 || !data.states) bad("training data must hold at least one frame (count >= 1, states set).");
  const auto dev = parse_device(o.device);

  std::unique_ptr<Impl> impl;
  ClosureModel model;
  model.build = [&] {
    impl = std::make_unique<Impl>(o, data.dim, data.n, data.patch, dev);
    return std::vector<torch::nn::Module*>{impl->enc.get(), impl->dec.get()};  // encoder first
  };
  model.init_weights = init_weights;
  model.inputs = [&](const std::int64_t* idx, std::int64_t B) {
    torch::Tensor x, means;
    gather(data, idx, B, x, means);
    return std::vector<torch::Tensor>{x.to(dev), means.to(dev)};
  };
  model.loss = [&](const std::vector<torch::Tensor>& batch) {
    return torch::mse_loss(impl->reconstruct(batch[0], batch[1]), batch[0]);
  };
  model.optimiser = OptimiserPreset::adam_l2(o.lr, o.weight_decay, o.beta1, o.beta2);
  train_closure({data.count, o.epochs, o.batch, LastBatch::keep, o.seed, o.threads, dev}, model, on_epoch);
  return FieldAutoencoder(std::move(impl));
}

void FieldAutoencoder::encode_patches(const float* patches, std::int64_t m, float* out) const {
  auto& a = *impl_;
  if (m <= 0) return;
  if (!patches || !out) bad("encode_patches needs patches and out when m > 0.");
  const FieldEncoderWeights E = weights_of(*a.enc);
  // Patches are independent: splitting them over torch's threads changes no bit.
  at::parallel_for(0, m, 256, [&](std::int64_t b, std::int64_t e) {
    std::vector<float> h(static_cast<std::size_t>(2 * E.hidden));
    for (std::int64_t i = b; i < e; ++i) out[i] = E(patches + i * a.P, h.data(), h.data() + E.hidden);
  });
}

void FieldAutoencoder::latents(const FieldFrames& f, float* out) const {
  auto& a = *impl_;
  a.check(f, /*same_n=*/false);
  if (f.count == 0) return;
  const int p = a.p, d = f.n / p;
  const std::int64_t N = cells(f.n, f.dim), K = cells(d, f.dim);
  // Frames per encode_patches call: about 4096 patches (bounds the 2-D tiling buffer).
  const std::int64_t group = std::max<std::int64_t>(1, 4096 / (2 * K));
  std::vector<float> tiles, codes;
  for (std::int64_t g0 = 0; g0 < f.count; g0 += group) {
    const std::int64_t G = std::min(group, f.count - g0);
    const float* x0 = f.states + g0 * 2 * N;
    const float* src = x0;  // in 1-D a frame is already its 2K patches in order
    if (f.dim == 2) {
      tiles.resize(static_cast<std::size_t>(G * 2 * N));
      float* dst = tiles.data();
      for (std::int64_t k = 0; k < 2 * G; ++k)  // (frame, field) planes
        for (int r = 0; r < d; ++r)
          for (int c = 0; c < d; ++c)
            for (int i = 0; i < p; ++i, dst += p)
              std::memcpy(dst, x0 + k * N + (std::int64_t(r) * p + i) * f.n + std::int64_t(c) * p, sizeof(float) * static_cast<std::size_t>(p));
      src = tiles.data();
    }
    codes.resize(static_cast<std::size_t>(G * 2 * K));
    encode_patches(src, G * 2 * K, codes.data());
    for (std::int64_t k = 0; k < G; ++k)
      for (int fld = 0; fld < 2; ++fld) {
        const float* x = x0 + (k * 2 + fld) * N;
        const float* e = codes.data() + (k * 2 + fld) * K;
        out[(g0 + k) * 4 + fld] = static_cast<float>(mean_of(x, N));
        out[(g0 + k) * 4 + 2 + fld] = static_cast<float>(mean_of(e, K));
      }
  }
}

double FieldAutoencoder::reconstruction_mse(const FieldFrames& f) const {
  auto& a = *impl_;
  a.check(f, /*same_n=*/true);
  if (f.count < 1) bad("reconstruction_mse needs at least one frame (count >= 1).");
  torch::NoGradGuard ng;
  const std::int64_t group = std::max<std::int64_t>(1, (std::int64_t{1} << 18) / (2 * a.N));
  std::vector<float> z;
  double sum = 0;
  for (std::int64_t g0 = 0; g0 < f.count; g0 += group) {
    const std::int64_t G = std::min(group, f.count - g0);
    FieldFrames part = f;
    part.states = f.states + g0 * 2 * a.N;
    part.count = G;
    z.resize(static_cast<std::size_t>(G * 4));
    latents(part, z.data());
    const auto x = torch::from_blob(const_cast<float*>(part.states), {G, 2 * a.N}, torch::kFloat).to(a.device);
    const auto y = a.dec->forward(torch::from_blob(z.data(), {G, 4}, torch::kFloat).to(a.device));
    sum += (y - x).to(torch::kDouble).square().sum().item<double>();
  }
  return sum / (double(f.count) * 2.0 * double(a.N));
}

void FieldAutoencoder::save(const std::string& path) const {
  auto& a = *impl_;
  torch::serialize::OutputArchive ar;
  write_int(ar, "meta_format", 1);
  write_int(ar, "meta_dim", a.dim);
  write_int(ar, "meta_n", a.n);
  write_int(ar, "meta_patch", a.p);
  write_int(ar, "meta_hidden", a.o.hidden);
  write_int(ar, "meta_epochs", a.o.epochs);
  write_int(ar, "meta_batch", a.o.batch);
  write_double(ar, "meta_lr", a.o.lr);
  write_double(ar, "meta_weight_decay", a.o.weight_decay);
  write_double(ar, "meta_beta1", a.o.beta1);
  write_double(ar, "meta_beta2", a.o.beta2);
  write_int(ar, "meta_seed", static_cast<std::int64_t>(a.o.seed));
  write_int(ar, "meta_threads", a.o.threads);
  write_string(ar, "meta_device", a.o.device);
  torch::serialize::OutputArchive e, d;
  a.enc->save(e);
  a.dec->save(d);
  ar.write("encoder", e);
  ar.write("decoder", d);
  save_archive_file(ar, path);
}

FieldAutoencoder FieldAutoencoder::load(const std::string& path) {
  torch::serialize::InputArchive ar;
  ar.load_from(path, torch::Device(torch::kCPU));
  if (read_value(ar, "meta_format").toInt() != 1) throw std::runtime_error(path + ": unknown field autoencoder format.");
  const int dim = static_cast<int>(read_value(ar, "meta_dim").toInt());
  const int n = static_cast<int>(read_value(ar, "meta_n").toInt());
  const int p = static_cast<int>(read_value(ar, "meta_patch").toInt());
  FieldAutoencoderOptions o;
  o.hidden = static_cast<int>(read_value(ar, "meta_hidden").toInt());
  o.epochs = static_cast<int>(read_value(ar, "meta_epochs").toInt());
  o.batch = static_cast<int>(read_value(ar, "meta_batch").toInt());
  o.lr = read_value(ar, "meta_lr").toDouble();
  o.weight_decay = read_value(ar, "meta_weight_decay").toDouble();
  o.beta1 = read_value(ar, "meta_beta1").toDouble();
  o.beta2 = read_value(ar, "meta_beta2").toDouble();
  o.seed = static_cast<std::uint64_t>(read_value(ar, "meta_seed").toInt());
  o.threads = static_cast<int>(read_value(ar, "meta_threads").toInt());
  o.device = "cpu";  // the trained device is recorded in the file; a loaded model lives on the CPU
  validate_geometry(dim, n, p);
  validate(o);
  auto impl = std::make_unique<Impl>(o, dim, n, p, torch::Device(torch::kCPU));
  torch::serialize::InputArchive e, d;
  ar.read("encoder", e);
  ar.read("decoder", d);
  impl->enc->load(e);
  impl->dec->load(d);
  impl->set_train(false);
  return FieldAutoencoder(std::move(impl));
}

void FieldAutoencoder::export_encoder(const std::string& path) const {
  auto& a = *impl_;
  torch::jit::Module mod("MacrodynFieldEncoder");
  const std::pair<const char*, torch::nn::Linear*> layers[] = {{"l0", &a.enc->l0}, {"l1", &a.enc->l1}, {"l2", &a.enc->l2}};
  for (const auto& [name, lin] : layers) {
    mod.register_parameter(std::string(name) + "_weight", (*lin)->weight.detach().to(torch::kCPU).clone(), false);
    mod.register_parameter(std::string(name) + "_bias", (*lin)->bias.detach().to(torch::kCPU).clone(), false);
  }
  mod.register_attribute("dim", c10::IntType::get(), c10::IValue(std::int64_t(a.dim)));
  mod.register_attribute("patch", c10::IntType::get(), c10::IValue(std::int64_t(a.p)));
  mod.register_attribute("hidden", c10::IntType::get(), c10::IValue(std::int64_t(a.o.hidden)));
  mod.register_attribute("channels", c10::IntType::get(), c10::IValue(std::int64_t(2)));
  mod.register_attribute("closure_dim", c10::IntType::get(), c10::IValue(std::int64_t(2)));
  // [n, patch dims.., C] -> the C fields of each patch as rows [n C, cells] -> [n, C].
  mod.define(
      "def forward(self, x):\n"
      "    n = x.size(0)\n"
      "    c = x.size(-1)\n"
      "    h = torch.flatten(x, 1, -2).transpose(1, 2).reshape(n * c, -1)\n"
      "    h = torch.relu(torch.linear(h, self.l0_weight, self.l0_bias))\n"
      "    h = torch.relu(torch.linear(h, self.l1_weight, self.l1_bias))\n"
      "    return torch.linear(h, self.l2_weight, self.l2_bias).reshape(n, c)\n");
  mod.eval();
  save_module(mod, path);
}

}  // namespace macrodyn::learn
