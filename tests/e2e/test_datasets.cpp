// Datasets written by the macrodyn binary: reproducibility across thread counts, the
// stored configuration, crash safety (SIGKILLed writer) and clean errors on bad files.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "io/dataset.hpp"
#include "run_binary.hpp"

using namespace macrodyn;
using namespace macrodyn::e2e;

namespace {

// HDF5 reads HDF5_USE_FILE_LOCKING once, when the library initialises: set it before
// any test opens a file, so the crash test can read a file that is being written.
const bool kNoFileLocking = setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1) == 0;

// FNV-1a hash of every table's committed rows (the arrays, not the file: HDF5 files
// carry timestamps).
std::map<std::string, std::uint64_t> hash_tables(const std::string& path) {
  io::DatasetReader r(path);
  std::map<std::string, std::uint64_t> out;
  for (const auto& obj : r.list()) {
    if (obj.is_group) continue;
    const std::string group = obj.path.substr(0, obj.path.rfind('/'));
    const std::uint64_t rows = r.rows_committed(group);
    std::uint64_t row_elems = 1;
    for (std::size_t k = 1; k < obj.shape.size(); ++k) row_elems *= obj.shape[k];
    std::vector<unsigned char> buf(rows * row_elems * io::dtype_size(obj.type));
    if (rows) r.read_rows(obj.path, 0, rows, obj.type, buf.data());
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : buf) h = (h ^ c) * 1099511628211ull;
    out[obj.path] = h;
  }
  return out;
}

// Starts `macrodyn generate` (quickstart, made long) writing `path`, with stderr to
// `err`, and waits until some pairs are committed. Returns the pid and that count.
std::pair<pid_t, std::uint64_t> start_long_generate(const std::string& path, const std::string& err) {
  std::remove(path.c_str());
  const std::string cmd = std::string(MACRODYN_BIN) + " " + tiny() +
                          " --large.snapshots 200000 --run.threads 1 --output.path " + path;
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd + " >/dev/null 2>" + err).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  REQUIRE(kNoFileLocking);  // read while it is being written
  std::uint64_t committed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (committed == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    try {
      io::DatasetReader r(path);
      if (r.has("/pairs")) committed = r.rows_committed("/pairs");
    } catch (const std::exception&) {
      // not yet created, or between writes: poll again
    }
  }
  return {pid, committed};
}

}  // namespace

TEST_CASE("same seed gives bit-identical datasets with 1 and 2 threads and other seeds differ",
          "[e2e][data]") {
  const std::string a = tmp("t1.h5"), b = tmp("t2.h5"), c = tmp("s2.h5");
  REQUIRE(run(tiny() + " --run.threads 1 --output.path " + a).code == 0);
  REQUIRE(run(tiny() + " --run.threads 2 --output.path " + b).code == 0);
  REQUIRE(run(tiny() + " --run.threads 2 --run.seed 2 --output.path " + c).code == 0);
  const auto ha = hash_tables(a), hb = hash_tables(b), hc = hash_tables(c);
  CHECK(ha.size() >= 10);
  CHECK(ha.count("/pairs/dt") == 1);
  CHECK(ha.count("/snapshots/states") == 1);
  CHECK(ha == hb);
  for (const char* name : {"/small/states", "/small/durations", "/snapshots/states", "/pairs/dt",
                           "/pairs/z_star", "/pairs/patch_after"}) {
    INFO(name);
    CHECK(hc.at(name) != ha.at(name));
  }
}

TEST_CASE("the resolved configuration and the schema are stored in the file", "[e2e][data]") {
  const std::string path = tmp("cfg.h5");
  const Result r = run(tiny() + " --system.T 2.3 --output.path " + path);
  REQUIRE(r.code == 0);
  io::DatasetReader reader(path);
  CHECK(reader.attr_string("/", "schema") == "macrodyn-dataset");
  CHECK(reader.attr_int("/", "schema_version") == 1);
  CHECK(reader.attr_string("/", "system") == "ising2d");
  const std::string config = reader.attr_string("/", "config");
  CHECK(config.find("[system]") != std::string::npos);
  CHECK(config.find("T = 2.3") != std::string::npos);
  CHECK(config.find("[partial]") != std::string::npos);
  // Pairs are complete and consistent with the group attributes.
  const auto rows = reader.rows_committed("/pairs");
  CHECK(rows == reader.shape("/pairs/dt")[0]);
  CHECK(reader.attr_int("/pairs", "K") == 4);
  CHECK(reader.attr_strings("/pairs", "observables") == std::vector<std::string>{"m", "rho"});
  std::vector<double> dt(rows);
  reader.read_rows("/pairs/dt", 0, rows, io::DType::f64, dt.data());
  for (double v : dt) CHECK(v > 0.0);
  // inspect prints the groups of the file.
  const Result ins = run("inspect " + path);
  CHECK(ins.code == 0);
  CHECK(ins.out.find("/pairs/patch_after") != std::string::npos);
}

