// macrodyn study loss-factor as a user runs it, on a tiny predator-prey system with its
// learned closure: one CSV row per (factor, seed) with finite scores, a summary per factor
// and a verdict against K, model directories that predict and evaluate take, a second run
// that reuses every stage and prints the same numbers, and bad input refused with one
// sentence before any work.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "run_binary.hpp"

using namespace macrodyn::e2e;

namespace {

std::string study(const std::string& out, const std::string& extra = "") {
  return "study loss-factor --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny-pp.ini --out " + out +
         " --closure.kind autoencoder --truth.runs 3 --truth.sweeps 60 --epochs 3 --ae-epochs 2 --factors 1,5"
         " --train-seeds 0,1 --threads 1 --device cpu --run.progress false " + extra;
}

std::vector<std::vector<double>> table(const std::string& path) {
  std::ifstream csv(path);
  std::string line;
  std::vector<std::vector<double>> rows;
  while (std::getline(csv, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("lambda", 0) == 0) continue;
    std::vector<double> row;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("study loss-factor: rows per factor and seed, model directories, stages reused, bad input refused",
          "[e2e][loss_factor_study]") {
  const std::string out = tmp("loss_factor_" + std::to_string(getpid()));
  const Result first = run(study(out));
  INFO(first.out << first.err);
  REQUIRE(first.code == 0);
  const auto rows = table(out + "/loss-factor.csv");
  REQUIRE(rows.size() == 4);
  for (const auto& r : rows) {
    REQUIRE(r.size() == 8);  // lambda, seed, mmd2, mmd2_late, rel_error, std ratio u and v, seconds
    for (int k = 2; k < 7; ++k) {
      CHECK(std::isfinite(r[k]));
      CHECK(r[k] >= 0);
    }
  }
  CHECK(rows[0][0] == 1);
  CHECK(rows[0][1] == 0);
  CHECK(rows[3][0] == 5);
  CHECK(rows[3][1] == 1);
  CHECK(rows[0][2] != rows[2][2]);  // another factor, another model
  const auto summary = table(out + "/loss-factor-summary.csv");
  REQUIRE(summary.size() == 2);
  CHECK(summary[0][1] == 2);  // two seeds
  CHECK(summary[0][2] == Approx((rows[0][2] + rows[1][2]) / 2));  // the median of two is their mean
  const std::string verdict = slurp(out + "/verdict.txt");
  CHECK(verdict.find("K = 5") != std::string::npos);
  CHECK(std::filesystem::exists(out + "/loss-factor.png"));
  CHECK(std::filesystem::exists(out + "/mmd-time.png"));

  // Every model is a model directory with the shared closure: predict and evaluate take it.
  const std::string model = out + "/lambda-5-s1";
  CHECK(slurp(model + "/model.json").find("\"closure_dim\": 2") != std::string::npos);
  CHECK(std::filesystem::exists(model + "/eval/bands_m_0.45_k_0.1.png"));
  const Result predict = run("predict --model " + model + " --z0 0.5,0.5,0,0 --steps 5 --output " + out + "/p.csv");
  INFO(predict.err);
  CHECK(predict.code == 0);
  const Result eval = run("evaluate --model " + model + " --truth " + out + "/truth.h5 --output " + out +
                          "/eval-again --threads 1 --device cpu --no-plots --progress false");
  INFO(eval.err);
  CHECK(eval.code == 0);

  // Every stage is kept: a second run computes nothing and prints the same table.
  const Result again = run(study(out));
  REQUIRE(again.code == 0);
  CHECK(again.out == first.out);
  // Another recipe in the same directory would silently reuse stages made otherwise.
  const Result other = run(study(out, "--ae-weight-decay 0"));
  CHECK(other.code == 2);
  CHECK(other.err.find("--ae-weight-decay") != std::string::npos);
  CHECK(run(study(out, "--cached-only")).code == 0);  // --cached-only is not part of the recipe

  const Result factors = run(study(out + "_y", "--factors 1,-2"));
  CHECK(factors.code == 2);
  CHECK(factors.err.find("--factors") != std::string::npos);
  const Result old = run(study(out + "_z", "--field.test_m 0.45"));
  CHECK(old.code == 2);
  CHECK(old.err.find("truth.m0") != std::string::npos);
  CHECK(!std::filesystem::exists(out + "_y/data.h5"));
}
