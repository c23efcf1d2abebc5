# One line per test tag of tests/mpi/*.cpp and the rank counts it runs with.
