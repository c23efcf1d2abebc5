// macrodyn study fss as a user runs it, on the tiny 2D Ising job at h = 0 with its learned
// closure: the truth, data, calibration, models and rollouts of every cell; one row per
// (cell, setting, seed) with the setting's factor (1 everywhere at K = 1, where the settings
// share one model); one autoencoder for every cell; exponents fitted alike for the truth and
// each setting; a second run that reuses every stage; bad input refused before any work.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

#include "run_binary.hpp"

using namespace macrodyn::e2e;

namespace {

// `h`: the field (a key given twice takes its first value).
std::string study(const std::string& out, const std::string& extra = "", const std::string& h = "0") {
  return "study fss --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --out " + out + " --system.h " + h +
         " --large.random_configs false --upsample.boundary frozen --sides 16,32 --temperatures 2.27,2.29"
         " --extra-cells 32@2.25 --train-seeds 0,1 --epochs 2 --ae-epochs 1 --steps 200 --starts 8 --copies 2"
         " --truth-runs 4 --truth-sweeps 200 --truth-thermalise 20 --calibrate-snapshots 8 --calibrate-replicas 4"
         " --threads 1 --device cpu --run.progress false " + extra;
}

// Rows of a CSV with a header line starting with `first`: cells by column name.
std::vector<std::map<std::string, std::string>> table(const std::string& path, const std::string& first) {
  std::ifstream csv(path);
  std::string line;
  std::vector<std::string> names;
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(csv, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (line.rfind(first, 0) == 0) {
      names = cells;
      continue;
    }
    std::map<std::string, std::string> row;
    for (std::size_t k = 0; k < cells.size() && k < names.size(); ++k) row[names[k]] = cells[k];
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("study fss: every cell's truth, models and rollouts, exponents beside the truth's, stages reused, bad input refused",
          "[e2e][fss_study]") {
  namespace fs = std::filesystem;
  const std::string out = tmp("fss_" + std::to_string(getpid()));
  const Result first = run(study(out));
  INFO(first.out << first.err);
  REQUIRE(first.code == 0);

  // 5 cells x 4 settings x 2 seeds; at L = 16 (K = 1) every setting is c = 1 and one model.
  const auto models = table(out + "/fss-models.csv", "L,");
  REQUIRE(models.size() == 40);
  std::map<std::string, std::string> abs_m16;
  for (const auto& r : models) {
    const double m = std::stod(r.at("abs_m")), chi = std::stod(r.at("chi_prime"));
    CHECK(std::isfinite(m));
    CHECK(m >= 0);
    CHECK(m <= 1);
    CHECK(std::isfinite(chi));
    CHECK(std::stoi(r.at("trajectories")) + std::stoi(r.at("diverged")) == 16);
    const double factor = std::stod(r.at("factor"));
    if (r.at("L") == "16") {
      CHECK(factor == 1);
      const std::string key = r.at("T") + "/" + r.at("seed");
      if (abs_m16.count(key)) CHECK(abs_m16[key] == r.at("abs_m"));  // the same model
      abs_m16[key] = r.at("abs_m");
    } else if (r.at("setting") == "K") {
      CHECK(factor == 4);
    } else if (r.at("setting") == "tuned") {
      CHECK(factor == (r.at("T") == "2.27" ? 2.2 : r.at("T") == "2.29" ? 2.0 : 2.5));
    } else {
      CHECK(factor > 0);
      CHECK(factor != 4);
    }
  }
  CHECK(fs::exists(out + "/L16-T2.27/K-s1/model.json"));
  CHECK(!fs::exists(out + "/L16-T2.27/tuned-s1"));
  CHECK(slurp(out + "/L32-T2.29/measured-s0/model.json").find("\"loss_factor_source\": \"measured: ") != std::string::npos);
  CHECK(fs::exists(out + "/L32-T2.29/calibrate.csv"));
  // One autoencoder for every cell: the first model's.
  const std::string ae = slurp(out + "/L16-T2.27/K-s0/autoencoder.bin");
  CHECK(!ae.empty());
  CHECK(slurp(out + "/L32-T2.25/tuned-s1/autoencoder.bin") == ae);

  // The truth: one row per cell with its histogram; exponents fitted alike for every setting.
  const auto cells = table(out + "/fss-cells.csv", "L,");
  CHECK(cells.size() == 20);
  const auto exps = table(out + "/exponents.csv", "setting,");
  REQUIRE(exps.size() == 12);  // 4 settings x (<|m|>, chi', dU/dT)
  for (const auto& e : exps) {
    CHECK(e.at("sides") == "16 32");
    CHECK(e.at("truth_slope") == exps[e.at("quantity") == exps[0].at("quantity") ? 0 : e.at("quantity") == exps[1].at("quantity") ? 1 : 2].at("truth_slope"));
  }
  CHECK(std::stod(exps[0].at("truth_slope")) < 0);  // <|m|> falls with L at T_c
  CHECK(std::stod(exps[1].at("truth_slope")) > 1);  // chi' grows faster than L
  const auto crossings = table(out + "/binder-crossings.csv", "setting,");
  CHECK(crossings.size() == 5);  // truth and 4 settings, sides 16 and 32
  const std::string verdict = slurp(out + "/verdict.txt");
  CHECK(verdict.find("c = K: ") != std::string::npos);
  CHECK(verdict.find("c = measured: ") != std::string::npos);
  CHECK(verdict.find("c = tuned: ") != std::string::npos);
  CHECK(verdict.find("c = stationary: ") != std::string::npos);
  CHECK(slurp(out + "/L32-T2.27/stationary-s0/model.json").find("measured (stationary): ") != std::string::npos);
  CHECK(first.out.find("report: ") != std::string::npos);

  // Every stage is kept: a second run trains nothing and writes the same tables.
  const std::string table_before = slurp(out + "/fss-models.csv");
  const Result again = run(study(out));
  REQUIRE(again.code == 0);
  CHECK(again.err.find(": SDE") == std::string::npos);
  CHECK(again.err.find("truth: L") == std::string::npos);
  CHECK(slurp(out + "/fss-models.csv") == table_before);
  CHECK(run(study(out, "--cached-only")).code == 0);
  const Result other = run(study(out, "--steps 300"));
  CHECK(other.code == 2);
  CHECK(other.err.find("--steps") != std::string::npos);

  // A starts file cut short: the rollout is refused naming it, not handed on.
  fs::remove(out + "/L32-T2.27/K-s0/stationary.txt");
  std::ofstream(out + "/L32-T2.27/starts.csv") << "0.5,0.1\n";
  const Result cut = run(study(out));
  CHECK(cut.code == 3);
  CHECK(cut.err.find("starts.csv holds a start of 2 numbers") != std::string::npos);

  // Too few replicas for a drift ratio: the stationary setting is left out, with the reason
  // (and a study of extra cells only).
  const Result no_ratio = run("study fss --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --out " + out +
                              "_v --system.h 0 --sides '' --extra-cells 32@2.27 --factors stationary"
                              " --train-seeds 0 --epochs 1 --ae-epochs 1 --steps 50 --starts 4 --truth-runs 2"
                              " --truth-sweeps 50 --calibrate-snapshots 4 --calibrate-replicas 3 --threads 1"
                              " --device cpu --run.progress false");
  INFO(no_ratio.err);
  CHECK(no_ratio.code == 0);
  CHECK(no_ratio.err.find("left out: --calibration") != std::string::npos);
  CHECK(!fs::exists(out + "_v/L32-T2.27/stationary-s0"));

  // Bad input: one sentence, before any work.
  const Result factors = run(study(out + "_y", "--factors K,best"));
  CHECK(factors.code == 2);
  CHECK(factors.err.find("--factors") != std::string::npos);
  const Result field = run(study(out + "_z", "", "0.1"));
  CHECK(field.code == 2);
  CHECK(field.err.find("system.h = 0") != std::string::npos);
  const Result cell = run(study(out + "_w", "--extra-cells 32x2.25"));
  CHECK(cell.code == 2);
  CHECK(cell.err.find("--extra-cells") != std::string::npos);
  CHECK(!fs::exists(out + "_y/L16-T2.27/data.h5"));
  CHECK(!fs::exists(out + "_z/L16-T2.27/truth.txt"));
}
