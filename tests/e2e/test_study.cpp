// macrodyn study patch-size as a user runs it, on a tiny Curie-Weiss system (L = 32,
// p = 16 and 32): one CSV row per cell and method, one set of truth runs for all rows,
// K-scaled and naive identical at p = L (K = 1), every stage reused on a rerun, and a
// rerun with other settings or bad input refused with one sentence.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <unistd.h>

#include "run_binary.hpp"

using namespace macrodyn::e2e;

namespace {

std::string study(const std::string& out, const std::string& extra = "") {
  return "study patch-size --config " MACRODYN_SOURCE_DIR "/jobs/configs/curie-weiss.ini --out " + out +
         " --patches 16,32 --pairs 400 --ae-snapshots 100 --ae-epochs 1 --large.side 32 --truth.runs 4"
         " --truth.sweeps 20 --small.runs 20 --small.sweeps 20 --run.progress false " + extra;
}

// The CSV's data rows, split into cells.
std::vector<std::vector<std::string>> rows_of(const std::string& csv) {
  std::stringstream in(csv);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line.rfind("p,", 0) == 0) continue;
    std::vector<std::string> row;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) row.push_back(cell);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("study patch-size: a row per cell and method, stages reused, other settings refused", "[e2e][study]") {
  const std::string out = tmp("patch_size_" + std::to_string(getpid()));
  const Result first = run(study(out, "--epochs 2"));
  INFO(first.out << first.err);
  REQUIRE(first.code == 0);
  const std::string csv = slurp(out + "/patch-size.csv");
  const auto rows = rows_of(csv);
  REQUIRE(rows.size() == 4);
  // columns: p, K, method, rel_error, rel_error_m, eq_mean_m_true, eq_mean_m_pred,
  // eq_std_m_true, eq_std_m_pred, std_ratio_m, mmd2, seconds
  const std::vector<std::vector<std::string>> cells{{"16", "4", "kscaled"}, {"16", "4", "naive"},
                                                    {"32", "1", "kscaled"}, {"32", "1", "naive"}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 12);
    CHECK(std::vector<std::string>(rows[i].begin(), rows[i].begin() + 3) == cells[i]);
    CHECK(std::stod(rows[i][3]) >= 0);
    CHECK(rows[i][5] == rows[0][5]);  // one set of truth runs for every cell
    CHECK(rows[i][7] == rows[0][7]);
  }
  // At p = L the loss factor is K = 1: the K-scaled model is the naive one, bit for bit.
  for (std::size_t c = 3; c <= 10; ++c) CHECK(rows[2][c] == rows[3][c]);
  CHECK(std::filesystem::exists(out + "/patch-size.png"));

  // Every stage is kept: a rerun computes nothing and writes the same table.
  const Result again = run(study(out, "--epochs 2"));
  REQUIRE(again.code == 0);
  CHECK(again.err.find("SDE") == std::string::npos);
  CHECK(slurp(out + "/patch-size.csv") == csv);
  // Other settings in the same directory would silently reuse stages made otherwise.
  const Result epochs = run(study(out, "--epochs 3"));
  CHECK(epochs.code == 2);
  CHECK(epochs.err.find("--epochs = 2, not --epochs = 3") != std::string::npos);
  const Result temperature = run(study(out, "--epochs 2 --system.T 1.2"));
  CHECK(temperature.code == 2);
  CHECK(temperature.err.find("system.T = 1.1, not system.T = 1.2") != std::string::npos);
  // Settings that change no result are not part of the recipe.
  CHECK(run(study(out, "--epochs 2 --cached-only --run.threads 1 --output.path elsewhere.h5")).code == 0);

  const Result patches = run(study(out + "_x", "--patches 12"));
  CHECK(patches.code == 2);
  CHECK(patches.err.find("--patches") != std::string::npos);
  CHECK(!std::filesystem::exists(out + "_x/truth.h5"));
}
