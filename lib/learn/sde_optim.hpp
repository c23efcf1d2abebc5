#pragma once
// Optimiser pieces shared by epoch training (sde_train.cpp) and online training
// (sde_online.cpp): the plateau scheduler, the learning-rate setter and the AdamW
// moments in a checkpoint. Torch inside: lib/learn sources only.
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>

#include "learn/torch_files.hpp"

namespace macrodyn::learn {

// PyTorch's ReduceLROnPlateau(mode=min, factor, patience, threshold=1e-4 rel, cooldown 0,
// min_lr), copied literally: "improved" means loss < best * (1 - threshold), which for
// negative losses accepts slightly worse values (docs/design.md §8.1.5).
struct Plateau {
  double factor = 0.5, threshold = 1e-4, min_lr = 5e-6;
  int patience = 5;
  double best = std::numeric_limits<double>::infinity();
  int bad_epochs = 0;

  // Returns the learning rate for the next epoch.
  double step(double loss, double lr) {
    if (loss < best * (1.0 - threshold)) {
      best = loss;
      bad_epochs = 0;
    } else {
      ++bad_epochs;
    }
    if (bad_epochs > patience) {
      const double reduced = std::max(lr * factor, min_lr);
      if (lr - reduced > 1e-8) lr = reduced;
      bad_epochs = 0;
    }
    return lr;
  }
};

inline double set_lr(torch::optim::AdamW& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  return lr;
}

// The AdamW moments, written per parameter index rather than through LibTorch's
// optimizer serialisation, which keys the state by tensor addresses.
inline void write_adamw_state(torch::serialize::OutputArchive& a, torch::optim::AdamW& opt) {
  const auto& params = opt.param_groups().at(0).params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto key = c10::guts::to_string(params[i].unsafeGetTensorImpl());
    const auto it = opt.state().find(key);
    if (it == opt.state().end()) continue;
    const auto& st = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    const std::string k = "adamw/" + std::to_string(i) + "/";
    a.write(k + "step", torch::tensor(static_cast<std::int64_t>(st.step())));
    a.write(k + "exp_avg", st.exp_avg(), true);
    a.write(k + "exp_avg_sq", st.exp_avg_sq(), true);
    a.write(k + "max_exp_avg_sq", st.max_exp_avg_sq(), true);
  }
}

inline void read_adamw_state(torch::serialize::InputArchive& a, torch::optim::AdamW& opt) {
  const auto& params = opt.param_groups().at(0).params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string k = "adamw/" + std::to_string(i) + "/";
    torch::Tensor step;
    if (!a.try_read(k + "step", step)) continue;
    auto st = std::make_unique<torch::optim::AdamWParamState>();
    st->step(step.item<std::int64_t>());
    torch::Tensor m1, m2, m2max;
    a.read(k + "exp_avg", m1, true);
    a.read(k + "exp_avg_sq", m2, true);
    a.read(k + "max_exp_avg_sq", m2max, true);
    st->exp_avg(m1);
    st->exp_avg_sq(m2);
    st->max_exp_avg_sq(m2max);
    opt.state()[c10::guts::to_string(params[i].unsafeGetTensorImpl())] = std::move(st);
  }
}

// What both trainers checkpoint besides their own counters: the network, the AdamW
// moments, the learning rate and the plateau scheduler.
inline void write_training_state(torch::serialize::OutputArchive& a, torch::nn::Module& net,
                                 torch::optim::AdamW& opt, double lr, const Plateau& plateau) {
  net.save(a);
  write_adamw_state(a, opt);
  a.write("lr", torch::tensor(lr, torch::kFloat64));
  a.write("plateau_best", torch::tensor(plateau.best, torch::kFloat64));
  a.write("plateau_bad_epochs", torch::tensor(static_cast<std::int64_t>(plateau.bad_epochs)));
}

// Write then rename: a crash mid-write never leaves a torn checkpoint behind.
inline void save_archive(torch::serialize::OutputArchive& a, const std::string& path) { save_archive_file(a, path); }

inline void load_archive(torch::serialize::InputArchive& a, const std::string& path, const torch::Device& dev) {
  try {
    a.load_from(path, dev);
  } catch (const c10::Error& e) {
    throw std::runtime_error("checkpoint " + path + " is not readable: " + e.what_without_backtrace());
  }
}

// A fresh tensor per read: reading into a defined tensor would reuse its dtype (a
// resumed run once got its learning rate back as garbage that way).
inline torch::Tensor read_scalar(torch::serialize::InputArchive& a, const char* key) {
  torch::Tensor t;
  a.read(key, t);
  return t;
}

// Restores what write_training_state wrote; returns the learning rate (also set in opt).
inline double read_training_state(torch::serialize::InputArchive& a, torch::nn::Module& net,
                                  torch::optim::AdamW& opt, Plateau& plateau) {
  net.load(a);
  read_adamw_state(a, opt);
  plateau.best = read_scalar(a, "plateau_best").item<double>();
  plateau.bad_epochs = static_cast<int>(read_scalar(a, "plateau_bad_epochs").item<std::int64_t>());
  return set_lr(opt, read_scalar(a, "lr").item<double>());
}

}  // namespace macrodyn::learn
