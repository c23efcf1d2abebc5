#pragma once
// The learner role of `macrodyn run` (docs/design.md §6.5): latent pairs go into a
// fixed-capacity replay buffer, and the neural SDE trains on batches drawn from it while
// pairs still arrive. With several learner ranks every step is collective: gradients
// and losses are averaged over the learners (data parallel), and the normalisation is
// computed from all of their first pairs.
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jobs/config.hpp"
#include "jobs/model_info.hpp"
#include "learn/replay_buffer.hpp"
#include "learn/sde_online.hpp"
#include "mpi/run/checkpoint.hpp"
#include "mpi/run/pair_row.hpp"
#include "mpi/run/stream_file.hpp"

namespace macrodyn {
namespace io {
class DatasetWriter;
}
namespace mpi {

class OnlineLearner {
 public:
  // `info` carries the system, tiling, variables and closure; the rest is filled in here.
  // `file` (may be null) keeps the stream. With `resume` (and its directory) the state
  // saved there is restored. Collective over `learners`.
  OnlineLearner(const jobs::Config& c, const PairRowLayout& layout, jobs::ModelInfo info, MPI_Comm learners,
                std::unique_ptr<StreamFile> file, const RunCheckpoint* resume = nullptr,
                const std::string& resume_dir = "");
  ~OnlineLearner();

  // One received pair row: into the buffer (z0 and the method's target) and the file.
  void ingest(const unsigned char* row);
  // After each received message: commits the file.
  void message_done();
  // Collective (sync points): with stream.save and several learners, the rows the other
  // learners took since the last call go to learner 0, which writes the file. They are
  // held until then, so memory is bounded by stream.sync_rounds rounds of pairs.
  void gather_stream_rows();

  // Collective: true when every learner holds learn.min_fill pairs.
  bool all_ready();
  // Collective: `n` optimiser steps (at most the steps left); the first fixes the
  // normalisation and time unit.
  void train(std::int64_t n);
  std::int64_t steps_left() const { return total_steps_ - trainer_steps(); }
  std::int64_t pairs_received() const { return received_; }
  // Pairs this learner took in this process and the seconds from the first to the last
  // of them: the streaming ingest rate, without the time simulators spent building
  // snapshots before the first pair.
  std::int64_t pairs_ingested() const { return ingested_; }
  double ingest_seconds() const {
    return ingested_ > 1 ? std::chrono::duration<double>(last_ingest_ - first_ingest_).count() : 0.0;
  }

  // Collective: drift.pt, diffusion.pt and model.json in learn.out (learner 0), the
  // metrics and the schedule closed.
  jobs::ModelInfo finish();

  // Collective: this learner's state into `dir` (trainer, replay buffer, counters); on
  // learner 0 also fills `ck` (steps, pairs, normalisation, stream rows) after
  // committing the stream file, the schedule and the metrics.
  void save(const std::string& dir, RunCheckpoint& ck);

 private:
  std::int64_t trainer_steps() const { return trainer_ ? trainer_->steps() : 0; }
  void fix_normalisation();
  void make_trainer();
  void open_outputs(std::int64_t keep_steps);
  void restore(const std::string& dir, const RunCheckpoint& ck);
  void flush_schedule();
  void describe_training();
  // Collective: the held-out pairs' mean loss (factor 1, model coordinates) over all
  // learners, and their number; NaN when there are none.
  std::pair<double, std::int64_t> validation_loss();
  void to_model(const unsigned char* row, double& dt, float* z0, float* z1) const;

  const jobs::Config& c_;
  PairRowLayout layout_;
  jobs::ModelInfo info_;
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  int d_ = 0;
  bool kscaled_ = true;
  std::int64_t total_steps_;
  // The batch losses of the last scheduler epoch (learn.steps_per_epoch steps): their
  // mean is model.json's final_train_loss.
  std::vector<double> last_losses_;
  // Held-out pairs (ids = kValidationEvery - 1 mod kValidationEvery, at most
  // kValidationRows per learner, compact buffer rows): never trained on, their loss is
  // model.json's final_val_loss. Checkpointed with the buffer.
  static constexpr std::int64_t kValidationEvery = 20;
  static constexpr std::size_t kValidationRows = 4096;
  std::vector<unsigned char> validation_;
  learn::LatentPairs held_;  // validation_ in model coordinates, rebuilt when it grows
  std::unique_ptr<StreamFile> file_;
  bool forward_rows_ = false;               // stream.save on a learner other than 0
  std::vector<unsigned char> outgoing_, incoming_;  // rows for learner 0's file
  learn::ReplayBuffer buffer_;
  std::unique_ptr<learn::OnlineSdeTrainer> trainer_;
  learn::OnlineSdeOptions trainer_options_;
  std::vector<unsigned char> row_;  // compact buffer row scratch
  std::int64_t received_ = 0;
  std::int64_t ingested_ = 0;
  std::chrono::steady_clock::time_point first_ingest_, last_ingest_;
  // Batch scratch.
  std::vector<std::size_t> slots_;
  std::vector<std::int64_t> ids_, all_ids_;
  learn::LatentPairs batch_;
  // Schedule (learner 0): pair ids of every step, [steps, learners * batch].
  std::unique_ptr<io::DatasetWriter> schedule_;
  std::vector<std::int64_t> schedule_rows_;
  std::int64_t schedule_steps_ = 0;
  std::FILE* metrics_ = nullptr;
  // learn.out/history.csv (learner 0), one row per scheduler epoch as macrodyn train
  // writes it (epoch,train_loss,val_loss,lr) plus val_pairs: the held-out set grows while
  // pairs stream in, so the warnings compare only epochs that saw the final set.
  std::FILE* history_ = nullptr;
  std::chrono::steady_clock::time_point start_, last_report_;
  // The first step this process took and when: the step rate and ETA of the progress.
  std::int64_t first_step_ = -1;
  std::chrono::steady_clock::time_point first_step_at_;
};

}  // namespace mpi
}  // namespace macrodyn
