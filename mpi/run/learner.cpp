#include "mpi/run/learner.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "io/dataset.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_dir.hpp"
#include "mpi/check.hpp"
#include "systems/system.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::mpi {

namespace {

// Buffer row: int64 pair id, float64 dt, float32 z0[d], float32 target[d] (physical).
std::size_t buffer_row_bytes(int d) { return 16 + 8 * static_cast<std::size_t>(d); }

learn::ReplayMode mode_of(const std::string& kind) {
  return kind == "reservoir" ? learn::ReplayMode::reservoir : learn::ReplayMode::fifo;
}

constexpr std::int64_t kScheduleFlushSteps = 64;

}  // namespace

OnlineLearner::OnlineLearner(const Config& c, const PairRowLayout& layout, ModelInfo info, MPI_Comm learners,
                             std::unique_ptr<StreamFile> file, const RunCheckpoint* resume,
                             const std::string& resume_dir)
    : c_(c),
      layout_(layout),
      info_(std::move(info)),
      comm_(learners),
      d_(layout.d),
      kscaled_(c.learn_method == "kscaled"),
      total_steps_(c.learn_steps),
      file_(std::move(file)),
      buffer_(static_cast<std::size_t>(c.learn_buffer), buffer_row_bytes(layout.d), mode_of(c.learn_buffer_kind),
              c.seed, 0) {
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  row_.resize(buffer_row_bytes(d_));
  forward_rows_ = !c.stream_save.empty() && rank_ != 0;
  start_ = last_report_ = std::chrono::steady_clock::now();
  if (resume) restore(resume_dir, *resume);
  else open_outputs(0);
}

// metrics.csv and schedule.h5 of learner 0; on a resume their first `keep_steps` steps
// are kept and the rest (written after the checkpoint) dropped.
void OnlineLearner::open_outputs(std::int64_t keep_steps) {
  if (rank_ != 0) return;
  if (metrics_) std::fclose(metrics_);
  schedule_.reset();
  std::filesystem::create_directories(c_.learn_out);
  const std::string m = c_.learn_out + "/metrics.csv", sched = c_.learn_out + "/schedule.h5";
  std::vector<std::string> kept_lines;
  std::vector<std::int64_t> kept_ids;
  const std::uint64_t width = static_cast<std::uint64_t>(size_) * static_cast<std::uint64_t>(c_.learn_batch);
  const std::string h = c_.learn_out + "/history.csv";
  std::vector<std::string> kept_epochs;
  if (keep_steps > 0) {
    std::ifstream in(m);
    std::string line;
    std::getline(in, line);  // header
    while (static_cast<std::int64_t>(kept_lines.size()) < keep_steps && std::getline(in, line)) kept_lines.push_back(line);
    std::ifstream hin(h);
    std::getline(hin, line);  // header
    while (static_cast<std::int64_t>(kept_epochs.size()) < keep_steps / c_.learn_steps_per_epoch && std::getline(hin, line))
      kept_epochs.push_back(line);
    io::DatasetReader r(sched);
    if (static_cast<std::int64_t>(r.rows_committed("/schedule")) < keep_steps)
      throw FileError(sched + " holds fewer steps than the checkpoint's " + std::to_string(keep_steps));
    kept_ids.resize(static_cast<std::size_t>(keep_steps) * width);
    r.read_rows("/schedule/pair_ids", 0, static_cast<std::uint64_t>(keep_steps), io::DType::i64, kept_ids.data());
  }
  metrics_ = std::fopen(m.c_str(), "w");
  if (!metrics_) throw FileError("cannot write " + m);
  std::fprintf(metrics_, "step,loss,lr,pairs_received,buffer,seconds\n");
  for (const auto& l : kept_lines) std::fprintf(metrics_, "%s\n", l.c_str());
  if (history_) std::fclose(history_);
  history_ = std::fopen(h.c_str(), "w");
  if (!history_) throw FileError("cannot write " + h);
  std::fprintf(history_, "epoch,train_loss,val_loss,lr,val_pairs\n");
  for (const auto& l : kept_epochs) std::fprintf(history_, "%s\n", l.c_str());
  schedule_ = std::make_unique<io::DatasetWriter>(sched, io::RootInfo{c_.seed, c_.system, c_.ini_text, kMacrodynVersion});
  schedule_->create_group("/schedule", io::GroupInfo{info_.K, info_.patch, info_.L, info_.boundary, {}});
  schedule_->create_table("/schedule/pair_ids", io::DType::i64, {width}, kScheduleFlushSteps, true);
  schedule_->set_attr("/schedule", "learners", static_cast<std::int64_t>(size_));
  schedule_->set_attr("/schedule", "batch", static_cast<std::int64_t>(c_.learn_batch));
  schedule_steps_ = keep_steps;
  if (trainer_) describe_training();
  if (keep_steps > 0) {
    schedule_->append("/schedule/pair_ids", kept_ids.data(), static_cast<std::uint64_t>(keep_steps));
    schedule_->commit("/schedule", static_cast<std::uint64_t>(keep_steps));
  }
}

