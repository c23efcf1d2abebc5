// The measured loss factor (jobs/calibrate.hpp): c* = (1/n) tr(C_full^-1 C_I) equals K when
// the patches evolve independently -- exactly in law for a synthetic system whose sites are
// independent and whose events take a fixed time, within 10 % for the Ising model at T = 5
// -- and its bootstrap interval shrinks with more snapshots.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "jobs/calibrate.hpp"
#include "systems/system.hpp"

using namespace macrodyn;
using namespace macrodyn::jobs;
using namespace macrodyn::systems;

namespace {

// Independent +-1 spins: an event is one step of duration 1 in which every site of the
// box flips with probability 0.1, whatever its neighbours. A patch evolved for n events
// and the whole lattice run for the same time n make the same steps, and the K patches of
// the lattice are independent by construction: E C_I = K E C_full exactly.
class IndependentEvolver final : public Evolver {
 public:
  void load(const std::int8_t* x, int L, const Coord& o, int w, Boundary, const std::int8_t*) override {
    w_ = w;
    s_.resize(static_cast<std::size_t>(w) * w);
    for (int i = 0; i < w; ++i)
      for (int j = 0; j < w; ++j) s_[static_cast<std::size_t>(i * w + j)] = x[((o[0] + i) % L) * L + (o[1] + j) % L];
  }
  double run_events(std::uint64_t n, Rng& rng) override {
    for (std::uint64_t e = 0; e < n; ++e)
      for (auto& s : s_)
        if (rng.uniform() < 0.1) s = static_cast<std::int8_t>(-s);
    return static_cast<double>(n);
  }
  double run_for(double duration, Rng& rng) override {
    run_events(static_cast<std::uint64_t>(std::llround(duration)), rng);
    return duration;
  }
  void heatbath_sweep(Rng&) override { throw std::logic_error("no heat bath"); }
  const std::int8_t* box() const override { return s_.data(); }
  int side() const override { return w_; }
  void observables(double* g) const override { observe(s_.data(), w_, g); }
  void store(std::int8_t* x, int L, const Coord& o) const override {
    for (int i = 0; i < w_; ++i)
      for (int j = 0; j < w_; ++j) x[((o[0] + i) % L) * L + (o[1] + j) % L] = s_[static_cast<std::size_t>(i * w_ + j)];
  }
  // m and the magnetisation of the even sites (i + j even).
  static void observe(const std::int8_t* s, int w, double* g) {
    double m = 0, even = 0;
    for (int i = 0; i < w; ++i)
      for (int j = 0; j < w; ++j) {
        m += s[i * w + j];
        if ((i + j) % 2 == 0) even += s[i * w + j];
      }
    g[0] = m / (w * w);
    g[1] = 2 * even / (w * w);
  }

 private:
  int w_ = 0;
  std::vector<std::int8_t> s_;
};

class IndependentSpins final : public System {
 public:
  std::string name() const override { return "independent_spins"; }
  int dim() const override { return 2; }
  const SystemParams& params() const override { return params_; }
  std::vector<std::string> observable_names() const override { return {"m", "m_even"}; }
  bool supports(Boundary b) const override { return b != Boundary::global; }
  std::unique_ptr<Evolver> make_evolver() const override { return std::make_unique<IndependentEvolver>(); }
  void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary, double* g) const override {
    std::vector<std::int8_t> box(static_cast<std::size_t>(p) * p);
    for (int i = 0; i < p; ++i)
      for (int j = 0; j < p; ++j) box[static_cast<std::size_t>(i * p + j)] = x[((o[0] + i) % L) * L + (o[1] + j) % L];
    IndependentEvolver::observe(box.data(), p, g);
  }
  std::uint64_t events_per_sweep(std::int64_t) const override { return 1; }  // a step updates every site

 private:
  SystemParams params_;
};

Config small_pipeline(const std::string& system, int L, int p) {
  Config c;
  c.system = system;
  c.large_side = L;
  c.patch = p;
  c.small_side = p;
  c.small_runs = 4;
  c.small_sweeps = 10;
  c.relax_window = 0;
  c.progress = false;
  c.seed = 21;
  return c;
}

}  // namespace

