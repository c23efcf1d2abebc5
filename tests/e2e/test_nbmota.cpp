// The NbMoTa alloy through the common commands on a tiny job (tests/e2e/tiny-alloy.ini):
// generate, simulate, train and evaluate take it as any registered system.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "io/dataset.hpp"
#include "run_binary.hpp"

using namespace macrodyn;
using namespace macrodyn::e2e;

TEST_CASE("nbmota: generate, simulate, train and evaluate on the common commands", "[e2e][nbmota]") {
  const std::string dir = tmp("alloy_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string cfg = "--config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny-alloy.ini";
  const Result g = run("generate " + cfg + " --output.path " + dir + "/pairs.h5");
  INFO(g.err);
  REQUIRE(g.code == 0);
  {
    io::DatasetReader r(dir + "/pairs.h5");
    CHECK(r.rows_committed("/pairs") == 20);
    CHECK(r.attr_strings("/pairs", "observables") ==
          std::vector<std::string>{"NbNb", "NbMo", "NbTa", "MoMo", "MoTa", "TaTa"});
    std::vector<double> dt(20), w(20);
    r.read_rows("/pairs/dt", 0, 20, io::DType::f64, dt.data());
    r.read_rows("/pairs/weight", 0, 20, io::DType::f64, w.data());
    for (int i = 0; i < 20; ++i) {
      CHECK(dt[static_cast<std::size_t>(i)] > 0);  // 124 hops of a tile that holds a vacancy
      CHECK(w[static_cast<std::size_t>(i)] == 1.0);  // tiled small states: one vacancy per tile
    }
  }
  const Result s = run("simulate " + cfg + " --output.path " + dir + "/truth.h5");
  INFO(s.err);
  REQUIRE(s.code == 0);
  const Result t = run("train --dataset " + dir + "/pairs.h5 --out " + dir + "/model --epochs 3 --threads 1 --device cpu "
                       "--progress false");
  INFO(t.err);
  REQUIRE(t.code == 0);
  const Result e = run("evaluate --model " + dir + "/model --truth " + dir + "/truth.h5 --output " + dir +
                       "/eval --threads 1 --device cpu --no-plots --progress false");
  INFO(e.err);
  CHECK(e.code == 0);
  CHECK(std::filesystem::exists(dir + "/eval/metrics.csv"));
  // Frames at fixed physical times: every frame after the first lasts system.frame_time.
  const Result timed = run("generate " + cfg + " --system.frame_time 2e-8 --output.path " + dir + "/timed.h5");
  INFO(timed.err);
  REQUIRE(timed.code == 0);
  {
    io::DatasetReader r(dir + "/timed.h5");
    std::vector<double> d(2 * 11);
    r.read_rows("/small/durations", 0, 2, io::DType::f64, d.data());
    for (int k = 0; k < 22; ++k) CHECK(d[static_cast<std::size_t>(k)] == (k % 11 == 0 ? 0.0 : 2e-8));
  }
  CHECK(run("generate " + cfg + " --system.frame_time -1 --output.path " + dir + "/x.h5").code == 2);
  // The waiting-time choice is recorded in every dataset's config; the reference's mean
  // residence time 1/R is an option.
  CHECK(io::DatasetReader(dir + "/pairs.h5").attr_string("/", "config").find("waiting_time = exponential") !=
        std::string::npos);
  const Result mean = run("generate " + cfg + " --system.waiting_time mean_residence --output.path " + dir + "/mean.h5");
  INFO(mean.err);
  REQUIRE(mean.code == 0);
  CHECK(io::DatasetReader(dir + "/mean.h5").attr_string("/", "config").find("waiting_time = mean_residence") !=
        std::string::npos);
  // The model directory keeps the alloy's file keys as text; predict reads it back.
  CHECK(slurp(dir + "/model/model.json").find("\"barrier_model\": \"@data/nbmota/barrier-model.h5\"") !=
        std::string::npos);
  const Result p = run("predict --model " + dir + "/model --z0 0,0,0,0,0,0 --steps 3 --output " + dir + "/p.csv");
  INFO(p.err);
  CHECK(p.code == 0);
  // Missing or malformed data files: one sentence naming the file, before any work.
  const Result no_model = run("generate " + cfg + " --system.barrier_model " + dir + "/none.h5 --output.path " + dir + "/x.h5");
  CHECK(no_model.code == 2);
  CHECK(no_model.err.find(dir + "/none.h5") != std::string::npos);
  const Result not_model = run("generate " + cfg + " --system.barrier_model " + dir + "/pairs.h5 --output.path " + dir + "/x.h5");
  CHECK(not_model.code == 2);
  CHECK(not_model.err.find("layer1/W") != std::string::npos);
  { std::ofstream(dir + "/bad.dump") << "ITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 3.24\n0 3.24\n0 3.24\n"
                                        "ITEM: ATOMS id type x y z\n1 1 1.62 0 0\n"; }
  const Result bad_dump = run("generate " + cfg + " --system.start_dump " + dir + "/bad.dump --output.path " + dir + "/x.h5");
  CHECK(bad_dump.code == 2);
  CHECK(bad_dump.err.find("off the BCC sites") != std::string::npos);
  CHECK(!std::filesystem::exists(dir + "/x.h5"));
  // Bad input: an odd side, a start that is neither 0 nor 1.
  CHECK(run("generate " + cfg + " --large.side 33 --output.path " + dir + "/x.h5").code == 2);
  const Result bad = run("simulate " + cfg + " --truth.m0 2 --output.path " + dir + "/x.h5");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("start = 2") != std::string::npos);
}

