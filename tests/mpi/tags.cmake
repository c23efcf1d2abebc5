# One line per test tag of tests/mpi/*.cpp and the rank counts it runs with.
macrodyn_mpi_test(team 1 2 4)
macrodyn_mpi_test(stream 2 4)
if(TARGET macrodyn_fields_mpi)
  macrodyn_mpi_test(fields 1 2 4)
endif()
