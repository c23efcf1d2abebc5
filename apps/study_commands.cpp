// macrodyn study patch-size | loss-factor | conditions | equilibrium | fss, and macrodyn calibrate:
// parse, validate, call lib/jobs.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "jobs/calibrate.hpp"
#include "jobs/condition_study.hpp"
#include "jobs/equilibrium.hpp"
#include "jobs/fss_study.hpp"
#include "jobs/loss_factor_study.hpp"
#include "jobs/report.hpp"
#include "jobs/study.hpp"
#include "options.hpp"
#include "parse_args.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::app {

namespace po = boost::program_options;

namespace {

constexpr const char* kKinds =
    "macrodyn study patch-size --config FILE, macrodyn study loss-factor --config FILE, macrodyn study "
    "conditions --config FILE, macrodyn study equilibrium --config FILE or macrodyn study fss --config FILE; see "
    "macrodyn study KIND --help";

// Parses `study KIND` options (desc) and hands everything else (--config, --section.key)
// to the config parser. False when --help was asked (printed with `about`).
bool parse_study(const std::string& kind, const std::string& about, po::options_description& desc, int argc,
                 char** argv, Config& base, std::vector<std::string>* config_args = nullptr) {
  po::parsed_options parsed = [&] {
    try {
      return po::command_line_parser(argc - 1, argv + 1).options(desc).allow_unregistered().run();
    } catch (const po::error& e) {
      throw InputError(e.what());
    }
  }();
  po::variables_map vm;
  try {
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(e.what());
  }
  std::vector<std::string> rest = po::collect_unrecognized(parsed.options, po::include_positional);
  if (config_args) *config_args = rest;
  std::vector<char*> cargv{argv[1]};
  for (auto& r : rest) cargv.push_back(r.data());
  const bool help = vm.count("help") > 0;
  const std::string command = kind == "calibrate" ? kind : "study " + kind;
  if (help) std::cout << "usage: macrodyn " << command << " --config FILE [options]\n\n" << about << "\n\n" << desc << "\n";
  return parse_config(command, "", static_cast<int>(cargv.size()), cargv.data(), base) && !help;
}

template <class T>
std::vector<T> parse_list(const std::string& option, const std::string& text) {
  std::vector<T> out;
  std::stringstream ss(text);
  for (std::string tok; std::getline(ss, tok, ',');) {
    std::istringstream one(tok);
    T v{};
    if (!(one >> v) || !(one >> std::ws).eof())
      throw InputError(option + " must be a comma-separated list of numbers, not '" + text + "'");
    out.push_back(v);
  }
  return out;
}

std::string command_line(int argc, char** argv) {
  std::string s = "macrodyn study";
  for (int i = 1; i < argc; ++i) s += " " + std::string(argv[i]);
  return s;
}

int study_patch_size(int argc, char** argv) {
  StudyOptions o;
  std::string patches = "8,16,32,64", seeds = "1,2,3";
  po::options_description desc("Study options (the system comes from --config FILE and --section.key overrides)");
  desc.add_options()("help", "print this help")("out", po::value(&o.out), "the study directory (default study-<system>)")(
      "patches", po::value(&patches)->default_value(patches), "patch sides p (= small sides), comma-separated")(
      "pairs", value_with_default(&o.pairs), "training pairs per cell")(
      "ae-snapshots", value_with_default(&o.ae_snapshots), "autoencoder training snapshots")(
      "ae-epochs", value_with_default(&o.ae_epochs), "autoencoder epochs")(
      "epochs", value_with_default(&o.epochs), "SDE epochs")(
      "lr", value_with_default(&o.lr), "SDE learning rate (0 = reference: Ising 1e-3, Curie-Weiss 1e-2)")(
      "diffusion", po::value(&o.diffusion), "SDE diffusion (default: reference, Ising full, Curie-Weiss constant)")(
      "batch", value_with_default(&o.batch), "SDE batch")(
      "train-seeds", po::value(&seeds)->default_value(seeds),
      "training seeds, comma-separated: each cell is reported as the mean and spread over them (the data and the "
      "autoencoder are shared; the first seed trains it)")(
      "device", value_with_default(&o.device), "auto, cpu or cuda")(
      "cached-only", po::bool_switch(&o.cached_only), "tabulate and plot the finished cells only, compute nothing");
  Config base;
  if (!parse_study("patch-size",
                   "For each patch side p (= small side, K = (L/p)^D): generate the pairs, train the K-scaled\n"
                   "and the naive model on the same latents, evaluate both against one set of full-size\n"
                   "truth runs (truth.* keys), and write OUT/patch-size.csv and OUT/patch-size.png.\n"
                   "Resumable: rerun the same command and finished stages are reused.",
                   desc, argc, argv, base))
    return 0;
  o.threads = base.threads;  // run.threads (or --threads): the simulations' and torch's threads
  o.patches = parse_list<int>("--patches", patches);
  o.seeds = parse_list<std::uint64_t>("--train-seeds", seeds);
  if (o.out.empty()) o.out = "study-" + base.system;
  o.command_line = command_line(argc, argv);
  const auto rows = patch_size_study(base, o, [](const Config& c) { return to_ini(c); });
  std::printf("%-6s %-6s %-8s %6s  %-28s %-24s\n", "p", "K", "method", "seeds", "rel_error median (min-max)",
              "std ratio m median (min-max)");
  for (const auto& r : summarise(rows)) {
    char err[64], ratio[64];
    std::snprintf(err, sizeof err, "%.3g (%.3g-%.3g)", r.rel_error.median, r.rel_error.min, r.rel_error.max);
    std::snprintf(ratio, sizeof ratio, "%.3g (%.3g-%.3g)", r.std_ratio_m.median, r.std_ratio_m.min, r.std_ratio_m.max);
    std::printf("%-6d %-6lld %-8s %6d  %-28s %-24s\n", r.p, static_cast<long long>(r.K), r.method.c_str(), r.seeds,
                err, ratio);
  }
  std::printf("report: %s\n", write_report(o.out).c_str());
  return 0;
}

int study_loss_factor(int argc, char** argv) {
  LossFactorOptions o;
  std::string factors = "1,2.5,5,10,20", seeds = "0,1,2";
  po::options_description desc("Study options (the system comes from --config FILE and --section.key overrides)");
  desc.add_options()("help", "print this help")("out", po::value(&o.out), "the study directory (default study-loss-factor)")(
      "factors", po::value(&factors)->default_value(factors), "loss factors lambda, comma-separated")(
      "train-seeds", po::value(&seeds)->default_value(seeds),
      "SDE training seeds, comma-separated: each lambda is reported as the median and range over them (the data, "
      "the truth and the autoencoder are shared; the first seed trains it)")(
      "ae-epochs", value_with_default(&o.ae_epochs), "closure autoencoder epochs")(
      "ae-weight-decay", value_with_default(&o.ae_weight_decay),
      "closure autoencoder L2 weight decay (fields' Adam; < 0 = the preset 1e-4, which can keep the closure from "
      "learning)")(
      "epochs", value_with_default(&o.epochs), "SDE epochs")(
      "batch", value_with_default(&o.batch), "SDE batch")(
      "lr", value_with_default(&o.lr), "SDE learning rate (0 = the system's reference value)")(
      "eps", value_with_default(&o.eps), "SDE loss epsilon")(
      "device", value_with_default(&o.device), "auto, cpu or cuda")(
      "cached-only", po::bool_switch(&o.cached_only), "tabulate and plot the finished models only, compute nothing");
  Config base;
  if (!parse_study("loss-factor",
                   "Does the K-scaled loss need the factor K? One dataset (generate), one ground truth\n"
                   "(simulate: truth.* keys), one closure autoencoder and one set of latent pairs; then for\n"
                   "each loss factor lambda and training seed a neural SDE trained with lambda in place of K,\n"
                   "a model directory OUT/lambda-<lambda>-s<seed> that predict and evaluate take, scored by\n"
                   "evaluate's MMD^2 against the truth over time and initial conditions. Writes\n"
                   "OUT/loss-factor.csv, loss-factor-summary.csv, loss-factor.png, mmd-time.png and\n"
                   "verdict.txt (where the minimum lies against K). Any system; docs/design.md §8.6.5 for\n"
                   "predator-prey (jobs/configs/predator-prey.ini).\n"
                   "Resumable: rerun the same command and finished stages are reused.",
                   desc, argc, argv, base))
    return 0;
  o.threads = base.threads;  // run.threads (or --threads): the simulations' and torch's threads
  o.factors = parse_list<double>("--factors", factors);
  o.seeds = parse_list<std::uint64_t>("--train-seeds", seeds);
  if (o.out.empty()) o.out = "study-loss-factor";
  o.command_line = command_line(argc, argv);
  const auto rows = loss_factor_study(base, o, [](const Config& c) { return to_ini(c); });
  std::printf("%-8s %6s  %-30s %-30s\n", "lambda", "seeds", "MMD^2 median (min-max)", "t >= T/2 median (min-max)");
  for (const auto& r : summarise(rows)) {
    char all[64], late[64];
    std::snprintf(all, sizeof all, "%.4g (%.4g-%.4g)", r.mmd2_median, r.mmd2_min, r.mmd2_max);
    std::snprintf(late, sizeof late, "%.4g (%.4g-%.4g)", r.late_median, r.late_min, r.late_max);
    std::printf("%-8g %6d  %-30s %-30s\n", r.factor, r.seeds, all, late);
  }
  std::printf("report: %s\n", write_report(o.out).c_str());
  return 0;
}

// "A:section.key=value" -> (A, --section.key, value); throws InputError naming `option`.
struct Setting {
  double at = 0;
  std::string key, value;
};
Setting parse_setting(const std::string& option, const std::string& text) {
  const auto colon = text.find(':'), eq = text.find('=');
  Setting s;
  std::istringstream at(text.substr(0, colon));
  if (colon == std::string::npos || eq == std::string::npos || eq < colon || !(at >> s.at) || !(at >> std::ws).eof() ||
      text.substr(colon + 1, eq - colon - 1).find('.') == std::string::npos)
    throw InputError(option + " takes VALUE:section.key=value (e.g. 64:upsample.window=0), not '" + text + "'");
  s.key = "--" + text.substr(colon + 1, eq - colon - 1);
  s.value = text.substr(eq + 1);
  return s;
}

int study_conditions(int argc, char** argv) {
  ConditionStudyOptions o;
  std::string train = "1400,1600,1800,2000,2200,2400,2600,2800,3000", test = "1600,2000,2600", sides = "32",
              drifts = "mlp";
  std::vector<std::string> size_set, test_set;
  bool no_baselines = false;
  po::options_description desc("Study options (the system comes from --config FILE and --section.key overrides)");
  desc.add_options()("help", "print this help")("out", po::value(&o.out), "the study directory (default study-conditions)")(
      "key", value_with_default(&o.key), "the condition: a numeric system key (system.<key>)")(
      "train-values", po::value(&train)->default_value(train), "values of the key to train at, comma-separated")(
      "test-values", po::value(&test)->default_value(test), "values of the key to simulate the truth at and test")(
      "sides", po::value(&sides)->default_value(sides), "target sizes (large.side), comma-separated: one model each")(
      "size-set", po::value(&size_set)->composing(),
      "SIDE:section.key=value, a config setting for one target size (repeatable; e.g. 64:upsample.window=0)")(
      "test-set", po::value(&test_set)->composing(),
      "VALUE:section.key=value, a truth setting at one test value (repeatable; e.g. 2000:system.frame_time=9.1e-8)")(
      "drifts", po::value(&drifts)->default_value(drifts), "drifts of the K-scaled model: mlp, onsager or both")(
      "no-baselines", po::bool_switch(&no_baselines), "skip the naive and small-system baselines")(
      "baseline-drift", value_with_default(&o.baseline_drift), "the baselines' drift: mlp or onsager")(
      "epochs", value_with_default(&o.epochs), "SDE epochs")("batch", value_with_default(&o.batch), "SDE batch")(
      "patience", value_with_default(&o.patience), "ReduceLROnPlateau patience (epochs)")(
      "lr", value_with_default(&o.lr), "SDE learning rate")("eps", value_with_default(&o.eps), "SDE loss epsilon")(
      "ensemble", value_with_default(&o.ensemble), "predictions per truth run")(
      "equilibrium-steps", value_with_default(&o.equilibrium_steps),
      "steps (at the training step) of the long rollouts from z = 0 at every training value")(
      "equilibrium-ensemble", value_with_default(&o.equilibrium_ensemble), "trajectories of those rollouts")(
      "train-seed", value_with_default(&o.seed), "SDE training seed")(
      "device", value_with_default(&o.device), "auto, cpu or cuda")(
      "cached-only", po::bool_switch(&o.cached_only), "tabulate and plot the finished evaluations only, compute nothing");
  Config base;
  std::vector<std::string> config_args;
  if (!parse_study("conditions",
                   "One SDE conditioned on a system key (the alloy's T) from small simulations at several values,\n"
                   "judged against full-size truth at other values and sizes. Per target size: generate at each\n"
                   "training value, simulate at each test value, train the K-scaled model (per drift) and the\n"
                   "naive and small-system baselines on all training values at once (train --condition), and\n"
                   "evaluate each at each test value. Writes OUT/conditions.csv, equilibrium.csv, report.md,\n"
                   "bands-L<side>-<key><value>.png and equilibrium-<observable>.png.\n"
                   "Resumable: rerun the same command and finished stages are reused.\n"
                   "Example (docs/design.md §8.7.6): macrodyn study conditions --config jobs/configs/nbmota.ini",
                   desc, argc, argv, base, &config_args))
    return 0;
  o.threads = base.threads;
  o.train_values = parse_list<double>("--train-values", train);
  o.test_values = parse_list<double>("--test-values", test);
  o.sides = parse_list<int>("--sides", sides);
  {
    o.drifts.clear();
    std::stringstream ss(drifts);
    for (std::string d; std::getline(ss, d, ',');) o.drifts.push_back(d);
  }
  o.baselines = !no_baselines;
  if (o.out.empty()) o.out = "study-conditions";
  o.command_line = command_line(argc, argv);
  std::vector<Setting> per_size, per_test;
  for (const auto& s : size_set) per_size.push_back(parse_setting("--size-set", s));
  for (const auto& s : test_set) per_test.push_back(parse_setting("--test-set", s));
  const std::string key = o.key;
  const StudyConfigOf config_of = [&, key](int side, double value, bool truth) {
    std::vector<std::string> args = config_args;
    args.insert(args.end(), {"--large.side", std::to_string(side), "--system." + key, shortest(value)});
    for (const auto& s : per_size)
      if (s.at == side) args.insert(args.end(), {s.key, s.value});
    if (truth)
      for (const auto& s : per_test)
        if (s.at == value) args.insert(args.end(), {s.key, s.value});
    std::vector<char*> cargv{argv[1]};
    for (auto& a : args) cargv.push_back(a.data());
    Config c;
    parse_config("study conditions", "", static_cast<int>(cargv.size()), cargv.data(), c);
    return c;
  };
  const auto rows = condition_study(o, config_of, [](const Config& c) { return to_ini(c); });
  std::printf("%-6s %-18s %-8s %-10s %-10s\n", "side", "model", key.c_str(), "rel_error", "MMD^2");
  for (const auto& r : rows)
    std::printf("%-6d %-18s %-8g %-10.4g %-10.4g\n", r.side, r.model.c_str(), r.value, r.rel_error, r.mmd2);
  std::printf("report: %s/report.md\n", o.out.c_str());
  return 0;
}

}  // namespace

