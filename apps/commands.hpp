#pragma once
// The subcommands of macrodyn; each parses its options, validates, calls lib/jobs.
namespace macrodyn::app {
int cmd_generate(int argc, char** argv);
int cmd_simulate(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_config_reference();
int cmd_report(int argc, char** argv);
int cmd_train(int argc, char** argv);     // learn_commands.cpp
int cmd_encode(int argc, char** argv);    // learn_commands.cpp
int cmd_study(int argc, char** argv);     // study_commands.cpp
int cmd_calibrate(int argc, char** argv); // study_commands.cpp
int cmd_predict(int argc, char** argv);   // evaluate_commands.cpp
int cmd_evaluate(int argc, char** argv);  // evaluate_commands.cpp
int cmd_run(int argc, char** argv);       // run_command.cpp (MPI)
}  // namespace macrodyn::app

namespace macrodyn::jobs {
struct Config;
}
namespace macrodyn::app {
// simulate_distributed.cpp (MPI, PETSc): simulate for a system with a distributed solver.
int simulate_distributed(int argc, char** argv, const jobs::Config& c);
}  // namespace macrodyn::app
