#include "mpi/run/stream_file.hpp"

#include <stdexcept>

namespace macrodyn::mpi {

namespace {
constexpr std::uint64_t kChunkRows = 4096;
}

StreamFile::StreamFile(const std::string& path, const io::RootInfo& root, const io::GroupInfo& pairs_info,
                       const std::vector<std::string>& latent_variables, const PairRowLayout& layout, int dim,
                       int patch)
    : out_(path, root), layout_(layout) {
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
