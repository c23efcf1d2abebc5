#include "mpi/run/snapshot_file.hpp"

#include <filesystem>
#include <vector>

#include "core/error.hpp"
#include "mpi/check.hpp"

namespace macrodyn::mpi {

std::string SnapshotFile::path_for(const std::string& stream_save) {
  std::filesystem::path p(stream_save);
  return (p.parent_path() / (p.stem().string() + ".snapshots.h5")).string();
}

SnapshotFile::SnapshotFile(const std::string& stream_save, MPI_Comm simulators, const io::RootInfo& root,
                           const io::GroupInfo& info, const std::vector<std::uint64_t>& state_shape, int dim,
                           std::int64_t snapshots, std::int64_t random_from, bool resume, io::DType states)
    : comm_(simulators) {
  const std::string path = path_for(stream_save);
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm_, &rank), "MPI_Comm_rank");
  // One rank lays the file out with the serial writer; then all open it for MPI-IO.
  int created = 1;
  std::string why;
  if (rank == 0) {
    try {
      if (!resume || std::filesystem::exists(path)) lock_ = std::make_unique<io::FileLock>(path);
    } catch (const std::exception& e) {
      created = 0;
      why = e.what();
    }
  }
  if (rank == 0 && !resume && created) {
    try {
      io::DatasetWriter w(path, root, io::DatasetWriter::Locking::held_by_caller);
      w.create_group("/snapshots", info);
      std::vector<std::uint64_t> shape{static_cast<std::uint64_t>(snapshots)};
      shape.insert(shape.end(), state_shape.begin(), state_shape.end());
      w.create_fixed_table("/snapshots/states", states, shape);
      std::vector<std::int8_t> random(static_cast<std::size_t>(snapshots), 0);
      for (std::int64_t j = random_from; j < snapshots; ++j) random[static_cast<std::size_t>(j)] = 1;
      w.write_array("/snapshots/random", io::DType::i8, {static_cast<std::uint64_t>(snapshots)}, random.data());
    } catch (const std::exception& e) {
      created = 0;
      why = e.what();
    }
  }
  check_mpi(MPI_Bcast(&created, 1, MPI_INT, 0, comm_), "MPI_Bcast");
  if (!created) throw FileError(rank == 0 ? why : "simulator 0 could not create " + path);
  if (resume && !std::filesystem::exists(path))
    throw FileError(path + " (the snapshots of stream.save) is missing; --resume needs the snapshots written "
                    "before the checkpoint");
  out_ = std::make_unique<io::ParallelBlockWriter>(path, "/snapshots/states", &comm_, dim);
  if (out_->rows() != snapshots || out_->lattice_rank() != dim)
    throw FileError(path + " holds " + std::to_string(out_->rows()) + " snapshots of rank " +
                    std::to_string(out_->lattice_rank()) + ", not this run's " + std::to_string(snapshots) +
                    " of rank " + std::to_string(dim) + "; --resume needs the same configuration");
}

void SnapshotFile::write(std::int64_t j, const Block& block, const std::int8_t* data) {
  out_->write(j, block.origin.data(), block.extent.data(), data);
}

void SnapshotFile::commit(std::int64_t rows) { out_->commit("/snapshots", rows); }

}  // namespace macrodyn::mpi
