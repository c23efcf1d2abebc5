#include "mpi/team_sums.hpp"

#include "mpi/check.hpp"

namespace macrodyn::mpi {

void CommSums::sum(std::int64_t* values, std::size_t n) const {
  if (n == 0) return;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values, mpi_count(static_cast<std::int64_t>(n), "team sum"), MPI_INT64_T,
                          MPI_SUM, comm_),
            "MPI_Allreduce");
}

std::vector<std::int64_t> CommSums::gather(const std::vector<std::int64_t>& mine) const {
  int size = 0;
  check_mpi(MPI_Comm_size(comm_, &size), "MPI_Comm_size");
  const int count = mpi_count(static_cast<std::int64_t>(mine.size()), "team gather");
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size), 0);
  check_mpi(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  std::int64_t total = 0;
  for (int r = 0; r < size; ++r) {
    displs[static_cast<std::size_t>(r)] = mpi_count(total, "team gather");
    total += counts[static_cast<std::size_t>(r)];
  }
  std::vector<std::int64_t> all(static_cast<std::size_t>(total));
  check_mpi(MPI_Allgatherv(mine.data(), count, MPI_INT64_T, all.data(), counts.data(), displs.data(), MPI_INT64_T,
                           comm_),
            "MPI_Allgatherv");
  return all;
}

}  // namespace macrodyn::mpi
