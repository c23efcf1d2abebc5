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
                       const std::vector<std::string>& latent_variables, const PairRowLayout& layout, int dim,
                       int patch, std::int64_t keep_rows)
    : out_((set_aside(path, keep_rows), path), root), layout_(layout) {
  using io::DType;
  const auto ds = static_cast<std::uint64_t>(layout.ds), d = static_cast<std::uint64_t>(layout.d);
  out_.create_group("/pairs", pairs_info);
  out_.create_table("/pairs/snapshot_id", DType::i64, {}, kChunkRows, true);
  out_.create_table("/pairs/patch_index", DType::i32, {}, kChunkRows, true);
  out_.create_table("/pairs/dt", DType::f64, {}, kChunkRows, true);
  out_.create_table("/pairs/z_star", DType::f32, {ds}, kChunkRows, true);
  out_.create_table("/pairs/g_before", DType::f32, {ds}, kChunkRows, true);
  out_.create_table("/pairs/g_after", DType::f32, {ds}, kChunkRows, true);
  if (layout.ps > 0) {
    const std::vector<std::uint64_t> shape(static_cast<std::size_t>(dim), static_cast<std::uint64_t>(patch));
    const auto rows = std::max<std::uint64_t>(1, 256 * 1024 / static_cast<std::uint64_t>(layout.ps));
    out_.create_table("/pairs/patch_before", DType::i8, shape, rows, true);
    out_.create_table("/pairs/patch_after", DType::i8, shape, rows, true);
  }
  io::GroupInfo latent = pairs_info;
  latent.observables = latent_variables;
  out_.create_group("/latent", latent);
  out_.create_table("/latent/z0", DType::f32, {d}, kChunkRows, true);
  out_.create_table("/latent/z1", DType::f32, {d}, kChunkRows, true);
  out_.create_table("/latent/z1_naive", DType::f32, {d}, kChunkRows, true);
  out_.create_table("/latent/dt", DType::f64, {}, kChunkRows, true);
  if (keep_rows > 0) copy_from(path + ".resume", keep_rows);
}

void StreamFile::copy_from(const std::string& old, std::int64_t rows) {
  {
    io::DatasetReader in(old);
    if (static_cast<std::int64_t>(in.rows_committed("/pairs")) < rows)
      throw FileError("stream.save " + old + " has fewer committed rows than the checkpoint's " + std::to_string(rows));
    const std::size_t ds = static_cast<std::size_t>(layout_.ds), d = static_cast<std::size_t>(layout_.d);
    const std::size_t ps = static_cast<std::size_t>(layout_.ps);
    struct Col { const char* name; io::DType type; std::size_t elems; };
    std::vector<Col> cols{{"/pairs/snapshot_id", io::DType::i64, 1}, {"/pairs/patch_index", io::DType::i32, 1},
                          {"/pairs/dt", io::DType::f64, 1},          {"/pairs/z_star", io::DType::f32, ds},
                          {"/pairs/g_before", io::DType::f32, ds},   {"/pairs/g_after", io::DType::f32, ds},
                          {"/latent/z0", io::DType::f32, d},         {"/latent/z1", io::DType::f32, d},
                          {"/latent/z1_naive", io::DType::f32, d},   {"/latent/dt", io::DType::f64, 1}};
    if (ps > 0) {
      cols.push_back({"/pairs/patch_before", io::DType::i8, ps});
      cols.push_back({"/pairs/patch_after", io::DType::i8, ps});
    }
    std::vector<unsigned char> buf;
    for (const Col& c : cols)
      for (std::int64_t b = 0; b < rows; b += static_cast<std::int64_t>(kChunkRows)) {
        const auto n = static_cast<std::uint64_t>(std::min<std::int64_t>(static_cast<std::int64_t>(kChunkRows), rows - b));
        buf.resize(n * c.elems * io::dtype_size(c.type));
        in.read_rows(c.name, static_cast<std::uint64_t>(b), n, c.type, buf.data());
        out_.append(c.name, buf.data(), n);
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
  sid_.clear(); pidx_.clear(); dt_.clear(); zs_.clear(); gb_.clear(); ga_.clear();
  z0_.clear(); z1_.clear(); z1n_.clear(); pb_.clear(); pa_.clear();
  while (!pending_.empty() && pending_.begin()->first == next_id_) {
    auto& bytes = pending_.begin()->second;
    const PairRowView v{&layout_, bytes.data()};
    sid_.push_back(v.snapshot_id());
    pidx_.push_back(v.patch_index());
    dt_.push_back(v.dt());
    zs_.insert(zs_.end(), v.zs(), v.zs() + layout_.ds);
    gb_.insert(gb_.end(), v.gb(), v.gb() + layout_.ds);
    ga_.insert(ga_.end(), v.ga(), v.ga() + layout_.ds);
    z0_.insert(z0_.end(), v.z0(), v.z0() + layout_.d);
    z1_.insert(z1_.end(), v.z1(), v.z1() + layout_.d);
    z1n_.insert(z1n_.end(), v.z1n(), v.z1n() + layout_.d);
    pb_.insert(pb_.end(), v.pb(), v.pb() + layout_.ps);
    pa_.insert(pa_.end(), v.pa(), v.pa() + layout_.ps);
    pending_.erase(pending_.begin());
    ++next_id_;
  }
  const auto rows = static_cast<std::uint64_t>(dt_.size());
  if (rows == 0) return;
  out_.append("/pairs/snapshot_id", sid_.data(), rows);
  out_.append("/pairs/patch_index", pidx_.data(), rows);
  out_.append("/pairs/dt", dt_.data(), rows);
  out_.append("/pairs/z_star", zs_.data(), rows);
  out_.append("/pairs/g_before", gb_.data(), rows);
  out_.append("/pairs/g_after", ga_.data(), rows);
  if (layout_.ps > 0) {
    out_.append("/pairs/patch_before", pb_.data(), rows);
    out_.append("/pairs/patch_after", pa_.data(), rows);
  }
  out_.append("/latent/z0", z0_.data(), rows);
  out_.append("/latent/z1", z1_.data(), rows);
  out_.append("/latent/z1_naive", z1n_.data(), rows);
  out_.append("/latent/dt", dt_.data(), rows);
}

void StreamFile::commit() {
  append_contiguous();
  if (next_id_ == committed_) return;
  committed_ = next_id_;
  out_.commit("/pairs", static_cast<std::uint64_t>(committed_));
  out_.commit("/latent", static_cast<std::uint64_t>(committed_));
}

}  // namespace macrodyn::mpi