OnlineLearner::~OnlineLearner() {
  if (metrics_) std::fclose(metrics_);
  if (history_) std::fclose(history_);
}

void OnlineLearner::ingest(const unsigned char* row) {
  const PairRowView v{&layout_, const_cast<unsigned char*>(row)};
  const std::int64_t id = v.pair_id();
  const double dt = v.dt();
  std::memcpy(row_.data(), &id, 8);
  std::memcpy(row_.data() + 8, &dt, 8);
  std::memcpy(row_.data() + 16, v.z0(), 4 * static_cast<std::size_t>(d_));
  std::memcpy(row_.data() + 16 + 4 * d_, kscaled_ ? v.z1() : v.z1n(), 4 * static_cast<std::size_t>(d_));
  const std::size_t row_bytes = buffer_row_bytes(d_);
  if (id % kValidationEvery == kValidationEvery - 1 && validation_.size() < kValidationRows * row_bytes)
    validation_.insert(validation_.end(), row_.begin(), row_.begin() + static_cast<std::ptrdiff_t>(row_bytes));
  else
    buffer_.insert(row_.data());
  if (file_) file_->add(row);
  if (forward_rows_) outgoing_.insert(outgoing_.end(), row, row + layout_.bytes());
  ++received_;
  last_ingest_ = std::chrono::steady_clock::now();
  if (ingested_++ == 0) first_ingest_ = last_ingest_;
}

void OnlineLearner::message_done() {
  if (file_) file_->commit();
}

void OnlineLearner::gather_stream_rows() {
  if (c_.stream_save.empty() || size_ == 1) return;
  const auto row_bytes = static_cast<std::int64_t>(layout_.bytes());
  int mine = mpi_count(static_cast<std::int64_t>(outgoing_.size()) / row_bytes, "stream rows");
  std::vector<int> counts(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
  check_mpi(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm_), "MPI_Gather");
  MPI_Datatype row_type;
  check_mpi(MPI_Type_contiguous(mpi_count(row_bytes, "stream row"), MPI_BYTE, &row_type), "MPI_Type_contiguous");
  check_mpi(MPI_Type_commit(&row_type), "MPI_Type_commit");
  std::int64_t total = 0;
  if (rank_ == 0) {
    for (int r = 0; r < size_; ++r) {
      displs[static_cast<std::size_t>(r)] = mpi_count(total, "stream rows");
      total += counts[static_cast<std::size_t>(r)];
    }
    incoming_.resize(static_cast<std::size_t>(total * row_bytes));
  }
  const int rc = MPI_Gatherv(outgoing_.data(), mine, row_type, incoming_.data(), counts.data(), displs.data(),
                             row_type, 0, comm_);
  MPI_Type_free(&row_type);
  check_mpi(rc, "MPI_Gatherv");
  outgoing_.clear();
  if (rank_ != 0) return;
  for (std::int64_t i = 0; i < total; ++i) file_->add(incoming_.data() + i * row_bytes);
  file_->commit();
}

