#include "jobs/verdict.hpp"

#include <fstream>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>

#include "core/atomic_file.hpp"
#include "jobs/model_dir.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace {

std::string g4(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

struct Tenth {
  double mean = 0, se = 0;
};

// Mean and standard error of v[b, e).
Tenth tenth(const std::vector<double>& v, std::size_t b, std::size_t e) {
  Tenth t;
  const double n = static_cast<double>(e - b);
  for (std::size_t i = b; i < e; ++i) t.mean += v[i] / n;
  double ss = 0;
  for (std::size_t i = b; i < e; ++i) ss += (v[i] - t.mean) * (v[i] - t.mean);
  t.se = std::sqrt(ss / (n - 1) / n);
  return t;
}

}  // namespace

Verdict not_judged(const std::string& reason) {
  Verdict v;
  v.reason = reason;
  return v;
}

Verdict judge(const EvaluationResult& r, const std::vector<std::string>& judged_observables, std::int64_t ensemble,
              const VerdictCriteria& criteria) {
  Verdict v;
  v.criteria = criteria;
  v.ensemble = ensemble;
  v.groups = static_cast<std::int64_t>(r.groups.size());
  v.frames = static_cast<std::int64_t>(r.times.size());
  v.mmd2 = r.mean.mmd2;
  v.min_group_runs = r.groups.empty() ? 0 : r.groups.front().runs;
  for (const auto& g : r.groups) {
    v.min_group_runs = std::min(v.min_group_runs, g.runs);
    v.runs += g.runs;
  }
  const auto d = r.variables.size();
  for (std::size_t i = 0; i < d; ++i) {
    VariableVerdict x;
    x.name = r.variables[i];
    x.judged = std::find(judged_observables.begin(), judged_observables.end(), x.name) != judged_observables.end();
    x.mean_true = r.mean.eq_mean_true[i];
    x.mean_pred = r.mean.eq_mean_pred[i];
    x.std_true = r.mean.eq_std_true[i];
    x.std_pred = r.mean.eq_std_pred[i];
    x.std_ratio = x.std_true > 0 ? x.std_pred / x.std_true : std::numeric_limits<double>::infinity();
    x.rel_error = r.mean.rel_error_per_dim[i];
    x.pass = x.judged && x.rel_error <= criteria.max_rel_error && x.std_ratio >= criteria.std_ratio_min &&
             x.std_ratio <= criteria.std_ratio_max;
    v.variables.push_back(x);
    if (!x.judged) continue;
    for (const auto& g : r.groups) {
      const double ratio = g.eq_std_true[i] > 0 ? g.eq_std_pred[i] / g.eq_std_true[i] : std::numeric_limits<double>::infinity();
      v.group_rows.push_back({condition_label(r.initial_columns, g.initial), x.name, g.runs, g.rel_error_per_dim[i], ratio});
    }
  }
  for (std::size_t i = 0; i < r.out_of_range.size() && i < d; ++i)
    if (r.out_of_range[i] > criteria.max_out_of_range)
      v.warnings.push_back(g4(100.0 * r.out_of_range[i]) + " % of the predicted values of " + r.variables[i] +
                           " lie outside its physical range (criterion: at most " +
                           g4(100.0 * criteria.max_out_of_range) + " %)");
  if (r.non_finite > 0)
    v.warnings.push_back(std::to_string(r.non_finite) + " predicted values are not finite (the SDE blew up)");
  if (v.groups == 0) {
    v.reason = "the truth has no runs";
    return v;
  }
  if (v.min_group_runs < criteria.min_runs) {
    v.reason = "a group of truth runs has only " + std::to_string(v.min_group_runs) + " runs; at least " +
               std::to_string(criteria.min_runs) +
               " per initial condition are needed to tell a right model from a wrong one (raise truth.runs)";
    return v;
  }
  v.judged = true;
  v.pass = std::any_of(v.variables.begin(), v.variables.end(), [](const VariableVerdict& x) { return x.judged; });
  for (const auto& x : v.variables)
    if (x.judged && !x.pass) v.pass = false;
  return v;
}

std::vector<std::string> improving_warnings(const std::vector<double>& train, const std::string& what) {
  std::vector<std::string> out;
  const std::size_t n = train.size();
  if (n < 20) return out;
  const std::size_t w = n / 10;
  const Tenth before = tenth(train, n - 2 * w, n - w), last = tenth(train, n - w, n);
  const double se = std::sqrt(before.se * before.se + last.se * last.se);
  if (before.mean - last.mean > 2 * se)
    out.push_back(what + " still improving at the end: the mean loss of the last tenth (" + g4(last.mean) +
                  ") is below the tenth before (" + g4(before.mean) + ") by " + g4((before.mean - last.mean) / se) +
                  " standard errors (criterion: 2); train longer");
  return out;
}

