#pragma once
// What one epoch of a closure autoencoder's training reports (docs/design.md §1.8, §8.6.4).
// Both autoencoders train through learn/closure_trainer.cpp, so they report alike; each
// model's train() says how its loss is averaged. Torch-free: a public learn header.

namespace macrodyn::learn {

struct EpochReport {
  int epoch;             // 1-based
  double loss;           // mean reconstruction loss over the epoch's batches (see each train())
  double seconds;        // wall time of the epoch's batches
  double samples_per_s;  // training items (snapshots, frames) per second
};

}  // namespace macrodyn::learn
