#pragma once
// The subcommands of macrodyn; each parses its options, validates, calls lib/jobs.
namespace macrodyn::app {
int cmd_generate(int argc, char** argv);
int cmd_simulate(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_config_reference();
}  // namespace macrodyn::app
