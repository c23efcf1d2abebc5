#pragma once
// Checkpoints of `macrodyn run` (docs/design.md §6.6). They are taken only at sync points, where
// every simulator has flushed its stream and every learner has received every pair of
// the rounds before: the whole job's state is then the learners' (model, optimiser,
// replay buffer, counters) plus one number for the simulators, the rounds done
// (simulators' work items are keyed by snapshot id, so that is all they need).
//
// Layout in learn.out: checkpoint/ holds checkpoint.json (learner 0) and per learner
// learner-G.pt (trainer) and learner-G.bin (replay buffer). A new checkpoint is written
// to checkpoint.new/, then swapped in (checkpoint -> checkpoint.old, checkpoint.new ->
// checkpoint), so a crash at any moment leaves one complete checkpoint; checkpoint.json
// is written last in each and marks it complete. learn.out/checkpoint.json is a copy
// for people and scripts.
#include <cstdint>
#include <string>
#include <vector>

namespace macrodyn::mpi {

struct RunCheckpoint {
  std::int64_t rounds_done = 0;
  int teams = 0, team_size = 0, learners = 0;
  std::int64_t checkpoints = 0;  // written so far, over all restarts
  std::int64_t resumes = 0;      // restarts from a checkpoint so far
  std::int64_t steps = 0;        // SDE steps
  std::int64_t pairs_received = 0;  // all learners
  std::int64_t stream_rows = 0;  // rows committed to stream.save
  bool normalised = false;       // the trainer exists (normalisation fixed)
  std::vector<double> offset, scale;
  double time_unit = 1.0;
  std::string time_unit_kind;
};

// Directory of the complete checkpoint in `out` ("" if none).
std::string find_checkpoint(const std::string& out);
void write_checkpoint_json(const std::string& path, const RunCheckpoint& c);
RunCheckpoint read_checkpoint_json(const std::string& path);
// checkpoint.new -> checkpoint (keeping the previous one as checkpoint.old until then).
void swap_in_checkpoint(const std::string& out);

}  // namespace macrodyn::mpi
