// macrodyn predict / evaluate: use a trained model directory (lib/jobs/predict.hpp, lib/jobs/evaluate.hpp).
#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "jobs/evaluate.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/verdict.hpp"
#include "core/atomic_file.hpp"
#include "systems/system.hpp"
#include "jobs/predict.hpp"
#include "jobs/report.hpp"
#include "parse_args.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::app {

namespace po = boost::program_options;

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// "v1,v2,...;w1,w2,..." (and repeated --z0) -> the states; the number of values per
// state is checked against the model by check_predict_options.
std::vector<std::vector<double>> parse_states(const std::vector<std::string>& args) {
  std::vector<std::vector<double>> z;
  for (const auto& arg : args) {
    std::size_t begin = 0;
    while (begin <= arg.size()) {
      auto end = arg.find(';', begin);
      if (end == std::string::npos) end = arg.size();
      const std::string state = trim(arg.substr(begin, end - begin));
      begin = end + 1;
      if (state.empty()) continue;
      std::vector<double> values;
      std::size_t b = 0;
      while (b <= state.size()) {
        auto e = state.find(',', b);
        if (e == std::string::npos) e = state.size();
        const std::string tok = trim(state.substr(b, e - b));
        b = e + 1;
        char* stop = nullptr;
        const double v = std::strtod(tok.c_str(), &stop);
        if (tok.empty() || *stop != '\0' || !std::isfinite(v))
          throw InputError("--z0: '" + tok + "' in '" + state + "' is not a finite number.");
        values.push_back(v);
      }
      z.push_back(std::move(values));
    }
  }
  return z;
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

}  // namespace

