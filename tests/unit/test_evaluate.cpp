// lib/jobs/evaluate: truth macrostates, the evaluation protocol and predict, on small
// ground-truth files from simulate() and fake model directories (model.json + TorchScript
// files of an untrained SdeModel, and an encoder of a one-epoch autoencoder).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/dataset.hpp"
#include "jobs/config.hpp"
#include "jobs/evaluate.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_info.hpp"
#include "jobs/predict.hpp"
#include "model_info_fixture.hpp"
#include "learn/autoencoder.hpp"
#include "learn/exported.hpp"
#include "learn/sde.hpp"
#include "sampling/partial_evolution.hpp"
#include "systems/system.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::sampling;
using namespace macrodyn::systems;

using namespace macrodyn;
using macrodyn::testing::make_info;
using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;

std::string tmp(const std::string& name) { return std::string(MACRODYN_TEST_TMPDIR) + "/eval_" + name; }

// Ground truth: 4 runs from each of m0 = 0.5 and -0.5, 20 sweeps, side 16, made once per
// process; `tag` keeps the files of different test cases apart (ctest -j runs them at once).
std::string truth_file(const std::string& tag, const std::string& system, bool states, int L = 16) {
  const std::string path = tmp(tag + "_" + system + (states ? "_states" : "_nostates") + "_L" + std::to_string(L) + ".h5");
  static std::map<std::string, bool> made;
  if (made[path]) return path;
  Config c;
  c.system = system;
  const double T = system == "curie_weiss" ? 1.1 : 2.5;
  c.system_params = {{"T", T}, {"h", 0.1}};
  c.large_side = L;
  // Without states: one patch, since simulate keeps the states whenever the tiling needs
  // them (rho of K > 1 patches is not the lattice's).
  c.patch = states ? 8 : L;
  c.closure = states ? "autoencoder" : "none";
  c.truth_runs = 4;
  c.truth_sweeps = 20;
  c.truth_init = InitialKind::given_m0;
  c.truth_m0 = {condition_of(0.5), condition_of(-0.5)};
  c.output = path;
  c.overwrite = true;
  c.progress = false;
  c.threads = 2;
  c.seed = 11;
  c.ini_text = "[system]\nname = " + system + "\nT = " + std::to_string(T) + "\nh = 0.1\n";
  validate(c, Job::simulate);
  simulate(c);
  made[path] = true;
  return path;
}

// model.json + drift.pt / diffusion.pt of an untrained constant-diffusion SDE.
std::string model_dir(const std::string& name, const ModelInfo& info, std::uint64_t seed = 3) {
  const std::string dir = tmp("model_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_model_info(dir, info);
  learn::SdeModel(info.dim(), learn::Diffusion::constant, seed, "cpu").export_torchscript(dir);
  return dir;
}

// drift = a, sigma = s I for every state (model coordinates).
macro::SdeFunctions constant_sde(int d, float a, float s) {
  return macro::SdeFunctions{d, [d, a, s](const float*, std::int64_t B, float* mu, float* sigma) {
                               for (std::int64_t i = 0; i < B * d; ++i) mu[i] = a;
                               for (std::int64_t b = 0; b < B; ++b)
                                 for (int i = 0; i < d; ++i)
                                   for (int j = 0; j < d; ++j) sigma[(b * d + i) * d + j] = i == j ? s : 0.0f;
                             }};
}

std::vector<double> stored_observables(const std::string& truth, std::int64_t& runs, std::int64_t& frames, int& d) {
  io::DatasetReader r(truth);
  const auto s = r.shape("/trajectories/observables");
  runs = static_cast<std::int64_t>(r.rows_committed("/trajectories"));
  frames = static_cast<std::int64_t>(s[1]);
  d = static_cast<int>(s[2]);
  std::vector<float> v(static_cast<std::size_t>(runs * frames * d));
  r.read_rows("/trajectories/observables", 0, static_cast<std::uint64_t>(runs), io::DType::f32, v.data());
  return std::vector<double>(v.begin(), v.end());
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string tok; std::getline(in, tok, sep);) out.push_back(tok);
  return out;
}

bool have_gnuplot() { return std::system("command -v gnuplot > /dev/null 2>&1") == 0; }

