#pragma once
// Runtime for an exported model directory: the TorchScript files drift.pt, diffusion.pt
// and encoder.pt that Python's torch.jit.load also reads. predict, evaluate and encode use
// these, so what C++ evaluates is exactly what a user loads in Python. No torch header.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace macrodyn::learn {

class ExportedSde {
 public:
  // Loads dir/drift.pt and dir/diffusion.pt; throws std::runtime_error naming the file.
  ExportedSde(const std::string& dir, int dim, const std::string& device = "cpu");
  ~ExportedSde();
  ExportedSde(ExportedSde&&) noexcept;
  int dim() const;
  // A conditioned model's conditions (raw, e.g. T in K), the same for every state evaluated:
  // the modules are then called as forward(z, c).
  void set_condition(const std::vector<float>& c);
  // B states [B, d] -> drift [B, d] and sigma [B, d, d] (row-major float32).
  void eval(const float* z, std::int64_t B, float* drift, float* sigma) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A model directory's encoder.pt: the closure psi of one patch, given its voxels as the
// dataset stores them. Two networks keep this contract (System::closure_network):
//  * spins: forward(x: float32 [n, p, p] of +-1) -> [n, closure_dim] (learn/autoencoder.hpp);
//  * fields: forward(x: float32 [n, p (, p), C], the fields last) -> [n, C], one MLP
//    shared by the C fields (learn/field_autoencoder.hpp; attribute `hidden`).
class ExportedEncoder {
 public:
  // Loads the TorchScript encoder (throws std::runtime_error naming the file, also when a
  // field encoder's patch or field count disagrees with p and closure_dim).
  // chunk (spins): patches per forward call; 0 = the autoencoder's rule (below). A patch's
  // code depends only on the chunk size, not on its neighbours in the chunk, so with
  // chunk = 1 it is the same bits however the patches are grouped (macrodyn run, any rank
  // count). A field encoder is evaluated on the CPU patch by patch in a fixed order
  // (learn/field_encoder_cpu.hpp): its codes never depend on the grouping.
  ExportedEncoder(const std::string& path, int p, int closure_dim, const std::string& device = "cpu",
                  std::int64_t chunk = 0);
  ~ExportedEncoder();
  ExportedEncoder(ExportedEncoder&&) noexcept;
  int closure_dim() const;
  int patch() const;
  int dim() const;          // the patches' dimension (2 for spins)
  int voxel_bytes() const;  // bytes per voxel of its input (1 for spins, 4 C for C float fields)
  // n spin patches [n, p, p] -> out [n, closure_dim], in fixed zero-padded chunks (by
  // default 4096 patches for p <= 8, 4096 * 64 / p^2 above, as the autoencoder), so a
  // patch's code does not depend on n. Spin encoders only (std::logic_error otherwise).
  void encode(const std::int8_t* patches, std::int64_t n, float* out) const;
  // n patches of p^dim voxels of voxel_bytes() bytes each, as stored -> out [n, closure_dim].
  void encode_voxels(const std::uint8_t* patches, std::int64_t n, float* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace macrodyn::learn
