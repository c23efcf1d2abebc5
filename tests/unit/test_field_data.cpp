// Field data of the predator-prey jobs (lib/jobs/field_data): the same bits for any
// run.threads, one pair per snapshot that is the full-grid step restricted to its patch,
// and every test run handed over exactly once.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <vector>

#include "jobs/field_data.hpp"
#include "sampling/partial_evolution.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::sampling;

using namespace macrodyn;
using namespace macrodyn::fields;

namespace {

Config tiny_field_config(int threads) {
  Config c;
  c.system = "predator_prey";
  c.small_side = 20;
  c.large_side = 40;
  c.patch = 8;
  c.small_runs = 3;
  c.small_sweeps = 30;
  c.snapshots = 90;
  c.truth_runs = 2;
  c.truth_sweeps = 12;
  c.field_test_m = {0.45, 0.55};
  c.field_test_k = {0.1};
  c.threads = threads;
  c.seed = 7;
  validate(c, Job::field);
  return c;
}

}  // namespace

TEST_CASE("small runs are the same bits on 1 and 2 threads and start from their drawn (m, k)", "[field_data]") {
  std::vector<float> one, two;
  std::vector<double> mk1, mk2;
  small_runs(tiny_field_config(1), one, mk1);
  small_runs(tiny_field_config(2), two, mk2);
  REQUIRE(one.size() == 3u * 30u * 2u * 20u);
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
  CHECK(mk1 == mk2);
  const Config c = tiny_field_config(1);
  const auto p = params_of(c, 20);
  for (int r = 0; r < 3; ++r) {
    const double m = mk1[2 * r], k = mk1[2 * r + 1];
    CHECK(m >= c.field_m_min);
    CHECK(m <= c.field_m_max);
    CHECK(k >= c.field_k_min);
    CHECK(k <= c.field_k_max);
    std::vector<double> u, v;
    initial_state(p, m, k, u, v);
    const float* frame0 = one.data() + r * 30 * 40;
    for (int i = 0; i < 20; ++i) {
      CHECK(frame0[i] == static_cast<float>(u[i]));
      CHECK(frame0[20 + i] == static_cast<float>(v[i]));
    }
  }
  CHECK(mk1[0] != mk1[2]);  // each run draws its own (m, k)
}

TEST_CASE("a field pair is the full-grid step of its snapshot restricted to the chosen patch", "[field_data]") {
  const Config c = tiny_field_config(1);
  std::vector<float> small;
  std::vector<double> mk;
  small_runs(c, small, mk);
  const auto large = params_of(c, 40);
  std::vector<float> snap(80);
  std::set<std::int64_t> patches;
  FieldPair pr;
  for (std::int64_t j : {0, 17, 45, 89}) {
    upsample_frame(c, small.data() + j * 40, snap.data());
    partial_pair(c, snap.data(), j, pr);
    CHECK(pr.patch == chosen_patch(c.seed, j, 5));
    patches.insert(pr.patch);
    // The whole grid stepped with the pair's noise key.
    std::vector<double> u(snap.begin(), snap.begin() + 40), v(snap.begin() + 40, snap.end());
    SerialStepper stepper(large);
    stepper.step(u, v, NoiseKey{c.seed, Purpose::partial_evolution, static_cast<std::uint64_t>(j), 0});
    double before_u = 0, after_u = 0;
    for (int q = 0; q < 8; ++q) {
      const auto cell = static_cast<std::size_t>(pr.patch * 8 + q);
      CHECK(pr.before[q] == snap[cell]);
      CHECK(pr.before[8 + q] == snap[40 + cell]);
      CHECK(pr.after[q] == static_cast<float>(u[cell]));
      CHECK(pr.after[8 + q] == static_cast<float>(v[cell]));
      before_u += pr.before[q];
      after_u += pr.after[q];
    }
    CHECK(pr.g_before[0] == Approx(before_u / 8).epsilon(1e-12));
    CHECK(pr.g_after[0] == Approx(after_u / 8).epsilon(1e-12));
    CHECK(pr.g_after[0] != pr.g_before[0]);  // the step moved the patch
  }
  CHECK(patches.size() > 1);
}

TEST_CASE("test runs: every (condition, run) once, the same frames on 1 and 2 threads", "[field_data]") {
  auto collect = [](int threads) {
    const Config c = tiny_field_config(threads);
    std::vector<std::vector<float>> got(4);
    test_runs(c, [&](int cond, std::int64_t run, const float* frames) {
      auto& slot = got[static_cast<std::size_t>(cond * 2 + run)];
      REQUIRE(slot.empty());
      slot.assign(frames, frames + 12 * 80);
    });
    return got;
  };
  const auto one = collect(1), two = collect(2);
  for (std::size_t i = 0; i < 4; ++i) {
    REQUIRE(one[i].size() == 12u * 80u);
    CHECK(one[i] == two[i]);
  }
  CHECK(one[0] != one[1]);  // two runs of one condition: different noise
  CHECK(one[0][0] != one[2][0]);  // two conditions: different initial states
}
