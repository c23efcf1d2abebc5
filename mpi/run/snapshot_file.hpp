#pragma once
// /snapshots of stream.save (docs/design.md §5.3: required when a closure is learned), written in
// parallel: every simulator rank writes its block of its team's snapshot, all of a
// round's snapshots in one collective call (parallel HDF5). The learner writes /pairs
// and /latent into stream.save itself, serially and as they arrive; the two writers
// cannot share one HDF5 file, so the snapshots live in "<stem>.snapshots.h5" next to
// it and stream.save's /snapshots is an external link there (h5py and macrodyn follow
// it: readers see one dataset).
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/decomposition.hpp"
#include "io/dataset.hpp"
#include "io/file_lock.hpp"
#include "io/parallel_blocks.hpp"

namespace macrodyn::mpi {

class SnapshotFile {
 public:
  // "runs/x.h5" -> "runs/x.snapshots.h5".
  static std::string path_for(const std::string& stream_save);

  // Collective over `simulators`. A fresh run creates the file (rows = snapshots, every
  // row's /snapshots/random flag from `random_from`: ids >= random_from are random
  // configurations); a resume reopens it and refuses one of another shape. `state_shape`:
  // a state's row shape ([L]^dim, then a field's channels; jobs/state_tables.hpp).
  SnapshotFile(const std::string& stream_save, MPI_Comm simulators, const io::RootInfo& root,
               const io::GroupInfo& info, const std::vector<std::uint64_t>& state_shape, int dim,
               std::int64_t snapshots, std::int64_t random_from, bool resume, io::DType states);

  // Collective over the simulators: this rank's block of snapshot j (j < 0: none this round).
  void write(std::int64_t j, const Block& block, const std::int8_t* data);
  // Collective: snapshots [0, rows) are complete.
  void commit(std::int64_t rows);

 private:
  MPI_Comm comm_;
  std::unique_ptr<io::FileLock> lock_;  // rank 0: the MPI-IO driver takes no lock of its own
  std::unique_ptr<io::ParallelBlockWriter> out_;
};

}  // namespace macrodyn::mpi