template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    std::printf("expected error: %s\n", e.what());
    return e.what();
  }
  FAIL("no exception of the expected type");
  return "";
}

}  // namespace

TEST_CASE("evaluate: truth macrostates from the states equal the stored whole-lattice observables for K = 1",
          "[evaluate]") {
  const std::string truth = truth_file("k1", "ising2d", true);
  std::int64_t runs = 0, frames = 0;
  int d = 0;
  const auto stored = stored_observables(truth, runs, frames, d);
  REQUIRE(d == 2);

  // K = 1: phi is the whole lattice as a torus, which is what the stored observables are.
  ModelInfo info = make_info("ising2d", 16, 16, 0);
  const std::string dir = model_dir("ising_k1", info);
  const auto t = truth_macrostates(info, dir, truth, nullptr, 2);
  CHECK(t.from_states);
  REQUIRE(t.runs == runs);
  REQUIRE(t.frames == frames);
  REQUIRE(t.z.size() == stored.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < stored.size(); ++i) worst = std::max(worst, std::fabs(t.z[i] - stored[i]));
  CHECK(worst < 1e-6);  // float32 rounding of values in [0, 1]
  for (std::int64_t r = 0; r < runs; ++r) CHECK(t.durations[static_cast<std::size_t>(r * frames)] == 0.0);

  // K = 4 with a normalisation: m is a site average (equal on any tiling), rho is the mean
  // over the patches as tori (different from the whole lattice's), both normalised.
  info = make_info("ising2d", 16, 8, 0);
  info.offset = {0.25, 0.1};
  info.scale = {0.5, 2.0};
  const auto t4 = truth_macrostates(info, model_dir("ising_k4", info), truth, nullptr, 1);
  double worst_m = 0.0, most_rho = 0.0;
  for (std::int64_t i = 0; i < runs * frames; ++i) {
    worst_m = std::max(worst_m, std::fabs(t4.z[i * 2] * 0.5 + 0.25 - stored[i * 2]));
    most_rho = std::max(most_rho, std::fabs(t4.z[i * 2 + 1] * 2.0 + 0.1 - stored[i * 2 + 1]));
  }
  CHECK(worst_m < 1e-6);
  CHECK(most_rho > 1e-3);
  // ... and rho is exactly macro_observables on the model's tiling (recomputed here).
  io::DatasetReader r(truth);
  std::vector<std::int8_t> x(16 * 16);
  r.read_slab("/trajectories/states", {3, 7, 0, 0}, {1, 1, 16, 16}, io::DType::i8, x.data());
  double phi[2];
  macro_observables(*make_system("ising2d", {{"T", 2.5}, {"h", 0.1}}), x.data(), 16, 8, Boundary::periodic, phi);
  CHECK(t4.z[(3 * frames + 7) * 2 + 1] == Approx((phi[1] - 0.1) / 2.0).margin(1e-12));
}