int study_equilibrium(int argc, char** argv) {
  EquilibriumSpec spec;
  std::string out = "study-equilibrium", sides = "16,32,64", temperatures = "2.25,2.26,2.27,2.28,2.29";
  po::options_description desc("Study options (the system comes from --config FILE and --section.key overrides)");
  desc.add_options()("help", "print this help")("out", po::value(&out)->default_value(out), "the study directory")(
      "sides", po::value(&sides)->default_value(sides), "lattice sides L, comma-separated")(
      "temperatures", po::value(&temperatures)->default_value(temperatures), "temperatures T, comma-separated")(
      "runs", value_with_default(&spec.runs), "independent chains per (L, T): the errors are their spread (>= 2)")(
      "sweeps", value_with_default(&spec.sweeps), "measured sweeps per chain (a sweep: as many site changes as sites)")(
      "thermalise", value_with_default(&spec.thermalise), "sweeps dropped first")(
      "seed", value_with_default(&spec.seed), "the chains' seed (mixed with T: a row does not depend on the lists)")(
      "threads", value_with_default(&spec.threads), "threads over the chains (0 = all cores)");
  Config base;
  if (!parse_study("equilibrium",
                   "The ground truth of finite-size scaling: the equilibrium law at each side L and temperature T\n"
                   "from the system's equilibrium sampler (Wolff's cluster algorithm for ising2d and ising3d at\n"
                   "system.h = 0), which needs no dynamics: <|m|>, <m^2>, <m^4>, the energy per site,\n"
                   "chi' = (N/T)(<m^2> - <|m|>^2), chi = (N/T)<m^2>, the Binder cumulant U = 1 - <m^4>/(3<m^2>^2)\n"
                   "and dU/dT from the fluctuation formula, each with a jackknife error over the chains.\n"
                   "Writes OUT/equilibrium.csv row by row; rerun the same command and finished rows are kept.\n"
                   "Example: macrodyn study equilibrium --config jobs/configs/ising-critical.ini --sides 16,32,64",
                   desc, argc, argv, base))
    return 0;
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) throw FileError("cannot create the study directory " + out + ": " + ec.message());
  spec.progress = base.progress;
  std::fprintf(stderr, "%s\n", equilibrium_recipe(base.system, spec).substr(2).c_str());
  const auto rows = run_equilibrium(base.system, resolved_system_params(base), parse_list<int>("--sides", sides),
                                    parse_list<double>("--temperatures", temperatures), spec, out + "/equilibrium.csv");
  std::printf("wrote %s/equilibrium.csv (%zu rows)\n", out.c_str(), rows.size());
  return 0;
}

