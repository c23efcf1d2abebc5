// Hostile input: every way found to crash, hang or lose data with bad input, each kept
// as a test so it stays fixed. Add a case here for every new one found.
//
// The rule each case checks: one sentence on stderr naming the option or file, a
// non-zero exit below 128 (no crash), promptly (no hang), and no input or earlier
// output changed.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io/file_lock.hpp"
#include "run_binary.hpp"

using namespace macrodyn;
using namespace macrodyn::e2e;
namespace fs = std::filesystem;

namespace {

// One test directory per process: ctest runs the cases of this file side by side.
std::string dir() {
  static const std::string d = [] {
    const std::string p = tmp("hostile_" + std::to_string(getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

std::string in_dir(const std::string& name) { return dir() + "/" + name; }

void expect_refused(const Result& r, const std::string& what, const std::string& cmd) {
  INFO("macrodyn " << cmd << "\nexit " << r.code << "\nstderr: " << r.err);
  CHECK(r.code > 0);
  CHECK(r.code < 128);  // not a crash, not a signal
  CHECK(r.err.find(what) != std::string::npos);
  CHECK(r.err.find("terminate called") == std::string::npos);
}

void refused(const std::string& args, const std::string& what) { expect_refused(run(args), what, args); }

// A small dataset with snapshot states (closure), made once per process.
const std::string& dataset() {
  static const std::string path = [] {
    const std::string p = in_dir("data.h5");
    const Result r = run(tiny() + " --output.path " + p + " --output.overwrite true");
    REQUIRE(r.code == 0);
    return p;
  }();
  return path;
}

// A model trained on dataset() without closure (seconds).
const std::string& model() {
  static const std::string path = [] {
    const std::string m = in_dir("model");
    const Result r = run("train --dataset " + dataset() + " --out " + m +
                         " --epochs 2 --closure-dim 0 --threads 1 --device cpu --overwrite --progress false");
    INFO(r.err);
    REQUIRE(r.code == 0);
    return m;
  }();
  return path;
}

// Runs Debian's Python with h5py on `script` (the dataset path is sys.argv[1]).
bool python(const std::string& script, const std::string& file) {
  const std::string py = in_dir("edit.py");
  std::ofstream(py) << "import sys, h5py, numpy as np\nf = h5py.File(sys.argv[1], 'r+')\n" << script << "\nf.close()\n";
  return std::system(("/usr/bin/python3 " + py + " " + file).c_str()) == 0;
}

// A copy of dataset() changed by `script`.
std::string changed_dataset(const std::string& name, const std::string& script) {
  const std::string p = in_dir(name);
  fs::copy_file(dataset(), p, fs::copy_options::overwrite_existing);
  REQUIRE(python(script, p));
  return p;
}

}  // namespace

TEST_CASE("a second writer never truncates a file another program is writing", "[e2e][hostile]") {
  const std::string file = in_dir("locked.h5");
  fs::copy_file(dataset(), file, fs::copy_options::overwrite_existing);
  const std::string before = slurp(file);
  {
    io::FileLock held(file);  // as a running generate holds its output
    refused(tiny() + " --output.path " + file + " --output.overwrite true", "open in another program");
    refused("encode --model " + model() + " --dataset " + dataset() + " --output " + file, "open in another program");
    CHECK(slurp(file) == before);
  }
  // Free again: the same command now replaces it.
  CHECK(run(tiny() + " --output.path " + file + " --output.overwrite true").code == 0);
}

TEST_CASE("commands that are not MPI programs refuse several ranks", "[e2e][hostile]") {
  const std::string file = in_dir("two_ranks.h5");
  const Result r = run_mpi(2, tiny() + " --output.path " + file + " --output.overwrite true");
  expect_refused(r, "is not an MPI program", "mpiexec -n 2 generate");
  CHECK(!fs::exists(file));
}

TEST_CASE("tables with the wrong rank or width are refused before they are read", "[e2e][hostile]") {
  const std::string dt2 = changed_dataset(
      "dt2.h5", "n = f['/pairs/dt'].shape[0]\ndel f['/pairs/dt']\nf.create_dataset('/pairs/dt', data=np.ones((n, 2)))");
  const std::string narrow = changed_dataset(
      "narrow.h5", "z = f['/pairs/z_star'][:, :1]\ndel f['/pairs/z_star']\nf.create_dataset('/pairs/z_star', data=z)");
  const std::string train = " --epochs 1 --closure-dim 0 --threads 1 --device cpu --overwrite --progress false --out ";
  refused("train --dataset " + dt2 + train + in_dir("m_dt2"), "/pairs/dt");
  refused("train --dataset " + narrow + train + in_dir("m_narrow"), "/pairs/z_star");
  refused("encode --model " + model() + " --dataset " + dt2 + " --output " + in_dir("l_dt2.h5"), "/pairs/dt");
  refused("encode --model " + model() + " --dataset " + narrow + " --output " + in_dir("l_narrow.h5"), "/pairs/z_star");
  const std::string weight2 = changed_dataset(
      "weight2.h5", "n = f['/pairs/weight'].shape[0]\ndel f['/pairs/weight']\nf.create_dataset('/pairs/weight', data=np.ones((n, 2)))");
  refused("train --dataset " + weight2 + train + in_dir("m_weight2"), "/pairs/weight");
}

TEST_CASE("non-finite or negative values in a file are refused", "[e2e][hostile]") {
  const std::string nan_dt = changed_dataset("nan_dt.h5", "d = f['/pairs/dt']\nd[3] = np.nan");
  const std::string neg_dt = changed_dataset("neg_dt.h5", "d = f['/pairs/dt']\nd[0] = -1.0");
  const std::string nan_z = changed_dataset("nan_z.h5", "d = f['/pairs/g_after']\nd[5, 0] = np.inf");
  const std::string train = " --epochs 1 --closure-dim 0 --threads 1 --device cpu --overwrite --progress false --out ";
  refused("train --dataset " + nan_dt + train + in_dir("m_nan"), "not a positive duration");
  refused("train --dataset " + neg_dt + train + in_dir("m_neg"), "not a positive duration");
  refused("train --dataset " + nan_z + train + in_dir("m_inf"), "non-finite");
  // The patch weights of the K-scaled target (docs/design.md §1.7): positive and finite.
  const std::string zero_w = changed_dataset("zero_w.h5", "d = f['/pairs/weight']\nd[2] = 0.0");
  const std::string nan_w = changed_dataset("nan_w.h5", "d = f['/pairs/weight']\nd[4] = np.nan");
  refused("train --dataset " + zero_w + train + in_dir("m_zero_w"), "not a positive weight");
  refused("train --dataset " + nan_w + train + in_dir("m_nan_w"), "not a positive weight");
}

TEST_CASE("train --resume refuses another dataset or other options", "[e2e][hostile]") {
  const std::string out = in_dir("resumed");
  const std::string base = " --epochs 2 --closure-dim 0 --threads 1 --device cpu --progress false --out " + out;
  REQUIRE(run("train --overwrite --dataset " + dataset() + base).code == 0);
  const std::string json = slurp(out + "/model.json");
  const std::string other = in_dir("other.h5");
  REQUIRE(run(tiny() + " --run.seed 7 --output.path " + other + " --output.overwrite true").code == 0);
  refused("train --resume --dataset " + other + base, "--dataset");
  refused("train --resume --dataset " + dataset() + base + " --lr 0.01", "--lr = 0.01");
  CHECK(slurp(out + "/model.json") == json);
  // The same options resume (a finished training stays finished).
  CHECK(run("train --resume --dataset " + dataset() + base).code == 0);
}

TEST_CASE("thread counts are bounded", "[e2e][hostile]") {
  refused(tiny() + " --run.threads 100000 --output.path " + in_dir("t.h5"), "run.threads");
  refused("evaluate --threads 100000 --model " + model() + " --truth " + dataset() + " --output " + in_dir("ev"),
          "--threads");
  refused("train --threads 100000 --dataset " + dataset() + " --out " + in_dir("m_threads"), "--threads");
  refused(tiny("run") + " --learn.threads 100000", "learn.threads");
}

TEST_CASE("counts that overflow are refused", "[e2e][hostile]") {
  refused(tiny() + " --large.snapshots 4611686018427387904 --output.path " + in_dir("o.h5"), "large.snapshots");
  refused(tiny() + " --small.runs 4000000000 --small.sweeps 4000000000 --output.path " + in_dir("o.h5"), "small.runs");
  refused(tiny("simulate") + " --truth.runs 9223372036854775807 --output.path " + in_dir("o.h5"), "truth.runs");
  // The verdict's predicted paths, refused before the training (evaluate's 4e8 limit was
  // found only after it): 4 runs x 3 m0 x 10^7 paths x 51 frames is 6e9 paths' values. (10^5
  // was under the limit: it trained and evaluated 1.2 million paths for 75 minutes in CI.)
  refused(tiny("run") + " --verdict.ensemble 10000000 --learn.out " + in_dir("big_verdict"), "verdict.ensemble");
}

TEST_CASE("no output overwrites an input however it is spelled", "[e2e][hostile]") {
  const std::string json = slurp(model() + "/model.json");
  const std::string drift = slurp(model() + "/drift.pt");
  const std::string predict = "predict --model " + model() + " --z0 0.5,0.3 --steps 5 --ensemble 4 --output ";
  refused(predict + model() + "/model.json", "--model");
  refused(predict + model() + "/../model/./drift.pt", "--model");
  fs::remove(in_dir("alias"));
  fs::create_symlink(model() + "/model.json", in_dir("alias"));
  refused(predict + in_dir("alias"), "--model");
  CHECK(slurp(model() + "/model.json") == json);
  CHECK(slurp(model() + "/drift.pt") == drift);
  // encode, evaluate, and a config command's output over its --config.
  refused("encode --model " + model() + " --dataset " + dataset() + " --output " + dir() + "/./data.h5", "--dataset");
  refused("evaluate --model " + model() + " --truth " + dataset() + " --output " + model() + "/.", "--model");
  const std::string ini = in_dir("config.ini");
  fs::copy_file(MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini", ini, fs::copy_options::overwrite_existing);
  const std::string text = slurp(ini);
  refused("generate --config " + ini + " --run.progress false --output.overwrite true --output.path " + ini, "--config");
  CHECK(slurp(ini) == text);
}

TEST_CASE("train reports a full disk and a bad --out in one sentence", "[e2e][hostile]") {
  // A file-size limit stands in for a full disk: writes fail (EFBIG) with SIGXFSZ ignored.
  const std::string out = in_dir("full");
  fs::remove_all(out);
  const Result full = run_shell("trap '' XFSZ; ulimit -f 16; ",
                                "train --dataset " + dataset() + " --out " + out +
                                    " --epochs 2 --closure-dim 0 --threads 1 --device cpu --progress false");
  expect_refused(full, "cannot write", "train under ulimit -f 16");
  CHECK(full.code == 3);
  CHECK(!fs::exists(out + "/model.json"));
  // --out naming a file, or a place no directory can be made.
  const std::string file = in_dir("plain_file");
  std::ofstream(file) << "x";
  refused("train --dataset " + dataset() + " --out " + file, "is a file, not a directory");
  refused("train --dataset " + dataset() + " --out /proc/macrodyn-model", "/proc/macrodyn-model");
  CHECK(slurp(file) == "x");
}

TEST_CASE("a --config that is not a readable INI file is refused", "[e2e][hostile]") {
  refused("generate --config " + dir(), "is a directory");
  const std::string fifo = in_dir("fifo.ini");
  fs::remove(fifo);
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  // A FIFO nobody writes to would block a reader for ever; timeout turns a hang into 124.
  const Result r = run_shell("timeout 20 ", "generate --config " + fifo);
  expect_refused(r, "not a regular file", "generate --config FIFO");
  CHECK(r.code != 124);
  refused("generate --config /dev/zero", "not a regular file");
}

TEST_CASE("numbers a parser accepts but physics does not are refused naming the key", "[e2e][hostile]") {
  refused(tiny() + " --system.T 1e-310 --output.path " + in_dir("o.h5"), "system.T");
  refused(tiny() + " --system.T inf --output.path " + in_dir("o.h5"), "system.T");
  refused(tiny() + " --system.h nan --output.path " + in_dir("o.h5"), "system.h");
  refused(tiny("simulate") + " --truth.init m0 --truth.m0 0.5,inf --output.path " + in_dir("o.h5"), "truth.m0");
}

TEST_CASE("states that break the system's layout are refused naming the table, row and voxel", "[e2e][hostile]") {
  // Spins are +-1 (docs/design.md §3.2): a 5 in a snapshot, or the states stored as
  // uint8 codes, would reach the autoencoder as numbers it was never meant to see.
  const std::string five = changed_dataset("five.h5", "d = f['/snapshots/states']\nd[0, 1, 2] = 5");
  const std::string codes = changed_dataset(
      "codes.h5", "s = f['/snapshots/states'][:]\ndel f['/snapshots/states']\n"
                  "f.create_dataset('/snapshots/states', data=(s > 0).astype(np.uint8))");
  const std::string train = " --epochs 1 --ae-epochs 1 --closure-dim 2 --threads 1 --device cpu --overwrite --progress false --out ";
  refused("train --dataset " + five + train + in_dir("m_five"),
          "/snapshots/states row 0: voxel (1, 2) holds 5, which is not a spin (+1 or -1)");
  refused("train --dataset " + codes + train + in_dir("m_codes"),
          "/snapshots/states holds uint8 states, but the states of system ising2d are int8 (spins)");
  // The truth's states, which evaluate recomputes the macrostates from (rho on K = 4
  // patches is not the lattice's, so the truth keeps them).
  const std::string truth = in_dir("truth.h5");
  REQUIRE(run(tiny("simulate") + " --truth.runs 2 --truth.sweeps 3 --output.path " + truth + " --output.overwrite true").code == 0);
  const std::string bad_truth = in_dir("truth_five.h5");
  fs::copy_file(truth, bad_truth, fs::copy_options::overwrite_existing);
  REQUIRE(python("d = f['/trajectories/states']\nd[1, 2, 3, 4] = 5", bad_truth));
  refused("evaluate --model " + model() + " --truth " + bad_truth + " --output " + in_dir("ev_five"),
          "/trajectories/states run 1, frame 2: voxel (3, 4) holds 5, which is not a spin (+1 or -1)");
  CHECK(run("evaluate --model " + model() + " --truth " + truth + " --output " + in_dir("ev_ok") + " --no-plots").code == 0);
}

TEST_CASE("a truth's initial-condition table is checked before evaluate groups by it", "[e2e][hostile]") {
  // evaluate groups the truth runs by /trajectories/initial: a NaN, a table of the wrong
  // width, or column names another system's would group nonsense. Each is refused naming
  // the file and the table; a file from before the table (/trajectories/m0) still reads.
  const std::string truth = in_dir("truth_initial.h5");
  REQUIRE(run(tiny("simulate") + " --truth.runs 2 --truth.sweeps 3 --output.path " + truth + " --output.overwrite true").code == 0);
  auto edited = [&](const std::string& name, const std::string& script) {
    const std::string p = in_dir(name);
    fs::copy_file(truth, p, fs::copy_options::overwrite_existing);
    REQUIRE(python(script, p));
    return p;
  };
  const std::string ev = " --model " + model() + " --no-plots --output ";
  const std::string nan = edited("initial_nan.h5", "d = f['/trajectories/initial']\nd[1, 0] = np.nan");
  refused("evaluate --truth " + nan + ev + in_dir("ev_nan"), "the initial condition of run 1 is not a finite number");
  const std::string wide = edited("initial_wide.h5", "x = f['/trajectories/initial'][:]\ndel f['/trajectories/initial']\n"
                                                     "f.create_dataset('/trajectories/initial', data=np.hstack([x, x]))");
  refused("evaluate --truth " + wide + ev + in_dir("ev_wide"), "/trajectories/initial");
  const std::string names = edited("initial_names.h5", "x = f['/trajectories/initial'][:]\ndel f['/trajectories/initial']\n"
                                                       "f.create_dataset('/trajectories/initial', data=np.hstack([x, x]))\n"
                                                       "f['/trajectories'].attrs['initial_columns'] = ['m', 'k']");
  refused("evaluate --truth " + names + ev + in_dir("ev_names"), "initial conditions are (m, k), but system ising2d names (m0)");
  const std::string legacy = edited("initial_legacy.h5", "x = f['/trajectories/initial'][:, 0]\ndel f['/trajectories/initial']\n"
                                                         "del f['/trajectories'].attrs['initial_columns']\n"
                                                         "f.create_dataset('/trajectories/m0', data=x)");
  CHECK(run("evaluate --truth " + legacy + ev + in_dir("ev_legacy")).code == 0);
}