int cmd_predict(int argc, char** argv) {
  PredictOptions o;
  o.progress = true;
  std::vector<std::string> z0;
  po::options_description desc("Options");
  desc.add_options()("help", "print this help")(
      "model", po::value<std::string>(&o.model_dir), "the model directory written by macrodyn train (required)")(
      "z0", po::value<std::vector<std::string>>(&z0)->composing(),
      "an initial macrostate in physical coordinates, one value per model variable in the order of model.json's "
      "\"variables\", comma-separated; several states separated by ';' or by repeating --z0 (required)")(
      "steps", po::value<int>(&o.steps), "Euler-Maruyama steps; the output has steps + 1 points (required)")(
      "dt", po::value<double>(&o.dt)->default_value(0.0),
      "step in model time units (t_physical = t x model.json's time_unit); 0 = the step the model was trained at, "
      "model.json's pair_dt (1 model time unit for a model in mean-delta-t units)")(
      "ensemble", po::value<std::int64_t>(&o.ensemble)->default_value(100), "trajectories per initial state")(
      "condition", po::value<double>(&o.condition),
      "a conditioned model's value of its condition (model.json \"conditions\", e.g. T in K): the inputs of drift "
      "and diffusion, and the time unit there (required for such a model)")(
      "output", po::value<std::string>(&o.output_csv),
      "CSV of the ensemble mean and std per state and time: state,t,t_physical,<var>_mean,<var>_std,... "
      "(physical coordinates; '#' comment lines first) (required)")(
      "trajectories", po::value<std::string>(&o.trajectories_csv),
      "also write every trajectory to this CSV: state,member,t,t_physical,<var>,...")(
      "png", po::value<std::string>(&o.png), "also plot mean +- std bands per state to this PNG (needs gnuplot)")(
      "seed", po::value<std::uint64_t>(&o.seed)->default_value(1), "seed of the Brownian increments")(
      "device", po::value<std::string>(&o.device)->default_value("auto"), "auto, cpu or cuda: where the SDE runs")(
      "progress", value_with_default(&o.progress), "rate and ETA of the rollout on stderr");
  const po::variables_map vm = parse_args(argc, argv, desc);
  if (vm.count("help")) {
    std::cout << "usage: macrodyn predict --model DIR --z0 \"v1,v2,...\" --steps N --output FILE.csv [options]\n\n"
                 "Integrate the learned SDE dz = mu dt + sigma dW (Euler-Maruyama, docs/design.md §1.10) from given\n"
                 "macrostates: --ensemble trajectories per initial state, in the model's coordinates\n"
                 "(z_model = (z - offset) / scale), converted back to physical coordinates for the output.\n"
                 "Example: macrodyn predict --model m --z0 \"-0.5,0.4,0,0;0.5,0.4,0,0\" --steps 500 --output p.csv\n\n"
              << desc << "\n";
    return 0;
  }
  if (!vm.count("model")) throw InputError("--model is required (a model directory written by macrodyn train).");
  if (!vm.count("z0")) throw InputError("--z0 is required (the initial macrostate(s), physical coordinates).");
  if (!vm.count("steps")) throw InputError("--steps is required (the number of Euler-Maruyama steps).");
  if (!vm.count("output")) throw InputError("--output is required (the CSV to write).");
  o.z0 = parse_states(z0);

  const PredictionResult r = predict(o);  // checks everything before rolling out
  const int d = static_cast<int>(r.variables.size());
  const std::int64_t T = static_cast<std::int64_t>(r.times.size());
  std::printf("wrote %s: %lld initial states x %lld trajectories, %d steps of dt = %g model time units\n",
              o.output_csv.c_str(), static_cast<long long>(r.states), static_cast<long long>(r.ensemble), o.steps,
              r.times.size() > 1 ? r.times[1] : 0.0);
  if (!o.trajectories_csv.empty()) std::printf("wrote %s\n", o.trajectories_csv.c_str());
  if (!o.png.empty()) std::printf("wrote %s\n", o.png.c_str());
  std::printf("at t = %g (model units), mean +- std:\n", r.times.back());
  for (std::int64_t s = 0; s < r.states; ++s) {
    std::string line = "  state " + std::to_string(s) + ":";
    for (int i = 0; i < d; ++i) {
      const auto at = static_cast<std::size_t>(((s * T) + T - 1) * d + i);
      line += "  " + r.variables[static_cast<std::size_t>(i)] + " " + fmt(r.mean[at]) + " +- " + fmt(r.stddev[at]);
    }
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

int cmd_evaluate(int argc, char** argv) {
  EvaluateOptions o;
  bool no_plots = false, no_interpolation = false;
  o.progress = true;
  po::options_description desc("Options");
  desc.add_options()("help", "print this help")(
      "model", po::value<std::string>(&o.model_dir), "the model directory written by macrodyn train (required)")(
      "truth", po::value<std::string>(&o.truth_path),
      "ground truth: a file written by macrodyn simulate (/trajectories; with the states when the model has a "
      "closure or its observables depend on the patch tiling) of the model's system and side L (required)")(
      "output", po::value<std::string>(&o.output_dir),
      "directory (created) for metrics.csv and bands_m0_<m0>.png (required)")(
      "ensemble", po::value<std::int64_t>(&o.ensemble)->default_value(1),
      "predicted trajectories per truth run, each from that run's true initial macrostate (the reference: 1)")(
      "substeps", po::value<int>(&o.substeps)->default_value(1),
      "Euler-Maruyama steps per truth frame interval (0 = the fewest that keep the step at or below the model's "
      "training step, for a truth with frames far apart)")(
      "seed", po::value<std::uint64_t>(&o.seed)->default_value(1), "seed of the Brownian increments")(
      "device", po::value<std::string>(&o.device)->default_value("auto"),
      "auto, cpu or cuda: where the SDE and the encoder run")(
      "threads", po::value<int>(&o.threads)->default_value(0),
      "threads for recomputing the truth's observables and for MMD (0 = all cores)")(
      "mmd-stride", po::value<std::int64_t>(&o.mmd_stride)->default_value(0),
      "average MMD^2 over every N-th grid time (0 = automatic: every time unless that exceeds 2e8 kernel "
      "evaluations)")("no-interpolation", po::bool_switch(&no_interpolation),
                       "take truth frame k as time k*Delta instead of interpolating each run in its own time "
                       "(the reference's Curie-Weiss protocol)")(
      "no-plots", po::bool_switch(&no_plots), "do not draw bands_m0_<m0>.png (no gnuplot needed)")(
      "progress", value_with_default(&o.progress), "progress and stage lines on stderr");
  const po::variables_map vm = parse_args(argc, argv, desc);
  if (vm.count("help")) {
    std::cout
        << "usage: macrodyn evaluate --model DIR --truth FILE --output DIR [options]\n\n"
           "Compare predicted ensembles with ground truth (docs/design.md §8.3.5, §8.4.5). The truth's\n"
           "macrostates z = (z*, closure) are recomputed from its states on the model's patch tiling and\n"
           "normalised as the model's. Runs are grouped by their initial condition (m0 for spins). Time grid:\n"
           "t_k = k*Delta with Delta the truth's mean sweep duration in model time units; each truth run\n"
           "is interpolated in its own time. Prediction: Euler-Maruyama from each run's true initial\n"
           "macrostate with dt = Delta, as many points as the truth has frames.\n\n"
           "metrics.csv, one row per initial condition (m0 for spins) and a final row 'mean' (their average):\n"
           "  rel_error       sum_{k,i} (mean_pred - mean_true)^2 / sum_{k,i} mean_true^2 of the ensemble\n"
           "                  means over the grid times and all variables (model coordinates)\n"
           "  rel_error_<var> the same for one variable\n"
           "  eq_mean_*/eq_std_*  ensemble mean / std per variable averaged over the later half of the\n"
           "                  grid, for truth and prediction (physical coordinates)\n"
           "  mmd2            squared MMD between predicted and true ensembles (all variables, model\n"
           "                  coordinates), averaged over the grid times\n"
           "Then the verdict on the observables the system judges (printed, and kept as verdict.txt):\n"
           "PASS when the mean row's relative error is at most 0.01 and the std ratio lies in [0.8, 1.25],\n"
           "judged only with at least 30 truth runs per initial condition; with the training's warnings.\n\n"
        << desc << "\n";
    return 0;
  }
  if (!vm.count("model")) throw InputError("--model is required (a model directory written by macrodyn train).");
  if (!vm.count("truth")) throw InputError("--truth is required (a file written by macrodyn simulate).");
  if (!vm.count("output")) throw InputError("--output is required (a directory for metrics.csv and the plots).");
  o.plots = !no_plots;
  o.interpolate = !no_interpolation;
  o.log = [progress = o.progress](const std::string& line) { log_if(progress, "%s\n", line.c_str()); };

  const EvaluationResult r = evaluate_model(o);  // checks everything before the work
  const auto& vars = r.variables;
  const int d = static_cast<int>(vars.size());
  // Column widths fit the variable names.
  std::vector<int> werr, weq;
  for (const auto& v : vars) {
    werr.push_back(std::max<int>(11, static_cast<int>(v.size()) + 4));
    weq.push_back(std::max<int>(19, static_cast<int>(v.size()) + 13));
  }
  const std::string initial = join(r.initial_columns, ":");
  std::printf("\n%-8s %5s %11s", initial.c_str(), "runs", "rel_error");
  for (int i = 0; i < d; ++i) std::printf(" %*s", werr[i], ("err_" + vars[i]).c_str());
  for (int i = 0; i < d; ++i) std::printf(" %*s", weq[i], ("eq " + vars[i] + " true/pred").c_str());
  std::printf(" %10s\n", "mmd2");
  auto row = [&](const std::string& label, const GroupMetrics& g) {
    std::printf("%-8s %5lld %11.4g", label.c_str(), static_cast<long long>(g.runs), g.rel_error);
    for (int i = 0; i < d; ++i) std::printf(" %*.4g", werr[i], g.rel_error_per_dim[static_cast<std::size_t>(i)]);
    for (int i = 0; i < d; ++i) {
      const std::string s = fmt(g.eq_mean_true[static_cast<std::size_t>(i)]) + "/" +
                            fmt(g.eq_mean_pred[static_cast<std::size_t>(i)]);
      std::printf(" %*s", weq[i], s.c_str());
    }
    std::printf(" %10.4g\n", g.mmd2);
  };
  for (const auto& g : r.groups) row(condition_values(g.initial), g);
  row("mean", r.mean);
  std::printf("\nDelta = %g model time units (time_unit %g); rel_error and mmd2 in model coordinates, eq "
              "(mean over the later half) in physical ones; MMD^2 at grid stride %lld\n",
              r.delta, r.time_unit, static_cast<long long>(r.mmd_stride));
  std::printf("wrote %s", r.metrics_csv.c_str());
  if (!r.plots.empty()) std::printf(" and %zu plot(s) bands_*.png", r.plots.size());
  std::printf(" in %.2f s\n", r.seconds);
  // The verdict on the observables the model's system judges, with the training's
  // warnings (docs/design.md §1.11), kept as verdict.txt for the report.
  const ModelInfo info = read_model_dir(o.model_dir);
  Verdict v = judge(r, systems::make_system(info.system, info.params)->judged_observables(), o.ensemble);
  for (auto& w : model_training_warnings(o.model_dir)) v.warnings.push_back(std::move(w));
  write_file_atomically(o.output_dir + "/verdict.txt", verdict_text(v));
  std::printf("\n%s", verdict_text(v).c_str());
  std::printf("report: %s\n", write_report(o.output_dir).c_str());
  return 0;
}

}  // namespace macrodyn::app
