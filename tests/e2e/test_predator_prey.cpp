// The predator-prey SPDE through the common commands (system.name = predator_prey, its
// [system] keys): generate is bit for bit the same on 1 and 2 threads; its pairs are one
// step of dt each; train, simulate and evaluate run on it and compare u and v with the
// truth; old field.* keys, another system's keys, a factor of 3 and `run` are refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "io/dataset.hpp"
#include "run_binary.hpp"

using namespace macrodyn;
using namespace macrodyn::e2e;

namespace {

std::string pp(const std::string& subcommand) {
  return subcommand + " --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny-pp.ini --run.progress false";
}

std::vector<double> read_f64(const io::DatasetReader& r, const std::string& table, std::uint64_t rows, std::size_t per) {
  std::vector<double> v(rows * per);
  r.read_rows(table, 0, rows, io::DType::f64, v.data());
  return v;
}

}  // namespace

TEST_CASE("predator_prey generate: the same pairs on 1 and 2 threads, one step of dt each", "[e2e][predator_prey]") {
  const std::string a = tmp("pp_gen1_" + std::to_string(getpid()) + ".h5");
  const std::string b = tmp("pp_gen2_" + std::to_string(getpid()) + ".h5");
  const Result r1 = run(pp("generate") + " --run.threads 1 --output.path " + a);
  INFO(r1.out << r1.err);
  REQUIRE(r1.code == 0);
  const Result r2 = run(pp("generate") + " --run.threads 2 --output.path " + b);
  REQUIRE(r2.code == 0);
  io::DatasetReader da(a), db(b);
  const std::uint64_t P = da.rows_committed("/pairs");
  CHECK(P == 800);  // 400 upsampled snapshots and 400 random configurations, one pair each
  for (const char* t : {"/pairs/g_before", "/pairs/g_after", "/pairs/z_star"}) {
    std::vector<float> x(P * 2), y(P * 2);
    da.read_rows(t, 0, P, io::DType::f32, x.data());
    db.read_rows(t, 0, P, io::DType::f32, y.data());
    INFO(t);
    CHECK(x == y);
  }
  const auto dt = read_f64(da, "/pairs/dt", P, 1);
  CHECK(std::all_of(dt.begin(), dt.end(), [](double d) { return d == 0.01; }));
  // The small runs' means start near (m, 1 - m) with m in [0.45, 0.55] and move toward
  // the fixed point (0.4, 0.6).
  std::vector<float> obs(8 * 101 * 2);
  da.read_rows("/small/observables", 0, 8, io::DType::f32, obs.data());
  for (int r = 0; r < 8; ++r) {
    const float u0 = obs[static_cast<std::size_t>(r * 101 * 2)], v0 = obs[static_cast<std::size_t>(r * 101 * 2 + 1)];
    CHECK(u0 >= 0.44f);
    CHECK(u0 <= 0.56f);
    CHECK(std::fabs(u0 + v0 - 1.0f) < 1e-3f);
  }
}