TEST_CASE("evaluate: a drift-free, noise-free model gives the hand-computed relative error", "[evaluate]") {
  const std::string truth = truth_file("known", "curie_weiss", false);
  ModelInfo info = make_info("curie_weiss", 16, 8, 0);
  info.offset = {0.1};
  info.scale = {0.5};
  info.time_unit = 2.0;
  info.time_unit_kind = "mean_dt";
  const std::string dir = model_dir("cw_norm", info);
  const auto t = truth_macrostates(info, dir, truth, nullptr, 1);
  CHECK_FALSE(t.from_states);  // no states stored; m is valid on every tiling
  std::int64_t runs = 0, frames = 0;
  int d = 0;
  const auto stored = stored_observables(truth, runs, frames, d);
  REQUIRE(t.z.size() == stored.size());
  for (std::size_t i = 0; i < stored.size(); ++i) REQUIRE(t.z[i] == Approx((stored[i] - 0.1) / 0.5).margin(1e-12));

  const std::int64_t T = frames;
  double dsum = 0.0;
  for (std::int64_t r = 0; r < runs; ++r)
    for (std::int64_t k = 1; k < T; ++k) dsum += t.durations[static_cast<std::size_t>(r * T + k)];
  const double delta = dsum / static_cast<double>(runs * (T - 1)) / 2.0;

  for (bool interpolate : {false, true}) {
    DYNAMIC_SECTION("interpolate " << interpolate) {
      EvaluateOptions o;
      o.model_dir = dir;
      o.truth_path = truth;
      o.output_dir = tmp(std::string("out_known_") + (interpolate ? "interp" : "frames"));
      fs::create_directories(o.output_dir);
      o.plots = false;
      o.interpolate = interpolate;
      o.mmd_stride = T;  // only t = 0, where prediction and truth are the same samples
      o.threads = 2;
      const auto res = evaluate_truth(info, t, constant_sde(1, 0.0f, 0.0f), o);
      CHECK(res.delta == Approx(delta).epsilon(1e-12));
      REQUIRE(res.groups.size() == 2);
      CHECK(res.initial_columns == std::vector<std::string>{"m0"});
      CHECK(res.groups[0].initial == std::vector<double>{-0.5});
      CHECK(res.groups[1].initial == std::vector<double>{0.5});

      // By hand: truth runs on the grid (own linear interpolation, the last value held
      // past a run's end), means,
      // prediction = the constant mean initial state.
      double mean_rel = 0.0;
      for (std::size_t gi = 0; gi < 2; ++gi) {
        const double m0 = gi == 0 ? -0.5 : 0.5;
        std::vector<double> mt(static_cast<std::size_t>(T), 0.0);
        double p0 = 0.0, eq_true = 0.0;
        int n = 0;
        for (std::int64_t r = 0; r < runs; ++r) {
          if (t.initial[static_cast<std::size_t>(r)] != m0) continue;
          ++n;
          const double* z = t.z.data() + r * T;
          p0 += z[0];
          std::vector<double> own(static_cast<std::size_t>(T));
          double c = 0.0;
          for (std::int64_t k = 0; k < T; ++k) own[k] = (c += t.durations[static_cast<std::size_t>(r * T + k)]) / 2.0;
          for (std::int64_t k = 0; k < T; ++k) {
            double v = z[k];
            if (interpolate) {
              const double tk = k * delta;
              std::int64_t j = 0;  // segment [own[j], own[j+1]] used (the last one beyond the end)
              while (j + 2 < T && own[j + 1] < tk) ++j;
              v = tk >= own[T - 1] ? z[T - 1] : z[j] + (z[j + 1] - z[j]) * (tk - own[j]) / (own[j + 1] - own[j]);
            }
            mt[k] += v;
          }
        }
        REQUIRE(n == 4);
        p0 /= n;
        double num = 0.0, den = 0.0;
        for (std::int64_t k = 0; k < T; ++k) {
          mt[k] /= n;
          num += (p0 - mt[k]) * (p0 - mt[k]);
          den += mt[k] * mt[k];
          if (k >= T / 2) eq_true += mt[k] * 0.5 + 0.1;
        }
        eq_true /= static_cast<double>(T - T / 2);
        const auto& g = res.groups[gi];
        CHECK(g.runs == 4);
        CHECK(g.rel_error == Approx(num / den).epsilon(1e-10));
        CHECK(g.rel_error_per_dim[0] == Approx(num / den).epsilon(1e-10));
        CHECK(g.eq_mean_true[0] == Approx(eq_true).epsilon(1e-10));
        CHECK(g.eq_mean_pred[0] == Approx(m0).margin(1e-12));  // given m0: every run starts at m0 exactly
        CHECK(g.eq_std_pred[0] == Approx(0.0).margin(1e-12));
        CHECK(g.eq_std_true[0] > 0.0);
        CHECK(std::fabs(g.mmd2) < 1e-12);
        mean_rel += g.rel_error / 2;
        std::printf("interpolate %d, m0 %g: rel_error %.6g (hand %.6g)\n", interpolate, m0, g.rel_error, num / den);
      }
      CHECK(res.mean.rel_error == Approx(mean_rel).epsilon(1e-12));
      CHECK(res.mean.runs == 8);

      // metrics.csv: comments, header, one row per m0, then the mean.
      const auto lines = lines_of(res.metrics_csv);
      std::size_t i = 0;
      while (i < lines.size() && lines[i].rfind("#", 0) == 0) ++i;
      CHECK(i >= 4);
      REQUIRE(lines.size() == i + 4);
      CHECK(lines[i] == "m0,runs,rel_error,rel_error_m,eq_mean_true_m,eq_mean_pred_m,eq_std_true_m,eq_std_pred_m,mmd2");
      const auto r0 = split(lines[i + 1], ','), r1 = split(lines[i + 2], ','), rm = split(lines[i + 3], ',');
      REQUIRE(r0.size() == 9);
      CHECK(r0[0] == "-0.5");
      CHECK(r0[1] == "4");
      CHECK(std::stod(r0[2]) == Approx(res.groups[0].rel_error).epsilon(1e-8));
      CHECK(r1[0] == "0.5");
      CHECK(rm[0] == "mean");
      CHECK(rm[1] == "8");
      CHECK(std::stod(rm[2]) == Approx(mean_rel).epsilon(1e-8));
    }
  }
}