TEST_CASE("calibrate: patches independent by construction give c* = K in law, and the interval narrows",
          "[calibrate]") {
  const IndependentSpins sys;
  const Config c = small_pipeline("independent_spins", 32, 8);  // K = 16
  CalibrateSpec spec;
  spec.replicas = 16;
  spec.bootstrap = 400;
  spec.threads = 2;
  spec.snapshots = 32;
  const CalibrationRow few = calibrate(c, spec, &sys).rows.at(0);
  spec.snapshots = 256;
  const CalibrationRow many = calibrate(c, spec, &sys).rows.at(0);
  for (const CalibrationRow* r : {&few, &many}) {
    INFO(r->snapshots << " snapshots: c* = " << r->c_star << " +- " << r->c_se << " [" << r->c_lo << ", " << r->c_hi
                      << "], ratios " << r->ratio[0] << ", " << r->ratio[1]);
    CHECK(r->K == 16);
    CHECK(r->events == 1);
    CHECK(r->mean_dt == 1.0);
    CHECK(r->c_se > 0);
    CHECK(std::fabs(r->c_star - 16.0) <= 4 * r->c_se);
    for (std::size_t k = 0; k < r->ratio.size(); ++k) {
      CHECK(r->ratio_se[k] > 0);
      CHECK(std::fabs(r->ratio[k] - 16.0) <= 4 * r->ratio_se[k]);
    }
    CHECK(r->c_lo < r->c_star);
    CHECK(r->c_hi > r->c_star);
  }
  // The binned rates cover every snapshot, and in law the patch's diffusion over K is the
  // lattice's: pooled over the bins, the ratio is c*/K's (the same covariances, per observable).
  for (int k = 0; k < 2; ++k) {
    std::int64_t n = 0;
    double patch = 0, full = 0;
    for (const BinRow& b : many.bins)
      if (b.observable == k) {
        n += b.snapshots;
        patch += b.diffusion_patch_over_K * static_cast<double>(b.snapshots);
        full += b.diffusion_full * static_cast<double>(b.snapshots);
      }
    CHECK(n == 256);
    CHECK(patch / full == Approx(many.ratio[static_cast<std::size_t>(k)] / 16.0).epsilon(1e-9));
  }
  // More snapshots, a narrower interval: about sqrt(8) times.
  CHECK(many.c_hi - many.c_lo < 0.6 * (few.c_hi - few.c_lo));
  std::cout << "[calibrate] independent spins, K = 16: c* = " << few.c_star << " [" << few.c_lo << ", " << few.c_hi
            << "] from 32 snapshots, " << many.c_star << " [" << many.c_lo << ", " << many.c_hi << "] from 256\n";
}

TEST_CASE("calibrate: the Ising model at T = 5 has nearly independent patches, c* = K within 10 %", "[calibrate]") {
  Config c = small_pipeline("ising2d", 32, 16);  // K = 4
  c.system_params.set("T", 5.0);
  c.system_params.set("h", 0.0);
  c.relax_window = 16;
  CalibrateSpec spec;
  spec.snapshots = 256;  // a 95 % interval of about +-4 %
  spec.replicas = 16;
  spec.bootstrap = 200;
  spec.threads = 2;
  spec.horizons = {1.0, 0.25};
  const auto rows = calibrate(c, spec).rows;
  REQUIRE(rows.size() == 2);
  for (const CalibrationRow& r : rows) {
    INFO("horizon " << r.horizon << ": c* = " << r.c_star << " +- " << r.c_se << " [" << r.c_lo << ", " << r.c_hi << "]");
    CHECK(r.K == 4);
    CHECK(std::fabs(r.c_star / 4.0 - 1.0) <= 0.10);
    std::cout << "[calibrate] Ising T = 5, K = 4, horizon " << r.horizon << ": c* = " << r.c_star << " [" << r.c_lo
              << ", " << r.c_hi << "], m " << r.ratio[0] << ", rho " << r.ratio[1] << "; marginal " << r.c_marginal << "\n";
  }
  CHECK(rows[0].events == 256);
  CHECK(rows[1].events == 64);
}

