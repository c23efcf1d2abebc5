// macrodyn study conditions as a user runs it, on the tiny alloy: data at two temperatures,
// a truth at a third, the K-scaled model (both drifts) and the baselines trained on both
// temperatures at once and evaluated; a second run reuses every stage and writes the same
// table; other settings and bad input are refused with one sentence.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "run_binary.hpp"

using namespace macrodyn::e2e;

namespace {

std::string study(const std::string& out, const std::string& extra = "") {
  return "study conditions --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny-alloy.ini --out " + out +
         " --train-values 1800,2400 --test-values 2000 --sides 32 --drifts mlp,onsager --epochs 2"
         " --equilibrium-steps 20 --test-set 2000:system.frame_time=2e-9 --threads 1 --device cpu " + extra;
}

std::string text_of(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("study conditions: one conditioned model per kind, evaluated at an untrained T, stages reused",
          "[e2e][study][conditions]") {
  const std::string out = tmp("condition_study_" + std::to_string(getpid()));
  std::filesystem::remove_all(out);
  const Result first = run(study(out));
  INFO(first.err);
  REQUIRE(first.code == 0);
  for (const char* f : {"/data/L32-T1800.h5", "/data/L32-T2400.h5", "/truth/L32-T2000.h5", "/conditions.csv",
                        "/equilibrium.csv", "/report.md", "/L32/kscaled-onsager/model.json", "/L32/small/eval-T2000/row.txt"})
    CHECK(std::filesystem::exists(out + f));
  const std::string csv = text_of(out + "/conditions.csv");
  // 4 models x 6 observables at T = 2000.
  std::size_t rows = 0;
  for (const char* m : {"kscaled-mlp", "kscaled-onsager", "naive", "small"}) {
    std::size_t at = 0;
    while ((at = csv.find(std::string("32,8,") + m + ",2000,", at)) != std::string::npos) ++rows, ++at;
  }
  CHECK(rows == 24);
  // The truth's frames last system.frame_time as set for the test value.
  const std::string report = text_of(out + "/report.md");
  CHECK(report.find("## side 32 (K = 8), T = 2000") != std::string::npos);
  CHECK(report.find("| small runs (side 16) | 1800 |") != std::string::npos);
  CHECK(report.find("| truth side 32 (real bonds) | 2000 |") != std::string::npos);

  // A rerun computes nothing and writes the same table.
  const Result again = run(study(out));
  INFO(again.err);
  REQUIRE(again.code == 0);
  CHECK(again.err.find("training") == std::string::npos);
  CHECK(again.err.find("truth:") == std::string::npos);
  CHECK(text_of(out + "/conditions.csv") == csv);

  // Another setting is refused naming it; bad input gets one sentence and exit 2.
  const Result other = run(study(out, "--lr 0.01"));
  CHECK(other.code == 2);
  CHECK(other.err.find("--lr") != std::string::npos);
  const Result bad_key = run(study(out + "-x", "--key J"));
  CHECK(bad_key.code == 2);
  CHECK(bad_key.err.find("system.J") != std::string::npos);
  const Result bad_set = run(study(out + "-y", "--size-set 32-upsample.window"));
  CHECK(bad_set.code == 2);
  CHECK(bad_set.err.find("--size-set takes VALUE:section.key=value") != std::string::npos);
  const Result bad_drift = run(study(out + "-z", "--drifts mlp,sde"));
  CHECK(bad_drift.code == 2);
  CHECK(bad_drift.err.find("--drifts") != std::string::npos);
}
