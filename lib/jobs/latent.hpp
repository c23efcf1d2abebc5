#pragma once
// Latent pairs of a dataset (docs/design.md §1.7): z0 = phi(x_t) = (z*, phi_hat), the K-scaled
// target z1 = z0 + (g(x_{t+dt,I}) - g(x_{t,I})) and the naive target z1_naive =
// g(x_{t+dt,I}), with the closure part of g given by the encoder psi of the patch.
// Physical coordinates and physical time; normalisation happens in the model.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace macrodyn::io {
class DatasetReader;
}
namespace macrodyn::learn {
class ExportedEncoder;
}

namespace macrodyn::jobs {

struct LatentSet {
  std::vector<std::string> variables;  // z* names, then closure_1, closure_2, ...
  std::vector<float> z0, z1, z1_naive;  // [n, d]
  std::vector<double> dt;               // [n], physical
  int dim() const { return static_cast<int>(variables.size()); }
  std::int64_t size() const { return static_cast<std::int64_t>(dt.size()); }
};

// Encodes the first `max_pairs` committed pairs (all when <= 0) in blocks of rows; the
// encoder may be null (no closure: z = z*). Snapshot codes average psi over the K patches
// of /snapshots/states[snapshot_id]. `on_block(done, total)` reports progress.
LatentSet encode_pairs(const io::DatasetReader& ds, const learn::ExportedEncoder* encoder, std::int64_t max_pairs,
                       const std::function<void(std::int64_t, std::int64_t)>& on_block = {});

// The small-system baseline's pairs (train --method small): consecutive frames of the
// dataset's small runs, z0 = g(x_k), z1 = z1_naive = g(x_{k+1}) over the whole small lattice,
// dt = the frame's duration; run by run, the first `max_pairs` (all when <= 0). No closure.
LatentSet small_frame_pairs(const io::DatasetReader& ds, std::int64_t max_pairs);

// The learned closure of n snapshots of side L (the encoder's dimension, its voxel bytes
// each, as stored): phi_hat = the mean over the K patches (row-major tiling) of the
// encoder's codes, summed in patch-index order in double, so a snapshot's value does not
// depend on the block it is encoded in -> out [n, closure_dim]. `patches` and `codes`
// are scratch, kept by the caller across blocks.
void snapshot_closure(const learn::ExportedEncoder& encoder, const std::int8_t* states, std::int64_t n, int L,
                      std::vector<std::int8_t>& patches, std::vector<float>& codes, double* out);

// Writes `set` as /latent/{z0, z1, z1_naive, dt} of a new dataset file at `path`, with the
// root attributes of the source dataset and the group attributes of its /pairs.
void write_latent(const std::string& path, const io::DatasetReader& source, const LatentSet& set);

// Reads /latent of a file written by write_latent (all committed rows).
LatentSet read_latent(const std::string& path);

}  // namespace macrodyn::jobs
