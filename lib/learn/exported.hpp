#pragma once
// Runtime for an exported model directory: the TorchScript files drift.pt, diffusion.pt
// and encoder.pt that Python's torch.jit.load also reads. predict, evaluate and encode use
// these, so what C++ evaluates is exactly what a user loads in Python. No torch header.
#include <cstdint>
#include <memory>
#include <string>

namespace macrodyn::learn {

class ExportedSde {
 public:
  // Loads dir/drift.pt and dir/diffusion.pt; throws std::runtime_error naming the file.
  ExportedSde(const std::string& dir, int dim, const std::string& device = "cpu");
  ~ExportedSde();
  ExportedSde(ExportedSde&&) noexcept;
  int dim() const;
  // B states [B, d] -> drift [B, d] and sigma [B, d, d] (row-major float32).
  void eval(const float* z, std::int64_t B, float* drift, float* sigma) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ExportedEncoder {
 public:
  // Loads the TorchScript encoder psi: float32 [n, p, p] of +-1 -> [n, closure_dim].
  // chunk: patches per forward call; 0 = the autoencoder's rule (below). A patch's code
  // depends only on the chunk size, not on its neighbours in the chunk, so with chunk = 1
  // it is the same bits however the patches are grouped (macrodyn run, any rank count).
  ExportedEncoder(const std::string& path, int p, int closure_dim, const std::string& device = "cpu",
                  std::int64_t chunk = 0);
  ~ExportedEncoder();
  ExportedEncoder(ExportedEncoder&&) noexcept;
  int closure_dim() const;
  int patch() const;
  // n patches [n, p, p] -> out [n, closure_dim], in fixed zero-padded chunks (by default
  // 4096 patches for p <= 8, 4096 * 64 / p^2 above, as the autoencoder), so a patch's code
  // does not depend on n.
  void encode(const std::int8_t* patches, std::int64_t n, float* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace macrodyn::learn