TEST_CASE("calibrate: refusals before any work", "[calibrate]") {
  Config c = small_pipeline("ising2d", 32, 16);
  CalibrateSpec spec;
  spec.replicas = 1;
  CHECK_THROWS_WITH(calibrate(c, spec), Catch::Contains("--replicas"));
  spec.replicas = 4;
  spec.snapshots = 2;
  CHECK_THROWS_WITH(calibrate(c, spec), Catch::Contains("--snapshots"));
  spec.snapshots = 8;
  spec.horizons = {0.0};
  CHECK_THROWS_WITH(calibrate(c, spec), Catch::Contains("--horizons"));
  spec.horizons = {1.0};
  Config cw = small_pipeline("curie_weiss", 32, 16);
  spec.boundaries = {Boundary::periodic};
  CHECK_THROWS_AS(calibrate(cw, spec), InputError);
  // The pipeline's keys are checked as generate checks them (before: zero small runs crashed).
  spec.boundaries.clear();
  Config none = small_pipeline("ising2d", 32, 16);
  none.small_runs = 0;
  CHECK_THROWS_WITH(calibrate(none, spec), Catch::Contains("small.runs"));
  Config five = small_pipeline("ising2d", 32, 16);
  five.factor = 5;
  CHECK_THROWS_WITH(calibrate(five, spec), Catch::Contains("upsample.factor"));
  spec.horizons = {1e9};
  CHECK_THROWS_WITH(calibrate(c, spec), Catch::Contains("--horizons"));
  spec.horizons = {1.0};
  spec.bins = -1;
  CHECK_THROWS_WITH(calibrate(c, spec), Catch::Contains("--bins"));
}

TEST_CASE("calibrate: the drift ratio of patch and lattice, unbiased by the lattice's noise", "[calibrate]") {
  // Snapshot j: the lattice's drift f_j uniform in [-1, 1], the patch's 1.5 f_j; replicas add
  // noise of sd 4 (dt = 1), far above the spread of the drifts: a plain slope of the patch's
  // drift on the lattice's would be attenuated about sevenfold; the split-replica ratio is not.
  const std::size_t S = 4000, R = 16;
  const double lambda = 1.5, noise = 4.0;
  Rng rng({5, Purpose::test, 0, 0, 0});
  auto normal = [&] { return std::sqrt(-2.0 * std::log(rng.uniform())) * std::cos(6.283185307179586 * rng.uniform()); };
  std::vector<std::vector<std::vector<double>>> u(S), v(S);
  std::vector<std::vector<double>> dts(S, std::vector<double>(R, 1.0));
  double naive_num = 0, naive_den = 0;
  for (std::size_t j = 0; j < S; ++j) {
    const double f = 2 * rng.uniform() - 1;
    double mu = 0, mv = 0;
    for (std::size_t r = 0; r < R; ++r) {
      u[j].push_back({lambda * f + noise * normal()});
      v[j].push_back({f + noise * normal()});
      mu += u[j].back()[0] / R;
      mv += v[j].back()[0] / R;
    }
    naive_num += mu * mv;
    naive_den += mv * mv;
  }
  CalibrationRow row;
  row.K = 1;
  estimate_factor(u, v, 400, 9, {"m"}, row);
  estimate_drift_ratio(u, v, dts, 400, 9, row);
  INFO("lambda = " << row.drift_ratio << " [" << row.drift_ratio_lo << ", " << row.drift_ratio_hi << "], plain slope "
                   << naive_num / naive_den << ", c_stationary = " << row.c_stationary);
  const double se = (row.drift_ratio_hi - row.drift_ratio_lo) / (2 * 1.96);
  CHECK(se > 0);
  CHECK(std::fabs(row.drift_ratio - lambda) <= 4 * se);
  CHECK(naive_num / naive_den < 0.5 * lambda);  // what the split avoids
  // Equal noises: the variance ratio is 1 in law, so c_stationary = 1 / lambda.
  CHECK(std::fabs(row.ratio[0] - 1.0) <= 4 * row.ratio_se[0]);
  CHECK(row.c_stationary == Approx(row.ratio[0] / row.drift_ratio));
  CHECK(row.c_stationary_lo < row.c_stationary);
  CHECK(row.c_stationary_hi > row.c_stationary);
  // Fewer than 4 replicas: no ratio.
  std::vector<std::vector<std::vector<double>>> u3(S), v3(S);
  for (std::size_t j = 0; j < S; ++j) {
    u3[j].assign(u[j].begin(), u[j].begin() + 3);
    v3[j].assign(v[j].begin(), v[j].begin() + 3);
  }
  CalibrationRow few;
  estimate_factor(u3, v3, 0, 9, {"m"}, few);
  estimate_drift_ratio(u3, v3, dts, 0, 9, few);
  CHECK(std::isnan(few.drift_ratio));
}
