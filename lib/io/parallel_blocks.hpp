#pragma once
// Collective writes of lattice blocks into a fixed-size table with parallel HDF5 (the
// MPI-IO driver), for /snapshots/states of `macrodyn run`: every simulator rank writes
// the block of the snapshot its team holds, all teams' blocks of one round in one
// collective call, so no rank ever holds a whole large snapshot to store it.
//
// The file is prepared beforehand by one rank with DatasetWriter (root attrs, group,
// create_fixed_table); this class only writes rows and the group's rows_committed.
// The MPI communicator is passed by address so that this header needs no mpi.h (the
// openmpi flavour of hdf5.h includes it; docs/design.md §2.3): lib/io calls HDF5, never MPI.
#include <cstdint>
#include <memory>
#include <string>

namespace macrodyn::io {

class ParallelBlockWriter {
 public:
  // Collective over *mpi_comm (an MPI_Comm): opens `path` read-write and the table
  // `table` ([rows, L]^lattice_rank, then any trailing axes such as a field's channels,
  // which every block writes whole) inside it; FileError naming the file when the table is
  // missing or not of that shape.
  ParallelBlockWriter(const std::string& path, const std::string& table, const void* mpi_comm, int lattice_rank);
  ~ParallelBlockWriter();
  ParallelBlockWriter(const ParallelBlockWriter&) = delete;
  ParallelBlockWriter& operator=(const ParallelBlockWriter&) = delete;

  // Collective: this rank writes the block with `origin` and `extent` (one per lattice
  // axis, row-major contiguous elements of the table's type in memory) of row `row`;
  // row < 0 writes nothing (every rank must call, those without a block too).
  void write(std::int64_t row, const int* origin, const int* extent, const std::int8_t* block);

  // Collective: the rows written so far are flushed to disk, then the group's
  // rows_committed becomes `rows` and is flushed (docs/design.md §5.2).
  void commit(const std::string& group, std::int64_t rows);

  // The table's first extent (rows) and lattice rank (the lattice axes after the first).
  std::int64_t rows() const;
  int lattice_rank() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace macrodyn::io
