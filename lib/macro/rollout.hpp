#pragma once
// Ensembles of macroscopic trajectories from a learned SDE dz = mu(z) dt + sigma(z) dW
// (docs/design.md §1.10): Euler–Maruyama without the loss factor c and without eps.
//
// The model is given as a batched callback so that this module needs no torch: lib/learn
// (or a test) wraps its evaluation in SdeFunctions.
#include <cstdint>
#include <functional>
#include <vector>

namespace macrodyn::macro {

// The model, evaluated on a batch of B states of dimension d (row-major, float32):
// eval writes drift [B, d] and sigma [B, d, d] row-major (Sigma = sigma sigma^T), all
// B*d and B*d*d entries, into the caller's buffers.
struct SdeFunctions {
  int dim = 0;
  std::function<void(const float* z, std::int64_t B, float* drift, float* sigma)> eval;
};

// z0: [B, d] initial states, one per trajectory. Returns [B, steps + 1, d] row-major,
// frame 0 = z0:  z_k = z_{k-1} + mu(z_{k-1}) dt + sigma(z_{k-1}) sqrt(dt) xi_k,
// xi_k ~ N(0, I_d).
//
// The state is accumulated in double (the model sees it rounded to float). The noise of
// trajectory b comes from its own stream WorkItem{seed, Purpose::rollout, 0, b}, so the
// result is bit-identical for any `batch` (the largest number of states per eval call).
// A trajectory that becomes non-finite keeps being integrated (NaN/inf propagate to its
// later frames); nothing is thrown for it.
//
// Throws InputError for dim < 1, an empty eval, z0 not a multiple of dim, steps < 0,
// dt not finite and positive, or batch < 1.
// `on_chunk` (optional) is called after each chunk with the trajectories finished so far
// and their total (a progress meter).
std::vector<double> euler_maruyama(const SdeFunctions& f, const std::vector<double>& z0, int steps,
                                   double dt, std::uint64_t seed, std::int64_t batch = 4096,
                                   const std::function<void(std::int64_t done, std::int64_t total)>& on_chunk = {});

}  // namespace macrodyn::macro
