#include "commands.hpp"

#include <boost/program_options.hpp>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "core/error.hpp"
#include "io/inspect.hpp"
#include "jobs/bench.hpp"
#include "jobs/jobs.hpp"
#include "jobs/model_info.hpp"
#include "jobs/report.hpp"
#include "launcher.hpp"
#include "systems/system.hpp"
#include "options.hpp"
#include "parse_args.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::app {

namespace po = boost::program_options;

namespace {

void print_summary(const JobSummary& s, const Config& c) {
  std::printf("wrote %s in %.2f s (%d threads)\n", s.path.c_str(), s.seconds, c.resolved_threads());
  if (s.small_frames) std::printf("  small frames   %lld\n", static_cast<long long>(s.small_frames));
  if (s.snapshots) std::printf("  snapshots      %lld\n", static_cast<long long>(s.snapshots));
  if (s.pairs) std::printf("  pairs          %lld\n", static_cast<long long>(s.pairs));
  if (s.trajectories) std::printf("  trajectories   %lld\n", static_cast<long long>(s.trajectories));
}

// --help handled by parse_config; unknown options throw InputError.
template <class Run>
int config_command(const char* name, const char* summary, Job job, int argc, char** argv, Run run) {
  Config c;
  if (!parse_config(name, summary, argc, argv, c)) return 0;
  validate(c, job);
  const JobSummary s = run(c);
  print_summary(s, c);
  io::inspect(s.path, std::cout);
  return 0;
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  return config_command(
      "generate",
      "Simulate small systems from random initial states, build large snapshots by hierarchical\n"
      "upsampling (UPSAMPLE + LOCALRELAX), partially evolve one patch (or every patch) of each,\n"
      "and write the training pairs (docs/design.md §5.3) to output.path. Without --config it runs a small\n"
      "built-in 2D Ising example (seconds).\n"
      "Example: macrodyn generate --config jobs/configs/quickstart.ini --output.path pairs.h5",
      Job::generate, argc, argv, [](const Config& c) { return generate(c); });
}

int cmd_simulate(int argc, char** argv) {
  const char* summary =
      "Run full-size (large.side) ground-truth trajectories and write them to /trajectories of\n"
      "output.path: observables per frame, durations, each run's initial condition, and the states\n"
      "when closure.kind is autoencoder (phi of the truth is recomputed per patch tiling).\n"
      "A system with a distributed solver (predator_prey, predator_prey2d: a PETSc DMDA) is\n"
      "simulated across the ranks of the job, `mpiexec -n R macrodyn simulate ...`, with the same\n"
      "bits on any number of ranks; the others run as one process on run.threads threads.\n"
      "Example: macrodyn simulate --config jobs/configs/quickstart.ini --output.path truth.h5";
  Config c;
  if (!parse_config("simulate", summary, argc, argv, c)) return 0;
  const bool distributed = systems::is_system_name(c.system) &&
                           systems::make_system(c.system, c.system_params)->distributed_truth();
#ifdef MACRODYN_WITH_PETSC
  if (distributed) return simulate_distributed(argc, argv, c);
#else
  if (distributed && launcher_ranks() > 1)
    throw InputError("system " + c.system + " is simulated across ranks by PETSc, which this macrodyn was built without");
#endif
  if (launcher_ranks() > 1)
    throw InputError("simulate runs system " + c.system + " as one process (only systems with a distributed solver "
                     "take mpiexec), but it was started as " + std::to_string(launcher_ranks()) + " ranks");
  validate(c, Job::simulate);
  const JobSummary s = simulate(c);
  print_summary(s, c);
  io::inspect(s.path, std::cout);
  return 0;
}

namespace {
// A model directory: what model.json says, the files, and the verdict when there is one.
void inspect_model_dir(const std::string& dir) {
  const ModelInfo m = read_model_info(dir);
  std::string vars;
  for (const auto& v : m.variables) vars += (vars.empty() ? "" : ", ") + v;
  std::printf("model %s (%s, format %lld, macrodyn %s)\n", dir.c_str(), m.format.c_str(),
              static_cast<long long>(m.format_version), m.macrodyn_version.c_str());
  std::printf("  system         %s, %s\n", m.system.c_str(), m.params.describe().c_str());
  std::printf("  tiling         L %lld, patch %lld, K %lld, boundary %s\n", static_cast<long long>(m.L),
              static_cast<long long>(m.patch), static_cast<long long>(m.K), m.boundary.c_str());
  std::printf("  variables      %s (closure %lld)\n", vars.c_str(), static_cast<long long>(m.closure_dim));
  std::printf("  SDE            %s, loss factor %g, %s diffusion, %lld epochs, %lld training pairs, seed %llu\n",
              m.method.c_str(), m.loss_factor, m.diffusion.c_str(), static_cast<long long>(m.epochs),
              static_cast<long long>(m.train_pairs), static_cast<unsigned long long>(m.seed));
  std::printf("  final losses   train %g, validation %g\n", m.final_train_loss, m.final_val_loss);
  std::printf("  time unit      %g (%s)\n", m.time_unit, m.time_unit_kind.c_str());
  std::printf("  dataset        %s\n", m.dataset.c_str());
  std::printf("  files         ");
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) std::printf(" %s", f.c_str());
  std::printf("\n");
  for (const std::string& v : {dir + "/verdict.txt", dir + "/verdict/verdict.txt"})
    if (std::filesystem::exists(v)) {
      std::ifstream in(v);
      std::printf("\n%s", std::string(std::istreambuf_iterator<char>(in), {}).c_str());
    }
}
}  // namespace

