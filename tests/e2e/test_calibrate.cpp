// macrodyn calibrate, train --loss-factor measured, and macrodyn study equilibrium, as a
// user runs them: tables written, the factor taken by train and recorded in model.json, the
// equilibrium table resumed, bad input refused with a sentence.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "run_binary.hpp"

using namespace macrodyn;
using namespace macrodyn::e2e;


TEST_CASE("calibrate measures the loss factor, and train takes it and records where it came from",
          "[e2e][calibrate]") {
  const std::string dir = tmp("calibrate_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string cfg = "--config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --closure.kind none --system.T 5";
  const Result c = run("calibrate " + cfg + " --snapshots 32 --replicas 8 --bootstrap 50 --horizons 0.5,1 "
                       "--boundaries periodic,frozen --out " + dir + "/cal");
  INFO(c.err);
  REQUIRE(c.code == 0);
  CHECK(c.out.find("c*/K") != std::string::npos);
  CHECK(c.out.find("verdict:") != std::string::npos);
  const std::string csv = slurp(dir + "/cal/calibrate.csv");
  CHECK(csv.find("horizon,boundary,K,events") != std::string::npos);
  CHECK(csv.find("\n1,periodic,4,256,") != std::string::npos);
  CHECK(csv.find("\n0.5,frozen,4,128,") != std::string::npos);

  REQUIRE(run("generate " + cfg + " --large.snapshots 200 --output.path " + dir + "/data.h5").code == 0);
  const std::string train = "train --dataset " + dir + "/data.h5 --epochs 2 --closure-dim 0 --out ";
  const Result t = run(train + dir + "/m --loss-factor measured --calibration " + dir + "/cal/calibrate.csv");
  INFO(t.err);
  REQUIRE(t.code == 0);
  const std::string model = slurp(dir + "/m/model.json");
  CHECK(model.find("\"loss_factor_source\": \"measured: ") != std::string::npos);
  CHECK(model.find("K = 4") != std::string::npos);
  CHECK(csv.find("drift_ratio,drift_ratio_lo,drift_ratio_hi,c_stationary") != std::string::npos);
  const Result st = run(train + dir + "/ms --loss-factor stationary --calibration " + dir + "/cal/calibrate.csv");
  INFO(st.err);
  REQUIRE(st.code == 0);
  CHECK(slurp(dir + "/ms/model.json").find("\"loss_factor_source\": \"measured (stationary): ") != std::string::npos);
  const Result k = run(train + dir + "/mk --loss-factor K");
  REQUIRE(k.code == 0);
  CHECK(slurp(dir + "/mk/model.json").find("\"loss_factor\": 4,") != std::string::npos);
  CHECK(slurp(dir + "/mk/model.json").find("\"loss_factor_source\": \"K\"") != std::string::npos);
  const Result g = run(train + dir + "/mg --loss-factor 2.5");
  REQUIRE(g.code == 0);
  CHECK(slurp(dir + "/mg/model.json").find("\"loss_factor_source\": \"given\"") != std::string::npos);

  // Refusals, before any work.
  const Result no_file = run(train + dir + "/x --loss-factor measured");
  CHECK(no_file.code == 2);
  CHECK(no_file.err.find("--calibration") != std::string::npos);
  const Result other_K = run("calibrate " + cfg + " --large.side 64 --snapshots 8 --replicas 2 --out " + dir + "/cal64");
  REQUIRE(other_K.code == 0);
  CHECK(other_K.out.find("WARNING: the interval is wider than 20 %") != std::string::npos);  // 8 snapshots
  const Result zero = run("calibrate " + cfg + " --small.runs 0 --out " + dir + "/bad");
  CHECK(zero.code == 2);
  CHECK(zero.err.find("small.runs") != std::string::npos);
  const Result wrong = run(train + dir + "/x --loss-factor measured --calibration " + dir + "/cal64/calibrate.csv");
  CHECK(wrong.code == 2);
  CHECK(wrong.err.find("K = 4") != std::string::npos);
  const Result bad = run("calibrate " + cfg + " --replicas 1 --out " + dir + "/bad");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("--replicas") != std::string::npos);
  const Result bnd = run("calibrate " + cfg + " --boundaries torus --out " + dir + "/bad");
  CHECK(bnd.code == 2);
  CHECK(bnd.err.find("--boundaries") != std::string::npos);

  // With a learned closure the encoder's codes join the observables (train's z).
  const std::string ccfg = "--config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --system.T 5";
  REQUIRE(run("generate " + ccfg + " --large.snapshots 200 --output.path " + dir + "/closure.h5").code == 0);
  REQUIRE(run("train --dataset " + dir + "/closure.h5 --epochs 1 --ae-epochs 1 --out " + dir + "/mc").code == 0);
  const Result cc = run("calibrate " + ccfg + " --snapshots 16 --replicas 4 --bootstrap 20 --model " + dir + "/mc --out " +
                        dir + "/calc");
  INFO(cc.err);
  REQUIRE(cc.code == 0);
  CHECK(slurp(dir + "/calc/calibrate.csv").find(",ratio_m,ratio_rho,ratio_closure1,ratio_closure2,") != std::string::npos);
  const Result no_closure = run("calibrate " + cfg + " --snapshots 8 --replicas 2 --model " + dir + "/m --out " + dir + "/bad");
  CHECK(no_closure.code == 2);
  CHECK(no_closure.err.find("has no learned closure") != std::string::npos);
}

TEST_CASE("study equilibrium writes the Wolff ground truth row by row and resumes", "[e2e][equilibrium]") {
  const std::string dir = tmp("equilibrium_" + std::to_string(getpid()));
  const std::string cfg = "--config " MACRODYN_SOURCE_DIR "/jobs/configs/ising-critical.ini";
  const std::string job = "study equilibrium " + cfg + " --sides 8,16 --temperatures 2.27,3 --runs 4 --sweeps 200 --out " + dir;
  const Result a = run(job);
  INFO(a.err);
  REQUIRE(a.code == 0);
  const std::string first = slurp(dir + "/equilibrium.csv");
  CHECK(first.find("L,T,samples,abs_m,abs_m_se") != std::string::npos);
  CHECK(first.find("\n16,2.27,800,") != std::string::npos);
  // Rerun: every row kept, the same table.
  const Result b = run(job);
  REQUIRE(b.code == 0);
  CHECK(b.err.find("(kept)") != std::string::npos);
  CHECK(slurp(dir + "/equilibrium.csv") == first);
  // Another recipe on the same table is refused; so is a field (Wolff needs h = 0).
  const Result other = run("study equilibrium " + cfg + " --sides 8 --temperatures 2.27 --runs 5 --sweeps 200 --out " + dir);
  CHECK(other.code == 2);
  CHECK(other.err.find("another recipe") != std::string::npos);
  const Result field = run("study equilibrium " + cfg + " --system.h 0.1 --sides 8 --out " + dir + "-h");
  CHECK(field.code == 2);
  CHECK(field.err.find("system.h = 0") != std::string::npos);
}