int study_fss(int argc, char** argv) {
  FssOptions o;
  std::string sides = "16,32,48,64", temperatures = "2.25,2.26,2.27,2.28,2.29", extra = "128@2.27",
              factors = "K,measured,stationary,tuned", seeds = "0,1,2";
  po::options_description desc("Study options (the system comes from --config FILE and --section.key overrides)");
  desc.add_options()("help", "print this help")("out", po::value(&o.out), "the study directory (default study-fss)")(
      "sides", po::value(&sides)->default_value(sides), "lattice sides L of the grid, comma-separated")(
      "temperatures", po::value(&temperatures)->default_value(temperatures), "temperatures T of the grid, comma-separated")(
      "extra-cells", po::value(&extra)->default_value(extra), "cells beside the grid, L@T comma-separated ('' for none)")(
      "slope-temperature", value_with_default(&o.slope_temperature), "T of the log-log fits of <|m|> and chi' against L")(
      "factors", po::value(&factors)->default_value(factors),
      "ways of setting the loss factor: K, measured (calibrate's c* per cell), stationary (c* over the patch's drift "
      "ratio, calibrate's c_stationary per cell), tuned (the authors' table)")(
      "train-seeds", po::value(&seeds)->default_value(seeds), "SDE training seeds, comma-separated")(
      "ae-epochs", value_with_default(&o.ae_epochs), "closure autoencoder epochs (one autoencoder for every cell)")(
      "epochs", value_with_default(&o.epochs), "SDE epochs")("batch", value_with_default(&o.batch), "SDE batch")(
      "lr", value_with_default(&o.lr), "SDE learning rate (0 = the system's reference value)")(
      "eps", value_with_default(&o.eps), "SDE loss epsilon")(
      "calibrate-snapshots", value_with_default(&o.calibrate_snapshots), "snapshots of the measured factor per cell")(
      "calibrate-replicas", value_with_default(&o.calibrate_replicas), "replicas per snapshot of the measured factor")(
      "truth-runs", value_with_default(&o.truth_runs), "equilibrium chains per cell (the truth's errors)")(
      "truth-sweeps", value_with_default(&o.truth_sweeps), "measurements per chain")(
      "truth-thermalise", value_with_default(&o.truth_thermalise), "sweeps dropped first per chain")(
      "starts", value_with_default(&o.starts), "rollout starts: the dataset's states, spread over its pairs")(
      "copies", value_with_default(&o.copies), "rollouts per start")(
      "steps", value_with_default(&o.steps), "rollout steps (of the training pairs' mean dt)")(
      "burn", value_with_default(&o.burn), "fraction of each rollout dropped before the statistics")(
      "bins", value_with_default(&o.bins), "|m| histogram bins")(
      "binder-degree", value_with_default(&o.binder_degree), "degree of the polynomial fitted to U(T) per side")(
      "max-hours", value_with_default(&o.max_hours), "start no new stage after this many hours (0 = no cap); rerun to go on")(
      "device", value_with_default(&o.device), "auto, cpu or cuda")(
      "cached-only", po::bool_switch(&o.cached_only), "tabulate and plot the finished models only, compute nothing");
  Config base;
  if (!parse_study("fss",
                   "Finite-size scaling from patch simulations (docs/design.md §8.5.9). Per cell (L, T): the\n"
                   "equilibrium truth (Wolff, with the |m| histogram), a dataset (generate at L, T), the measured\n"
                   "loss factor (calibrate), and per way of setting the factor and training seed a neural SDE\n"
                   "whose long rollouts from the dataset's states give <|m|>, chi' = (N/T)(<m^2> - <|m|>^2) and\n"
                   "U. Beside the truth's from the same fit on the same sides: the log-log exponents of <|m|>\n"
                   "and chi' at --slope-temperature, the exponent of |dU/dT| at T_c (U(T) fitted per side),\n"
                   "Binder crossings, collapses and histograms, and a verdict per setting (each exponent within\n"
                   "2 combined standard errors). Writes OUT/fss-models.csv, fss-cells.csv, exponents.csv,\n"
                   "binder-crossings.csv, verdict.txt, warnings.txt, plots and report.html. Resumable seed by\n"
                   "seed over the cells; --max-hours caps a run.\n"
                   "Example: macrodyn study fss --config jobs/configs/ising-critical.ini --sides 16,32,64 "
                   "--temperatures 2.27 --extra-cells ''",
                   desc, argc, argv, base))
    return 0;
  o.threads = base.threads;
  o.sides = sides.empty() ? std::vector<int>{} : parse_list<int>("--sides", sides);
  o.temperatures = temperatures.empty() ? std::vector<double>{} : parse_list<double>("--temperatures", temperatures);
  o.extra_cells.clear();
  std::stringstream es(extra);
  for (std::string tok; std::getline(es, tok, ',');) {
    const auto at = tok.find('@');
    std::istringstream l(tok.substr(0, at)), t(at == std::string::npos ? "" : tok.substr(at + 1));
    int L = 0;
    double T = 0;
    if (at == std::string::npos || !(l >> L) || !(l >> std::ws).eof() || !(t >> T) || !(t >> std::ws).eof())
      throw InputError("--extra-cells takes L@T, comma-separated (e.g. 128@2.27), not '" + tok + "'");
    o.extra_cells.emplace_back(L, T);
  }
  o.factors.clear();
  std::stringstream fs_(factors);
  for (std::string tok; std::getline(fs_, tok, ',');) o.factors.push_back(tok);
  o.seeds = parse_list<std::uint64_t>("--train-seeds", seeds);
  if (o.out.empty()) o.out = "study-fss";
  o.command_line = command_line(argc, argv);
  const auto verdict = fss_study(base, o, [](const Config& c) { return to_ini(c); });
  std::printf("verdict:\n");
  for (const auto& line : verdict) std::printf("  %s\n", line.c_str());
  std::printf("report: %s\n", write_report(o.out).c_str());
  return 0;
}

