#pragma once
// "cpu", "cuda[:N]" or "auto" -> a torch::Device, for the lib/learn sources only (it
// includes torch; no other module may include it). Bad names and CUDA without a GPU
// throw std::invalid_argument with one sentence.
#include <torch/torch.h>

#include <stdexcept>
#include <string>

namespace macrodyn::learn {

inline torch::Device parse_device(const std::string& name) {
  std::string want = name;
  if (want == "auto") want = torch::cuda::is_available() ? "cuda" : "cpu";
  if (want != "cpu" && want.rfind("cuda", 0) != 0)
    throw std::invalid_argument("device must be \"cpu\", \"cuda\" or \"auto\", not \"" + name + "\".");
  if (want != "cpu" && !torch::cuda::is_available())
    throw std::invalid_argument("device \"" + name + "\" was requested but the linked libtorch sees no CUDA device.");
  try {
    return torch::Device(want);
  } catch (const std::exception&) {
    throw std::invalid_argument("device \"" + name + "\" is not a valid torch device name.");
  }
}

}  // namespace macrodyn::learn
