// lib/jobs/verdict: the verdict's criteria and the warnings of a suspect result, each
// tested on both sides of its stated threshold (verdict.hpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "jobs/evaluate.hpp"
#include "jobs/verdict.hpp"

using namespace macrodyn::jobs;

using namespace macrodyn;
using Catch::Matchers::Contains;

namespace {

// A loss history of 20 values (tenths of 2): 16 arbitrary values, then the tenth before
// {b + e, b - e} and the last tenth {l + e, l - e}. Each tenth's standard error is e, so
// the difference of their means has standard error e * sqrt(2).
std::vector<double> history(double b, double l, double e) {
  std::vector<double> h = {5, 4, 3, 3, 2.5, 2, 2, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.05};
  for (double v : {b + e, b - e, l + e, l - e}) h.push_back(v);
  return h;
}

// Two groups of `runs` truth runs, variables m and rho; m judged. The mean row carries
// the relative error and the std ratio given.
EvaluationResult evaluation(std::int64_t runs, double rel_error, double std_ratio) {
  EvaluationResult r;
  r.variables = {"m", "rho"};
  r.initial_columns = {"m0"};
  for (double m0 : {-0.5, 0.5}) {
    GroupMetrics g;
    g.initial = {m0};
    g.runs = runs;
    g.rel_error_per_dim = {rel_error, 0.5};
    g.eq_mean_true = g.eq_mean_pred = {0.7, 0.3};
    g.eq_std_true = {0.02, 0.01};
    g.eq_std_pred = {0.02 * std_ratio, 0.05};
    r.groups.push_back(g);
  }
  r.mean = r.groups.front();
  r.out_of_range = {0, 0};
  return r;
}

}  // namespace

TEST_CASE("still improving: the last tenth below the tenth before by more than 2 standard errors", "[verdict]") {
  // Threshold: 2 * sqrt(2) * 0.1 = 0.2828.
  const auto warned = improving_warnings(history(1.0, 0.70, 0.1), "SDE");
  REQUIRE(warned.size() == 1);
  CHECK_THAT(warned[0], Contains("still improving") && Contains("train longer"));
  CHECK(improving_warnings(history(1.0, 0.73, 0.1), "SDE").empty());
  CHECK(improving_warnings(history(1.0, 1.30, 0.1), "SDE").empty());  // rising is not improving
  // Fewer than 20 values: no judgement, however steep.
  auto short_history = history(1.0, 0.0, 0.01);
  short_history.erase(short_history.begin());
  CHECK(improving_warnings(short_history, "SDE").empty());
}

TEST_CASE("validation rising while training falls, each by more than 2 standard errors", "[verdict]") {
  const auto falling = history(1.0, 0.70, 0.1), flat = history(1.0, 1.0, 0.1);
  const auto overfit = overfitting_warnings(falling, history(1.0, 1.30, 0.1), "SDE");
  REQUIRE(overfit.size() == 1);
  CHECK_THAT(overfit[0], Contains("validation loss rises") && Contains("overfitting"));
  CHECK(overfitting_warnings(falling, history(1.0, 1.27, 0.1), "SDE").empty());  // rise below 2 SE
  CHECK(overfitting_warnings(flat, history(1.0, 1.30, 0.1), "SDE").empty());     // training not falling
  CHECK(overfitting_warnings(falling, {}, "SDE").empty());                        // no validation
  CHECK(training_warnings(falling, history(1.0, 1.30, 0.1), "SDE").size() == 2);
}

TEST_CASE("the verdict's thresholds: relative error 0.01, std ratio 0.8-1.25, 30 runs per group", "[verdict]") {
  const std::vector<std::string> judged = {"m"};
  CHECK(judge(evaluation(30, 0.01, 1.0), judged, 64).pass);
  CHECK(judge(evaluation(30, 0.005, 1.25), judged, 64).pass);
  CHECK(judge(evaluation(30, 0.005, 0.8), judged, 64).pass);
  CHECK_FALSE(judge(evaluation(30, 0.0101, 1.0), judged, 64).pass);
  CHECK_FALSE(judge(evaluation(30, 0.005, 1.26), judged, 64).pass);
  CHECK_FALSE(judge(evaluation(30, 0.005, 0.79), judged, 64).pass);
  // rho is far off (rel. error 0.5, std ratio 5) but not judged: the system judges m only.
  const Verdict v = judge(evaluation(30, 0.005, 1.0), judged, 64);
  REQUIRE(v.judged);
  CHECK(v.variables.size() == 2);
  CHECK_FALSE(v.variables[1].judged);
  CHECK(v.group_rows.size() == 2);  // one row per group for the judged variable
  // 29 runs in a group: not judged, and the reason says what to raise.
  const Verdict few = judge(evaluation(29, 0.005, 1.0), judged, 64);
  CHECK_FALSE(few.judged);
  CHECK_FALSE(few.pass);
  CHECK_THAT(few.reason, Contains("29 runs") && Contains("truth.runs"));
  CHECK_THAT(verdict_text(few), Contains("not judged"));
}

TEST_CASE("suspect predictions: outside the physical range above 0.1 % of points, non-finite values", "[verdict]") {
  const std::vector<std::string> judged = {"m"};
  EvaluationResult r = evaluation(30, 0.005, 1.0);
  r.out_of_range = {0.001, 0};
  CHECK(judge(r, judged, 64).warnings.empty());
  r.out_of_range = {0.0011, 0};
  const Verdict out = judge(r, judged, 64);
  REQUIRE(out.warnings.size() == 1);
  CHECK_THAT(out.warnings[0], Contains("outside its physical range") && Contains(" m "));
  r.out_of_range = {0, 0};
  r.non_finite = 1;
  const Verdict blown = judge(r, judged, 64);
  REQUIRE(blown.warnings.size() == 1);
  CHECK_THAT(blown.warnings[0], Contains("not finite"));
  CHECK_THAT(verdict_text(blown), Contains("not finite"));
}