bool OnlineLearner::all_ready() {
  int mine = static_cast<std::int64_t>(buffer_.size()) >= c_.learn_min_fill ? 1 : 0, all = 0;
  check_mpi(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
  return all == 1;
}

void OnlineLearner::fix_normalisation() {
  // Min-max (or the z-score the system asks for) of every variable but m (kept raw,
  // docs/design.md §8.2.7) and the mean dt, over the pairs every learner holds now: the
  // same numbers on every learner.
  std::vector<double> lo(static_cast<std::size_t>(d_), INFINITY), hi(static_cast<std::size_t>(d_), -INFINITY);
  double sums[2] = {0, static_cast<double>(buffer_.size())};
  for (std::size_t s = 0; s < buffer_.size(); ++s) {
    const unsigned char* r = buffer_.row(s);
    double dt;
    std::memcpy(&dt, r + 8, 8);
    sums[0] += dt;
    for (int k = 0; k < d_; ++k) {
      float z;
      std::memcpy(&z, r + 16 + 4 * k, 4);
      lo[static_cast<std::size_t>(k)] = std::min(lo[static_cast<std::size_t>(k)], static_cast<double>(z));
      hi[static_cast<std::size_t>(k)] = std::max(hi[static_cast<std::size_t>(k)], static_cast<double>(z));
    }
  }
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, lo.data(), d_, MPI_DOUBLE, MPI_MIN, comm_), "MPI_Allreduce");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, hi.data(), d_, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
  info_.offset.assign(static_cast<std::size_t>(d_), 0.0);
  info_.scale.assign(static_cast<std::size_t>(d_), 1.0);
  for (int k = 0; k < d_; ++k) {
    if (variable_stays_raw(info_, info_.variables[static_cast<std::size_t>(k)])) continue;
    info_.offset[static_cast<std::size_t>(k)] = lo[static_cast<std::size_t>(k)];
    const double range = hi[static_cast<std::size_t>(k)] - lo[static_cast<std::size_t>(k)];
    info_.scale[static_cast<std::size_t>(k)] = range > 0 ? range : 1.0;
  }
  if (systems::make_system(info_.system, info_.params)->latent_normalisation() == systems::System::Normalisation::z_score) {
    // The mean and unbiased standard deviation of z0 over the same pairs (two passes, as
    // train; docs/design.md §8.6.4): sums in double, then across the learners.
    std::vector<double> sum(static_cast<std::size_t>(d_), 0.0), ss(static_cast<std::size_t>(d_), 0.0);
    const auto z_of = [&](std::size_t s, int k) {
      float z;
      std::memcpy(&z, buffer_.row(s) + 16 + 4 * k, 4);
      return static_cast<double>(z);
    };
    for (std::size_t s = 0; s < buffer_.size(); ++s)
      for (int k = 0; k < d_; ++k) sum[static_cast<std::size_t>(k)] += z_of(s, k);
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, sum.data(), d_, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
    for (auto& v : sum) v /= sums[1];
    for (std::size_t s = 0; s < buffer_.size(); ++s)
      for (int k = 0; k < d_; ++k) {
        const double dv = z_of(s, k) - sum[static_cast<std::size_t>(k)];
        ss[static_cast<std::size_t>(k)] += dv * dv;
      }
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, ss.data(), d_, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
    for (int k = 0; k < d_; ++k) {
      if (variable_stays_raw(info_, info_.variables[static_cast<std::size_t>(k)])) continue;
      const double sd = sums[1] > 1 ? std::sqrt(ss[static_cast<std::size_t>(k)] / (sums[1] - 1)) : 0.0;
      info_.offset[static_cast<std::size_t>(k)] = sum[static_cast<std::size_t>(k)];
      info_.scale[static_cast<std::size_t>(k)] = sd > 0 ? sd : 1.0;
    }
  }
  info_.time_unit_kind = default_time_unit_kind(info_);
  info_.time_unit = info_.time_unit_kind == "mean_dt" ? sums[0] / sums[1] : 1.0;
  make_trainer();
}

void OnlineLearner::make_trainer() {
  learn::OnlineSdeOptions o;
  o.diffusion = learn::parse_diffusion(c_.learn_diffusion);
  o.loss_factor = kscaled_ ? static_cast<double>(info_.K) : 1.0;
  o.eps = 1e-4;
  o.lr = c_.learn_lr;
  o.steps_per_epoch = c_.learn_steps_per_epoch;
  o.seed = c_.seed;
  o.device = learn::resolve_device(c_.learn_device);
  info_.loss_factor = o.loss_factor;
  info_.eps = o.eps;
  info_.device = o.device;
  trainer_ = std::make_unique<learn::OnlineSdeTrainer>(d_, o);
  trainer_options_ = o;
  if (schedule_) describe_training();
  if (size_ > 1) {
    const double inv = 1.0 / size_;
    trainer_->set_gradient_hook([this, inv](float* g, std::int64_t n) {
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, g, mpi_count(n, "gradient"), MPI_FLOAT, MPI_SUM, comm_), "MPI_Allreduce");
      for (std::int64_t i = 0; i < n; ++i) g[i] = static_cast<float>(g[i] * inv);
    });
    trainer_->set_loss_hook([this](double loss) {
      double sum = 0;
      check_mpi(MPI_Allreduce(&loss, &sum, 1, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
      return sum / size_;
    });
  }
}

