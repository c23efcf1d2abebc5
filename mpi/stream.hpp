#pragma once
// Streaming of fixed-size rows from simulator ranks to a learner rank (docs/design.md §6.5,
// "Streaming"). Rows are packed into batches of `batch_rows`; a sender may have at most
// `credits` batches that its receiver has not yet acknowledged, so memory stays bounded
// on both sides whatever the relative speeds: the sender holds credits + 1 batch
// buffers (one being filled), and the receiver's MPI library holds at most
// credits batches per sender in its unexpected-message queue.
//
// Wire protocol, on the caller's communicator:
//   data   tag 2*tag    : Header + rows * row_bytes bytes, sender -> receiver
//   credit tag 2*tag + 1: one int64 (the sequence number acknowledged), receiver -> sender
// Batch sequence numbers run 0, 1, 2, ... per sender; the last message of a stream is an
// end marker (0 rows, end flag), which is acknowledged like any batch, so finish() knows
// that everything arrived. Since the stream uses two tags, give distinct streams on one
// communicator distinct `tag`s, and give streams a communicator of their own
// (MPI_Comm_dup) if other code sends point-to-point messages on it.
//
// A peer that stops talking (crashed, hung, never started) surfaces as PeerTimeout
// naming its rank after timeout_s, never as a hang. Hence a learner that interleaves
// training with poll() must poll at least once every timeout_s, or its senders, blocked
// without credit, will time out.
#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace macrodyn::mpi {

struct StreamOptions {
  int batch_rows = 64;    // rows per batch (the last batch of a stream may hold fewer)
  int credits = 4;        // batches a sender may have unacknowledged
  double timeout_s = 600; // silence after which a peer counts as dead
  int tag = 0;            // 0 <= tag, 2*tag + 1 <= MPI_TAG_UB; the stream uses 2 tags
};

// Throws std::invalid_argument naming the option when `o` makes no sense on `comm`.
void validate_stream_options(const StreamOptions& o, MPI_Comm comm);

// A peer said nothing for timeout_s. what() names the rank(s); ranks() lists them.
class PeerTimeout : public std::runtime_error {
 public:
  PeerTimeout(const std::string& what, std::vector<int> ranks)
      : std::runtime_error(what), ranks_(std::move(ranks)) {}
  const std::vector<int>& ranks() const { return ranks_; }

 private:
  std::vector<int> ranks_;
};

class StreamSender {
 public:
  // Allocates the credits + 1 batch buffers; sends nothing yet.
  StreamSender(MPI_Comm comm, int receiver_rank, std::size_t row_bytes, StreamOptions opts);
  // Without finish() (e.g. unwinding after an error) nothing more is sent, so the
  // receiver will time out on this rank. Pending sends are cancelled or, if they cannot
  // be, left to complete with their buffers leaked rather than freed under MPI.
  ~StreamSender();
  StreamSender(const StreamSender&) = delete;
  StreamSender& operator=(const StreamSender&) = delete;

  // Copies one row of row_bytes; sends the batch once it is full (waiting for a credit
  // if none is left; PeerTimeout after timeout_s without one).
  void push(const void* row);
  // Sends the partial batch now (no-op when empty).
  void flush();
  // flush(), end marker, then waits until the receiver acknowledged everything and all
  // sends completed. Idempotent; push() after finish() is a logic error.
  void finish();

  std::int64_t batches_sent() const { return batches_sent_; }  // data batches, no end marker
  std::int64_t rows_sent() const { return rows_sent_; }
  int max_in_flight() const { return max_in_flight_; }  // peak unacknowledged, end marker included
  int in_flight() const { return static_cast<int>(next_seq_ - acked_); }
  bool finished() const { return finished_; }

 private:
  void send_current(bool end);
  void wait_for_credit();  // until in_flight() < credits
  bool collect_credits();  // non-blocking; true if any arrived
  std::size_t slot_index() const;  // slot of batch next_seq_
  unsigned char* slot_data();
  void claim_slot();  // completes the slot's previous send before it is refilled
  std::string where() const;

  MPI_Comm comm_;
  int receiver_;
  int rank_ = -1;
  std::size_t row_bytes_;
  StreamOptions opts_;
  std::size_t slot_bytes_;             // header + batch_rows * row_bytes
  std::vector<unsigned char> buffers_; // credits + 1 slots; batch k uses slot k % (credits+1)
  std::vector<MPI_Request> requests_;  // one per slot
  std::int64_t next_seq_ = 0;          // sequence number of the batch being filled
  std::int64_t acked_ = 0;             // batches 0..acked_-1 are acknowledged
  int rows_in_batch_ = 0;
  bool end_sent_ = false;
  bool finished_ = false;
  std::int64_t batches_sent_ = 0;
  std::int64_t rows_sent_ = 0;
  int max_in_flight_ = 0;
};

// One received batch. `bytes` has room for batch_rows rows; the receiver sizes it once
// and reuses it, so keep one Batch per loop.
struct Batch {
  int sender = -1;
  std::int64_t sequence = -1;
  int rows = 0;
  std::size_t row_bytes = 0;
  std::vector<unsigned char> bytes;
  const unsigned char* row(int i) const { return bytes.data() + static_cast<std::size_t>(i) * row_bytes; }
};

class StreamReceiver {
 public:
  // `senders`: distinct ranks of `comm` (may be empty: done() at once). Each is timed
  // from construction: one that sends nothing for timeout_s is reported.
  StreamReceiver(MPI_Comm comm, std::vector<int> senders, std::size_t row_bytes, StreamOptions opts);
  ~StreamReceiver();
  StreamReceiver(const StreamReceiver&) = delete;
  StreamReceiver& operator=(const StreamReceiver&) = delete;

  // Non-blocking: true with a batch in `out` if one was ready. Every batch (and end
  // marker) received returns a credit to its sender at once. Senders are served round
  // robin, so a fast one cannot starve the others. Throws PeerTimeout when nothing is
  // pending and some unfinished sender has been silent for timeout_s.
  bool poll(Batch& out);
  // Blocking: waits for the next batch; false once every sender has finished.
  bool next(Batch& out);
  bool done() const { return active_ == 0; }

  std::int64_t rows_received() const { return rows_received_; }
  std::int64_t batches_received() const { return batches_received_; }  // data batches
  const std::vector<int>& senders() const { return senders_; }

 private:
  using Clock = std::chrono::steady_clock;
  bool try_start_receive();     // probe senders round robin, post an Irecv on a hit
  bool try_complete(Batch& out);  // test the posted Irecv; true if it produced a batch
  void send_credit(std::size_t s, std::int64_t seq);
  void check_timeouts();
  std::string where() const;

  MPI_Comm comm_;
  int rank_ = -1;
  std::vector<int> senders_;
  std::size_t row_bytes_;
  StreamOptions opts_;
  std::vector<unsigned char> staging_;       // one message: header + batch_rows rows
  MPI_Request recv_ = MPI_REQUEST_NULL;      // the posted receive, at most one
  std::size_t recv_from_ = 0;                // its sender's index
  std::vector<std::int64_t> expected_;       // next sequence number per sender
  std::vector<char> ended_;
  std::vector<Clock::time_point> heard_;     // last message (or probe hit) per sender
  std::vector<std::int64_t> credit_values_;  // credits slots per sender
  std::vector<MPI_Request> credit_requests_;
  std::size_t next_probe_ = 0;
  std::size_t active_ = 0;
  std::int64_t rows_received_ = 0;
  std::int64_t batches_received_ = 0;
};

}  // namespace macrodyn::mpi
