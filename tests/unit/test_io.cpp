// HDF5 datasets (lib/io): round trips, the crash rule, clear errors, h5py interop,
// inspect. Bad files are made with h5py (python3-h5py), since hdf5.h stays in lib/io.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/dataset.hpp"
#include "io/inspect.hpp"

using namespace macrodyn;
using namespace macrodyn::io;
using Catch::Matchers::Contains;

namespace {

std::string tmp_path(const std::string& name) {
  return std::string(MACRODYN_TEST_TMPDIR) + "/" + name;
}

RootInfo root_info() {
  RootInfo info;
  info.seed = 42;
  info.system = "ising2d";
  info.config = "[system]\nname = ising2d\nT = 2.27\n";
  info.macrodyn_version = "0.1.0";
  return info;
}

GroupInfo pairs_info() {
  GroupInfo g;
  g.K = 16;
  g.patch = 8;
  g.L = 32;
  g.boundary = "periodic";
  g.observables = {"m", "rho"};
  return g;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a Python script with Debian's interpreter (it has h5py; an earlier python3 on
// PATH may not) and returns its stdout; fails the test if it exits non-zero.
std::string run_python(const std::string& name, const std::string& script, const std::string& arg) {
  const std::string script_path = tmp_path(name + ".py"), out_path = tmp_path(name + ".out");
  std::ofstream(script_path) << script;
  const std::string command = "/usr/bin/python3 " + script_path + " '" + arg + "' > " + out_path + " 2>&1";
  const int status = std::system(command.c_str());
  INFO("python output:\n" << read_text(out_path));
  REQUIRE(status == 0);
  return read_text(out_path);
}

// What FileError says when constructing a reader on `path`, or "" if it opens.
std::string open_error(const std::string& path) {
  try {
    DatasetReader r(path);
  } catch (const FileError& e) {
    return e.what();
  }
  return "";
}

template <class T>
std::vector<T> read_all(const DatasetReader& r, const std::string& table, DType as, std::size_t row_elems) {
  const std::uint64_t rows = r.shape(table).at(0);
  std::vector<T> v(rows * row_elems);
  r.read_rows(table, 0, rows, as, v.data());
  return v;
}

// Deterministic contents of the tables the crash test writes, by row index.
double dt_row(std::uint64_t i) { return 0.25 * static_cast<double>(i) + 1e-3; }
float z_value(std::uint64_t i, int c) { return static_cast<float>(i) * 0.5f + static_cast<float>(c); }
std::int8_t patch_value(std::uint64_t i, int k) { return static_cast<std::int8_t>((i * 7 + k) % 127); }

constexpr std::uint64_t kBlock = 37;  // rows per append: deliberately not a chunk multiple

void append_block(DatasetWriter& w, std::uint64_t first) {
  std::vector<double> dt(kBlock);
  std::vector<float> z(kBlock * 2);
  std::vector<std::int8_t> patch(kBlock * 16);
  for (std::uint64_t r = 0; r < kBlock; ++r) {
    dt[r] = dt_row(first + r);
    for (int c = 0; c < 2; ++c) z[r * 2 + c] = z_value(first + r, c);
    for (int k = 0; k < 16; ++k) patch[r * 16 + k] = patch_value(first + r, k);
  }
  w.append("/pairs/dt", dt.data(), kBlock);
  w.append("/pairs/z_star", z.data(), kBlock);
  w.append("/pairs/patch_before", patch.data(), kBlock);
}

// Child process of the crash test: commits `committed_blocks` blocks, tells the parent
// through `ready_fd`, appends `extra_blocks` more without committing (forever if < 0:
// the parent kills it), then SIGKILLs itself. Never returns into Catch.
[[noreturn]] void crashing_writer(const std::string& path, int committed_blocks, int extra_blocks, int ready_fd) {
  try {
    DatasetWriter w(path, root_info());
    w.create_group("/pairs", pairs_info());
    // Small compressed chunks: rewriting a partly filled chunk after a commit moves it.
    w.create_table("/pairs/dt", DType::f64, {}, 64, true);
    w.create_table("/pairs/z_star", DType::f32, {2}, 64, true);
    w.create_table("/pairs/patch_before", DType::i8, {4, 4}, 64, true);
    std::uint64_t rows = 0;
    for (int b = 0; b < committed_blocks; ++b, rows += kBlock) {
      append_block(w, rows);
      w.commit("/pairs", rows + kBlock);
    }
    const char ready = 'r';
    if (write(ready_fd, &ready, 1) != 1) _exit(4);
    for (int b = 0; extra_blocks < 0 || b < extra_blocks; ++b, rows += kBlock) append_block(w, rows);
    raise(SIGKILL);
  } catch (...) {
  }
  _exit(3);
}

// Forks crashing_writer; with extra_blocks < 0 kills it `kill_after_ms` after its last
// commit. Returns once the child is dead (by SIGKILL, as required).
void run_crashing_writer(const std::string& path, int committed_blocks, int extra_blocks, int kill_after_ms) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(pipe_fds[0]);
    crashing_writer(path, committed_blocks, extra_blocks, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  char ready = 0;
  const bool got_ready = read(pipe_fds[0], &ready, 1) == 1;
  close(pipe_fds[0]);
  if (got_ready && extra_blocks < 0) {
    usleep(static_cast<useconds_t>(kill_after_ms) * 1000);
    kill(child, SIGKILL);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(got_ready);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
}

void check_committed_rows(const std::string& path, std::uint64_t expected_rows) {
  DatasetReader r(path);
  const std::uint64_t rows = r.rows_committed("/pairs");
  REQUIRE(rows == expected_rows);
  std::vector<double> dt(rows);
  std::vector<float> z(rows * 2);
  std::vector<std::int8_t> patch(rows * 16);
  r.read_rows("/pairs/dt", 0, rows, DType::f64, dt.data());
  r.read_rows("/pairs/z_star", 0, rows, DType::f32, z.data());
  r.read_rows("/pairs/patch_before", 0, rows, DType::i8, patch.data());
  std::uint64_t wrong = 0;
  for (std::uint64_t i = 0; i < rows; ++i) {
    wrong += dt[i] != dt_row(i);
    for (int c = 0; c < 2; ++c) wrong += z[i * 2 + c] != z_value(i, c);
    for (int k = 0; k < 16; ++k) wrong += patch[i * 16 + k] != patch_value(i, k);
  }
  REQUIRE(wrong == 0);
}

}  // namespace

TEST_CASE("io: every dtype round trips, as scalars and with row shapes", "[io]") {
  const std::string path = tmp_path("io_dtypes.h5");
  const std::vector<std::uint64_t> shape{2, 3};
  std::vector<std::int8_t> i8(4 * 6);
  std::vector<std::int32_t> i32(4 * 6);
  std::vector<std::int64_t> i64(4);
  std::vector<float> f32(4 * 6);
  std::vector<double> f64(4);
  for (std::size_t k = 0; k < i8.size(); ++k) {
    i8[k] = static_cast<std::int8_t>(static_cast<int>(k) - 12);
    i32[k] = static_cast<std::int32_t>(k * 100000) - 7;
    f32[k] = 0.1f * static_cast<float>(k) - 1.0f;
  }
  i64 = {std::numeric_limits<std::int64_t>::min(), -1, 0, std::numeric_limits<std::int64_t>::max()};
  f64 = {-1.5, 0.0, 1e-300, std::numeric_limits<double>::max()};
  {
    DatasetWriter w(path, root_info());
    w.create_group("/t", pairs_info());
    w.create_table("/t/i8", DType::i8, shape, 3, false);
    w.create_table("/t/i32", DType::i32, shape, 3, true);
    w.create_table("/t/i64", DType::i64, {}, 3, false);
    w.create_table("/t/f32", DType::f32, shape, 3, true);
    w.create_table("/t/f64", DType::f64, {}, 3, true);
    w.append("/t/i8", i8.data(), 4);
    w.append("/t/i32", i32.data(), 4);
    w.append("/t/i64", i64.data(), 4);
    w.append("/t/f32", f32.data(), 4);
    w.append("/t/f64", f64.data(), 4);
    w.commit("/t", 4);
  }
  DatasetReader r(path);
  CHECK(read_all<std::int8_t>(r, "/t/i8", DType::i8, 6) == i8);
  CHECK(read_all<std::int32_t>(r, "/t/i32", DType::i32, 6) == i32);
  CHECK(read_all<std::int64_t>(r, "/t/i64", DType::i64, 1) == i64);
  CHECK(read_all<float>(r, "/t/f32", DType::f32, 6) == f32);
  CHECK(read_all<double>(r, "/t/f64", DType::f64, 1) == f64);
  CHECK(r.type("/t/i8") == DType::i8);
  CHECK(r.type("/t/i32") == DType::i32);
  CHECK(r.type("/t/i64") == DType::i64);
  CHECK(r.type("/t/f32") == DType::f32);
  CHECK(r.type("/t/f64") == DType::f64);
  CHECK(r.shape("/t/f32") == std::vector<std::uint64_t>{4, 2, 3});
  CHECK(r.shape("/t/f64") == std::vector<std::uint64_t>{4});

  // list(): depth first, name order, groups and tables.
  const std::vector<ObjectInfo> objects = r.list();
  std::vector<std::string> paths;
  for (const ObjectInfo& o : objects) paths.push_back(o.path);
  CHECK(paths == std::vector<std::string>{"/t", "/t/f32", "/t/f64", "/t/i32", "/t/i64", "/t/i8"});
  CHECK(objects[0].is_group);
  CHECK_FALSE(objects[1].is_group);
  CHECK(objects[1].type == DType::f32);
  CHECK(objects[1].shape == std::vector<std::uint64_t>{4, 2, 3});
  CHECK(dtype_size(DType::i32) == 4);
  CHECK(std::string(dtype_name(DType::f32)) == "float32");
}

TEST_CASE("io: read_rows converts to the requested type and read_slab reads boxes", "[io]") {
  const std::string path = tmp_path("io_convert.h5");
  std::vector<std::int8_t> states(3 * 4 * 4);
  std::iota(states.begin(), states.end(), std::int8_t{0});
  {
    DatasetWriter w(path, root_info());
    w.create_group("/snapshots", GroupInfo{});
    w.create_table("/snapshots/states", DType::i8, {4, 4}, 2, true);
    w.append("/snapshots/states", states.data(), 3);
    w.commit("/snapshots", 3);
  }
  DatasetReader r(path);
  std::vector<double> as_double(16);
  r.read_rows("/snapshots/states", 1, 1, DType::f64, as_double.data());
  for (int k = 0; k < 16; ++k) CHECK(as_double[k] == 16.0 + k);

  // Rows 1..2, row 2 of each 4x4 state, columns 1..2.
  std::vector<std::int32_t> box(2 * 1 * 2);
  r.read_slab("/snapshots/states", {1, 2, 1}, {2, 1, 2}, DType::i32, box.data());
  CHECK(box == std::vector<std::int32_t>{16 + 9, 16 + 10, 32 + 9, 32 + 10});

  CHECK_THROWS_WITH(r.read_rows("/snapshots/states", 2, 2, DType::i8, states.data()),
                    Contains("rows [2, 4)") && Contains("it has 3 rows"));
}

TEST_CASE("io: appends in several blocks land one after another", "[io]") {
  const std::string path = tmp_path("io_blocks.h5");
  const std::vector<std::uint64_t> blocks{1, 7, 100, 3, 16, 0, 50};
  std::vector<double> all;
  {
    DatasetWriter w(path, root_info());
    w.create_group("/pairs", pairs_info());
    w.create_table("/pairs/z_star", DType::f64, {2}, 16, true);
    for (std::uint64_t n : blocks) {
      std::vector<double> rows(n * 2);
      for (std::size_t k = 0; k < rows.size(); ++k) rows[k] = static_cast<double>(all.size() + k) * 0.5;
      all.insert(all.end(), rows.begin(), rows.end());
      w.append("/pairs/z_star", rows.data(), n);
      w.commit("/pairs", all.size() / 2);
    }
  }
  DatasetReader r(path);
  REQUIRE(r.rows_committed("/pairs") == all.size() / 2);
  CHECK(read_all<double>(r, "/pairs/z_star", DType::f64, 2) == all);
  std::vector<double> middle(10 * 2);
  r.read_rows("/pairs/z_star", 5, 10, DType::f64, middle.data());
  CHECK(middle == std::vector<double>(all.begin() + 10, all.begin() + 30));
}

TEST_CASE("io: root, group and table attributes round trip", "[io]") {
  const std::string path = tmp_path("io_attrs.h5");
  RootInfo info = root_info();
  info.seed = std::numeric_limits<std::uint64_t>::max();  // beyond int64
  info.config = std::string(100000, 'x') + "\n[ünïcode] = ✓\n";  // longer than 64 KiB
  {
    DatasetWriter w(path, info);
    CHECK(w.path() == path);
    w.create_group("/pairs", pairs_info());
    w.create_group("/latent", GroupInfo{});  // no observables: an empty list
    w.create_table("/pairs/dt", DType::f64, {}, 8, false);
    w.set_attr("/pairs/dt", "unit", std::string("sweeps"));
    w.set_attr("/pairs/dt", "count", std::int64_t{-5});
    w.set_attr("/pairs/dt", "epsilon", 0.125);
    w.set_attr("/pairs/dt", "epsilon", std::string("replaced by a string"));
    w.set_attr("/", "note", std::string("root attr"));
  }
  DatasetReader r(path);
  CHECK(r.attr_string("/", "schema") == "macrodyn-dataset");
  CHECK(r.attr_int("/", "schema_version") == 1);
  CHECK(r.attr_string("/", "macrodyn_version") == "0.1.0");
  CHECK(r.attr_string("/", "system") == "ising2d");
  CHECK(r.attr_string("/", "config") == info.config);
  CHECK(r.attr_uint("/", "seed") == info.seed);
  CHECK_THROWS_WITH(r.attr_int("/", "seed"), Contains("too large"));
  CHECK(r.attr_string("/", "note") == "root attr");
  const std::string created = r.attr_string("/", "created");
  CHECK(created.size() == 20);  // 2024-05-01T12:00:00Z
  CHECK(created[10] == 'T');
  CHECK(created.back() == 'Z');

  CHECK(r.rows_committed("/pairs") == 0);
  CHECK(r.attr_int("/pairs", "K") == 16);
  CHECK(r.attr_int("/pairs", "patch") == 8);
  CHECK(r.attr_int("/pairs", "L") == 32);
  CHECK(r.attr_double("/pairs", "K") == 16.0);
  CHECK(r.attr_string("/pairs", "boundary") == "periodic");
  CHECK(r.attr_strings("/pairs", "observables") == std::vector<std::string>{"m", "rho"});
  CHECK(r.attr_strings("/latent", "observables").empty());
  CHECK(r.attr_names("/pairs") ==
        std::vector<std::string>{"K", "L", "boundary", "observables", "patch", "rows_committed"});

  CHECK(r.attr_string("/pairs/dt", "unit") == "sweeps");
  CHECK(r.attr_int("/pairs/dt", "count") == -5);
  CHECK(r.attr_string("/pairs/dt", "epsilon") == "replaced by a string");
  CHECK(r.has_attr("/pairs/dt", "unit"));
  CHECK_FALSE(r.has_attr("/pairs/dt", "nope"));
  CHECK_THROWS_WITH(r.attr_int("/pairs", "boundary"), Contains("is not an integer"));
  CHECK_THROWS_WITH(r.attr_string("/pairs", "K"), Contains("is not a string"));
}

TEST_CASE("io: commit sets rows_committed and refuses rows never appended", "[io]") {
  const std::string path = tmp_path("io_commit.h5");
  DatasetWriter w(path, root_info());
  w.create_group("/pairs", pairs_info());
  w.create_table("/pairs/dt", DType::f64, {}, 8, false);
  const std::vector<double> dt{1, 2, 3};
  w.append("/pairs/dt", dt.data(), 3);
  w.commit("/pairs", 2);
  CHECK_THROWS_AS(w.commit("/pairs", 4), std::invalid_argument);
  CHECK_THROWS_WITH(w.commit("/nope", 1), Contains("has no group '/nope'"));
  CHECK_THROWS_WITH(w.create_group("/pairs", pairs_info()), Contains("already exists"));
  CHECK_THROWS_AS(w.append("/pairs/unknown", dt.data(), 1), std::invalid_argument);
  w.commit("/pairs", 3);
  DatasetReader r(path);  // in the same process while the writer is open
  CHECK(r.rows_committed("/pairs") == 3);
}

TEST_CASE("io: missing groups, tables and attributes name the file and the object", "[io]") {
  const std::string path = tmp_path("io_missing.h5");
  {
    DatasetWriter w(path, root_info());
    w.create_group("/pairs", pairs_info());
    w.create_table("/pairs/dt", DType::f64, {}, 8, false);
  }
  DatasetReader r(path);
  CHECK(r.has("/pairs"));
  CHECK(r.has("/pairs/dt"));
  CHECK_FALSE(r.has("/latent"));
  CHECK_FALSE(r.has("/latent/z0"));  // missing intermediate group: false, not an error
  CHECK_NOTHROW(r.require("/pairs/dt"));
  CHECK_THROWS_AS(r.require("/latent"), FileError);
  CHECK_THROWS_WITH(r.require("/latent"), "'" + path + "' has no group or table '/latent'");
  CHECK_THROWS_WITH(r.rows_committed("/latent"), "'" + path + "' has no group '/latent'");
  CHECK_THROWS_WITH(r.shape("/pairs/z0"), "'" + path + "' has no table '/pairs/z0'");
  CHECK_THROWS_WITH(r.shape("/pairs"), "'/pairs' in '" + path + "' is not a table");
  CHECK_THROWS_WITH(r.attr_int("/pairs", "nope"), "'/pairs' in '" + path + "' has no attribute 'nope'");
}

TEST_CASE("io: a file with schema_version 2 is refused with a clear sentence", "[io]") {
  const std::string path = tmp_path("io_version2.h5");
  run_python("io_version2",
             "import h5py, sys\n"
             "with h5py.File(sys.argv[1], 'w') as f:\n"
             "    f.attrs['schema'] = 'macrodyn-dataset'\n"
             "    f.attrs['schema_version'] = 2\n",
             path);
  CHECK(open_error(path) == "'" + path + "' has schema_version 2; this macrodyn reads version 1");
}

TEST_CASE("io: an HDF5 file without the schema attribute is not a macrodyn dataset", "[io]") {
  const std::string path = tmp_path("io_noschema.h5");
  run_python("io_noschema",
             "import h5py, sys\n"
             "with h5py.File(sys.argv[1], 'w') as f:\n"
             "    f['x'] = [1, 2, 3]\n",
             path);
  CHECK(open_error(path) == "'" + path + "' is not a macrodyn dataset (attribute schema missing)");

  const std::string other = tmp_path("io_otherschema.h5");
  run_python("io_otherschema",
             "import h5py, sys\n"
             "with h5py.File(sys.argv[1], 'w') as f:\n"
             "    f.attrs['schema'] = 'something-else'\n",
             other);
  CHECK_THAT(open_error(other), Contains("is not a macrodyn dataset") && Contains("something-else"));
}

TEST_CASE("io: a truncated file gives a FileError, not a crash", "[io]") {
  const std::string path = tmp_path("io_full.h5"), half = tmp_path("io_half.h5");
  {
    DatasetWriter w(path, root_info());
    w.create_group("/pairs", pairs_info());
    w.create_table("/pairs/dt", DType::f64, {}, 64, true);
    std::vector<double> dt(5000);
    for (std::size_t i = 0; i < dt.size(); ++i) dt[i] = std::sin(static_cast<double>(i));
    w.append("/pairs/dt", dt.data(), dt.size());
    w.commit("/pairs", dt.size());
  }
  const std::string bytes = read_text(path);
  for (std::size_t keep : {bytes.size() / 2, std::size_t{100}, std::size_t{0}}) {
    std::ofstream(half, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(keep));
    INFO("kept " << keep << " of " << bytes.size() << " bytes");
    CHECK_THAT(open_error(half), Contains("cannot open '" + half + "'") &&
                                     (Contains("truncated") || Contains("not an HDF5 file")));
  }
}

TEST_CASE("io: a nonexistent or non-HDF5 file gives a FileError naming it", "[io]") {
  const std::string missing = tmp_path("io_does_not_exist.h5");
  std::remove(missing.c_str());
  CHECK(open_error(missing) == "cannot open '" + missing + "': no such file");

  const std::string text = tmp_path("io_text.h5");
  std::ofstream(text) << "this is a text file, long enough to hold an HDF5 superblock if it were one\n";
  CHECK(open_error(text) == "cannot open '" + text + "': not an HDF5 file or truncated");
  CHECK_THAT(open_error(MACRODYN_TEST_TMPDIR), Contains("it is a directory"));
}

TEST_CASE("io: creating a file in a missing directory gives a FileError naming it", "[io]") {
  const std::string path = tmp_path("io_no_such_dir/x.h5");
  try {
    DatasetWriter w(path, root_info());
    FAIL("DatasetWriter created " << path);
  } catch (const FileError& e) {
    CHECK(std::string(e.what()) == "cannot create '" + path + "': directory '" + tmp_path("io_no_such_dir") +
                                       "' does not exist");
  }
}

TEST_CASE("io: a writer SIGKILLed after a commit leaves the committed rows readable", "[io]") {
  const std::string path = tmp_path("io_crash.h5");
  SECTION("killed by itself after some uncommitted appends") {
    // A few blocks complete the chunk the last commit left incomplete; 3000 blocks
    // overflow HDF5's chunk cache, so that chunks are written (and space reused) before
    // the kill.
    for (int extra : {0, 1, 3, 40, 3000}) {
      INFO(extra << " uncommitted blocks");
      run_crashing_writer(path, 7, extra, 0);
      check_committed_rows(path, 7 * kBlock);
    }
  }
  SECTION("killed by its parent while it appends without end") {
    for (int ms : {1, 20, 200}) {
      INFO("killed " << ms << " ms after the last commit");
      run_crashing_writer(path, 20, -1, ms);
      check_committed_rows(path, 20 * kBlock);
    }
  }
}

TEST_CASE("io: a file still open in a writer process is refused with a hint, or read without locking", "[io]") {
  const std::string path = tmp_path("io_locked.h5");
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // holds the file open for writing until killed
    close(pipe_fds[0]);
    crashing_writer(path, 1, -1, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  char ready = 0;
  const bool got_ready = read(pipe_fds[0], &ready, 1) == 1;
  close(pipe_fds[0]);
  const std::string error = got_ready ? open_error(path) : "child failed";
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  const char* locking = std::getenv("HDF5_USE_FILE_LOCKING");
  if (locking != nullptr && std::string(locking) == "FALSE") {
    CHECK(error == "");
  } else {
    CHECK(error == "cannot open '" + path +
                       "': it is being written by another program (set HDF5_USE_FILE_LOCKING=FALSE to read it "
                       "anyway)");
  }
}

TEST_CASE("io: h5py reads what the writer writes", "[io]") {
  const std::string path = tmp_path("io_h5py.h5");
  {
    DatasetWriter w(path, root_info());
    w.create_group("/pairs", pairs_info());
    w.create_table("/pairs/dt", DType::f64, {}, 4, true);
    w.create_table("/pairs/z_star", DType::f32, {2}, 4, true);
    const std::vector<double> dt{0.5, 1.25, 3.0};
    const std::vector<float> z{1, 2, 3, 4, 5, 6};
    w.append("/pairs/dt", dt.data(), 3);
    w.append("/pairs/z_star", z.data(), 3);
    w.commit("/pairs", 3);
  }
  const std::string out = run_python("io_h5py",
                                     "import h5py, sys\n"
                                     "with h5py.File(sys.argv[1], 'r') as f:\n"
                                     "    a, p = f.attrs, f['/pairs']\n"
                                     "    print(type(a['schema']).__name__, a['schema'], int(a['schema_version']))\n"
                                     "    print(type(a['config']).__name__, int(a['seed']), a['system'])\n"
                                     "    print([type(s).__name__ + ':' + s for s in p.attrs['observables']])\n"
                                     "    print(int(p.attrs['rows_committed']), int(p.attrs['K']), p.attrs['boundary'])\n"
                                     "    print(list(f['/pairs/dt'][:]), f['/pairs/dt'].dtype)\n"
                                     "    print(f['/pairs/z_star'].shape, f['/pairs/z_star'].dtype,\n"
                                     "          f['/pairs/z_star'].chunks, f['/pairs/z_star'].compression)\n",
                                     path);
  CHECK(out ==
        "str macrodyn-dataset 1\n"
        "str 42 ising2d\n"
        "['str:m', 'str:rho']\n"
        "3 16 periodic\n"
        "[0.5, 1.25, 3.0] float64\n"
        "(3, 2) float32 (4, 2) gzip\n");
}

TEST_CASE("io: inspect prints attributes, tables and statistics over committed rows", "[io]") {
  const std::string path = tmp_path("io_inspect.h5");
  {
    DatasetWriter w(path, root_info());
    w.create_group("/pairs", pairs_info());
    w.create_table("/pairs/dt", DType::f64, {}, 4, true);
    w.create_table("/pairs/z_star", DType::f32, {2}, 4, true);
    w.create_table("/pairs/patch_index", DType::i32, {}, 4, false);
    const std::vector<double> dt{1, 2, 3, 1000};  // the last row is never committed
    const std::vector<float> z{0.5f, 10, 1.5f, 20, 2.5f, 30, 99, 99};
    const std::vector<std::int32_t> index{4, -2, 7, 99};
    w.append("/pairs/dt", dt.data(), 4);
    w.append("/pairs/z_star", z.data(), 4);
    w.append("/pairs/patch_index", index.data(), 4);
    w.commit("/pairs", 3);
    w.set_attr("/pairs/dt", "unit", std::string("sweeps"));
  }
  std::ostringstream out;
  inspect(path, out);
  const std::string text = out.str();
  INFO(text);
  CHECK_THAT(text, Contains("macrodyn-dataset, schema_version 1"));
  CHECK_THAT(text, Contains("  seed: 42\n"));
  CHECK_THAT(text, Contains("  system: ising2d\n"));
  CHECK_THAT(text, Contains("  config:\n    [system]\n    name = ising2d\n    T = 2.27\n"));
  CHECK_THAT(text, Contains("/pairs  group: rows_committed 3, K 16, patch 8, L 32, boundary periodic\n"));
  CHECK_THAT(text, Contains("  observables: m, rho\n"));
  CHECK_THAT(text, Contains("float64 [4] (3 rows committed)  min 1  max 3  mean 2\n"));
  CHECK_THAT(text, Contains("unit: sweeps"));
  CHECK_THAT(text, Contains("float32 [4, 2] (3 rows committed)  min 0.5  max 30  mean 10.75\n"));
  CHECK_THAT(text, Contains("column means:  m 1.5  rho 20\n"));
  CHECK_THAT(text, Contains("int32 [4] (3 rows committed)  min -2  max 7  mean 3\n"));
}

TEST_CASE("io: inspect reads rows larger than its 64 MiB block in parts", "[io]") {
  // Two int8 rows of 3000 x 3000: 72 MB each once widened to int64 for the statistics.
  const std::string path = tmp_path("io_inspect_big.h5");
  const std::uint64_t side = 3000;
  {
    std::vector<std::int8_t> states(2 * side * side);
    for (std::size_t i = 0; i < states.size(); ++i) states[i] = (i % 3 == 0) ? 1 : -1;
    states[5] = -100;
    states[2 * side * side - 1] = 100;
    DatasetWriter w(path, root_info());
    w.create_group("/snapshots", GroupInfo{});
    w.create_table("/snapshots/states", DType::i8, {side, side}, 1, true);
    w.append("/snapshots/states", states.data(), 2);
    w.commit("/snapshots", 2);
  }
  std::ostringstream out;
  inspect(path, out);
  INFO(out.str());
  // 6e6 ones, 12e6 - 2 minus ones, -100 in place of a -1 (i = 5), 100 in place of a -1.
  const double mean = (6e6 - (12e6 - 2) - 100 + 100) / 18e6;
  std::ostringstream expected;
  expected << "int8 [2, 3000, 3000]  min -100  max 100  mean " << std::setprecision(6) << mean << "\n";
  CHECK_THAT(out.str(), Contains(expected.str()));
}
