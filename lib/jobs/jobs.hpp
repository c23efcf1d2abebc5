#pragma once
// The serial jobs behind the macrodyn subcommands. Each validates nothing itself:
// callers pass a Config that validate() accepted.
#include <cstdint>
#include <iosfwd>
#include <string>

#include "jobs/config.hpp"

namespace macrodyn::jobs {

struct JobSummary {
  std::string path;
  std::int64_t small_frames = 0;
  std::int64_t snapshots = 0;
  std::int64_t pairs = 0;
  std::int64_t trajectories = 0;
  double seconds = 0.0;
};

// Small trajectories -> hierarchical upsampling -> partial evolution, into one file.
JobSummary generate(const Config& c);

// Full-size ground-truth runs into /trajectories.
JobSummary simulate(const Config& c);

extern const char* const kMacrodynVersion;

}  // namespace macrodyn::jobs