TEST_CASE("evaluate_model writes metrics and plots for an exported model, reproducibly", "[evaluate]") {
  const std::string truth = truth_file("model", "curie_weiss", false);
  const ModelInfo info = make_info("curie_weiss", 16, 8, 0);
  EvaluateOptions o;
  o.model_dir = model_dir("cw_plain", info);
  o.truth_path = truth;
  o.output_dir = tmp("out_model/a");
  o.ensemble = 3;
  o.seed = 5;
  o.device = "cpu";
  o.threads = 2;
  o.plots = have_gnuplot();
  const auto res = evaluate_model(o);
  REQUIRE(res.groups.size() == 2);
  CHECK(res.groups[0].runs == 4);
  CHECK(res.groups[0].mean_pred.size() == res.times.size());
  for (const auto& g : res.groups) {
    CHECK(std::isfinite(g.rel_error));
    CHECK(std::isfinite(g.mmd2));
    CHECK(g.mmd2 >= 0.0);
    CHECK(g.eq_std_pred[0] > 0.0);  // sigma = 1: the prediction spreads
  }
  CHECK(res.mmd_stride == 1);
  if (o.plots) {
    REQUIRE(res.plots.size() == 2);
    CHECK(res.plots[0] == o.output_dir + "/bands_m0_-0.5.png");
    for (const auto& p : res.plots) CHECK(fs::file_size(p) > 1000);
  }
  o.output_dir = tmp("out_model/b");
  o.plots = false;
  const auto again = evaluate_model(o);
  auto body = [](const std::string& path) {
    auto l = lines_of(path);
    l.erase(std::remove_if(l.begin(), l.end(), [](const std::string& s) { return s.rfind("#", 0) == 0; }), l.end());
    return l;
  };
  CHECK(body(res.metrics_csv) == body(again.metrics_csv));
  o.seed = 6;
  o.output_dir = tmp("out_model/c");
  CHECK(body(evaluate_model(o).metrics_csv) != body(res.metrics_csv));
}

TEST_CASE("evaluate: the closure of the truth is the mean of the encoder's codes over the K patches", "[evaluate]") {
  const std::string truth = truth_file("closure", "ising2d", true);
  io::DatasetReader r(truth);
  const auto runs = static_cast<std::int64_t>(r.rows_committed("/trajectories"));
  const auto frames = static_cast<std::int64_t>(r.shape("/trajectories/states")[1]);
  std::vector<std::int8_t> states(static_cast<std::size_t>(runs * frames * 256));
  r.read_rows("/trajectories/states", 0, static_cast<std::uint64_t>(runs), io::DType::i8, states.data());
  const learn::SpinSnapshots snaps{16, 8, runs * frames, states.data()};

  learn::AutoencoderOptions ao;
  ao.closure_dim = 2;
  ao.decoder = "patch";
  ao.epochs = 1;
  ao.batch = 32;
  ao.seed = 1;
  ao.device = "cpu";
  const auto ae = learn::ClosureAutoencoder::train(snaps, ao);
  ModelInfo info = make_info("ising2d", 16, 8, 2);
  info.offset = {0.0, 0.0, 0.1, -0.2};
  info.scale = {1.0, 1.0, 2.0, 3.0};
  const std::string dir = model_dir("ising_closure", info);
  ae.export_encoder(dir + "/encoder.pt");

  std::vector<float> codes(static_cast<std::size_t>(runs * frames * 2));
  ae.encode_snapshots(snaps, codes.data());
  const learn::ExportedEncoder enc(dir + "/encoder.pt", 8, 2, "cpu");
  const auto t = truth_macrostates(info, dir, truth, &enc, 2);
  REQUIRE(t.dim == 4);
  double worst = 0.0, spread = 0.0;
  for (std::int64_t i = 0; i < runs * frames; ++i)
    for (int c = 0; c < 2; ++c) {
      const double phys = t.z[i * 4 + 2 + c] * info.scale[2 + c] + info.offset[2 + c];
      worst = std::max(worst, std::fabs(phys - codes[i * 2 + c]));
      spread = std::max(spread, static_cast<double>(std::fabs(codes[i * 2 + c] - codes[c])));
    }
  std::printf("closure: largest difference to encode_snapshots %.3g (codes vary by %.3g)\n", worst, spread);
  CHECK(worst < 1e-5);
  CHECK(spread > 1e-4);

  // The whole protocol with the encoder loaded from the model directory.
  EvaluateOptions o;
  o.model_dir = dir;
  o.truth_path = truth;
  o.output_dir = tmp("out_closure");
  o.plots = false;
  o.device = "cpu";
  const auto res = evaluate_model(o);
  REQUIRE(res.groups.size() == 2);
  CHECK(res.from_states);
  CHECK(res.variables == std::vector<std::string>{"m", "rho", "c0", "c1"});
  CHECK(res.groups[1].eq_mean_true[0] > 0.3);  // from m0 = 0.5 at T = 2.5, h = 0.1 (about 0.7)
}

