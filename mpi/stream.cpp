// Credit-based batch streaming (see stream.hpp for the protocol).
#include "mpi/stream.hpp"

#include "mpi/check.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>
#include <thread>

namespace macrodyn::mpi {

namespace {

using Clock = std::chrono::steady_clock;

// Batch header, sent in front of the rows. int64 throughout so that the layout is the
// same on every rank without packing rules; row_bytes is there only to turn a
// mismatch between sender and receiver into a clear error, and so are batch_rows and
// credits (the receiver's credit buffers rely on the sender's credits being its own).
struct Header {
  std::int64_t sender;
  std::int64_t sequence;
  std::int64_t rows;
  std::int64_t row_bytes;
  std::int64_t batch_rows;
  std::int64_t credits;
  std::int64_t end;
};
constexpr std::size_t kHeaderBytes = sizeof(Header);
static_assert(kHeaderBytes == 56, "Header must have no padding");

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string fmt_seconds(double s) {
  std::ostringstream o;
  o << s << " s";
  return o.str();
}

int data_tag(const StreamOptions& o) { return 2 * o.tag; }
int credit_tag(const StreamOptions& o) { return 2 * o.tag + 1; }

// Waiting without a busy spin: a short sleep between polls, growing to 1 ms, so that
// waiting ranks leave the cores to the ranks that compute (CI oversubscribes 2 cores).
class Backoff {
 public:
  void wait() {
    std::this_thread::sleep_for(delay_);
    delay_ = std::min(delay_ * 2, std::chrono::microseconds(1000));
  }

