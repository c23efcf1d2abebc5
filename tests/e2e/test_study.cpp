// macrodyn study patch-size as a user runs it, on a tiny Curie-Weiss system (L = 32,
// p = 16 and 32): one CSV row per cell, method and training seed, a summary over the
// seeds, one set of truth runs for all rows, K-scaled and naive identical at p = L
// (K = 1), every stage reused on a rerun, a seed added without redoing the others, and a
// rerun with other settings or bad input refused with one sentence. On a tiny Ising
// system: one autoencoder shared by both methods and every seed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
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

TEST_CASE("study patch-size: a row per cell, method and seed, stages reused, other settings refused", "[e2e][study]") {
  const std::string out = tmp("patch_size_" + std::to_string(getpid()));
  const Result first = run(study(out, "--epochs 2 --train-seeds 1,2"));
  INFO(first.out << first.err);
  REQUIRE(first.code == 0);
  const std::string csv = slurp(out + "/patch-size.csv");
  const auto rows = rows_of(csv);
  REQUIRE(rows.size() == 8);
  // columns: p, K, method, seed, rel_error, rel_error_m, eq_mean_m_true, eq_mean_m_pred,
  // eq_std_m_true, eq_std_m_pred, std_ratio_m, mmd2, seconds
  const std::vector<std::vector<std::string>> cells{
      {"16", "4", "kscaled", "1"}, {"16", "4", "naive", "1"}, {"16", "4", "kscaled", "2"}, {"16", "4", "naive", "2"},
      {"32", "1", "kscaled", "1"}, {"32", "1", "naive", "1"}, {"32", "1", "kscaled", "2"}, {"32", "1", "naive", "2"}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 13);
    CHECK(std::vector<std::string>(rows[i].begin(), rows[i].begin() + 4) == cells[i]);
    CHECK(std::stod(rows[i][4]) >= 0);
    CHECK(rows[i][6] == rows[0][6]);  // one set of truth runs for every cell
    CHECK(rows[i][8] == rows[0][8]);
  }
  // At p = L the loss factor is K = 1: the K-scaled model is the naive one, bit for bit,
  // seed by seed; the seeds give different models.
  for (std::size_t c = 4; c <= 11; ++c) {
    CHECK(rows[4][c] == rows[5][c]);
    CHECK(rows[6][c] == rows[7][c]);
  }
  CHECK(rows[0][4] != rows[2][4]);
  // The summary: one row per cell and method over the 2 seeds, mean and median between
  // min and max.
  const auto summary = rows_of(slurp(out + "/patch-size-summary.csv"));
  REQUIRE(summary.size() == 4);
  for (const auto& r : summary) {
    REQUIRE(r.size() == 16);
    CHECK(r[3] == "2");
    CHECK(std::stod(r[6]) <= std::stod(r[4]));  // rel_error min <= mean <= max
    CHECK(std::stod(r[4]) <= std::stod(r[7]));
    CHECK(std::stod(r[12]) <= std::stod(r[10]));  // std ratio min <= mean <= max
    CHECK(std::stod(r[10]) <= std::stod(r[13]));
    CHECK(std::stod(r[6]) <= std::stod(r[14]));  // rel_error min <= median <= max
    CHECK(std::stod(r[14]) <= std::stod(r[7]));
    CHECK(std::stod(r[12]) <= std::stod(r[15]));  // std ratio min <= median <= max
    CHECK(std::stod(r[15]) <= std::stod(r[13]));
  }
  CHECK(std::stod(summary[0][5]) > 0);  // two different seeds: a spread
  for (const char* png : {"patch-size.png", "std-ratio.png", "bands-p16.png", "bands-p32.png"})
    CHECK(std::filesystem::exists(out + "/" + png));
  // The band figures of the cells share one y-range per initial m0.
  const std::string gp16 = slurp(out + "/bands-p16.gp"), gp32 = slurp(out + "/bands-p32.gp");
  const auto yranges = [](const std::string& gp) {
    std::string all;
    for (std::size_t at = gp.find("set yrange"); at != std::string::npos; at = gp.find("set yrange", at + 1))
      all += gp.substr(at, gp.find('\n', at) - at) + "\n";
    return all;
  };
  CHECK(!yranges(gp16).empty());
  CHECK(yranges(gp16) == yranges(gp32));

  // Every stage is kept: a rerun computes nothing and writes the same table.
  const Result again = run(study(out, "--epochs 2 --train-seeds 1,2"));
  REQUIRE(again.code == 0);
  CHECK(again.err.find("SDE") == std::string::npos);
  CHECK(slurp(out + "/patch-size.csv") == csv);
  // A seed added to a finished study trains only that seed's models.
  const Result more = run(study(out, "--epochs 2 --train-seeds 1,2,3"));
  INFO(more.err);
  REQUIRE(more.code == 0);
  CHECK(more.err.find("generating") == std::string::npos);
  CHECK(more.err.find("seed 1: SDE") == std::string::npos);
  CHECK(more.err.find("p = 16 kscaled seed 3: SDE") != std::string::npos);
  CHECK(rows_of(slurp(out + "/patch-size.csv")).size() == 12);
  CHECK(rows_of(slurp(out + "/patch-size-summary.csv"))[0][3] == "3");
  // Other settings in the same directory would silently reuse stages made otherwise.
  const Result epochs = run(study(out, "--epochs 3"));
  CHECK(epochs.code == 2);
  CHECK(epochs.err.find("--epochs = 2, not --epochs = 3") != std::string::npos);
  const Result temperature = run(study(out, "--epochs 2 --system.T 1.2"));
  CHECK(temperature.code == 2);
  CHECK(temperature.err.find("system.T = 1.1, not system.T = 1.2") != std::string::npos);
  // Settings that change no result are not part of the recipe, nor are the keys only
  // macrodyn run reads (a shared config's [learn] section may change).
  CHECK(run(study(out, "--epochs 2 --train-seeds 1,2 --cached-only --run.threads 1 --output.path elsewhere.h5")).code == 0);
  CHECK(run(study(out, "--epochs 2 --train-seeds 1,2 --cached-only --learn.lr 0.5 --learn.steps 7 --verdict.ensemble 3"))
            .code == 0);

  // Every evaluated cell keeps its warnings; a cell whose predictions leave the physical
  // range is listed in the log, OUT/warnings.txt and the report. Staged by editing one
  // cell's row as an older evaluation (no warnings.txt) would have left it.
  const std::string cell = out + "/p16/naive-s2";
  REQUIRE(std::filesystem::exists(cell + "/warnings.txt"));
  REQUIRE(std::filesystem::exists(out + "/warnings.txt"));
  {
    auto row = rows_of(slurp(cell + "/row.csv")).at(0);
    row[7] = "3.5";  // eq_mean_m_pred: |m| > 1
    std::string line;
    for (const auto& c : row) line += (line.empty() ? "" : ",") + c;
    std::ofstream(cell + "/row.csv") << line << "\n";
    std::filesystem::remove(cell + "/warnings.txt");
  }
  const Result suspect = run(study(out, "--epochs 2 --train-seeds 1,2 --cached-only"));
  INFO(suspect.err);
  REQUIRE(suspect.code == 0);
  CHECK(suspect.err.find("suspect result") != std::string::npos);
  const std::string line =
      "p = 16 naive seed 2: the predicted equilibrium mean of m, 3.5, lies outside its physical range [-1, 1]\n";
  CHECK(slurp(out + "/warnings.txt").find(line) != std::string::npos);
  CHECK(slurp(out + "/report.html").find("<h2>Warnings</h2>") != std::string::npos);
  CHECK(slurp(out + "/report.html").find("lies outside its physical range") != std::string::npos);

  const Result patches = run(study(out + "_x", "--patches 12"));
  CHECK(patches.code == 2);
  CHECK(patches.err.find("--patches") != std::string::npos);
  CHECK(!std::filesystem::exists(out + "_x/truth.h5"));
  const Result twice = run(study(out + "_y", "--train-seeds 1,1"));
  CHECK(twice.code == 2);
  CHECK(twice.err.find("--train-seeds lists 1 twice") != std::string::npos);
}

TEST_CASE("study patch-size: one autoencoder for both methods and every seed", "[e2e][study]") {
  const std::string out = tmp("patch_size_ising_" + std::to_string(getpid()));
  const Result r = run("study patch-size --config " MACRODYN_SOURCE_DIR "/jobs/configs/ising-paramagnet.ini --out " +
                       out + " --patches 16 --pairs 400 --ae-snapshots 100 --ae-epochs 1 --epochs 2 --train-seeds 1,2"
                       " --large.side 32 --truth.runs 4 --truth.sweeps 20 --truth.m0 0.5 --small.runs 20"
                       " --small.sweeps 20 --run.progress false");
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::size_t trained = 0;
  for (std::size_t at = r.err.find("autoencoder and latents"); at != std::string::npos;
       at = r.err.find("autoencoder and latents", at + 1))
    ++trained;
  CHECK(trained == 1);
  const std::string encoder = slurp(out + "/p16/kscaled-s1/encoder.pt");
  REQUIRE(!encoder.empty());
  for (const char* model : {"naive-s1", "kscaled-s2", "naive-s2"})
    CHECK(slurp(out + "/p16/" + model + "/encoder.pt") == encoder);
  CHECK(rows_of(slurp(out + "/patch-size.csv")).size() == 4);
}
