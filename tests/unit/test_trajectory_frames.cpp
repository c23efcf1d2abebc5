// Thinned small-run frames (method notes §4: every sweep to 999, then every 10th): the
// frame count of the schedule, and a thinned run's frames are exactly the dense run's at the
// kept sweeps (the dynamics draws the same numbers whatever is kept), with the durations
// summed between frames, for continuous-time and heat-bath dynamics.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "jobs/config.hpp"
#include "sampling/trajectory.hpp"
#include "systems/system.hpp"

using namespace macrodyn;
using namespace macrodyn::sampling;
using namespace macrodyn::systems;

TEST_CASE("trajectory frames: the notes' schedule has 4100 frames", "[sampling][frames]") {
  CHECK(frame_count(31990, 1000, 10) == 4100);
  CHECK(frame_count(31990, 1000, 1) == 31991);
  CHECK(frame_count(20, 50, 10) == 21);  // all dense
  CHECK(frame_count(40, 5, 7) == 11);    // 0..4, 5, 12, 19, 26, 33, 40
  jobs::Config c;
  c.small_sweeps = 31990;
  c.small_dense_sweeps = 1000;
  c.small_frame_stride = 10;
  CHECK(c.small_frames() == 4100);
  c.small_frame_stride = 0;
  CHECK_THROWS_AS(jobs::validate(c, jobs::Job::generate), InputError);
}

TEST_CASE("trajectory frames: a thinned run is the dense run at the kept sweeps", "[sampling][frames]") {
  const auto sys = make_system("ising2d", SystemParams{{"T", 2.27}, {"h", 0.0}});
  for (const Dynamics dyn : {Dynamics::continuous_time, Dynamics::heat_bath}) {
    const int L = 8, n = L * L, d = sys->num_observables();
    const std::uint64_t sweeps = 40, dense = 5, stride = 7;
    TrajectorySpec all{L, sweeps, dyn, InitialKind::random_m0, unset_condition()};
    TrajectorySpec thin = all;
    thin.dense = dense;
    thin.stride = stride;
    const std::int64_t F = frame_count(all), f = frame_count(thin);
    REQUIRE(F == 41);
    REQUIRE(f == 11);
    std::vector<std::int8_t> s1(static_cast<std::size_t>(F * n)), s2(static_cast<std::size_t>(f * n)), scratch(n);
    std::vector<double> d1(F), d2(f), o1(static_cast<std::size_t>(F * d)), o2(static_cast<std::size_t>(f * d));
    auto ev = sys->make_evolver();
    TrajectoryOut a{s1.data(), d1.data(), o1.data(), {}}, b{s2.data(), d2.data(), o2.data(), {}};
    run_trajectory(*sys, *ev, all, 7, Purpose::small_dynamics, 3, scratch.data(), a);
    run_trajectory(*sys, *ev, thin, 7, Purpose::small_dynamics, 3, scratch.data(), b);
    std::int64_t k = 0;
    double since = 0;
    for (std::uint64_t sweep = 0; sweep <= sweeps; ++sweep) {
      since += d1[sweep];
      if (!is_frame(sweep, dense, stride)) continue;
      INFO("sweep " << sweep << ", frame " << k);
      CHECK(std::memcmp(s1.data() + sweep * n, s2.data() + k * n, n) == 0);
      CHECK(o1[sweep * d] == o2[static_cast<std::size_t>(k * d)]);
      CHECK(d2[static_cast<std::size_t>(k)] == Approx(since).epsilon(1e-12));
      since = 0;
      ++k;
    }
    CHECK(k == f);
  }
}