TEST_CASE("predator_prey train, simulate and evaluate compare u and v with the truth", "[e2e][predator_prey]") {
  const std::string id = std::to_string(getpid());
  const std::string data = tmp("pp_data_" + id + ".h5"), truth = tmp("pp_truth_" + id + ".h5");
  const std::string model = tmp("pp_model_" + id), eval = tmp("pp_eval_" + id);
  std::filesystem::remove_all(eval);
  REQUIRE(run(pp("generate") + " --run.threads 2 --output.path " + data).code == 0);
  const Result s = run(pp("simulate") + " --run.threads 2 --output.path " + truth);
  INFO(s.out << s.err);
  REQUIRE(s.code == 0);
  {
    io::DatasetReader t(truth);
    CHECK(t.rows_committed("/trajectories") == 8);  // 4 runs per m0 value
  }
  const Result tr = run("train --dataset " + data + " --out " + model +
                        " --epochs 5 --threads 1 --device cpu --overwrite");
  INFO(tr.out << tr.err);
  REQUIRE(tr.code == 0);
  const std::string json = slurp(model + "/model.json");
  CHECK(json.find("\"variables\": [\"u\", \"v\"]") != std::string::npos);
  CHECK(json.find("\"time_unit_kind\": \"physical\"") != std::string::npos);
  {
    // The latents are z-scored (System::latent_normalisation, docs/design.md §8.6.4): the
    // offset and scale are the mean and unbiased std of the training z0 = z* (the first
    // 760 of the 800 pairs; the last 5 % are held out), not min and range.
    io::DatasetReader d(data);
    std::vector<float> zs(800 * 2);
    d.read_rows("/pairs/z_star", 0, 800, io::DType::f32, zs.data());
    auto numbers_after = [&](const std::string& key) {
      const std::size_t at = json.find("\"" + key + "\": [");
      REQUIRE(at != std::string::npos);
      const char* p = json.c_str() + json.find('[', at) + 1;
      char* end = nullptr;
      const double a = std::strtod(p, &end);
      const double b = std::strtod(end + 1, nullptr);
      return std::pair<double, double>{a, b};
    };
    const auto offset = numbers_after("offset"), scale = numbers_after("scale");
    for (int k = 0; k < 2; ++k) {
      double sum = 0, ss = 0, lo = INFINITY;
      for (int i = 0; i < 760; ++i) sum += zs[static_cast<std::size_t>(2 * i + k)];
      const double mean = sum / 760;
      for (int i = 0; i < 760; ++i) {
        const double v = zs[static_cast<std::size_t>(2 * i + k)];
        ss += (v - mean) * (v - mean);
        lo = std::min(lo, v);
      }
      const double sd = std::sqrt(ss / 759);
      INFO("variable " << k << ": mean " << mean << ", std " << sd << ", min " << lo);
      CHECK((k == 0 ? offset.first : offset.second) == Approx(mean).epsilon(1e-9));
      CHECK((k == 0 ? scale.first : scale.second) == Approx(sd).epsilon(1e-9));
    }
  }
  // predict steps by the model's training delta t (0.01) unless told otherwise.
  const Result pr = run("predict --model " + model + " --z0 0.5,0.5 --steps 20 --ensemble 4 --progress false --output " +
                        tmp("pp_pred_" + id + ".csv"));
  INFO(pr.out << pr.err);
  CHECK(pr.code == 0);
  CHECK(pr.out.find("20 steps of dt = 0.01 model time units") != std::string::npos);
  const Result ev = run("evaluate --model " + model + " --truth " + truth + " --output " + eval);
  INFO(ev.out << ev.err);
  REQUIRE(ev.code == 0);
  // Runs grouped by their initial (m, k), k the middle of its range when not given; u and
  // v side by side, with band plots.
  CHECK(ev.out.find("eq u true/pred") != std::string::npos);
  CHECK(ev.out.find("eq v true/pred") != std::string::npos);
  CHECK(std::filesystem::exists(eval + "/bands_m_0.45_k_0.1.png"));
  CHECK(std::filesystem::exists(eval + "/bands_m_0.55_k_0.1.png"));
  const std::string metrics = slurp(eval + "/metrics.csv");
  CHECK(metrics.find("rel_error_u,rel_error_v") != std::string::npos);
  // Every evaluation ends with its verdict (here: too few truth runs to judge).
  REQUIRE(std::filesystem::exists(eval + "/verdict.txt"));
  CHECK(slurp(eval + "/verdict.txt").find("not judged") != std::string::npos);
  CHECK(ev.out.find("not judged") != std::string::npos);
}

TEST_CASE("predator_prey refuses field.* keys and another system's keys with a sentence", "[e2e][predator_prey]") {
  const Result f = run(pp("generate") + " --field.dt 0.02");
  CHECK(f.code != 0);
  CHECK(f.err.find("field.dt") != std::string::npos);
  const Result t = run(pp("generate") + " --system.T 2.0");
  CHECK(t.code != 0);
  CHECK(t.err.find("system.T is not a key of system predator_prey") != std::string::npos);
  const Result w = run(pp("generate") + " --system.laplacian curvy");
  CHECK(w.code != 0);
  CHECK(w.err.find("system.laplacian = curvy is not one of grid, physical") != std::string::npos);
  const Result f3 = run(pp("generate") + " --upsample.factor 3 --small.side 25 --large.side 225 --partial.patch 25");
  CHECK(f3.code != 0);
  CHECK(f3.err.find("upsample.factor = 3") != std::string::npos);
  // An explicit step above the grid's stability limit (the physical Laplacian on 50 cells:
  // dx^2 / 2 = 2e-4 < dt = 0.01), before any work.
  const Result unstable = run(pp("generate") + " --system.laplacian physical");
  CHECK(unstable.code == 2);
  CHECK(unstable.err.find("system.dt = 0.01 is above the explicit stability limit 0.0002") != std::string::npos);
  const Result semi = run(pp("generate") + " --system.scheme semi_implicit");
  CHECK(semi.code == 2);
  CHECK(semi.err.find("system.scheme = semi_implicit is solved by simulate's distributed solver only") !=
        std::string::npos);
  // The memory estimate counts 8 bytes per cell (two float32 channels): 1000 runs x 30001
  // frames x 1000 cells is 224 GiB of small frames (a byte per site would say 28).
  const Result big = run(pp("generate") + " --small.side 1000 --large.side 2000 --partial.patch 400 --small.runs 1000 "
                                          "--small.sweeps 30000");
  CHECK(big.code == 2);
  CHECK(big.err.find("needs about 224 GiB") != std::string::npos);
  // run takes the fields (test_run.cpp), with one closure code per field.
  const Result runs = run(pp("run") + " --closure.kind autoencoder --learn.closure_dim 3");
  CHECK(runs.code == 2);
  CHECK(runs.err.find("learn.closure_dim = 3: the closure of system predator_prey has one code per field, 2") !=
        std::string::npos);
}

