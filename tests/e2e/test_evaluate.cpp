// macrodyn predict / evaluate as a user runs them: a small Curie–Weiss dataset, ground
// truth from two m0 values, a few epochs of train, then evaluate and predict; and bad
// input rejected with one sentence, exit 2 (input) or 3 (file), before any output.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "run_binary.hpp"

using namespace macrodyn::e2e;

namespace {

const std::string kCw = " --config " MACRODYN_SOURCE_DIR
                        "/jobs/configs/curie-weiss.ini --large.side 32 --partial.patch 16 --large.snapshots 400"
                        " --small.runs 20 --small.sweeps 20 --run.progress false --output.overwrite true";

std::vector<std::string> data_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

// Dataset, truth and model, made once per process. Only one test case uses them (with
// sections), so that ctest -j never has two processes writing the same files.
struct Pipeline {
  std::string data = tmp("ev_cw.h5"), truth = tmp("ev_cw_truth.h5"), model = tmp("ev_cw_model");
  Pipeline() {
    REQUIRE(run("generate" + kCw + " --output.path " + data).code == 0);
    REQUIRE(run("simulate" + kCw + " --truth.runs 3 --truth.sweeps 40 --truth.m0 0.5,-0.5 --output.path " + truth)
                .code == 0);
    const Result t = run("train --dataset " + data + " --out " + model +
                         " --epochs 3 --diffusion constant --lr 0.01 --device cpu --progress false --overwrite");
    INFO(t.err);
    REQUIRE(t.code == 0);
  }
};

const Pipeline& pipeline() {
  static const Pipeline p;
  return p;
}

void expect_rejected(const std::string& args, const std::string& what, int code) {
  const Result r = run(args);
  INFO("macrodyn " << args << "\nstderr: " << r.err);
  CHECK(r.code == code);
  CHECK(r.err.find(what) != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("predict and evaluate have --help", "[e2e][evaluate]") {
  for (const char* cmd : {"predict", "evaluate"}) {
    const Result r = run(std::string(cmd) + " --help");
    INFO(cmd);
    CHECK(r.code == 0);
    CHECK(r.out.find("usage: macrodyn") != std::string::npos);
    CHECK(r.out.find("--model") != std::string::npos);
  }
}

TEST_CASE("evaluate and predict on a small Curie-Weiss model", "[e2e][evaluate]") {
  const auto& p = pipeline();

  SECTION("evaluate writes metrics.csv with one row per m0 and the mean") {
    const std::string out = tmp("ev_out");
    std::filesystem::remove_all(out);
    const Result r = run("evaluate --model " + p.model + " --truth " + p.truth + " --output " + out +
                         " --no-plots --progress false --device cpu --ensemble 2");
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("mean") != std::string::npos);
    // The verdict closes every evaluation: 3 truth runs per m0 are too few to judge.
    CHECK(r.out.find("verdict: not judged") != std::string::npos);
    CHECK(slurp(out + "/verdict.txt").find("verdict: not judged") != std::string::npos);
    const auto lines = data_lines(slurp(out + "/metrics.csv"));
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "m0,runs,rel_error,rel_error_m,eq_mean_true_m,eq_mean_pred_m,eq_std_true_m,eq_std_pred_m,mmd2");
    CHECK(lines[1].rfind("-0.5,3,", 0) == 0);
    CHECK(lines[2].rfind("0.5,3,", 0) == 0);
    CHECK(lines[3].rfind("mean,6,", 0) == 0);
  }

  SECTION("predict writes the ensemble CSV") {
    const std::string csv = tmp("ev_pred/p.csv");
    const Result r = run("predict --model " + p.model + " --z0 '0.3;-0.2' --steps 10 --dt 0.5 --ensemble 7 --output " +
                         csv + " --device cpu");
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    const auto lines = data_lines(slurp(csv));
    REQUIRE(lines.size() == 1 + 2 * 11);
    CHECK(lines[0] == "state,t,t_physical,m_mean,m_std");
    CHECK(lines[1].rfind("0,0,0,0.3,", 0) == 0);
    CHECK(lines[12].rfind("1,0,0,-0.2,", 0) == 0);
  }

  SECTION("bad input is rejected naming the option or file") {
    const std::string out = " --output " + tmp("ev_never");
    expect_rejected("evaluate --truth " + p.truth + out, "--model", 2);
    expect_rejected("evaluate --model " + tmp("nope") + " --truth " + p.truth + out, "--model", 2);
    expect_rejected("evaluate --model " + p.model + " --truth " + tmp("nope.h5") + out, "nope.h5", 3);
    expect_rejected("evaluate --model " + p.model + " --truth " + p.data + out, "/trajectories", 3);
    expect_rejected("evaluate --model " + p.model + " --truth " + p.truth + out + " --ensemble 0", "--ensemble", 2);
    expect_rejected("predict --model " + p.model + " --z0 0.1,0.2 --steps 3" + out, "--z0", 2);
    expect_rejected("predict --model " + p.model + " --z0 abc --steps 3" + out, "--z0", 2);
    expect_rejected("predict --model " + p.model + " --z0 0.1 --steps 0" + out, "--steps", 2);
    CHECK_FALSE(std::filesystem::exists(tmp("ev_never")));
  }
}

TEST_CASE("a truth without closure keeps the states an evaluation needs on the patch tiling", "[e2e][evaluate]") {
  // ising2d without a closure: z = (m, rho) and rho of the whole lattice is not the mean
  // of the patches' rho, so the truth keeps its states (it lost them, and evaluate
  // refused the truth, when only a closure kept them); Curie-Weiss's m needs none.
  const std::string base = " --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --run.progress false --closure.kind none";
  const std::string data = tmp("nc_data.h5"), truth = tmp("nc_truth.h5"), model = tmp("nc_model");
  REQUIRE(run("generate" + base + " --output.path " + data).code == 0);
  REQUIRE(run("simulate" + base + " --truth.runs 2 --truth.sweeps 10 --output.path " + truth).code == 0);
  REQUIRE(run("train --dataset " + data + " --out " + model +
              " --epochs 2 --device cpu --threads 1 --progress false --overwrite").code == 0);
  const Result r = run("evaluate --model " + model + " --truth " + truth + " --output " + tmp("nc_eval") +
                       " --no-plots --device cpu --threads 1 --progress false");
  INFO(r.err);
  CHECK(r.code == 0);
  const Result cw = run("inspect " + truth);
  CHECK(cw.out.find("/trajectories/states") != std::string::npos);
  const std::string cw_truth = tmp("nc_cw_truth.h5");
  REQUIRE(run("simulate" + base + " --system.name curie_weiss --truth.runs 2 --truth.sweeps 10 --output.path " +
              cw_truth).code == 0);
  CHECK(run("inspect " + cw_truth).out.find("/trajectories/states") == std::string::npos);
}