 private:
  std::chrono::microseconds delay_{20};
};

// MPI_Wait for a request that the protocol says is about to complete, bounded all the
// same so that a misbehaving peer gives an error rather than a hang.
void wait_bounded(MPI_Request& r, double timeout_s, const std::string& what) {
  const auto t0 = Clock::now();
  Backoff backoff;
  for (;;) {
    int flag = 0;
    check_mpi(MPI_Test(&r, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (flag) return;
    if (seconds_since(t0) > timeout_s) throw std::runtime_error(what);
    backoff.wait();
  }
}

// Buffers of sends that could not be completed nor cancelled when their owner died:
// MPI may still read them, so they are never freed (a leak is better than MPI reading
// freed memory). Only reached after a peer failed, when the run is about to stop.
template <class T>
void bury(std::vector<T>&& buffer) {
  static auto* graveyard = new std::vector<std::vector<T>>();
  graveyard->push_back(std::move(buffer));  // moving keeps the heap block where it is
}

// Destructor helper: completes, or cancels, every active request; never throws. Returns
// false if some request is still owned by MPI (then its buffer must not be freed).
bool release(std::vector<MPI_Request>& requests) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return true;
  bool all_done = true;
  for (MPI_Request& r : requests) {
    if (r == MPI_REQUEST_NULL) continue;
    int flag = 0;
    if (MPI_Test(&r, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && flag) continue;
    MPI_Cancel(&r);
    // A cancelled receive completes at once; a send that was matched completes shortly;
    // a send the peer never matches may not be cancellable (Open MPI): give up on it.
    const auto t0 = Clock::now();
    Backoff backoff;
    while (!flag && seconds_since(t0) < 0.2) {
      if (MPI_Test(&r, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
      if (!flag) backoff.wait();
    }
    if (!flag) {
      MPI_Request_free(&r);
      all_done = false;
    }
  }
  return all_done;
}

int comm_rank(MPI_Comm comm) {
  int r = -1;
  check_mpi(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
  return r;
}

int comm_size(MPI_Comm comm) {
  int n = 0;
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  return n;
}

// Header + batch_rows rows, which must fit the int count of MPI calls.
std::size_t message_bytes(std::size_t row_bytes, const StreamOptions& o) {
  if (row_bytes == 0) throw std::invalid_argument("stream: row_bytes must be positive");
  const std::size_t max_rows_bytes = static_cast<std::size_t>(INT_MAX) - kHeaderBytes;
  if (row_bytes > max_rows_bytes / static_cast<std::size_t>(o.batch_rows))
    throw std::invalid_argument("stream: batch_rows * row_bytes exceeds the 2 GiB of one MPI message");
  return kHeaderBytes + row_bytes * static_cast<std::size_t>(o.batch_rows);
}

}  // namespace

void validate_stream_options(const StreamOptions& o, MPI_Comm comm) {
  if (o.batch_rows < 1) throw std::invalid_argument("stream: batch_rows must be >= 1");
  if (o.credits < 1) throw std::invalid_argument("stream: credits must be >= 1");
  if (!(o.timeout_s > 0) || !std::isfinite(o.timeout_s))
    throw std::invalid_argument("stream: timeout_s must be a positive number of seconds");
  int* tag_ub = nullptr;
  int flag = 0;
  check_mpi(MPI_Comm_get_attr(comm, MPI_TAG_UB, &tag_ub, &flag), "MPI_Comm_get_attr(MPI_TAG_UB)");
  const long long ub = flag ? *tag_ub : 32767;  // 32767: the least the standard allows
  if (o.tag < 0 || 2LL * o.tag + 1 > ub)
    throw std::invalid_argument("stream: tag must be in [0, " + std::to_string((ub - 1) / 2) +
                                "] (the stream uses tags 2*tag and 2*tag+1)");
}

// ---------------------------------------------------------------------------------------
// Sender

StreamSender::StreamSender(MPI_Comm comm, int receiver_rank, std::size_t row_bytes, StreamOptions opts)
    : comm_(comm), receiver_(receiver_rank), row_bytes_(row_bytes), opts_(opts) {
  validate_stream_options(opts_, comm_);
  slot_bytes_ = message_bytes(row_bytes_, opts_);
  rank_ = comm_rank(comm_);
  const int size = comm_size(comm_);
  if (receiver_ < 0 || receiver_ >= size)
    throw std::invalid_argument("stream: receiver rank " + std::to_string(receiver_) +
                                " is not in the communicator (size " + std::to_string(size) + ")");
  const std::size_t slots = static_cast<std::size_t>(opts_.credits) + 1;
  buffers_.assign(slots * slot_bytes_, 0);
  requests_.assign(slots, MPI_REQUEST_NULL);
}

StreamSender::~StreamSender() {
  if (!release(requests_)) bury(std::move(buffers_));
}

std::string StreamSender::where() const {
  return "stream tag " + std::to_string(opts_.tag) + ", sender rank " + std::to_string(rank_);
}

std::size_t StreamSender::slot_index() const {
  return static_cast<std::size_t>(next_seq_ % (opts_.credits + 1));
}

unsigned char* StreamSender::slot_data() { return buffers_.data() + slot_index() * slot_bytes_; }

void StreamSender::claim_slot() {
  // This slot last carried batch next_seq_ - credits - 1, acknowledged before batch
  // next_seq_ - 1 could be sent: its send is matched, so this wait is short.
  wait_bounded(requests_[slot_index()], opts_.timeout_s,
               where() + ": send of an acknowledged batch to rank " + std::to_string(receiver_) +
                   " did not complete");
}

bool StreamSender::collect_credits() {
  bool got = false;
  for (;;) {
    int flag = 0;
    MPI_Status st;
    check_mpi(MPI_Iprobe(receiver_, credit_tag(opts_), comm_, &flag, &st), "MPI_Iprobe");
    if (!flag) return got;
    std::int64_t seq = -1;
    check_mpi(MPI_Recv(&seq, 1, MPI_INT64_T, receiver_, credit_tag(opts_), comm_, MPI_STATUS_IGNORE),
          "MPI_Recv");
    // Credits come back in sequence order (one receiver, non-overtaking messages).
    if (seq != acked_ || acked_ >= next_seq_)
      throw std::runtime_error(where() + ": credit for batch " + std::to_string(seq) +
                               " from rank " + std::to_string(receiver_) + ", expected " +
                               std::to_string(acked_));
    ++acked_;
    got = true;
  }
}

void StreamSender::wait_for_credit() {
  const auto t0 = Clock::now();
  Backoff backoff;
  while (in_flight() >= opts_.credits) {
    if (collect_credits()) continue;
    if (seconds_since(t0) > opts_.timeout_s)
      throw PeerTimeout(where() + ": no credit from receiver rank " + std::to_string(receiver_) +
                            " within " + fmt_seconds(opts_.timeout_s) + " (" +
                            std::to_string(in_flight()) + " batches unacknowledged)",
                        {receiver_});
    backoff.wait();
  }
}

void StreamSender::push(const void* row) {
  if (end_sent_) throw std::logic_error(where() + ": push() after finish()");
  // Each push drives MPI progress, so a batch too large to go eagerly still moves while
  // the simulator works between rows.
  if (in_flight() > 0) collect_credits();
  // A full batch here means its send timed out before: try again rather than overflow.
  if (rows_in_batch_ == opts_.batch_rows) send_current(false);
  if (rows_in_batch_ == 0) claim_slot();
  std::memcpy(slot_data() + kHeaderBytes + static_cast<std::size_t>(rows_in_batch_) * row_bytes_, row,
              row_bytes_);
  if (++rows_in_batch_ == opts_.batch_rows) send_current(false);
}

void StreamSender::flush() {
  if (rows_in_batch_ > 0) send_current(false);
}

void StreamSender::send_current(bool end) {
  wait_for_credit();
  if (rows_in_batch_ == 0) claim_slot();  // an empty batch (end marker) has no slot yet
  unsigned char* base = slot_data();
  Header h{};
  h.sender = rank_;
  h.sequence = next_seq_;
  h.rows = rows_in_batch_;
  h.row_bytes = static_cast<std::int64_t>(row_bytes_);
  h.batch_rows = opts_.batch_rows;
  h.credits = opts_.credits;
  h.end = end ? 1 : 0;
  std::memcpy(base, &h, kHeaderBytes);
  const std::size_t bytes = kHeaderBytes + static_cast<std::size_t>(rows_in_batch_) * row_bytes_;
  check_mpi(MPI_Isend(base, static_cast<int>(bytes), MPI_BYTE, receiver_, data_tag(opts_), comm_,
                  &requests_[slot_index()]),
        "MPI_Isend");
  if (rows_in_batch_ > 0) {
    ++batches_sent_;
    rows_sent_ += rows_in_batch_;
  }
  ++next_seq_;
  rows_in_batch_ = 0;
  max_in_flight_ = std::max(max_in_flight_, in_flight());
}

void StreamSender::finish() {
  if (finished_) return;
  if (!end_sent_) {
    flush();
    send_current(true);
    end_sent_ = true;
  }
  // The end marker's credit is the receiver's final acknowledgement.
  auto t0 = Clock::now();
  Backoff backoff;
  while (acked_ < next_seq_) {
    if (collect_credits()) {
      t0 = Clock::now();
      continue;
    }
    if (seconds_since(t0) > opts_.timeout_s)
      throw PeerTimeout(where() + ": receiver rank " + std::to_string(receiver_) +
                            " did not acknowledge the end of the stream within " +
                            fmt_seconds(opts_.timeout_s) + " (" + std::to_string(in_flight()) +
                            " batches unacknowledged)",
                        {receiver_});
    backoff.wait();
  }
  // Every send is matched by now, so this returns at once.
  check_mpi(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE),
        "MPI_Waitall");
  finished_ = true;
}

// ---------------------------------------------------------------------------------------
// Receiver

StreamReceiver::StreamReceiver(MPI_Comm comm, std::vector<int> senders, std::size_t row_bytes,
                               StreamOptions opts)
    : comm_(comm), senders_(std::move(senders)), row_bytes_(row_bytes), opts_(opts) {
  validate_stream_options(opts_, comm_);
  staging_.assign(message_bytes(row_bytes_, opts_), 0);
  rank_ = comm_rank(comm_);
  const int size = comm_size(comm_);
  std::vector<int> sorted = senders_;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] < 0 || sorted[i] >= size)
      throw std::invalid_argument("stream: sender rank " + std::to_string(sorted[i]) +
                                  " is not in the communicator (size " + std::to_string(size) + ")");
    if (i > 0 && sorted[i] == sorted[i - 1])
      throw std::invalid_argument("stream: sender rank " + std::to_string(sorted[i]) + " listed twice");
  }
  const std::size_t n = senders_.size();
  expected_.assign(n, 0);
  ended_.assign(n, 0);
  heard_.assign(n, Clock::now());
  credit_values_.assign(n * static_cast<std::size_t>(opts_.credits), -1);
  credit_requests_.assign(n * static_cast<std::size_t>(opts_.credits), MPI_REQUEST_NULL);
  active_ = n;
}

StreamReceiver::~StreamReceiver() {
  std::vector<MPI_Request> pending{recv_};
  const bool recv_done = release(pending);
  if (!release(credit_requests_)) bury(std::move(credit_values_));
  if (!recv_done) bury(std::move(staging_));
}

std::string StreamReceiver::where() const {
  return "stream tag " + std::to_string(opts_.tag) + ", receiver rank " + std::to_string(rank_);
}

void StreamReceiver::send_credit(std::size_t s, std::int64_t seq) {
  const std::size_t k = s * static_cast<std::size_t>(opts_.credits) +
                        static_cast<std::size_t>(seq % opts_.credits);
  // This slot carried the credit for batch seq - credits, which the sender had to
  // receive before it could send batch seq: the wait is short.
  wait_bounded(credit_requests_[k], opts_.timeout_s,
               where() + ": sender rank " + std::to_string(senders_[s]) +
                   " does not take its credits");
  credit_values_[k] = seq;
  check_mpi(MPI_Isend(&credit_values_[k], 1, MPI_INT64_T, senders_[s], credit_tag(opts_), comm_,
                  &credit_requests_[k]),
        "MPI_Isend");
}

bool StreamReceiver::try_start_receive() {
  const std::size_t n = senders_.size();
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t i = (next_probe_ + j) % n;
    if (ended_[i]) continue;
    int flag = 0;
    MPI_Status st;
    check_mpi(MPI_Iprobe(senders_[i], data_tag(opts_), comm_, &flag, &st), "MPI_Iprobe");
    if (!flag) continue;
    int count = 0;
    check_mpi(MPI_Get_count(&st, MPI_BYTE, &count), "MPI_Get_count");
    if (count < 0 || static_cast<std::size_t>(count) > staging_.size())
      throw std::runtime_error(where() + ": message of " + std::to_string(count) +
                               " bytes from rank " + std::to_string(senders_[i]) +
                               " exceeds a batch of " + std::to_string(staging_.size()) +
                               " bytes (row_bytes or batch_rows differ between sender and receiver?)");
    check_mpi(MPI_Irecv(staging_.data(), count, MPI_BYTE, senders_[i], data_tag(opts_), comm_, &recv_),
          "MPI_Irecv");
    recv_from_ = i;
    heard_[i] = Clock::now();
    next_probe_ = (i + 1) % n;  // round robin: the next probe starts after this sender
    return true;
  }
  return false;
}

bool StreamReceiver::try_complete(Batch& out) {
  int flag = 0;
  MPI_Status st;
  check_mpi(MPI_Test(&recv_, &flag, &st), "MPI_Test");
  const std::size_t s = recv_from_;
  const int rank = senders_[s];
  if (!flag) {
    // A large batch needs its sender to call into MPI; one that stops mid-transfer is
    // as dead as a silent one.
    if (seconds_since(heard_[s]) > opts_.timeout_s)
      throw PeerTimeout(where() + ": batch transfer from sender rank " + std::to_string(rank) +
                            " stalled for " + fmt_seconds(opts_.timeout_s),
                        {rank});
    return false;
  }
  heard_[s] = Clock::now();
  int count = 0;
  check_mpi(MPI_Get_count(&st, MPI_BYTE, &count), "MPI_Get_count");
  Header h{};
  if (static_cast<std::size_t>(count) >= kHeaderBytes) std::memcpy(&h, staging_.data(), kHeaderBytes);
  const auto fail = [&](const std::string& what) {
    throw std::runtime_error(where() + ": bad batch from rank " + std::to_string(rank) + ": " + what);
  };
  if (static_cast<std::size_t>(count) < kHeaderBytes) fail("shorter than its header");
  if (h.sender != rank) fail("header names rank " + std::to_string(h.sender));
  if (h.row_bytes != static_cast<std::int64_t>(row_bytes_))
    fail("rows of " + std::to_string(h.row_bytes) + " bytes, expected " + std::to_string(row_bytes_));
  if (h.batch_rows != opts_.batch_rows || h.credits != opts_.credits)
    fail("sender uses batch_rows " + std::to_string(h.batch_rows) + ", credits " +
         std::to_string(h.credits) + "; this receiver " + std::to_string(opts_.batch_rows) + ", " +
         std::to_string(opts_.credits));
  if (h.rows < 0 || h.rows > opts_.batch_rows)
    fail(std::to_string(h.rows) + " rows, batch_rows is " + std::to_string(opts_.batch_rows));
  if (static_cast<std::size_t>(count) != kHeaderBytes + static_cast<std::size_t>(h.rows) * row_bytes_)
    fail(std::to_string(count) + " bytes for " + std::to_string(h.rows) + " rows");
  if (h.sequence != expected_[s])
    fail("sequence number " + std::to_string(h.sequence) + ", expected " + std::to_string(expected_[s]) +
         " (a batch was lost or reordered)");
  ++expected_[s];
  send_credit(s, h.sequence);
  if (h.end) {
    ended_[s] = 1;
    --active_;
  }
  if (h.rows == 0) return false;
  const std::size_t capacity = static_cast<std::size_t>(opts_.batch_rows) * row_bytes_;
  if (out.bytes.size() < capacity) out.bytes.resize(capacity);
  out.sender = rank;
  out.sequence = h.sequence;
  out.rows = static_cast<int>(h.rows);
  out.row_bytes = row_bytes_;
  std::memcpy(out.bytes.data(), staging_.data() + kHeaderBytes, static_cast<std::size_t>(h.rows) * row_bytes_);
  ++batches_received_;
  rows_received_ += h.rows;
  return true;
}

void StreamReceiver::check_timeouts() {
  std::vector<int> silent;
  for (std::size_t i = 0; i < senders_.size(); ++i)
    if (!ended_[i] && seconds_since(heard_[i]) > opts_.timeout_s) silent.push_back(senders_[i]);
  if (silent.empty()) return;
  std::string list;
  for (int r : silent) list += (list.empty() ? "" : ", ") + std::to_string(r);
  throw PeerTimeout(where() + ": nothing from sender rank" + (silent.size() > 1 ? "s " : " ") + list +
                        " for " + fmt_seconds(opts_.timeout_s) + " (stream not finished)",
                    silent);
}

bool StreamReceiver::poll(Batch& out) {
  if (recv_ != MPI_REQUEST_NULL) {
    if (try_complete(out)) return true;
    if (recv_ != MPI_REQUEST_NULL) return false;  // transfer still under way
  }
  // End markers produce no batch: keep going while messages are there.
  while (try_start_receive()) {
    if (try_complete(out)) return true;
    if (recv_ != MPI_REQUEST_NULL) return false;  // transfer under way
  }
  check_timeouts();
  return false;
}

bool StreamReceiver::next(Batch& out) {
  Backoff backoff;
  for (;;) {
    if (poll(out)) return true;
    if (done()) return false;
    backoff.wait();
  }
}

}  // namespace macrodyn::mpi
