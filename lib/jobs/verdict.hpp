#pragma once
// The verdict of a learned model: does it reproduce the large system's mean and
// fluctuations? It is read off an evaluation against ground truth (evaluate.hpp) for
// the observables the system names (System::judged_observables), on the mean row (each
// metric averaged over the groups of truth runs that share an initial condition).
//
// Criteria (stated in every verdict):
//  * judged only when every group has at least min_runs (30) truth runs: fewer cannot
//    tell a right model from a wrong one ("not judged", with the reason);
//  * pass when, for every judged observable, the relative error of the ensemble-mean
//    trajectory is at most max_rel_error (0.01) and the std ratio (predicted over true
//    ensemble std, averaged over the later half of the horizon) lies in
//    [std_ratio_min, std_ratio_max] = [0.8, 1.25];
//  * warnings (the result is suspect, whatever the verdict): predicted points outside a
//    variable's physical range (more than 0.1 % of them), non-finite predictions, and
//    the training warnings of training_warnings().
#include <cstdint>
#include <string>
#include <vector>

#include "jobs/evaluate.hpp"

namespace macrodyn::jobs {

struct VerdictCriteria {
  std::int64_t min_runs = 30;
  double max_rel_error = 0.01;
  double std_ratio_min = 0.8, std_ratio_max = 1.25;
  double max_out_of_range = 1e-3;  // fraction of predicted points
};

struct VariableVerdict {
  std::string name;
  bool judged = false;  // one of the system's judged observables
  double mean_true = 0, mean_pred = 0, std_true = 0, std_pred = 0;
  double std_ratio = 0, rel_error = 0;
  bool pass = false;    // judged and within the criteria
};

struct Verdict {
  bool judged = false;
  std::string reason;  // why not judged
  bool pass = false;
  std::int64_t groups = 0, min_group_runs = 0, runs = 0, frames = 0, ensemble = 0;
  double mmd2 = 0;
  std::vector<VariableVerdict> variables;
  // Per group (initial condition) and judged variable: label, rel_error, std ratio.
  struct GroupRow {
    std::string label, variable;
    std::int64_t runs = 0;
    double rel_error = 0, std_ratio = 0;
  };
  std::vector<GroupRow> group_rows;
  std::vector<std::string> warnings;
  VerdictCriteria criteria;
};

// The verdict of evaluation `r` made with `ensemble` predicted paths per truth run.
Verdict judge(const EvaluationResult& r, const std::vector<std::string>& judged_observables, std::int64_t ensemble,
              const VerdictCriteria& criteria = {});

// A verdict that could not be reached: "not judged: <reason>".
Verdict not_judged(const std::string& reason);

// Warnings on a loss history (one value per step or epoch; `what` names it). Histories
// shorter than 20 values give none.
//  * improving_warnings, still improving: the mean of the last tenth lies below the mean
//    of the tenth before by more than 2 standard errors of their difference (each
//    tenth's standard error from its own scatter);
//  * overfitting_warnings, validation rising while training falls: over the same two
//    tenths, the validation mean (val, as long as train) rose and the training mean
//    fell, each by more than 2 standard errors;
//  * training_warnings: both.
std::vector<std::string> improving_warnings(const std::vector<double>& train_loss, const std::string& what);
std::vector<std::string> overfitting_warnings(const std::vector<double>& train_loss, const std::vector<double>& val_loss,
                                              const std::string& what);
std::vector<std::string> training_warnings(const std::vector<double>& train_loss, const std::vector<double>& val_loss,
                                           const std::string& what);

// The training warnings of a model directory written by train: training_warnings of its
// history.csv (epoch, train_loss, val_loss, ...); none without one.
std::vector<std::string> model_training_warnings(const std::string& model_dir);

// The verdict as the text printed at the end of a job and kept as verdict.txt.
std::string verdict_text(const Verdict& v);

// evaluate_model(o) (metrics.csv and plots in o.output_dir), judged for the observables
// the model's system names; verdict.txt written beside metrics.csv, with `warnings`
// (e.g. training_warnings) added.
Verdict evaluate_and_judge(const EvaluateOptions& o, const std::vector<std::string>& warnings = {});

}  // namespace macrodyn::jobs