TEST_CASE("predator_prey simulate gives the same trajectories on 1, 2 and 4 ranks", "[e2e][predator_prey][mpi]") {
  // tests/mpi/test_fields.cpp holds them to the serial reference; here the program: the
  // same /trajectories from mpiexec -n 1, 2 and 4, in 1-D and 2-D, and the values those
  // of the former `macrodyn fields` at 523715f for one run (0.45:0.1 at frame 40, 1-D).
  for (int dim : {1, 2}) {
    const std::string id = std::to_string(getpid()) + "_" + std::to_string(dim);
    const std::string common = " --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny-pp.ini --run.progress false --large.side " +
                               std::string(dim == 1 ? "100" : "24") + " --truth.runs 2 --partial.patch " +
                               (dim == 1 ? "20" : "12") + " --system.name " +
                               (dim == 1 ? "predator_prey" : "predator_prey2d") +
                               " --truth.m0 0.45:0.1,0.55:0.1 --truth.sweeps 40";
    std::vector<float> first;
    for (int ranks : {1, 2, 4}) {
      const std::string path = tmp("pp_sim_" + id + "_" + std::to_string(ranks) + ".h5");
      const Result s = run_mpi(ranks, "simulate" + common + " --output.path " + path);
      INFO(s.out << s.err);
      REQUIRE(s.code == 0);
      io::DatasetReader r(path);
      REQUIRE(r.rows_committed("/trajectories") == 4);
      CHECK(r.attr_strings("/trajectories", "initial_columns") == std::vector<std::string>{"m", "k"});
      std::vector<float> obs(4 * 41 * 2);
      std::vector<double> initial(8);
      r.read_rows("/trajectories/observables", 0, 4, io::DType::f32, obs.data());
      r.read_rows("/trajectories/initial", 0, 4, io::DType::f64, initial.data());
      INFO("dim " << dim << ", " << ranks << " rank(s)");
      CHECK(initial == std::vector<double>{0.45, 0.1, 0.45, 0.1, 0.55, 0.1, 0.55, 0.1});
      if (first.empty()) first = obs;
      CHECK(obs == first);
      // Run 0 (m, k) = (0.45, 0.1), seed 1, frame 40: the means the former `macrodyn
      // fields --truth.sweeps 51 --field.test_m 0.45,0.55 --field.test_k 0.1` wrote at
      // 523715f (float64 0.4468574059009552, 0.5754715132713318), rounded to float32.
      if (dim == 1) {
        CHECK(obs[40 * 2] == 0.4468574059009552f);
        CHECK(obs[40 * 2 + 1] == 0.5754715132713318f);
      }
    }
  }
  // A spin system's simulate is still one process; the old command name says where it went.
  const Result spin = run_mpi(2, "simulate --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --run.progress false "
                                  "--output.path " + tmp("pp_spin_refused.h5"));
  CHECK(spin.code == 2);
  CHECK(spin.err.find("only systems with a distributed solver take mpiexec") != std::string::npos);
  const Result old = run("fields --config " MACRODYN_SOURCE_DIR "/jobs/configs/predator-prey-2d.ini");
  CHECK(old.code == 2);
  CHECK(old.err.find("macrodyn fields is now macrodyn simulate") != std::string::npos);
}