TEST_CASE("nbmota: run streams generate's pairs bit for bit on teams of 1, 2 and 4 ranks", "[e2e][nbmota][run][mpi]") {
  const std::string dir = tmp("alloy_run_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string cfg = "--config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny-alloy.ini";
  // Without relax (tiny-alloy.ini), and with the shipped relax: windows of 16 across the
  // tile seams (offset 8) for 7 hops, then a vacancy to each tile's centre.
  const std::string relax = " --upsample.window 16 --upsample.stride 16 --upsample.offset 8 --upsample.events 7";
  for (const std::string& extra : {std::string(), relax}) {
    const std::string tag = extra.empty() ? "plain" : "relax";
    INFO(tag);
    REQUIRE(run("generate " + cfg + extra + " --output.path " + dir + "/gen-" + tag + ".h5").code == 0);
    const std::string job =
        "run " + cfg + extra + " --truth.runs 0 --learn.steps 20 --learn.min_fill 8 --learn.batch 8";
    // One process; then 1 learner with simulator teams: 1, 2 and 3 teams of one rank, one
    // team of 2, two teams of 2, one team of 4 (a 2 x 2 x 1 grid of 16 x 16 x 32 blocks).
    struct Layout {
      int ranks, team;
    };
    const std::vector<Layout> layouts =
        extra.empty() ? std::vector<Layout>{{0, 0}, {2, 1}, {3, 1}, {4, 1}, {3, 2}, {5, 2}, {5, 4}}
                      : std::vector<Layout>{{0, 0}, {3, 2}, {5, 4}};
    io::DatasetReader g(dir + "/gen-" + tag + ".h5");
    std::vector<float> want(20 * 6), got(20 * 6);
    std::vector<double> wdt(20), gdt(20), ww(20), gw(20);
    g.read_rows("/pairs/g_after", 0, 20, io::DType::f32, want.data());
    g.read_rows("/pairs/dt", 0, 20, io::DType::f64, wdt.data());
    g.read_rows("/pairs/weight", 0, 20, io::DType::f64, ww.data());
    for (const Layout& l : layouts) {
      const std::string tagged = dir + "/" + tag + "-r" + std::to_string(l.ranks) + "t" + std::to_string(l.team);
      const Result r = run_mpi(l.ranks, job + (l.ranks ? " --team.size " + std::to_string(l.team) : "") +
                                            " --learn.out " + tagged + "-m --stream.save " + tagged + ".h5");
      INFO(l.ranks << " ranks, team.size " << l.team << ": " << r.err);
      REQUIRE(r.code == 0);
      io::DatasetReader s(tagged + ".h5");
      REQUIRE(s.rows_committed("/pairs") == 20);
      s.read_rows("/pairs/g_after", 0, 20, io::DType::f32, got.data());
      s.read_rows("/pairs/dt", 0, 20, io::DType::f64, gdt.data());
      s.read_rows("/pairs/weight", 0, 20, io::DType::f64, gw.data());
      CHECK(got == want);
      CHECK(gdt == wdt);
      CHECK(gw == ww);
    }
  }
}

TEST_CASE("nbmota: the notes' upsampling protocol gives their mean partial-evolution time at 2000 K",
          "[e2e][nbmota]") {
  // jobs/configs/nbmota.ini (shifted tiles, exactly equimolar, relax windows across the seams
  // for 7 hops, one vacancy per tile centre, 124 hops of a vacancy's tile), with 2 small runs
  // of 50 frames and 200 pairs: the notes give a mean partial dt of about 2.04e-8 s.
  const std::string out = tmp("alloy_protocol_" + std::to_string(getpid()) + ".h5");
  const Result g = run("generate --config " MACRODYN_SOURCE_DIR "/jobs/configs/nbmota.ini --small.runs 2 "
                       "--small.sweeps 50 --large.snapshots 200 --run.progress false --output.overwrite true "
                       "--output.path " + out);
  INFO(g.err);
  REQUIRE(g.code == 0);
  io::DatasetReader r(out);
  std::vector<double> dt(200), w(200);
  r.read_rows("/pairs/dt", 0, 200, io::DType::f64, dt.data());
  r.read_rows("/pairs/weight", 0, 200, io::DType::f64, w.data());
  double mean = 0, ss = 0;
  for (double x : dt) mean += x / 200;
  for (double x : dt) ss += (x - mean) * (x - mean);
  const double se = std::sqrt(ss / 199 / 200);
  INFO("mean partial dt " << mean << " +- " << se);
  CHECK(std::fabs(mean - 2.04e-8) <= 4 * se + 0.005e-8);  // the notes' value has 3 digits
  for (double x : w) CHECK(x == 1.0);  // one vacancy per tile after the relax
}


TEST_CASE("nbmota: one SDE conditioned on T from datasets at several temperatures, used at any T",
          "[e2e][nbmota][conditions]") {
  const std::string dir = tmp("alloy_cond_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string cfg = "--config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny-alloy.ini";
  for (const char* T : {"1800", "2400"}) {
    const Result g = run("generate " + cfg + " --system.T " + T + " --output.path " + dir + "/T" + T + ".h5");
    INFO(g.err);
    REQUIRE(g.code == 0);
  }
  const Result s = run("simulate " + cfg + " --system.T 2000 --output.path " + dir + "/truth2000.h5");
  INFO(s.err);
  REQUIRE(s.code == 0);
  const std::string both = "train --dataset " + dir + "/T1800.h5 --dataset " + dir + "/T2400.h5 ";
  const std::string opts = " --epochs 2 --threads 1 --device cpu --progress false --val-fraction 0.1";
  for (const char* drift : {"mlp", "onsager"}) {
    const std::string model = dir + "/model-" + drift;
    const Result t = run(both + "--condition T --drift " + drift + " --out " + model + opts);
    INFO(t.err);
    REQUIRE(t.code == 0);
    CHECK(t.out.find("conditioned on T at 1800") != std::string::npos);
    std::ifstream json(model + "/model.json");
    const std::string text((std::istreambuf_iterator<char>(json)), std::istreambuf_iterator<char>());
    CHECK(text.find("\"conditions\": [\"T\"]") != std::string::npos);
    CHECK(text.find("\"condition_values\": [1800, 2400]") != std::string::npos);
    CHECK(text.find(std::string("\"drift\": \"") + drift + "\"") != std::string::npos);
    // 2 held out of each dataset's 20 pairs.
    CHECK(text.find("\"val_pairs\": 4") != std::string::npos);
    // At 2000 K (between the training temperatures: the fitted time unit) and at 1800 K.
    for (const char* T : {"2000", "1800"}) {
      const Result p = run("predict --model " + model + " --condition " + T + " --z0 0,0,0,0,0,0 --steps 5 --ensemble 3 "
                           "--device cpu --progress false --output " + dir + "/p" + drift + T + ".csv");
      INFO(p.err);
      CHECK(p.code == 0);
    }
    const Result e = run("evaluate --model " + model + " --truth " + dir + "/truth2000.h5 --output " + dir + "/eval-" +
                         drift + " --threads 1 --device cpu --no-plots --progress false");
    INFO(e.err);
    CHECK(e.code == 0);
  }
  // The time unit at 2000 K lies between those at 1800 and 2400 K (faster when hotter).
  std::ifstream json(dir + "/model-mlp/model.json");
  const std::string text((std::istreambuf_iterator<char>(json)), std::istreambuf_iterator<char>());
  const auto units_at = text.find("\"condition_time_units\": [");
  REQUIRE(units_at != std::string::npos);
  double u1800 = 0, u2400 = 0;
  REQUIRE(std::sscanf(text.c_str() + units_at, "\"condition_time_units\": [%lf, %lf]", &u1800, &u2400) == 2);
  CHECK(u1800 > u2400);

  // The small-system baseline: consecutive frames of the 1024-site runs (2 runs x 10
  // intervals per T, 2 of each T's 20 held out), loss factor 1.
  const Result small = run(both + "--condition T --method small --out " + dir + "/model-small" + opts);
  INFO(small.err);
  REQUIRE(small.code == 0);
  {
    std::ifstream f(dir + "/model-small/model.json");
    const std::string t((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(t.find("\"method\": \"small\"") != std::string::npos);
    CHECK(t.find("\"loss_factor\": 1,") != std::string::npos);
    CHECK(t.find("\"train_pairs\": 36,") != std::string::npos);
  }

  // Refused with a sentence: no --condition for several datasets; a model with a condition
  // without its value; the same T twice; another key differing.
  const Result none = run(both + "--out " + dir + "/x" + opts);
  CHECK(none.code == 2);
  CHECK(none.err.find("--condition") != std::string::npos);
  const Result no_value = run("predict --model " + dir + "/model-mlp --z0 0,0,0,0,0,0 --steps 5 --output " + dir + "/q.csv");
  CHECK(no_value.code == 2);
  CHECK(no_value.err.find("--condition is required") != std::string::npos);
  const Result twice = run("train --dataset " + dir + "/T1800.h5 --dataset " + dir + "/T1800.h5 --condition T --out " +
                           dir + "/y" + opts);
  CHECK(twice.code == 2);
  CHECK(twice.err.find("the same T = 1800") != std::string::npos);
  const Result other = run("generate " + cfg + " --system.T 2600 --system.waiting_time mean_residence --output.path " +
                           dir + "/other.h5");
  REQUIRE(other.code == 0);
  const Result mixed = run(both + "--dataset " + dir + "/other.h5 --condition T --out " + dir + "/z" + opts);
  CHECK(mixed.code == 2);
  CHECK(mixed.err.find("only --condition T may differ") != std::string::npos);
  const Result bad_key = run(both + "--condition J --out " + dir + "/w" + opts);
  CHECK(bad_key.code == 2);
  CHECK(bad_key.err.find("has no key J") != std::string::npos);
}
