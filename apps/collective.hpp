#pragma once
// How an MPI command (run, simulate for a distributed system) ends on every rank:
// bad input is said once, by rank 0; anything else on one rank ends the whole job, so that
// no rank waits forever on a collective the failed one will never join.
#include <cstdio>
#include <exception>

#include "core/error.hpp"
#include "core/stop.hpp"
#include "mpi/run/run.hpp"

namespace macrodyn::app {

// check() on every rank (configuration validation): its InputError is rethrown on rank 0,
// which main reports; the other ranks return false and exit 2 quietly.
template <class Check>
bool checked_on_every_rank(const mpi::MpiSession& session, Check&& check) {
  try {
    check();
  } catch (const InputError&) {
    if (session.rank() == 0) throw;
    return false;
  }
  return true;
}

// body() on every rank, returning its exit code. An InputError found after the job
// started (every rank finds it together) is said by rank 0 and exits 2; a stop request
// goes on to main; any other failure is printed with its rank and aborts the job.
template <class Body>
int run_on_every_rank(const char* command, const mpi::MpiSession& session, Body&& body) {
  try {
    return body();
  } catch (const StopRequested&) {
    throw;
  } catch (const InputError& e) {
    if (session.rank() == 0) std::fprintf(stderr, "macrodyn %s: error: %s\n", command, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "macrodyn %s (rank %d): failed: %s\n", command, session.rank(), e.what());
    std::fflush(stderr);
    mpi::abort_job(1);
  }
}

}  // namespace macrodyn::app
