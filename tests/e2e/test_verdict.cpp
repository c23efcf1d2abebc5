// macrodyn run ends with a verdict: the first run a user makes (the built-in default),
// judged; the cases where it cannot be judged say why; the truth a run simulates is the
// truth `macrodyn simulate` writes, whatever the rank count.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "io/dataset.hpp"
#include "run_binary.hpp"

using namespace macrodyn;
using namespace macrodyn::e2e;
namespace fs = std::filesystem;

namespace {

std::string unique(const std::string& name) { return tmp(name + "_" + std::to_string(getpid())); }

// A small judged job (seconds): tiny.ini, no closure, 30 truth runs per m0 (the least
// the verdict accepts), 20 sweeps.
// `extra` may replace --learn.steps and --truth.runs.
std::string small_job(const std::string& out, const std::string& extra = "") {
  std::string cmd = "run --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --run.progress false --closure.kind none "
                    "--learn.min_fill 64 --learn.batch 256 --truth.sweeps 20 --verdict.ensemble 8 --learn.out " + out;
  if (extra.find("--learn.steps") == std::string::npos) cmd += " --learn.steps 200";
  if (extra.find("--truth.runs") == std::string::npos) cmd += " --truth.runs 30";
  return cmd + " " + extra;
}

}  // namespace

TEST_CASE("the first run: the built-in default passes its own verdict and writes a report", "[e2e][verdict][first_run]") {
  // Exactly what the README's first command runs after building (in a fresh directory).
  const std::string dir = unique("first_run");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const Result r = run_shell("cd " + dir + " && ", "run --run.progress false");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("verdict: PASS") != std::string::npos);
  CHECK(r.out.find("against 192 truth runs in 3 group(s)") != std::string::npos);
  CHECK(r.out.find("64 predicted paths per truth run") != std::string::npos);
  CHECK(fs::exists(dir + "/macrodyn-model/report.html"));
  CHECK(fs::exists(dir + "/macrodyn-model/verdict/verdict.txt"));
  CHECK(slurp(dir + "/macrodyn-model/verdict/verdict.txt").find("verdict: PASS") != std::string::npos);
}

TEST_CASE("a verdict that cannot mean anything says not judged and why", "[e2e][verdict]") {
  SECTION("fewer than 30 truth runs per initial condition") {
    const Result r = run(small_job(unique("few_runs"), "--truth.runs 29 --learn.steps 20"));
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("verdict: not judged: a group of truth runs has only 29 runs") != std::string::npos);
  }
  SECTION("no truth asked for") {
    const Result r = run(small_job(unique("no_truth"), "--truth.runs 0 --learn.steps 20"));
    REQUIRE(r.code == 0);
    CHECK(r.out.find("verdict: not judged: truth.runs = 0") != std::string::npos);
  }
  SECTION("a truth run that does not fit on one rank") {
    // team.max_sites 512 splits the 32 x 32 lattice over a team of 2 ranks.
    const Result r = run_mpi(3, small_job(unique("no_fit"), "--team.max_sites 512 --large.random_configs false "
                                                            "--learn.steps 20"));
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("verdict: not judged: a truth run of side 32 holds 1024 sites, more than team.max_sites = 512") !=
          std::string::npos);
  }
}

TEST_CASE("the naive model's fluctuations fail the verdict", "[e2e][verdict]") {
  // The naive target's increments carry K = 4 times the variance: its std ratio is about
  // 2, far outside [0.8, 1.25], so the verdict must say FAIL.
  const std::string out = unique("naive");
  const Result r = run(small_job(out, "--learn.method naive --large.snapshots 2000"));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("verdict: FAIL") != std::string::npos);
  CHECK(r.out.find("  m ") != std::string::npos);
}

TEST_CASE("run's truth is simulate's truth bit for bit on 1 and 3 ranks", "[e2e][verdict]") {
  const std::string one = unique("truth_one"), three = unique("truth_three"), sim = unique("truth_sim") + ".h5";
  const std::string extra = "--learn.steps 20 --large.random_configs false";
  REQUIRE(run(small_job(one, extra)).code == 0);
  const Result r3 = run_mpi(3, small_job(three, extra + " --team.size 1"));
  INFO(r3.out << r3.err);
  REQUIRE(r3.code == 0);
  REQUIRE(run("simulate --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --run.progress false --closure.kind none "
              "--truth.runs 30 --truth.sweeps 20 --output.overwrite true --output.path " + sim).code == 0);
  io::DatasetReader a(sim), b(one + "/truth.h5"), c(three + "/truth.h5");
  REQUIRE(a.rows_committed("/trajectories") == 90);
  for (const char* table : {"/trajectories/durations", "/trajectories/observables", "/trajectories/initial"}) {
    INFO(table);
    const auto shape = a.shape(table);
    std::uint64_t per_row = 1;
    for (std::size_t k = 1; k < shape.size(); ++k) per_row *= shape[k];
    std::vector<double> x(90 * per_row), y(x.size()), z(x.size());
    a.read_rows(table, 0, 90, io::DType::f64, x.data());
    b.read_rows(table, 0, 90, io::DType::f64, y.data());
    c.read_rows(table, 0, 90, io::DType::f64, z.data());
    CHECK(x == y);
    CHECK(x == z);
  }
  // tiny.ini's rho depends on the patch tiling: the run's truth keeps the states.
  CHECK(b.has("/trajectories/states"));
}
