#pragma once
// macrodyn bench: throughput of the kernels, through the same code paths as generate.
#include <string>
#include <vector>

namespace macrodyn::jobs {

struct BenchResult {
  std::string name;
  std::string params;  // a JSON object
  double value = 0.0;
  std::string unit;
};

struct BenchOptions {
  double seconds = 1.0;     // minimum measured time per figure
  std::string filter;       // run only figures whose name contains this
  bool progress = true;
};

// Runs the benchmarks; `report` is called as soon as each figure is measured.
std::vector<BenchResult> run_benchmarks(const BenchOptions& options,
                                        void (*report)(const BenchResult&) = nullptr);

}  // namespace macrodyn::jobs