void OnlineLearner::train(std::int64_t n) {
  n = std::min(n, steps_left());
  if (n <= 0) return;
  if (!trainer_) fix_normalisation();
  const auto B = static_cast<std::size_t>(c_.learn_batch);
  batch_.dim = d_;
  for (std::int64_t k = 0; k < n; ++k) {
    const auto step = static_cast<std::uint64_t>(trainer_->steps());
    buffer_.sample(B, step, slots_);
    batch_.z0.resize(B * static_cast<std::size_t>(d_));
    batch_.z1.resize(batch_.z0.size());
    batch_.dt.resize(B);
    ids_.resize(B);
    for (std::size_t i = 0; i < B; ++i) {
      const unsigned char* r = buffer_.row(slots_[i]);
      std::memcpy(&ids_[i], r, 8);
      to_model(r, batch_.dt[i], batch_.z0.data() + i * static_cast<std::size_t>(d_),
               batch_.z1.data() + i * static_cast<std::size_t>(d_));
    }
    const auto rep = trainer_->step(batch_);
    if (static_cast<std::int64_t>(last_losses_.size()) == c_.learn_steps_per_epoch) last_losses_.erase(last_losses_.begin());
    last_losses_.push_back(rep.loss);
    if (rep.epoch_end) {
      // Every learner takes the same steps, so all of them reach this collective.
      const auto [val, held] = validation_loss();
      if (rank_ == 0) {
        std::fprintf(history_, "%lld,%.9g,%.9g,%.6g,%lld\n", static_cast<long long>(rep.step / c_.learn_steps_per_epoch),
                     rep.epoch_loss, val, rep.lr, static_cast<long long>(held));
        std::fflush(history_);
      }
    }
    // Schedule: every learner's pair ids of this step, gathered on learner 0.
    if (rank_ == 0) all_ids_.resize(B * static_cast<std::size_t>(size_));
    check_mpi(MPI_Gather(ids_.data(), mpi_count(static_cast<std::int64_t>(B), "schedule"), MPI_INT64_T,
                         all_ids_.data(), mpi_count(static_cast<std::int64_t>(B), "schedule"), MPI_INT64_T, 0, comm_),
              "MPI_Gather");
    if (rank_ == 0) {
      schedule_rows_.insert(schedule_rows_.end(), all_ids_.begin(), all_ids_.end());
      if (++schedule_steps_ % kScheduleFlushSteps == 0) flush_schedule();
      const auto now = std::chrono::steady_clock::now();
      const double t = std::chrono::duration<double>(now - start_).count();
      std::fprintf(metrics_, "%lld,%.9g,%.6g,%lld,%zu,%.3f\n", static_cast<long long>(rep.step), rep.loss, rep.lr,
                   static_cast<long long>(received_), buffer_.size(), t);
      if (first_step_ < 0) {
        first_step_ = rep.step;
        first_step_at_ = now;
      }
      if (c_.progress && (std::chrono::duration<double>(now - last_report_).count() >= 2.0 || steps_left() == 0)) {
        last_report_ = now;
        const double busy = std::chrono::duration<double>(now - first_step_at_).count();
        const double rate = busy > 0 ? static_cast<double>(rep.step - first_step_) / busy : 0.0;
        const double eta = rate > 0 ? static_cast<double>(total_steps_ - rep.step) / rate : 0.0;
        std::fprintf(stderr,
                     "run: SDE step %lld/%lld  loss %.5f  lr %.2e  pairs received %lld (learner 0)  buffer %zu  "
                     "(%.3g steps/s, ETA %.0f s)\n",
                     static_cast<long long>(rep.step), static_cast<long long>(total_steps_), rep.loss, rep.lr,
                     static_cast<long long>(received_), buffer_.size(), rate, eta);
      }
    }
  }
}

