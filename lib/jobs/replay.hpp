#pragma once
// Replay of an online training (`macrodyn run`): the learner logged, step by step, the
// pair ids of its batches (learn.out/schedule.h5, with the trainer's options and the
// normalisation as attributes); following that schedule on the streamed dataset
// (stream.save, /latent rows in pair-id order) repeats the same optimiser steps on the
// same pairs. With one learner the model is the online one bit for bit (same device and
// torch threads); with G learners a replay step takes all G batches at once, the same
// gradient up to float summation order.
#include <string>

#include "jobs/model_info.hpp"

namespace macrodyn::jobs {

struct ReplayOptions {
  std::string dataset;   // stream.save of the run
  std::string schedule;  // learn.out/schedule.h5 of the run (its model.json sits beside it)
  std::string out;       // model directory to write
  int threads = 0;       // torch threads (bit-identical only for the online run's count)
  bool overwrite = false;
  bool progress = true;
};

// Throws InputError (naming the option) or FileError (naming the file) before training.
ModelInfo replay_schedule(const ReplayOptions& o);

}  // namespace macrodyn::jobs