TEST_CASE("evaluate: bad inputs are refused with one sentence naming the option or file", "[evaluate]") {
  const std::string cw = truth_file("bad", "curie_weiss", false);
  const std::string ising_nostates = truth_file("bad", "ising2d", false);
  const ModelInfo cw_info = make_info("curie_weiss", 16, 8, 0);
  const std::string cw_dir = model_dir("cw_bad", cw_info);
  EvaluateOptions o;
  o.model_dir = cw_dir;
  o.truth_path = cw;
  o.output_dir = tmp("out_bad");
  o.plots = false;

  SECTION("model side differs from the truth's") {
    o.model_dir = model_dir("cw_L32", make_info("curie_weiss", 32, 8, 0));
    const auto msg = message_of<InputError>([&] { check_evaluate_options(o); });
    CHECK_THAT(msg, Contains(o.model_dir) && Contains(cw) && Contains("L = 32") && Contains("L = 16"));
  }
  SECTION("another system") {
    o.truth_path = ising_nostates;
    CHECK_THAT(message_of<InputError>([&] { check_evaluate_options(o); }), Contains("ising2d") && Contains("curie_weiss"));
  }
  SECTION("states needed but not stored") {
    const ModelInfo info = make_info("ising2d", 16, 8, 0);
    o.model_dir = model_dir("ising_nostates", info);
    o.truth_path = ising_nostates;
    CHECK_THAT(message_of<FileError>([&] { check_evaluate_options(o); }),
               Contains(ising_nostates) && Contains("/trajectories/states"));
    // With K = 1 the stored observables are the definition: accepted.
    const ModelInfo k1 = make_info("ising2d", 16, 16, 0);
    o.model_dir = model_dir("ising_nostates_k1", k1);
    CHECK_NOTHROW(check_evaluate_options(o));
  }
  SECTION("no /trajectories") {
    const std::string empty = tmp("empty.h5");
    { io::DatasetWriter w(empty, io::RootInfo{1, "curie_weiss", "", "test"}); }
    o.truth_path = empty;
    CHECK_THAT(message_of<FileError>([&] { check_evaluate_options(o); }), Contains(empty) && Contains("/trajectories"));
  }
  SECTION("missing truth file") {
    o.truth_path = tmp("nope.h5");
    CHECK_THAT(message_of<FileError>([&] { check_evaluate_options(o); }), Contains("nope.h5"));
  }
  SECTION("missing or incomplete model directory") {
    o.model_dir = tmp("no_such_model");
    CHECK_THAT(message_of<InputError>([&] { check_evaluate_options(o); }), Contains("--model"));
    const std::string dir = tmp("model_incomplete");
    fs::create_directories(dir);
    write_model_info(dir, cw_info);
    fs::remove(dir + "/drift.pt");
    o.model_dir = dir;
    CHECK_THAT(message_of<FileError>([&] { check_evaluate_options(o); }), Contains(dir + "/drift.pt"));
  }
  SECTION("options") {
    o.ensemble = 0;
    CHECK_THAT(message_of<InputError>([&] { check_evaluate_options(o); }), Contains("--ensemble"));
    o.ensemble = 1;
    o.device = "tpu";
    CHECK_THAT(message_of<InputError>([&] { check_evaluate_options(o); }), Contains("--device"));
    o.device = "cpu";
    const std::string file = tmp("a_file");
    std::ofstream(file) << "x";
    o.output_dir = file;
    CHECK_THAT(message_of<InputError>([&] { check_evaluate_options(o); }), Contains("--output"));
  }
  SECTION("predict") {
    PredictOptions p;
    p.model_dir = cw_dir;
    p.steps = 10;
    p.output_csv = tmp("pred_bad.csv");
    p.z0 = {};
    CHECK_THAT(message_of<InputError>([&] { check_predict_options(p); }), Contains("--z0"));
    p.z0 = {{0.1, 0.2}};
    CHECK_THAT(message_of<InputError>([&] { check_predict_options(p); }), Contains("--z0") && Contains("needs 1 (m"));
    const ModelInfo two = make_info("ising2d", 16, 8, 0);
    p.model_dir = model_dir("ising_two", two);
    p.z0 = {{0.1, 0.2}, {0.1, 0.2, 0.3}};
    CHECK_THAT(message_of<InputError>([&] { check_predict_options(p); }),
               Contains("--z0: initial state 2 has 3 numbers") && Contains("needs 2 (m, rho"));
    p.z0 = {{0.1, 0.2}};
    p.steps = 0;
    CHECK_THAT(message_of<InputError>([&] { check_predict_options(p); }), Contains("--steps"));
    p.steps = 3;
    p.dt = -1;
    CHECK_THAT(message_of<InputError>([&] { check_predict_options(p); }), Contains("--dt"));
    p.dt = 1;
    p.ensemble = 0;
    CHECK_THAT(message_of<InputError>([&] { check_predict_options(p); }), Contains("--ensemble"));
  }
}