int cmd_inspect(int argc, char** argv) {
  po::options_description desc("Options");
  desc.add_options()("help", "print this help")("file", po::value<std::string>(), "the HDF5 dataset");
  po::positional_options_description pos;
  pos.add("file", 1);
  const po::variables_map vm = parse_args(argc, argv, desc, pos);
  if (vm.count("help")) {
    std::cout << "usage: macrodyn inspect FILE | MODEL_DIR\n\nPrint the groups, shapes, parameters and simple "
                 "statistics of a macrodyn dataset, or what a model directory holds (model.json, files, verdict).\n"
                 "Example: macrodyn inspect macrodyn-model\n\n"
              << desc << "\n";
    return 0;
  }
  if (!vm.count("file")) throw InputError("inspect needs a FILE argument (a dataset or a model directory)");
  const std::string path = vm["file"].as<std::string>();
  if (std::filesystem::is_directory(path)) {
    inspect_model_dir(path);
    return 0;
  }
  io::inspect(path, std::cout);
  return 0;
}

namespace {
bool g_json = false;
void print_result(const BenchResult& r) {
  if (g_json)
    std::printf("{\"name\": \"%s\", \"params\": %s, \"value\": %.6g, \"unit\": \"%s\"}\n", r.name.c_str(),
                r.params.c_str(), r.value, r.unit.c_str());
  else
    std::printf("%-32s %14.4g %-12s %s\n", r.name.c_str(), r.value, r.unit.c_str(), r.params.c_str());
  std::fflush(stdout);
}
}  // namespace

int cmd_bench(int argc, char** argv) {
  BenchOptions o;
  po::options_description desc("Options");
  desc.add_options()("help", "print this help")("json", po::bool_switch(&g_json), "one JSON object per line")(
      "seconds", po::value<double>(&o.seconds)->default_value(1.0), "minimum measured time per figure")(
      "filter", po::value<std::string>(&o.filter), "only figures whose name contains this");
  const po::variables_map vm = parse_args(argc, argv, desc);
  if (vm.count("help")) {
    std::cout << "usage: macrodyn bench [--json] [--seconds S] [--filter NAME]\n\n"
                 "Single-thread throughput of the kernels through the code paths of generate:\n"
                 "glauber_ct_flips_per_s, partial_evolution_pairs_per_s, upsample_snapshots_per_s.\n\n"
              << desc << "\n";
    return 0;
  }
  if (!(o.seconds > 0)) throw InputError("--seconds must be positive");
  if (!g_json) std::printf("%-32s %14s %-12s %s\n", "name", "value", "unit", "params");
  run_benchmarks(o, print_result);
  return 0;
}

int cmd_report(int argc, char** argv) {
  po::options_description desc("Options");
  desc.add_options()("help", "print this help")("dir", po::value<std::string>(), "a model, evaluation, run or study directory");
  po::positional_options_description pos;
  pos.add("dir", 1);
  const po::variables_map vm = parse_args(argc, argv, desc, pos);
  if (vm.count("help")) {
    std::cout << "usage: macrodyn report DIR\n\n"
                 "(Re)writes DIR/report.html from the files in DIR: the verdict, the predicted against the true\n"
                 "mean +- std bands per initial condition, the tables, the loss curves, the configuration and\n"
                 "provenance. One self-contained file (figures embedded), to copy off a cluster and open anywhere.\n"
                 "run, train, evaluate and study write it themselves; this command rebuilds it.\n"
                 "Example: macrodyn report macrodyn-model\n\n"
              << desc << "\n";
    return 0;
  }
  if (!vm.count("dir")) throw InputError("report needs a DIR argument (a model, evaluation, run or study directory)");
  std::printf("wrote %s\n", write_report(vm["dir"].as<std::string>()).c_str());
  return 0;
}

int cmd_config_reference() {
  std::cout << config_reference_markdown();
  return 0;
}

}  // namespace macrodyn::app
