// macrodyn study loss-factor as a user runs it, on a tiny predator-prey system: one CSV
// row per loss factor with a finite MMD², the second run reuses every stage and prints
// the same numbers, and bad input is refused with one sentence before any work.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "run_binary.hpp"

using namespace macrodyn::e2e;

namespace {

std::string study(const std::string& out, const std::string& extra = "") {
  return "study loss-factor --config " MACRODYN_SOURCE_DIR "/jobs/configs/predator-prey.ini --out " + out +
         " --small.runs 4 --small.sweeps 200 --large.snapshots 800 --truth.runs 5 --truth.sweeps 100"
         " --field.test_m 0.45,0.55 --field.test_k 0.1 --epochs 3 --ae-epochs 2 --factors 1,5"
         " --threads 1 --run.progress false " + extra;
}

}  // namespace

TEST_CASE("study loss-factor: a row per factor, stages reused, bad input refused", "[e2e][field_study]") {
  const std::string out = tmp("loss_factor_" + std::to_string(getpid()));
  const Result first = run(study(out));
  INFO(first.out << first.err);
  REQUIRE(first.code == 0);
  std::ifstream csv(out + "/loss-factor.csv");
  std::string line;
  std::vector<std::vector<double>> rows;
  while (std::getline(csv, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("lambda", 0) == 0) continue;
    std::vector<double> row;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  REQUIRE(rows.size() == 2);
  for (const auto& r : rows) {
    REQUIRE(r.size() == 6);  // lambda, mean, late mean, 2 conditions, seconds
    CHECK(std::isfinite(r[1]));
    CHECK(r[1] >= 0);
    CHECK(std::isfinite(r[2]));
    CHECK(r[2] >= 0);
    CHECK(r[2] != r[1]);
    CHECK(r[1] == Approx((r[3] + r[4]) / 2).epsilon(1e-6));  // the mean over the conditions
  }
  CHECK(rows[0][0] == 1);
  CHECK(rows[1][0] == 5);
  // Every stage is kept: a second run computes nothing and prints the same table.
  const Result again = run(study(out));
  REQUIRE(again.code == 0);
  CHECK(again.out == first.out);
  // Another recipe in the same directory would silently reuse stages made otherwise.
  const Result other = run(study(out, "--ae-weight-decay 0"));
  CHECK(other.code == 2);
  CHECK(other.err.find("--ae-weight-decay") != std::string::npos);
  CHECK(run(study(out, "--cached-only")).code == 0);  // --cached-only is not part of the recipe

  const Result spins = run("study loss-factor --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --out " + out + "_x");
  CHECK(spins.code == 2);
  CHECK(spins.err.find("predator_prey") != std::string::npos);
  const Result factors = run(study(out + "_y", "--factors 1,-2"));
  CHECK(factors.code == 2);
  CHECK(factors.err.find("--factors") != std::string::npos);
  const Result pairs = run(study(out + "_z", "--large.snapshots 100000"));
  CHECK(pairs.code == 2);
  CHECK(pairs.err.find("large.snapshots") != std::string::npos);
}