std::vector<std::string> overfitting_warnings(const std::vector<double>& train, const std::vector<double>& val,
                                              const std::string& what) {
  std::vector<std::string> out;
  const std::size_t n = train.size();
  if (n < 20 || val.size() != n) return out;
  const std::size_t w = n / 10;
  const Tenth before = tenth(train, n - 2 * w, n - w), last = tenth(train, n - w, n);
  const double se = std::sqrt(before.se * before.se + last.se * last.se);
  const Tenth vb = tenth(val, n - 2 * w, n - w), vl = tenth(val, n - w, n);
  const double vse = std::sqrt(vb.se * vb.se + vl.se * vl.se);
  if (before.mean - last.mean > 2 * se && vl.mean - vb.mean > 2 * vse)
    out.push_back(what + ": the validation loss rises (" + g4(vb.mean) + " -> " + g4(vl.mean) + ", " +
                  g4((vl.mean - vb.mean) / vse) + " standard errors; criterion: 2) while the training loss falls: " +
                  "overfitting");
  return out;
}

std::vector<std::string> training_warnings(const std::vector<double>& train, const std::vector<double>& val,
                                           const std::string& what) {
  std::vector<std::string> out = improving_warnings(train, what);
  for (auto& w : overfitting_warnings(train, val, what)) out.push_back(std::move(w));
  return out;
}

std::string verdict_text(const Verdict& v) {
  std::ostringstream s;
  const VerdictCriteria& c = v.criteria;
  if (!v.judged) {
    s << "verdict: not judged: " << v.reason << "\n";
  } else {
    std::string names;
    for (const auto& x : v.variables)
      if (x.judged) names += (names.empty() ? "" : ", ") + x.name;
    s << "verdict: " << (v.pass ? "PASS" : "FAIL") << ": the model "
      << (v.pass ? "reproduces" : "does not reproduce") << " the large system's mean and fluctuations of " << names
      << "\n";
  }
  if (!v.variables.empty()) {
    s << "  against " << v.runs << " truth runs in " << v.groups << " group(s) by initial condition (at least "
      << v.min_group_runs << " each), " << v.frames << " frames, " << v.ensemble << " predicted paths per truth run\n"
      << "  criteria: rel. error of the mean trajectory <= " << g4(c.max_rel_error) << ", std ratio in ["
      << g4(c.std_ratio_min) << ", " << g4(c.std_ratio_max) << "], >= " << c.min_runs
      << " truth runs per group; eq = later half of the horizon\n";
    char line[256];
    std::snprintf(line, sizeof line, "  %-10s %10s %10s %10s %10s %9s %10s  %s\n", "variable", "eq mean", "eq mean",
                  "eq std", "eq std", "std", "rel error", "judged");
    s << line;
    std::snprintf(line, sizeof line, "  %-10s %10s %10s %10s %10s %9s %10s\n", "", "true", "pred", "true", "pred",
                  "ratio", "of mean");
    s << line;
    for (const auto& x : v.variables) {
      std::snprintf(line, sizeof line, "  %-10s %10.4g %10.4g %10.4g %10.4g %9.3g %10.3g  %s\n", x.name.c_str(),
                    x.mean_true, x.mean_pred, x.std_true, x.std_pred, x.std_ratio, x.rel_error,
                    !x.judged ? "-" : !v.judged ? "(not judged)" : x.pass ? "pass" : "FAIL");
      s << line;
    }
    for (const auto& g : v.group_rows) {
      std::snprintf(line, sizeof line, "    %-14s %-6s %4lld runs: rel error %.3g, std ratio %.3g\n", g.label.c_str(),
                    g.variable.c_str(), static_cast<long long>(g.runs), g.rel_error, g.std_ratio);
      s << line;
    }
    s << "  MMD^2 (all variables, model coordinates, mean over groups and times) " << g4(v.mmd2) << "\n";
  }
  for (const auto& w : v.warnings) s << "  warning: " << w << "\n";
  return s.str();
}

std::vector<std::string> model_training_warnings(const std::string& model_dir) {
  std::ifstream in(model_dir + "/history.csv");
  std::vector<double> train, val;
  std::string line;
  std::getline(in, line);  // epoch,train_loss,val_loss,lr
  while (std::getline(in, line)) {
    double epoch, t, v;
    if (std::sscanf(line.c_str(), "%lf,%lf,%lf", &epoch, &t, &v) != 3) break;
    train.push_back(t);
    val.push_back(v);
  }
  return training_warnings(train, val, "the SDE training");
}

Verdict evaluate_and_judge(const EvaluateOptions& o, const std::vector<std::string>& warnings) {
  const EvaluationResult r = evaluate_model(o);
  const ModelInfo info = read_model_dir(o.model_dir);
  const auto sys = make_system(info.system, info.params);
  Verdict v = judge(r, sys->judged_observables(), o.ensemble);
  v.warnings.insert(v.warnings.end(), warnings.begin(), warnings.end());
  write_file_atomically((std::filesystem::path(o.output_dir) / "verdict.txt").string(), verdict_text(v));
  return v;
}

}  // namespace macrodyn::jobs
