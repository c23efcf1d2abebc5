// The patch-size study's summary over training seeds (jobs/study.hpp): the median stands
// for a cell when one seed diverged, the mean does not.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "jobs/study.hpp"

using namespace macrodyn::jobs;

namespace {

StudyRow row(int p, const char* method, std::uint64_t seed, double rel_error, double std_pred) {
  StudyRow r;
  r.p = p;
  r.K = (64 / p) * (64 / p);
  r.method = method;
  r.seed = seed;
  r.rel_error = rel_error;
  r.rel_error_m = rel_error / 2;
  r.eq_std_m_true = 0.027;
  r.eq_std_m_pred = std_pred;
  return r;
}

}  // namespace

TEST_CASE("study summary: median, min and max per cell, and one diverged seed moves the mean but not the median",
          "[study]") {
  // The Ising p = 8 K-scaled cell: seeds 1 and 2 fine, seed 3 diverged.
  const std::vector<StudyRow> rows = {row(8, "kscaled", 1, 0.0202, 0.027 * 1.50), row(8, "kscaled", 2, 0.0218, 0.027 * 1.77),
                                      row(8, "kscaled", 3, 7.68e36, 0.027 * 2.65e19), row(16, "naive", 1, 0.005, 0.027 * 6.0),
                                      row(16, "naive", 2, 0.007, 0.027 * 8.0)};
  const auto s = summarise(rows);
  REQUIRE(s.size() == 2);
  CHECK(s[0].p == 8);
  CHECK(s[0].K == 64);
  CHECK(s[0].seeds == 3);
  CHECK(s[0].rel_error.median == 0.0218);
  CHECK(s[0].rel_error.min == 0.0202);
  CHECK(s[0].rel_error.max == 7.68e36);
  CHECK(s[0].rel_error.mean > 1e36);
  CHECK(s[0].std_ratio_m.median == Approx(1.77));
  CHECK(s[0].rel_error_m.median == 0.0109);
  // An even number of seeds: the mean of the middle two.
  CHECK(s[1].method == "naive");
  CHECK(s[1].rel_error.median == Approx(0.006));
  CHECK(s[1].std_ratio_m.median == Approx(7.0));
  CHECK(s[1].rel_error.sd == Approx(0.002 / std::sqrt(2.0)));
}
