// Online SDE training: single optimiser steps on batches drawn by the caller.
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "learn/sde_impl.hpp"
#include "learn/sde_online.hpp"
#include "learn/sde_optim.hpp"

namespace macrodyn::learn {

struct OnlineSdeTrainer::Impl {
  OnlineSdeOptions o;
  SdeModel model;
  torch::optim::AdamW opt;
  Plateau plateau;
  double lr;
  std::int64_t steps = 0;
  double epoch_sum = 0;  // losses of the current scheduler epoch
  std::function<void(float*, std::int64_t)> hook;
  std::function<double(double)> loss_hook;
  std::vector<float> flat;  // gradient scratch for the hook

  Impl(int dim, const OnlineSdeOptions& opts)
      : o(opts),
        model(dim, opts.diffusion, opts.seed, opts.device),
        opt(model.impl().net->parameters(),
            torch::optim::AdamWOptions(opts.lr).betas({0.9, 0.999}).eps(1e-8).weight_decay(0).amsgrad(true)),
        lr(opts.lr) {
    plateau.patience = opts.patience;
  }

  void apply_hook() {
    auto params = model.impl().net->parameters();
    std::int64_t n = 0;
    for (const auto& p : params) n += p.numel();
    flat.resize(static_cast<std::size_t>(n));
    std::int64_t at = 0;
    for (const auto& p : params) {
      const auto g = p.grad().to(torch::kCPU).contiguous();
      std::copy(g.data_ptr<float>(), g.data_ptr<float>() + g.numel(), flat.data() + at);
      at += g.numel();
    }
    hook(flat.data(), n);
    at = 0;
    for (auto& p : params) {
      const auto g = torch::from_blob(flat.data() + at, p.grad().sizes(), torch::kFloat32);
      p.mutable_grad().copy_(g);
      at += p.numel();
    }
  }
};

OnlineSdeTrainer::OnlineSdeTrainer(int dim, const OnlineSdeOptions& o) {
  if (!(o.loss_factor > 0)) throw std::invalid_argument("the loss factor must be positive");
  if (!(o.eps > 0)) throw std::invalid_argument("epsilon must be positive");
  if (o.steps_per_epoch < 1) throw std::invalid_argument("steps per scheduler epoch must be >= 1");
  impl_ = std::make_unique<Impl>(dim, o);
  impl_->model.impl().net->train();
}

OnlineSdeTrainer::~OnlineSdeTrainer() = default;
OnlineSdeTrainer::OnlineSdeTrainer(OnlineSdeTrainer&&) noexcept = default;

void OnlineSdeTrainer::set_gradient_hook(std::function<void(float*, std::int64_t)> hook) {
  impl_->hook = std::move(hook);
}

void OnlineSdeTrainer::set_loss_hook(std::function<double(double)> hook) { impl_->loss_hook = std::move(hook); }

namespace {
// The per-pair loss of `batch` under `net` with loss factor `factor`.
torch::Tensor batch_nll(SdeNet& net, const torch::Device& dev, const LatentPairs& batch, double factor, double eps) {
  const auto n = batch.size();
  const auto z0 = to_tensor(batch.z0.data(), n, batch.dim, dev);
  const auto z1 = to_tensor(batch.z1.data(), n, batch.dim, dev);
  const auto dt = torch::from_blob(const_cast<double*>(batch.dt.data()), {n}, torch::kFloat64).to(dev, torch::kFloat32);
  return sde_nll(net->drift(z0), net->sigma(z0), z0, z1, dt, factor, eps);
}
}  // namespace

OnlineStepReport OnlineSdeTrainer::step(const LatentPairs& batch) {
  Impl& m = *impl_;
  if (batch.size() == 0) throw std::invalid_argument("online SDE step: empty batch");
  if (batch.dim != m.model.dim()) throw std::invalid_argument("online SDE step: batch has another dimension");
  const auto loss = batch_nll(m.model.impl().net, m.model.impl().device, batch, m.o.loss_factor, m.o.eps).mean();
  m.opt.zero_grad();
  loss.backward();
  if (m.hook) m.apply_hook();
  m.opt.step();

  OnlineStepReport r;
  r.loss = loss.item<double>();
  if (m.loss_hook) r.loss = m.loss_hook(r.loss);
  r.lr = m.lr;
  if (!std::isfinite(r.loss))
    throw std::runtime_error("online SDE training diverged (non-finite loss) at step " + std::to_string(m.steps + 1) +
                             "; try a smaller learning rate or a larger epsilon");
  r.step = ++m.steps;
  m.epoch_sum += r.loss;
  if (m.steps % m.o.steps_per_epoch == 0) {
    r.epoch_end = true;
    r.epoch_loss = m.epoch_sum / static_cast<double>(m.o.steps_per_epoch);
    m.lr = set_lr(m.opt, m.plateau.step(r.epoch_loss, m.lr));
    m.epoch_sum = 0;
  }
  return r;
}

double OnlineSdeTrainer::validation_loss_sum(const LatentPairs& batch) const {
  Impl& m = *impl_;
  if (batch.size() == 0) return 0.0;
  torch::NoGradGuard no_grad;
  auto& net = m.model.impl().net;
  net->eval();
  const double sum = batch_nll(net, m.model.impl().device, batch, 1.0, m.o.eps).sum().item<double>();
  net->train();
  return sum;
}

std::int64_t OnlineSdeTrainer::steps() const { return impl_->steps; }
double OnlineSdeTrainer::lr() const { return impl_->lr; }
const SdeModel& OnlineSdeTrainer::model() const { return impl_->model; }

void OnlineSdeTrainer::save(const std::string& path) const {
  Impl& m = *impl_;
  torch::serialize::OutputArchive a;
  write_training_state(a, *m.model.impl().net, m.opt, m.lr, m.plateau);
  a.write("steps", torch::tensor(m.steps));
  a.write("epoch_sum", torch::tensor(m.epoch_sum, torch::kFloat64));
  save_archive(a, path);
}

void OnlineSdeTrainer::load(const std::string& path) {
  Impl& m = *impl_;
  torch::serialize::InputArchive a;
  load_archive(a, path, m.model.impl().device);
  m.lr = read_training_state(a, *m.model.impl().net, m.opt, m.plateau);
  m.steps = read_scalar(a, "steps").item<std::int64_t>();
  m.epoch_sum = read_scalar(a, "epoch_sum").item<double>();
}

}  // namespace macrodyn::learn