TEST_CASE("predict: constant drift gives straight lines in physical coordinates, and the CSV files", "[evaluate]") {
  ModelInfo info = make_info("curie_weiss", 16, 8, 0);
  info.offset = {0.1};
  info.scale = {0.5};
  info.time_unit = 2.0;
  PredictOptions o;
  o.model_dir = model_dir("cw_predict", info);
  o.z0 = {{0.3}, {-0.4}};
  o.steps = 5;
  o.dt = 0.5;
  o.ensemble = 3;
  o.output_csv = tmp("predict/out.csv");
  o.trajectories_csv = tmp("predict/traj.csv");
  fs::create_directories(tmp("predict"));
  // Model coordinates: z_n(t) = z_n(0) + 0.2 t, so z(t) = z(0) + 0.5 * 0.2 t.
  const auto res = predict_with(info, constant_sde(1, 0.2f, 0.0f), o);
  REQUIRE(res.states == 2);
  REQUIRE(res.times.size() == 6);
  CHECK(res.mean[5] == Approx(0.3 + 0.1 * 2.5).margin(1e-6));
  CHECK(res.mean[6 + 5] == Approx(-0.4 + 0.1 * 2.5).margin(1e-6));
  CHECK(res.mean[6] == Approx(-0.4).margin(1e-15));
  CHECK(res.stddev[5] == Approx(0.0).margin(1e-7));

  auto data = [](const std::string& path) {
    std::vector<std::string> l;
    for (const auto& s : lines_of(path))
      if (s.rfind("#", 0) != 0) l.push_back(s);
    return l;
  };
  const auto csv = data(o.output_csv);
  REQUIRE(csv.size() == 1 + 2 * 6);
  CHECK(csv[0] == "state,t,t_physical,m_mean,m_std");
  const auto last = split(csv[6], ',');
  CHECK(last[0] == "0");
  CHECK(std::stod(last[1]) == Approx(2.5));
  CHECK(std::stod(last[2]) == Approx(5.0));
  CHECK(std::stod(last[3]) == Approx(0.55).margin(1e-6));
  const auto traj = data(o.trajectories_csv);
  REQUIRE(traj.size() == 1 + 2 * 3 * 6);
  CHECK(traj[0] == "state,member,t,t_physical,m");
  CHECK(split(traj[1 + 3 * 6], ',')[0] == "1");
  CHECK(std::stod(split(traj[1 + 3 * 6], ',')[4]) == -0.4);

  // Through the exported model: sigma = 1 spreads the ensemble; seeds reproduce.
  o.ensemble = 50;
  o.trajectories_csv.clear();
  o.png = have_gnuplot() ? tmp("predict/bands.png") : "";
  const auto a = predict(o), b = predict(o);
  CHECK(a.trajectories == b.trajectories);
  CHECK(a.stddev[5] > 0.1);
  if (!o.png.empty()) CHECK(fs::file_size(o.png) > 1000);
}

