#pragma once
// The one way jobs report progress and stage lines: stderr, one whole line per call,
// flushed at once (a job's log under Slurm shows it as it happens). Results - tables,
// verdicts, "wrote FILE" - go to stdout from the commands themselves, so that
// `macrodyn ... > results.txt` keeps the results and the terminal the progress.
#include <cstdarg>
#include <cstdio>

namespace macrodyn {

// printf-style; nothing when `on` is false (a --progress false / run.progress = false job).
inline void log_if(bool on, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
inline void log_if(bool on, const char* fmt, ...) {
  if (!on) return;
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fflush(stderr);
}

}  // namespace macrodyn