TEST_CASE("simulate writes full-size ground-truth runs", "[e2e][data]") {
  const std::string path = tmp("truth.h5");
  const Result r = run(tiny("simulate") +
                       " --truth.init m0 --truth.m0 0.5,-0.5 --truth.runs 2 --truth.sweeps 10 --output.path " + path);
  INFO(r.err);
  REQUIRE(r.code == 0);
  io::DatasetReader reader(path);
  CHECK(reader.rows_committed("/trajectories") == 4);
  CHECK(reader.shape("/trajectories/states") == std::vector<std::uint64_t>{4, 11, 32, 32});
  CHECK(reader.shape("/trajectories/observables") == std::vector<std::uint64_t>{4, 11, 2});
  std::vector<double> m0(4), dur(44);
  // The initial condition of every run: one column, m0, named by the group.
  CHECK(reader.shape("/trajectories/initial") == std::vector<std::uint64_t>{4, 1});
  CHECK(reader.attr_strings("/trajectories", "initial_columns") == std::vector<std::string>{"m0"});
  reader.read_rows("/trajectories/initial", 0, 4, io::DType::f64, m0.data());
  CHECK(m0 == std::vector<double>{0.5, 0.5, -0.5, -0.5});
  reader.read_rows("/trajectories/durations", 0, 4, io::DType::f64, dur.data());
  CHECK(dur[0] == 0.0);
  CHECK(dur[1] > 0.0);
}

TEST_CASE("a file whose writer was SIGKILLed still opens with its committed rows", "[e2e][data]") {
  const std::string path = tmp("killed.h5");
  const auto [pid, committed] = start_long_generate(path, "/dev/null");
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(committed > 0);
  CHECK(WIFSIGNALED(status));

  io::DatasetReader r(path);
  const std::uint64_t rows = r.rows_committed("/pairs");
  CHECK(rows >= committed);
  std::vector<double> dt(rows);
  r.read_rows("/pairs/dt", 0, rows, io::DType::f64, dt.data());
  for (double v : dt) REQUIRE(v > 0.0);
  const Result ins = run("inspect " + path);
  CHECK(ins.code == 0);
}

TEST_CASE("SIGTERM stops generate after its current commit with a clear message", "[e2e][data]") {
  const std::string path = tmp("terminated.h5"), err = tmp("terminated.err");
  const auto [pid, committed] = start_long_generate(path, err);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(committed > 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
  const std::string message = slurp(err);
  INFO(message);
  CHECK(message.find("stopped by signal 15") != std::string::npos);
  io::DatasetReader r(path);
  const std::uint64_t rows = r.rows_committed("/pairs");
  CHECK(rows >= committed);
  CHECK(message.find(std::to_string(rows) + " pairs") != std::string::npos);
  CHECK(r.shape("/pairs/dt")[0] == rows);  // nothing half-written beyond the last commit
}

TEST_CASE("truncated, foreign and missing files give one clear error", "[e2e][data]") {
  const std::string good = tmp("good.h5"), cut = tmp("cut.h5"), text = tmp("text.h5");
  REQUIRE(run(tiny() + " --output.path " + good).code == 0);
  {
    const std::string bytes = slurp(good);
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    std::ofstream(text) << "not hdf5\n";
  }
  for (const std::string& f : {cut, text, tmp("missing.h5")}) {
    const Result r = run("inspect " + f);
    INFO(f << ": " << r.err);
    CHECK(r.code != 0);
    CHECK(r.code < 128);
    CHECK(r.err.find(f) != std::string::npos);
  }
}