// What a replay (`macrodyn train --schedule`) needs besides the pair ids: the trainer's
// options and the normalisation, as exact doubles.
void OnlineLearner::describe_training() {
  const auto& o = trainer_options_;
  io::DatasetWriter& w = *schedule_;
  w.set_attr("/schedule", "method", c_.learn_method);
  w.set_attr("/schedule", "diffusion", c_.learn_diffusion);
  w.set_attr("/schedule", "loss_factor", o.loss_factor);
  w.set_attr("/schedule", "eps", o.eps);
  w.set_attr("/schedule", "lr", o.lr);
  w.set_attr("/schedule", "patience", static_cast<std::int64_t>(o.patience));
  w.set_attr("/schedule", "steps_per_epoch", o.steps_per_epoch);
  w.set_attr("/schedule", "seed", static_cast<std::int64_t>(o.seed));
  w.set_attr("/schedule", "device", o.device);
  w.set_attr("/schedule", "threads", static_cast<std::int64_t>(resolve_threads(c_.learn_threads)));
  w.set_attr("/schedule", "time_unit", info_.time_unit);
  for (int k = 0; k < d_; ++k) {
    w.set_attr("/schedule", "offset_" + std::to_string(k), info_.offset[static_cast<std::size_t>(k)]);
    w.set_attr("/schedule", "scale_" + std::to_string(k), info_.scale[static_cast<std::size_t>(k)]);
  }
}

void OnlineLearner::flush_schedule() {
  if (!schedule_ || schedule_rows_.empty()) return;
  const auto width = static_cast<std::size_t>(size_) * static_cast<std::size_t>(c_.learn_batch);
  const auto rows = static_cast<std::uint64_t>(schedule_rows_.size() / width);
  schedule_->append("/schedule/pair_ids", schedule_rows_.data(), rows);
  schedule_->commit("/schedule", static_cast<std::uint64_t>(schedule_steps_));
  schedule_rows_.clear();
}

// A compact buffer row (id, dt, z0[d], z1[d]) in model coordinates: the same expression
// as `macrodyn train` (train.cpp), so a replay matches.
void OnlineLearner::to_model(const unsigned char* row, double& dt, float* z0, float* z1) const {
  double raw_dt;
  std::memcpy(&raw_dt, row + 8, 8);
  dt = raw_dt / info_.time_unit;
  for (int j = 0; j < d_; ++j) {
    float a, b;
    std::memcpy(&a, row + 16 + 4 * j, 4);
    std::memcpy(&b, row + 16 + 4 * (d_ + j), 4);
    const auto k = static_cast<std::size_t>(j);
    z0[j] = static_cast<float>((a - info_.offset[k]) / info_.scale[k]);
    z1[j] = static_cast<float>((b - info_.offset[k]) / info_.scale[k]);
  }
}

std::pair<double, std::int64_t> OnlineLearner::validation_loss() {
  const std::size_t row_bytes = buffer_row_bytes(d_);
  const std::size_t rows = validation_.size() / row_bytes;
  if (held_.dt.size() != rows) {
    held_.dim = d_;
    const std::size_t from = held_.dt.size(), d = static_cast<std::size_t>(d_);  // rows are only ever appended
    held_.dt.resize(rows);
    held_.z0.resize(rows * d);
    held_.z1.resize(rows * d);
    for (std::size_t r = from; r < rows; ++r)
      to_model(validation_.data() + r * row_bytes, held_.dt[r], held_.z0.data() + r * d, held_.z1.data() + r * d);
  }
  double val[2] = {trainer_->validation_loss_sum(held_), static_cast<double>(rows)};
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, val, 2, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
  return {val[1] > 0 ? val[0] / val[1] : std::numeric_limits<double>::quiet_NaN(), static_cast<std::int64_t>(val[1])};
}

