#include "mpi/run/stream_file.hpp"

#include <filesystem>
#include <stdexcept>

#include "core/error.hpp"

namespace macrodyn::mpi {

namespace {
constexpr std::uint64_t kChunkRows = 4096;

// The file to resume from is moved aside before the new one is created at its path.
std::string set_aside(const std::string& path, std::int64_t keep_rows) {
  if (keep_rows == 0) return "";
  const std::string old = path + ".resume";
  if (!std::filesystem::exists(path))
    throw FileError("stream.save " + path + " is missing; the checkpoint expects its first " +
                    std::to_string(keep_rows) + " rows");
  std::filesystem::rename(path, old);
  return old;
}
}  // namespace

StreamFile::StreamFile(const std::string& path, const io::RootInfo& root, const io::GroupInfo& pairs_info,
                       const std::vector<std::string>& latent_variables, const PairRowLayout& layout,
                       const std::vector<std::uint64_t>& patch_shape, io::DType states, std::int64_t keep_rows,
                       const std::string& snapshots_file)
    : out_((set_aside(path, keep_rows), path), root), layout_(layout) {
  using io::DType;
  const auto ds = static_cast<std::uint64_t>(layout.ds), d = static_cast<std::uint64_t>(layout.d);
  const std::size_t fs = 4 * static_cast<std::size_t>(ds), fd = 4 * static_cast<std::size_t>(d);
  const PairRowLayout& l = layout;
  columns_ = {{"/pairs/snapshot_id", DType::i64, {}, kChunkRows, l.kSnapshotAt, 8, {}},
              {"/pairs/patch_index", DType::i32, {}, kChunkRows, l.kPatchAt, 4, {}},
              {"/pairs/dt", DType::f64, {}, kChunkRows, l.kDtAt, 8, {}},
              {"/pairs/weight", DType::f64, {}, kChunkRows, l.kWeightAt, 8, {}},
              {"/pairs/z_star", DType::f32, {ds}, kChunkRows, l.off_zs(), fs, {}},
              {"/pairs/g_before", DType::f32, {ds}, kChunkRows, l.off_gb(), fs, {}},
              {"/pairs/g_after", DType::f32, {ds}, kChunkRows, l.off_ga(), fs, {}},
              {"/latent/z0", DType::f32, {d}, kChunkRows, l.off_z0(), fd, {}},
              {"/latent/z1", DType::f32, {d}, kChunkRows, l.off_z1(), fd, {}},
              {"/latent/z1_naive", DType::f32, {d}, kChunkRows, l.off_z1n(), fd, {}},
              {"/latent/dt", DType::f64, {}, kChunkRows, l.kDtAt, 8, {}}};
  if (l.ps > 0) {
    const std::vector<std::uint64_t>& shape = patch_shape;
    const auto rows = std::max<std::uint64_t>(1, 256 * 1024 / static_cast<std::uint64_t>(l.ps));
    const auto bytes = static_cast<std::size_t>(l.ps);
    columns_.push_back({"/pairs/patch_before", states, shape, rows, l.off_pb(), bytes, {}});
    columns_.push_back({"/pairs/patch_after", states, shape, rows, l.off_pa(), bytes, {}});
  }
  out_.create_group("/pairs", pairs_info);
  io::GroupInfo latent = pairs_info;
  latent.observables = latent_variables;
  out_.create_group("/latent", latent);
  for (const Column& c : columns_) out_.create_table(c.path, c.type, c.row_shape, c.chunk_rows, true);
  if (!snapshots_file.empty()) out_.link_external("/snapshots", snapshots_file, "/snapshots");
  if (keep_rows > 0) copy_from(path + ".resume", keep_rows);
}

void StreamFile::copy_from(const std::string& old, std::int64_t rows) {
  {
    io::DatasetReader in(old);
    if (static_cast<std::int64_t>(in.rows_committed("/pairs")) < rows)
      throw FileError("stream.save " + old + " has fewer committed rows than the checkpoint's " + std::to_string(rows));
    std::vector<unsigned char> buf;
    for (const Column& c : columns_)
      for (std::int64_t b = 0; b < rows; b += static_cast<std::int64_t>(kChunkRows)) {
        const auto n = static_cast<std::uint64_t>(std::min<std::int64_t>(static_cast<std::int64_t>(kChunkRows), rows - b));
        buf.resize(n * c.bytes);
        in.read_rows(c.path, static_cast<std::uint64_t>(b), n, c.type, buf.data());
        out_.append(c.path, buf.data(), n);
      }
  }
  next_id_ = committed_ = rows;
  out_.commit("/pairs", static_cast<std::uint64_t>(rows));
  out_.commit("/latent", static_cast<std::uint64_t>(rows));
  std::filesystem::remove(old);
}

void StreamFile::add(const unsigned char* row) {
  const PairRowView v{&layout_, const_cast<unsigned char*>(row)};
  const std::int64_t id = v.pair_id();
  if (id < next_id_ || pending_.count(id))
    throw std::runtime_error("stream.save: pair " + std::to_string(id) + " arrived twice");
  pending_.emplace(id, std::vector<unsigned char>(row, row + layout_.bytes()));
}

void StreamFile::append_contiguous() {
  for (Column& c : columns_) c.staged.clear();
  std::uint64_t rows = 0;
  while (!pending_.empty() && pending_.begin()->first == next_id_) {
    const unsigned char* row = pending_.begin()->second.data();
    for (Column& c : columns_) c.staged.insert(c.staged.end(), row + c.offset, row + c.offset + c.bytes);
    pending_.erase(pending_.begin());
    ++next_id_;
    ++rows;
  }
  if (rows == 0) return;
  for (const Column& c : columns_) out_.append(c.path, c.staged.data(), rows);
}

void StreamFile::commit() {
  append_contiguous();
  if (next_id_ == committed_) return;
  committed_ = next_id_;
  out_.commit("/pairs", static_cast<std::uint64_t>(committed_));
  out_.commit("/latent", static_cast<std::uint64_t>(committed_));
}

}  // namespace macrodyn::mpi
