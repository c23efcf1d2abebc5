#pragma once
// The streamed dataset (stream.save): /pairs and /latent of every pair the learner
// received, in pair-id order whatever order they arrived in, so the file is the same
// bits for any number of ranks and teams and `macrodyn train` can replay it. Rows that
// arrive ahead of a gap wait in a reorder map; credits bound how far senders run ahead,
// hence its size.
#include <cstdint>
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
  // written after the checkpoint and come again.
  StreamFile(const std::string& path, const io::RootInfo& root, const io::GroupInfo& pairs_info,
             const std::vector<std::string>& latent_variables, const PairRowLayout& layout, int dim, int patch,
             std::int64_t keep_rows = 0);
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
  // Column staging for one append.
  std::vector<std::int64_t> sid_;
  std::vector<std::int32_t> pidx_;
  std::vector<double> dt_;
  std::vector<float> zs_, gb_, ga_, z0_, z1_, z1n_;
  std::vector<std::int8_t> pb_, pa_;
};

}  // namespace macrodyn::mpi
