// Credit-based streaming (mpi/stream.hpp): rank 0 receives, the other ranks send.
// Every test runs on its own duplicate of MPI_COMM_WORLD, so a test that ends on a
// timeout cannot leave messages that a later test would match.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "mpi/stream.hpp"

using namespace macrodyn::mpi;
using Catch::Matchers::Contains;

namespace {

struct DupComm {
  MPI_Comm comm = MPI_COMM_NULL;
  DupComm() { MPI_Comm_dup(MPI_COMM_WORLD, &comm); }
  ~DupComm() { MPI_Comm_free(&comm); }
  int rank() const {
    int r = 0;
    MPI_Comm_rank(comm, &r);
    return r;
  }
  int size() const {
    int n = 0;
    MPI_Comm_size(comm, &n);
    return n;
  }
};

// A row says where it came from, so the receiver can check the whole set.
struct Row {
  std::int32_t sender;
  std::int32_t index;
  double value;
};

double value_of(int sender, int index) { return sender * 1000.0 + index * 0.5; }

Row read_row(const Batch& b, int i) {
  Row r;
  std::memcpy(&r, b.row(i), sizeof r);
  return r;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int> ranks_from(int first, int size) {
  std::vector<int> v;
  for (int r = first; r < size; ++r) v.push_back(r);
  return v;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

TEST_CASE("stream delivers every row exactly once, batches in order", "[stream]") {
  DupComm w;
  const int rank = w.rank(), size = w.size();
  if (size < 2) {
    SUCCEED("needs a sender and a receiver");
    return;
  }
  const StreamOptions opts{8, 3, 20.0, 0};
  // Sender r: 13 r + 5 rows, an explicit flush after 3 rows, so both a partial batch
  // mid-stream and a partial final batch occur.
  auto rows_of = [](int r) { return 13 * r + 5; };
  auto batches_of = [&](int r) { return 1 + (rows_of(r) - 3 + opts.batch_rows - 1) / opts.batch_rows; };

  if (rank == 0) {
    StreamReceiver rx(w.comm, ranks_from(1, size), sizeof(Row), opts);
    std::vector<std::vector<int>> count(size);
    std::vector<std::int64_t> next_seq(size, 0);
    std::vector<std::vector<int>> batch_rows(size);
    for (int r = 1; r < size; ++r) count[r].assign(rows_of(r), 0);
    Batch b;
    const unsigned char* storage = nullptr;
    while (rx.next(b)) {
      REQUIRE(b.sender >= 1);
      REQUIRE(b.sender < size);
      CHECK(b.sequence == next_seq[b.sender]++);
      CHECK(b.rows >= 1);
      CHECK(b.rows <= opts.batch_rows);
      if (!storage) storage = b.bytes.data();
      CHECK(b.bytes.data() == storage);  // sized once, then reused
      batch_rows[b.sender].push_back(b.rows);
      for (int i = 0; i < b.rows; ++i) {
        const Row row = read_row(b, i);
        CHECK(row.sender == b.sender);
        REQUIRE(row.index >= 0);
        REQUIRE(row.index < rows_of(b.sender));
        ++count[b.sender][row.index];
        CHECK(row.value == value_of(row.sender, row.index));
      }
    }
    CHECK(rx.done());
    CHECK_FALSE(rx.next(b));  // stays done
    std::int64_t rows = 0, batches = 0;
    for (int r = 1; r < size; ++r) {
      INFO("sender " << r);
      for (int c : count[r]) CHECK(c == 1);
      REQUIRE(batch_rows[r].size() == static_cast<std::size_t>(batches_of(r)));
      CHECK(batch_rows[r].front() == 3);
      const int tail = (rows_of(r) - 3) % opts.batch_rows;
      CHECK(batch_rows[r].back() == (tail ? tail : opts.batch_rows));
      rows += rows_of(r);
      batches += batches_of(r);
    }
    CHECK(rx.rows_received() == rows);
    CHECK(rx.batches_received() == batches);
  } else {
    StreamSender tx(w.comm, 0, sizeof(Row), opts);
    for (int i = 0; i < rows_of(rank); ++i) {
      const Row row{rank, i, value_of(rank, i)};
      tx.push(&row);
      if (i == 2) tx.flush();
    }
    tx.flush();
    tx.flush();  // nothing pending: no empty batch
    tx.finish();
    tx.finish();  // idempotent
    CHECK(tx.finished());
    CHECK(tx.rows_sent() == rows_of(rank));
    CHECK(tx.batches_sent() == batches_of(rank));
    CHECK(tx.in_flight() == 0);
    CHECK(tx.max_in_flight() <= opts.credits);
    const Row row{rank, 0, 0.0};
    CHECK_THROWS_AS(tx.push(&row), std::logic_error);
  }
  MPI_Barrier(w.comm);
}

TEST_CASE("a slow receiver holds senders to their credits", "[stream]") {
  DupComm w;
  const int rank = w.rank(), size = w.size();
  if (size < 2) {
    SUCCEED("needs a sender and a receiver");
    return;
  }
  const StreamOptions opts{4, 2, 20.0, 3};
  const int rows_each = 40;
  if (rank == 0) {
    // A learner that polls once between (slow) training steps.
    StreamReceiver rx(w.comm, ranks_from(1, size), sizeof(Row), opts);
    Batch b;
    std::int64_t rows = 0;
    while (!rx.done()) {
      if (rx.poll(b)) rows += b.rows;
      sleep_ms(4);
    }
    CHECK(rows == static_cast<std::int64_t>(rows_each) * (size - 1));
    CHECK(rx.rows_received() == rows);
  } else {
    StreamSender tx(w.comm, 0, sizeof(Row), opts);
    for (int i = 0; i < rows_each; ++i) {
      const Row row{rank, i, value_of(rank, i)};
      tx.push(&row);
      CHECK(tx.in_flight() <= opts.credits);
    }
    tx.finish();
    CHECK(tx.max_in_flight() <= opts.credits);
    CHECK(tx.max_in_flight() == opts.credits);  // the receiver is slow: the limit was reached
    CHECK(tx.rows_sent() == rows_each);
  }
  MPI_Barrier(w.comm);
}

TEST_CASE("a slow sender makes the receiver wait, not time out", "[stream]") {
  DupComm w;
  const int rank = w.rank(), size = w.size();
  if (size < 2) {
    SUCCEED("needs a sender and a receiver");
    return;
  }
  const StreamOptions opts{2, 2, 10.0, 4};
  const int rows_each = 8;
  if (rank == 0) {
    StreamReceiver rx(w.comm, ranks_from(1, size), sizeof(Row), opts);
    Batch b;
    std::int64_t rows = 0;
    CHECK_NOTHROW([&] {
      while (rx.next(b)) rows += b.rows;
    }());
    CHECK(rows == static_cast<std::int64_t>(rows_each) * (size - 1));
  } else {
    StreamSender tx(w.comm, 0, sizeof(Row), opts);
    for (int i = 0; i < rows_each; ++i) {
      sleep_ms(30);  // a simulator producing slowly
      const Row row{rank, i, value_of(rank, i)};
      tx.push(&row);
    }
    CHECK_NOTHROW(tx.finish());
  }
  MPI_Barrier(w.comm);
}

TEST_CASE("a silent sender makes the receiver throw PeerTimeout naming it", "[stream]") {
  DupComm w;
  const int rank = w.rank(), size = w.size();
  if (size < 2) {
    SUCCEED("needs a sender and a receiver");
    return;
  }
  const StreamOptions opts{4, 2, 1.0, 5};
  const int silent = size - 1, rows_each = 10;
  if (rank == 0) {
    const auto t0 = std::chrono::steady_clock::now();
    StreamReceiver rx(w.comm, ranks_from(1, size), sizeof(Row), opts);
    Batch b;
    std::int64_t rows = 0;
    bool threw = false;
    try {
      while (rx.next(b)) rows += b.rows;
    } catch (const PeerTimeout& e) {
      threw = true;
      const double t = seconds_since(t0);
      INFO(e.what());
      CHECK_THAT(e.what(), Contains("sender rank " + std::to_string(silent)));
      CHECK(e.ranks() == std::vector<int>{silent});
      CHECK(t >= opts.timeout_s);
      CHECK(t < opts.timeout_s + 5.0);
    }
    CHECK(threw);
    CHECK(rows == static_cast<std::int64_t>(rows_each) * (size - 2));  // the others all arrived
  } else {
    StreamSender tx(w.comm, 0, sizeof(Row), opts);
    if (rank != silent) {
      for (int i = 0; i < rows_each; ++i) {
        const Row row{rank, i, value_of(rank, i)};
        tx.push(&row);
      }
      CHECK_NOTHROW(tx.finish());
    }
    // The silent sender neither sends nor finishes: it just waits here.
  }
  MPI_Barrier(w.comm);
}

TEST_CASE("a sender without credits throws PeerTimeout naming its receiver", "[stream]") {
  DupComm w;
  const int rank = w.rank(), size = w.size();
  if (size < 2) {
    SUCCEED("needs a sender and a receiver");
    return;
  }
  const StreamOptions opts{2, 2, 1.0, 6};
  int sent = 0;
  if (rank == 0) {
    // Never creates a receiver, so no credit ever comes back.
    std::vector<int> counts(size, 0);
    MPI_Gather(&sent, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, w.comm);
    // Take the batches the senders left, so that their sends complete and nothing is
    // pending at MPI_Comm_free or MPI_Finalize.
    for (int r = 1; r < size; ++r) {
      CHECK(counts[r] == opts.credits);
      for (int i = 0; i < counts[r]; ++i) {
        MPI_Status st;
        MPI_Probe(r, MPI_ANY_TAG, w.comm, &st);
        CHECK(st.MPI_TAG == 2 * opts.tag);
        int bytes = 0;
        MPI_Get_count(&st, MPI_BYTE, &bytes);
        std::vector<unsigned char> buf(static_cast<std::size_t>(bytes));
        MPI_Recv(buf.data(), bytes, MPI_BYTE, r, st.MPI_TAG, w.comm, MPI_STATUS_IGNORE);
      }
    }
    MPI_Barrier(w.comm);
  } else {
    StreamSender tx(w.comm, 0, sizeof(Row), opts);
    const auto t0 = std::chrono::steady_clock::now();
    bool threw = false;
    try {
      for (int i = 0; i < 100; ++i) {
        const Row row{rank, i, value_of(rank, i)};
        tx.push(&row);
      }
    } catch (const PeerTimeout& e) {
      threw = true;
      const double t = seconds_since(t0);
      INFO(e.what());
      CHECK_THAT(e.what(), Contains("receiver rank 0"));
      CHECK(e.ranks() == std::vector<int>{0});
      CHECK(t >= opts.timeout_s);
      CHECK(t < opts.timeout_s + 5.0);
    }
    CHECK(threw);
    CHECK(tx.batches_sent() == opts.credits);
    CHECK(tx.in_flight() == opts.credits);
    sent = static_cast<int>(tx.batches_sent());
    MPI_Gather(&sent, 1, MPI_INT, nullptr, 0, MPI_INT, 0, w.comm);
    MPI_Barrier(w.comm);  // rank 0 has drained: tx's destructor finds its sends complete
  }
}

TEST_CASE("large batches (beyond the eager limit) arrive intact", "[stream]") {
  DupComm w;
  const int rank = w.rank(), size = w.size();
  if (size < 2) {
    SUCCEED("needs a sender and a receiver");
    return;
  }
  // Rows like the autoencoder phase's patches: 64 x 64 int8 spins; 8 rows = 32 KiB per
  // batch, sent by rendezvous rather than eagerly, while both sides "work" in between.
  const std::size_t row_bytes = 64 * 64;
  const StreamOptions opts{8, 2, 20.0, 10};
  const int rows_each = 30;
  auto spin = [](int sender, int index, std::size_t k) {
    return static_cast<std::int8_t>(((sender * 31 + index * 7 + static_cast<int>(k)) % 3 == 0) ? 1 : -1);
  };
  if (rank == 0) {
    StreamReceiver rx(w.comm, ranks_from(1, size), row_bytes, opts);
    Batch b;
    std::vector<std::vector<int>> count(size, std::vector<int>(rows_each, 0));
    while (!rx.done()) {
      if (!rx.poll(b)) {
        sleep_ms(1);
        continue;
      }
      for (int i = 0; i < b.rows; ++i) {
        const auto* p = reinterpret_cast<const std::int8_t*>(b.row(i));
        std::int32_t index = 0;
        std::memcpy(&index, p, sizeof index);  // first 4 bytes: the row's index
        REQUIRE(index >= 0);
        REQUIRE(index < rows_each);
        ++count[b.sender][index];
        bool intact = true;
        for (std::size_t k = 4; k < row_bytes; ++k) intact = intact && p[k] == spin(b.sender, index, k);
        CHECK(intact);
      }
    }
    for (int r = 1; r < size; ++r)
      for (int c : count[r]) CHECK(c == 1);
  } else {
    StreamSender tx(w.comm, 0, row_bytes, opts);
    std::vector<std::int8_t> row(row_bytes);
    for (int i = 0; i < rows_each; ++i) {
      std::memcpy(row.data(), &i, sizeof i);
      for (std::size_t k = 4; k < row_bytes; ++k) row[k] = spin(rank, i, k);
      tx.push(row.data());
      if (i % 5 == 0) sleep_ms(2);
    }
    tx.finish();
    CHECK(tx.rows_sent() == rows_each);
  }
  MPI_Barrier(w.comm);
}

TEST_CASE("streams with different tags share a communicator", "[stream]") {
  DupComm w;
  const int rank = w.rank(), size = w.size();
  if (size < 2) {
    SUCCEED("needs a sender and a receiver");
    return;
  }
  // Stream a: Row (16 bytes); stream b: 24-byte rows; different batch sizes too.
  struct Wide {
    Row row;
    double extra;
  };
  const StreamOptions oa{5, 2, 20.0, 7}, ob{3, 1, 20.0, 8};
  const int rows_a = 23, rows_b = 17;
  if (rank == 0) {
    StreamReceiver ra(w.comm, ranks_from(1, size), sizeof(Row), oa);
    StreamReceiver rb(w.comm, ranks_from(1, size), sizeof(Wide), ob);
    Batch a, b;
    std::int64_t na = 0, nb = 0;
    while (!ra.done() || !rb.done()) {
      bool got = false;
      if (ra.poll(a)) {
        got = true;
        na += a.rows;
        for (int i = 0; i < a.rows; ++i) CHECK(read_row(a, i).value == value_of(a.sender, read_row(a, i).index));
      }
      if (rb.poll(b)) {
        got = true;
        nb += b.rows;
        for (int i = 0; i < b.rows; ++i) {
          Wide x;
          std::memcpy(&x, b.row(i), sizeof x);
          CHECK(x.row.sender == b.sender);
          CHECK(x.extra == -x.row.index);
        }
      }
      if (!got) sleep_ms(1);
    }
    CHECK(na == static_cast<std::int64_t>(rows_a) * (size - 1));
    CHECK(nb == static_cast<std::int64_t>(rows_b) * (size - 1));
  } else {
    StreamSender ta(w.comm, 0, sizeof(Row), oa);
    StreamSender tb(w.comm, 0, sizeof(Wide), ob);
    for (int i = 0; i < std::max(rows_a, rows_b); ++i) {
      const Row row{rank, i, value_of(rank, i)};
      if (i < rows_a) ta.push(&row);
      const Wide wide{row, -static_cast<double>(i)};
      if (i < rows_b) tb.push(&wide);
    }
    ta.finish();
    tb.finish();
    CHECK(ta.rows_sent() == rows_a);
    CHECK(tb.rows_sent() == rows_b);
  }
  MPI_Barrier(w.comm);
}

TEST_CASE("several receivers, each with its own senders", "[stream]") {
  DupComm w;
  const int rank = w.rank(), size = w.size();
  if (size < 4) {
    SUCCEED("needs two receivers and two senders");
    return;
  }
  // Receivers 0 and 1; sender r >= 2 sends to r % 2; same tag for both groups.
  const StreamOptions opts{4, 2, 20.0, 9};
  const int rows_each = 21;
  if (rank < 2) {
    std::vector<int> mine;
    for (int r = 2; r < size; ++r)
      if (r % 2 == rank) mine.push_back(r);
    StreamReceiver rx(w.comm, mine, sizeof(Row), opts);
    Batch b;
    while (rx.next(b))
      for (int i = 0; i < b.rows; ++i) CHECK(read_row(b, i).sender % 2 == rank);
    CHECK(rx.rows_received() == static_cast<std::int64_t>(rows_each) * static_cast<std::int64_t>(mine.size()));
  } else {
    StreamSender tx(w.comm, rank % 2, sizeof(Row), opts);
    for (int i = 0; i < rows_each; ++i) {
      const Row row{rank, i, value_of(rank, i)};
      tx.push(&row);
    }
    tx.finish();
  }
  MPI_Barrier(w.comm);
}

TEST_CASE("sender and receiver with different options fail clearly", "[stream]") {
  DupComm w;
  const int rank = w.rank(), size = w.size();
  if (size < 2) {
    SUCCEED("needs a sender and a receiver");
    return;
  }
  // Rank 1 sends with 3 credits to a receiver that expects 2.
  StreamOptions opts{4, 2, 1.0, 11};
  if (rank == 0) {
    StreamReceiver rx(w.comm, {1}, sizeof(Row), opts);
    Batch b;
    CHECK_THROWS_WITH(rx.next(b), Contains("credits"));
    // Take the end marker the sender's finish() sends, so that nothing is pending at
    // MPI_Comm_free.
    MPI_Status st;
    MPI_Probe(1, MPI_ANY_TAG, w.comm, &st);
    int bytes = 0;
    MPI_Get_count(&st, MPI_BYTE, &bytes);
    std::vector<unsigned char> buf(static_cast<std::size_t>(bytes));
    MPI_Recv(buf.data(), bytes, MPI_BYTE, 1, st.MPI_TAG, w.comm, MPI_STATUS_IGNORE);
  } else if (rank == 1) {
    opts.credits = 3;
    StreamSender tx(w.comm, 0, sizeof(Row), opts);
    for (int i = 0; i < opts.batch_rows; ++i) {
      const Row row{rank, i, value_of(rank, i)};
      tx.push(&row);
    }
    CHECK_THROWS_AS(tx.finish(), PeerTimeout);  // no acknowledgement ever comes
    CHECK(tx.in_flight() == 2);                 // the batch and the end marker
  }
  MPI_Barrier(w.comm);
}

TEST_CASE("stream options and ranks are validated", "[stream]") {
  DupComm w;
  const int size = w.size();
  const StreamOptions good{8, 2, 5.0, 0};
  auto sender_with = [&](StreamOptions o) { StreamSender tx(w.comm, 0, 8, o); };
  StreamOptions o = good;
  o.batch_rows = 0;
  CHECK_THROWS_WITH(sender_with(o), Contains("batch_rows"));
  o = good;
  o.credits = 0;
  CHECK_THROWS_WITH(sender_with(o), Contains("credits"));
  for (double t : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    o = good;
    o.timeout_s = t;
    CHECK_THROWS_WITH(sender_with(o), Contains("timeout_s"));
  }
  for (int tag : {-1, std::numeric_limits<int>::max()}) {
    o = good;
    o.tag = tag;
    CHECK_THROWS_WITH(sender_with(o), Contains("tag"));
  }
  CHECK_THROWS_AS(sender_with(StreamOptions{-3, 2, 5.0, 0}), std::invalid_argument);
  CHECK_THROWS_WITH(StreamSender(w.comm, 0, 0, good), Contains("row_bytes"));
  CHECK_THROWS_WITH(StreamSender(w.comm, size, 8, good), Contains("receiver rank"));
  CHECK_THROWS_WITH(StreamReceiver(w.comm, {size}, 8, good), Contains("sender rank"));
  CHECK_THROWS_WITH(StreamReceiver(w.comm, {0, 0}, 8, good), Contains("listed twice"));
  // No senders: done at once.
  StreamReceiver none(w.comm, {}, 8, good);
  Batch b;
  CHECK(none.done());
  CHECK_FALSE(none.next(b));
}
