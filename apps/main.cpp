// macrodyn: learn the macroscopic stochastic dynamics of large lattice systems from
// small simulations. This file only dispatches to the subcommands.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "commands.hpp"
#include "launcher.hpp"
#include "core/error.hpp"
#include "core/stop.hpp"
#include "jobs/jobs.hpp"

namespace {

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: macrodyn <command> [options]   (macrodyn <command> --help for details; macrodyn --version)\n\n"
               "commands:\n"
               "  run        the distributed pipeline online: simulator teams stream pairs to learners (mpirun or one process)\n"
               "  generate   small trajectories -> hierarchical upsampling -> partial evolution, into one HDF5 dataset\n"
               "  simulate   full-size ground-truth runs into /trajectories (predator_prey: on a PETSc grid across mpirun ranks)\n"
               "  inspect    print the groups, shapes, parameters and statistics of a dataset\n"
               "  train      fit the closure autoencoder and the neural SDE to a dataset's pairs -> model directory\n"
               "  encode     write /latent (z0, z1, z1_naive, dt) of a dataset's pairs with a trained model\n"
               "  predict    Euler-Maruyama ensembles of the learned SDE from given macrostates\n"
               "  evaluate   compare predicted ensembles with /trajectories ground truth: metrics CSV and plots\n"

               "  study      patch-size, loss-factor or conditions studies of any system: simulate, generate, train, evaluate (resumable);\n"
               "             equilibrium: the equilibrium ground truth of finite-size scaling (Wolff)\n"
               "  calibrate  the loss factor measured: patch against whole-lattice increment covariances over the same time\n"
               "  report     (re)write DIR/report.html: verdict, bands, tables, loss curves, provenance in one file\n"
               "  bench      throughput of the kernels (flips/s, pairs/s, snapshots/s)\n"
               "  config-reference  print every configuration key, its default and meaning (Markdown)\n");
}

// SIGINT/SIGTERM: let the job finish its current block and commit, then stop. A second
// signal kills the process at once (the committed rows are safe either way).
extern "C" void on_stop_signal(int sig) {
  if (macrodyn::stop_signal().exchange(sig) != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("macrodyn %s\n", macrodyn::jobs::kMacrodynVersion);
    return 0;
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);  // Slurm's warning before the time limit (macrodyn run checkpoints)
  try {
    // Only run and simulate (for a system with a distributed solver, which it checks
    // itself) are MPI programs; n copies of another command would write the same files.
    if (cmd != "run" && cmd != "simulate" && macrodyn::app::launcher_ranks() > 1)
      throw macrodyn::InputError(cmd + " is not an MPI program but was started as " +
                                 std::to_string(macrodyn::app::launcher_ranks()) +
                                 " ranks; run it as one process (only run and simulate take mpiexec)");
    // Subcommands see argv from their own name on (argv[0] = subcommand).
    if (cmd == "generate") return macrodyn::app::cmd_generate(argc - 1, argv + 1);
    if (cmd == "simulate") return macrodyn::app::cmd_simulate(argc - 1, argv + 1);
    if (cmd == "inspect") return macrodyn::app::cmd_inspect(argc - 1, argv + 1);
    if (cmd == "bench") return macrodyn::app::cmd_bench(argc - 1, argv + 1);
    if (cmd == "train") return macrodyn::app::cmd_train(argc - 1, argv + 1);
    if (cmd == "encode") return macrodyn::app::cmd_encode(argc - 1, argv + 1);
    if (cmd == "predict") return macrodyn::app::cmd_predict(argc - 1, argv + 1);
    if (cmd == "evaluate") return macrodyn::app::cmd_evaluate(argc - 1, argv + 1);
    if (cmd == "study") return macrodyn::app::cmd_study(argc - 1, argv + 1);
    if (cmd == "calibrate") return macrodyn::app::cmd_calibrate(argc - 1, argv + 1);
    if (cmd == "run") return macrodyn::app::cmd_run(argc - 1, argv + 1);
    if (cmd == "fields")  // the old name of simulate for the predator-prey fields
      throw macrodyn::InputError(
          "macrodyn fields is now macrodyn simulate with system.name = predator_prey or predator_prey2d: the field.* "
          "keys became system.* keys (system.scheme = semi_implicit for the implicit scheme), field.test_m x "
          "field.test_k became truth.m0 = m:k,...; run it under mpiexec as before");
    if (cmd == "config-reference") return macrodyn::app::cmd_config_reference();
    if (cmd == "report") return macrodyn::app::cmd_report(argc - 1, argv + 1);
  } catch (const macrodyn::StopRequested& e) {
    std::fprintf(stderr, "macrodyn %s: %s\n", cmd.c_str(), e.what());
    return 128 + e.signal();
  } catch (const macrodyn::InputError& e) {
    std::fprintf(stderr, "macrodyn %s: error: %s\n", cmd.c_str(), e.what());
    return 2;
  } catch (const macrodyn::FileError& e) {
    std::fprintf(stderr, "macrodyn %s: error: %s\n", cmd.c_str(), e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "macrodyn %s: failed: %s\n", cmd.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "macrodyn: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 2;
}