ModelInfo OnlineLearner::finish() {
  if (file_) file_->commit();
  if (!trainer_) throw std::runtime_error("the stream ended before every learner held learn.min_fill pairs");
  std::int64_t total = received_;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT64_T, MPI_SUM, comm_), "MPI_Allreduce");
  const auto [val_loss, val_pairs] = validation_loss();
  if (rank_ == 0) {
    flush_schedule();
    schedule_.reset();
    std::fflush(metrics_);
    std::fflush(history_);
    info_.method = c_.learn_method;
    info_.diffusion = c_.learn_diffusion;
    info_.epochs = trainer_->steps() / c_.learn_steps_per_epoch;
    info_.seed = c_.seed;
    info_.val_pairs = val_pairs;
    info_.train_pairs = total - info_.val_pairs;
    // The mean batch loss of the last scheduler epoch (loss factor as trained), and the
    // held-out pairs' mean loss with factor 1 (as macrodyn train logs it); null, not 0,
    // when there is none.
    double sum = 0;
    for (double l : last_losses_) sum += l;
    info_.final_train_loss = last_losses_.empty() ? std::numeric_limits<double>::quiet_NaN()
                                                  : sum / static_cast<double>(last_losses_.size());
    info_.final_val_loss = val_loss;
    trainer_->model().export_torchscript(c_.learn_out);
    write_model_info(c_.learn_out, info_);
  }
  return info_;
}

void OnlineLearner::save(const std::string& dir, RunCheckpoint& ck) {
  if (file_) file_->commit();
  std::filesystem::create_directories(dir);
  const std::string base = dir + "/learner-" + std::to_string(rank_);
  if (trainer_) trainer_->save(base + ".pt");
  {
    // Buffer: seen, received, then the rows of slots [0, size).
    const std::string tmp = base + ".bin.tmp";
    std::ofstream out(tmp, std::ios::binary);
    const std::uint64_t seen = buffer_.seen();
    out.write(reinterpret_cast<const char*>(&seen), 8);
    out.write(reinterpret_cast<const char*>(&received_), 8);
    out.write(reinterpret_cast<const char*>(buffer_.data()),
              static_cast<std::streamsize>(buffer_.size() * buffer_row_bytes(d_)));
    // Then the held-out rows: their count and the rows.
    const std::uint64_t held = validation_.size() / buffer_row_bytes(d_);
    out.write(reinterpret_cast<const char*>(&held), 8);
    out.write(reinterpret_cast<const char*>(validation_.data()), static_cast<std::streamsize>(validation_.size()));
    out.close();
    if (!out) throw FileError("cannot write the checkpoint file " + tmp);
    std::filesystem::rename(tmp, base + ".bin");
  }
  std::int64_t total = received_;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT64_T, MPI_SUM, comm_), "MPI_Allreduce");
  if (rank_ == 0) {
    flush_schedule();
    std::fflush(metrics_);
    std::fflush(history_);
    ck.steps = trainer_steps();
    ck.pairs_received = total;
    ck.stream_rows = file_ ? file_->rows_written() : 0;
    ck.normalised = trainer_ != nullptr;
    ck.offset = info_.offset;
    ck.scale = info_.scale;
    ck.time_unit = info_.time_unit;
    ck.time_unit_kind = info_.time_unit_kind;
  }
  check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
}

void OnlineLearner::restore(const std::string& dir, const RunCheckpoint& ck) {
  const std::string base = dir + "/learner-" + std::to_string(rank_);
  {
    std::ifstream in(base + ".bin", std::ios::binary);
    std::uint64_t seen = 0;
    in.read(reinterpret_cast<char*>(&seen), 8);
    in.read(reinterpret_cast<char*>(&received_), 8);
    const std::size_t rows = std::min<std::uint64_t>(seen, buffer_.capacity());
    std::vector<unsigned char> data(rows * buffer_row_bytes(d_));
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!in) throw FileError("checkpoint file " + base + ".bin is truncated or missing");
    buffer_.restore(seen, data.data());
    std::uint64_t held = 0;
    in.read(reinterpret_cast<char*>(&held), 8);
    if (!in || held > kValidationRows) throw FileError("checkpoint file " + base + ".bin has no valid held-out pairs");
    validation_.resize(held * buffer_row_bytes(d_));
    in.read(reinterpret_cast<char*>(validation_.data()), static_cast<std::streamsize>(validation_.size()));
    if (!in) throw FileError("checkpoint file " + base + ".bin is truncated");
  }
  if (ck.normalised) {
    info_.offset = ck.offset;
    info_.scale = ck.scale;
    info_.time_unit = ck.time_unit;
    info_.time_unit_kind = ck.time_unit_kind;
    make_trainer();
    trainer_->load(base + ".pt");
  }
  open_outputs(ck.steps);
}

}  // namespace macrodyn::mpi
