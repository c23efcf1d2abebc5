#pragma once
// The streamed dataset (stream.save): /pairs and /latent of every pair the learner
// received, in pair-id order whatever order they arrived in, so the file is the same
// bits for any number of ranks and teams and `macrodyn train` can replay it. Rows that
// arrive ahead of a gap wait in a reorder map; credits bound how far senders run ahead,
// hence its size.
#include <cstdint>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/dataset.hpp"
#include "mpi/run/pair_row.hpp"

namespace macrodyn::mpi {

class StreamFile {
 public:
  // keep_rows > 0 (a resume): the first keep_rows committed rows of the existing file
  // are kept (copied into the new file, which then replaces it); rows after them were
  // written after the checkpoint and come again. `snapshots_file` (a name in the same
  // directory, or empty): /snapshots is an external link to that file's /snapshots,
  // which the simulators write in parallel (SnapshotFile).
  // `patch_shape`, `states`: the row shape and element type of the patch tables
  // (jobs/state_tables.hpp: [p]^dim, then a field's channels).
  StreamFile(const std::string& path, const io::RootInfo& root, const io::GroupInfo& pairs_info,
             const std::vector<std::string>& latent_variables, const PairRowLayout& layout,
             const std::vector<std::uint64_t>& patch_shape, io::DType states, std::int64_t keep_rows = 0,
             const std::string& snapshots_file = "");
  // Takes one row (copied); writes every row whose predecessors are all there.
  void add(const unsigned char* row);
  // Appends what is contiguous and commits both groups (rows, rows_committed, flush).
  void commit();
  std::int64_t rows_written() const { return next_id_; }
  std::size_t waiting() const { return pending_.size(); }

 private:
  void append_contiguous();
  void copy_from(const std::string& old, std::int64_t rows);
  io::DatasetWriter out_;
  PairRowLayout layout_;
  std::map<std::int64_t, std::vector<unsigned char>> pending_;
  std::int64_t next_id_ = 0;     // next pair id to write
  std::int64_t committed_ = 0;
  // One table of the file: where its values sit in a pair row, and the bytes staged for
  // the next append. The one list of columns drives creating, appending and copying.
  struct Column {
    std::string path;
    io::DType type;
    std::vector<std::uint64_t> row_shape;
    std::uint64_t chunk_rows;
    std::size_t offset, bytes;  // in a pair row
    std::vector<unsigned char> staged;
  };
  std::vector<Column> columns_;
};

}  // namespace macrodyn::mpi
