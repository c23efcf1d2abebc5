#pragma once
// Optimiser pieces shared by epoch training (sde_train.cpp) and online training
// (sde_online.cpp): the plateau scheduler, the learning-rate setter and the AdamW
// moments in a checkpoint. Torch inside: lib/learn sources only.
#include <torch/torch.h>

#include <algorithm>
#include <limits>

namespace macrodyn::learn {

// PyTorch's ReduceLROnPlateau(mode=min, factor, patience, threshold=1e-4 rel, cooldown 0,
// min_lr), copied literally: "improved" means loss < best * (1 - threshold), which for
// negative losses accepts slightly worse values (method-notes §0).
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

}  // namespace macrodyn::learn
