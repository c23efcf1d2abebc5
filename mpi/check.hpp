#pragma once
// Every MPI call of mpi/ goes through check_mpi: its communicators return errors
// (MPI_ERRORS_RETURN where set) and they surface as exceptions naming the call.
#include <mpi.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace macrodyn::mpi {

inline void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
  throw std::runtime_error(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(len)));
}

// Message sizes travel as int: refuse what does not fit instead of truncating.
inline int mpi_count(std::int64_t n, const char* what) {
  if (n < 0 || n > 0x7fffffff)
    throw std::runtime_error(std::string(what) + ": message of " + std::to_string(n) +
                             " elements exceeds MPI's int count");
  return static_cast<int>(n);
}

}  // namespace macrodyn::mpi
