#pragma once
// Runs the macrodyn binary with a shell command line and captures its exit code,
// stdout and stderr (e2e tests).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace macrodyn::e2e {

struct Result {
  int code = -1;
  std::string out, err;
};

inline std::string tmp(const std::string& name) { return std::string(MACRODYN_E2E_TMPDIR) + "/" + name; }

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `prefix BIN args` in a shell, stdout and stderr captured through files. Each
// binary (each rank under mpiexec) is killed after 10 minutes (exit 124): a test that
// should have been refused but runs instead fails in minutes, not at CI's time limit.
inline Result run_shell(const std::string& prefix, const std::string& args) {
  // The pid keeps test processes that ctest runs side by side off each other's files.
  static int counter = 0;
  const std::string base = tmp("run" + std::to_string(getpid()) + "_" + std::to_string(++counter));
  const std::string cmd = prefix + "timeout -k 10 600 " + std::string(MACRODYN_BIN) + " " + args + " >" + base + ".out 2>" + base + ".err";
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  return r;
}

// args are appended to the binary path verbatim (shell syntax).
inline Result run(const std::string& args) { return run_shell("", args); }

// The binary under `mpiexec -n ranks` (ranks 0: no mpiexec, a single process); env is
// a list of variables passed to every rank (e.g. "MACRODYN_TEST_KILL").
inline Result run_mpi(int ranks, const std::string& args, const std::string& env = "") {
  std::string prefix = env.empty() ? "" : env + " ";
  if (ranks > 0) {
    prefix += std::string(MACRODYN_MPIEXEC) + " -n " + std::to_string(ranks) + " --oversubscribe --allow-run-as-root ";
    if (!env.empty()) prefix += "-x " + env + " ";
  }
  return run_shell(prefix, args);
}

// A small, fast configuration for tests (seconds).
inline std::string tiny(const std::string& subcommand = "generate") {
  return subcommand + " --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --run.progress false";
}

}  // namespace macrodyn::e2e
