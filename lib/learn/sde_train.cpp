// Training of the neural SDE: AdamW (amsgrad), ReduceLROnPlateau written out (LibTorch
// 1.13 has none in C++), checkpoints that make a resumed run bit-identical.
#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include "learn/sde_impl.hpp"
#include "learn/sde_optim.hpp"

namespace macrodyn::learn {

namespace {

struct DeviceData {
  torch::Tensor z0, z1, dt, cond;  // cond undefined without conditions
  std::int64_t n = 0;
  torch::Tensor cond_rows(const torch::Tensor& idx) const { return cond.defined() ? cond.index_select(0, idx) : cond; }
  torch::Tensor cond_slice(std::int64_t b, std::int64_t e) const { return cond.defined() ? cond.slice(0, b, e) : cond; }
};

DeviceData upload(const LatentPairs& p, const torch::Device& dev) {
  if (p.size() == 0) return {};
  if (static_cast<std::int64_t>(p.z0.size()) != p.size() * p.dim ||
      static_cast<std::int64_t>(p.z1.size()) != p.size() * p.dim)
    throw std::invalid_argument("latent pairs: z0, z1 and dt have inconsistent lengths");
  if (static_cast<std::int64_t>(p.cond.size()) != p.size() * p.cond_dim)
    throw std::invalid_argument("latent pairs: the conditions have an inconsistent length");
  DeviceData d;
  d.n = p.size();
  d.z0 = to_tensor(p.z0.data(), d.n, p.dim, dev);
  d.z1 = to_tensor(p.z1.data(), d.n, p.dim, dev);
  d.dt = torch::from_blob(const_cast<double*>(p.dt.data()), {d.n}, torch::kFloat64).to(dev, torch::kFloat32);
  if (p.cond_dim > 0) d.cond = to_tensor(p.cond.data(), d.n, p.cond_dim, dev);
  return d;
}

// Mean loss over `d` with factor 1 (the reference's validation loss), in fixed chunks.
double validation_loss(SdeNet& net, const DeviceData& d, double eps) {
  if (d.n == 0) return std::numeric_limits<double>::quiet_NaN();
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (std::int64_t b = 0; b < d.n; b += 8192) {
    const auto e = std::min(d.n, b + 8192);
    const auto z0 = d.z0.slice(0, b, e);
    const auto c = d.cond_slice(b, e);
    sum += sde_nll(net->drift(z0, c), net->sigma(z0, c), z0, d.z1.slice(0, b, e), d.dt.slice(0, b, e), 1.0, eps)
               .sum()
               .item<double>();
  }
  return sum / static_cast<double>(d.n);
}

struct Checkpoint {
  int epoch = 0;  // epochs completed
  double lr = 0;
  Plateau plateau;
};

void save_checkpoint(const std::string& path, SdeNet& net, torch::optim::AdamW& opt, const Checkpoint& c) {
  torch::serialize::OutputArchive a;
  write_training_state(a, *net, opt, c.lr, c.plateau);
  a.write("epoch", torch::tensor(static_cast<std::int64_t>(c.epoch)));
  save_archive(a, path);
}

Checkpoint load_checkpoint(const std::string& path, SdeNet& net, torch::optim::AdamW& opt,
                           const torch::Device& dev) {
  torch::serialize::InputArchive a;
  load_archive(a, path, dev);
  Checkpoint c;
  c.lr = read_training_state(a, *net, opt, c.plateau);
  c.epoch = static_cast<int>(read_scalar(a, "epoch").item<std::int64_t>());
  return c;
}

}  // namespace

SdeModel train_sde(const LatentPairs& train, const LatentPairs& val, const SdeOptions& o,
                   const std::function<void(const SdeEpochReport&)>& on_epoch,
                   const std::function<bool()>& should_stop) {
  if (train.size() == 0) throw std::invalid_argument("no training pairs");
  if (o.batch < 1) throw std::invalid_argument("the batch size must be >= 1");
  if (o.epochs < 1) throw std::invalid_argument("the number of epochs must be >= 1");
  if (!(o.loss_factor > 0)) throw std::invalid_argument("the loss factor must be positive");
  if (o.patience < 0) throw std::invalid_argument("the plateau patience must be >= 0");
  if (!(o.eps > 0)) throw std::invalid_argument("epsilon must be positive");
  if (val.size() && (val.dim != train.dim || val.cond_dim != train.cond_dim))
    throw std::invalid_argument("validation pairs have another dimension");
  if (static_cast<int>(o.cond_offset.size()) != train.cond_dim || static_cast<int>(o.cond_scale.size()) != train.cond_dim)
    throw std::invalid_argument("the conditions' normalisation does not match the pairs' conditions");
  if (o.threads > 0) torch::set_num_threads(o.threads);

  SdeModel model(train.dim, SdeArchitecture{o.diffusion, o.drift, train.cond_dim, o.cond_offset, o.cond_scale}, o.seed,
                 o.device);
  auto& net = model.impl().net;
  const auto dev = model.impl().device;
  torch::optim::AdamW opt(net->parameters(),
                          torch::optim::AdamWOptions(o.lr).betas({0.9, 0.999}).eps(1e-8).weight_decay(0).amsgrad(true));
  Checkpoint state;
  state.lr = o.lr;
  state.plateau.patience = o.patience;
  if (o.resume && !o.checkpoint.empty() && std::filesystem::exists(o.checkpoint)) {
    state = load_checkpoint(o.checkpoint, net, opt, dev);
    state.plateau.patience = o.patience;
    set_lr(opt, state.lr);
  }

  const DeviceData tr = upload(train, dev), va = upload(val, dev);
  for (int epoch = state.epoch + 1; epoch <= o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    SdeEpochReport rep;
    rep.epoch = epoch;
    rep.epochs = o.epochs;
    rep.lr = state.lr;
    net->eval();
    rep.val_loss = validation_loss(net, va, o.eps);
    net->train();

    // The permutation is drawn on the CPU from a generator keyed by (seed, epoch), so it
    // is the same on every device and after a resume.
    auto gen = at::detail::createCPUGenerator(o.seed * 1000003ULL + static_cast<std::uint64_t>(epoch));
    const auto perm = torch::randperm(tr.n, gen, torch::TensorOptions().dtype(torch::kInt64)).to(dev);
    double sum = 0;
    std::int64_t batches = 0;
    for (std::int64_t b = 0; b < tr.n; b += o.batch) {
      const auto idx = perm.slice(0, b, std::min(tr.n, b + o.batch));
      const auto z0 = tr.z0.index_select(0, idx);
      const auto c = tr.cond_rows(idx);
      const auto loss = sde_nll(net->drift(z0, c), net->sigma(z0, c), z0, tr.z1.index_select(0, idx),
                                tr.dt.index_select(0, idx), o.loss_factor, o.eps)
                            .mean();
      opt.zero_grad();
      loss.backward();
      opt.step();
      sum += loss.item<double>();
      ++batches;
    }
    rep.train_loss = sum / static_cast<double>(batches);
    if (!std::isfinite(rep.train_loss))
      throw std::runtime_error("training diverged (non-finite loss) in epoch " + std::to_string(epoch) +
                               "; try a smaller learning rate or a larger epsilon");
    state.lr = set_lr(opt, state.plateau.step(rep.train_loss, state.lr));
    state.epoch = epoch;
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rep.samples_per_s = static_cast<double>(tr.n) / rep.seconds;
    if (!o.checkpoint.empty()) save_checkpoint(o.checkpoint, net, opt, state);
    if (on_epoch) on_epoch(rep);
    if (should_stop && should_stop()) break;
  }
  net->eval();
  return model;
}

}  // namespace macrodyn::learn