// macrodyn calibrate: like a study, options of its own plus --config and overrides.
int cmd_calibrate(int argc, char** argv) {
  CalibrateSpec spec;
  std::string out = "calibrate", horizons = "1", boundaries;
  po::options_description desc("Calibrate options (the pipeline comes from --config FILE and --section.key overrides)");
  desc.add_options()("help", "print this help")("out", po::value(&out)->default_value(out), "the output directory")(
      "snapshots", value_with_default(&spec.snapshots), "upsampled snapshots (large.snapshots of generate)")(
      "replicas", value_with_default(&spec.replicas), "independent evolutions of each snapshot (>= 2)")(
      "horizons", po::value(&horizons)->default_value(horizons),
      "patch evolutions in units of the training one (partial.events), comma-separated")(
      "boundaries", po::value(&boundaries), "patch boundaries, comma-separated (default: partial.boundary)")(
      "bootstrap", value_with_default(&spec.bootstrap), "bootstrap resamples of the snapshots for the interval")(
      "threads", value_with_default(&spec.threads), "threads over the snapshots (0 = all cores)")(
      "bins", value_with_default(&spec.bins), "bins of the first observable for OUT/binned.csv (drift and diffusion)")(
      "model", po::value(&spec.model),
      "a model directory with a learned closure (macrodyn train): its encoder's codes join the observables");
  // parse_study prints "macrodyn study KIND": calibrate has its own usage line.
  const std::string about =
      "The loss factor measured instead of assumed (docs/design.md §1.12). On the snapshots generate would\n"
      "build, each evolved `replicas` times: one patch as in training (its boundary, horizon x\n"
      "partial.events) and the whole lattice for exactly the patch's physical time. With u and v the\n"
      "patch's and the lattice's increments of the observables over sqrt(dt), C_I = E Cov(u | snapshot)\n"
      "and C_full = E Cov(v | snapshot), the factor is c* = (1/n) tr(C_full^-1 C_I): K when the K patches\n"
      "evolve independently. Per-observable ratios, the same across snapshots, and 95 % bootstrap\n"
      "intervals beside it. Writes OUT/calibrate.csv, and OUT/binned.csv: the whole lattice's drift and\n"
      "diffusion (the truth's) against the patch's, binned in the first observable. train takes the\n"
      "factor with --loss-factor measured\n"
      "--calibration OUT/calibrate.csv.\n"
      "Example: macrodyn calibrate --config jobs/configs/quickstart.ini --horizons 0.5,1,2 --boundaries periodic,frozen";
  Config base;
  // parse_study reads the options after argv[1] (a study's kind): calibrate has none.
  std::vector<char*> args{argv[0], argv[0]};
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  if (!parse_study("calibrate", about, desc, static_cast<int>(args.size()), args.data(), base)) return 0;
  spec.horizons = parse_list<double>("--horizons", horizons);
  std::stringstream bs(boundaries);
  for (std::string tok; std::getline(bs, tok, ',');) {
    if (tok == "periodic") spec.boundaries.push_back(Boundary::periodic);
    else if (tok == "frozen") spec.boundaries.push_back(Boundary::frozen);
    else throw InputError("--boundaries: '" + tok + "' is neither periodic nor frozen");
  }
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) throw FileError("cannot create the output directory " + out + ": " + ec.message());
  const Calibration cal = calibrate(base, spec);
  const auto& names = cal.names;
  std::string recipe = "macrodyn calibrate";
  for (int i = 1; i < argc; ++i) recipe += " " + std::string(argv[i]);
  const std::string csv = calibration_csv(cal.rows, names, recipe);
  write_file_atomically(out + "/calibrate.csv", csv.data(), csv.size());
  const std::string binned = binned_csv(cal.rows, names, recipe);
  write_file_atomically(out + "/binned.csv", binned.data(), binned.size());
  std::printf("%-8s %-9s %5s %10s %22s %8s   %s\n", "horizon", "boundary", "K", "c*", "95 % interval", "c*/K",
              "per observable (conditional)");
  for (const auto& r : cal.rows) {
    std::string per;
    for (std::size_t k = 0; k < names.size(); ++k) {
      char cell[80];
      std::snprintf(cell, sizeof cell, "%s %.4g +- %.2g  ", names[k].c_str(), r.ratio[k], r.ratio_se[k]);
      per += cell;
    }
    std::printf("%-8s %-9s %5lld %10.4g [%9.4g, %9.4g] %8.3f   %s\n", shortest(r.horizon).c_str(), to_string(r.boundary),
                static_cast<long long>(r.K), r.c_star, r.c_lo, r.c_hi, r.c_star / static_cast<double>(r.K), per.c_str());
  }
  std::printf("\nverdict:\n");
  for (const auto& r : cal.rows) std::printf("  %s\n", calibration_verdict(r).c_str());
  std::printf("wrote %s/calibrate.csv (%lld snapshots x %d replicas)\n", out.c_str(),
              static_cast<long long>(spec.snapshots), spec.replicas);
  return 0;
}

int cmd_study(int argc, char** argv) {
  const std::string kind = argc >= 2 ? argv[1] : "";
  if (kind == "equilibrium") return study_equilibrium(argc, argv);
  if (kind == "patch-size") return study_patch_size(argc, argv);
  if (kind == "loss-factor") return study_loss_factor(argc, argv);
  if (kind == "conditions") return study_conditions(argc, argv);
  if (kind == "fss") return study_fss(argc, argv);
  if (kind == "--help" || kind == "-h") {
    std::cout << "usage: " << kKinds << "\n";
    return 0;
  }
  throw InputError(std::string("study needs a kind: ") + kKinds);
}

}  // namespace macrodyn::app