TEST_CASE("predict: the default step is the one the model was trained at", "[evaluate]") {
  // model.json keeps the training pairs' mean delta t (pair_dt); predict --dt 0 (the
  // default) steps by it in model units: a physical-time model at dt = 0.01 (predator-prey)
  // must not be stepped by 1, 100 times its training step.
  ModelInfo info = make_info("curie_weiss", 16, 8, 0);
  PredictOptions o;
  info.time_unit = 1.0;
  info.pair_dt = 0.01;
  CHECK(step_of(o, info) == 0.01);
  info.time_unit = 0.01;  // a model in mean-delta-t units: its step is 1
  CHECK(step_of(o, info) == 1.0);
  info.pair_dt = 0.0;  // a model.json that does not record it
  CHECK(step_of(o, info) == 1.0);
  o.dt = 0.5;  // given: as given
  CHECK(step_of(o, info) == 0.5);
  // pair_dt survives model.json.
  info.pair_dt = 0.0125;
  const std::string dir = model_dir("pair_dt", info);
  CHECK(read_model_info(dir).pair_dt == 0.0125);
}

TEST_CASE("evaluate: substeps refine the rollout's step and keep the truth's grid", "[evaluate]") {
  const std::string truth = truth_file("known", "curie_weiss", false);
  ModelInfo info = make_info("curie_weiss", 16, 8, 0);
  info.offset = {0.0};
  info.scale = {1.0};
  info.time_unit = 2.0;
  info.time_unit_kind = "mean_dt";
  const std::string dir = model_dir("cw_substeps", info);
  const auto t = truth_macrostates(info, dir, truth, nullptr, 1);
  // mu = -lambda z, no noise: Euler's value after n steps of h is z0 (1 - lambda h)^n.
  const double lambda = 0.3;
  const macro::SdeFunctions linear{1, [lambda](const float* z, std::int64_t B, float* mu, float* sigma) {
                                     for (std::int64_t i = 0; i < B; ++i) {
                                       mu[i] = static_cast<float>(-lambda * z[i]);
                                       sigma[i] = 0.0f;
                                     }
                                   }};
  std::vector<double> auto_means;
  for (int s : {1, 3, 0}) {
    EvaluateOptions o;
    o.model_dir = dir;
    o.truth_path = truth;
    o.output_dir = tmp("out_substeps_" + std::to_string(s));
    fs::create_directories(o.output_dir);
    o.plots = false;
    o.threads = 2;
    o.substeps = s;
    if (s == 0) info.pair_dt = 0;  // set below, once Delta is known
    auto res = evaluate_truth(info, t, linear, o);
    if (s == 0) {
      // The training step at Delta / 2.5 model units: 3 substeps, as s = 3.
      info.pair_dt = res.delta / 2.5 * info.time_unit;
      res = evaluate_truth(info, t, linear, o);
      CHECK(res.groups[0].mean_pred == auto_means);
      continue;
    }
    const int sub = s;
    for (const auto& g : res.groups) {
      const std::int64_t T = static_cast<std::int64_t>(g.mean_pred.size());
      REQUIRE(T == static_cast<std::int64_t>(res.times.size()));
      for (std::int64_t k = 0; k < T; ++k)
        CHECK(g.mean_pred[k] ==
              Approx(g.mean_pred[0] * std::pow(1 - lambda * res.delta / sub, static_cast<double>(k * sub))).epsilon(1e-5));
    }
    if (s == 3) auto_means = res.groups[0].mean_pred;
  }
}
