#pragma once
// TeamSums (core/lattice_part.hpp) over a team's communicator: the sums and gathers the
// steps of a system that read the whole lattice make over the ranks' parts
// (docs/design.md §6.3). Collective: every rank of the team calls each in the same order.
#include <mpi.h>

#include "core/lattice_part.hpp"

namespace macrodyn::mpi {

class CommSums final : public TeamSums {
 public:
  explicit CommSums(MPI_Comm comm) : comm_(comm) {}
  void sum(std::int64_t* values, std::size_t n) const override;
  std::vector<std::int64_t> gather(const std::vector<std::int64_t>& mine) const override;

 private:
  MPI_Comm comm_;
};

}  // namespace macrodyn::mpi
