// Throughput of the PETSc DMDA predator-prey solver (mpi/fields): cell updates per second
// of the explicit and the semi-implicit scheme, 1-D and 2-D, on the ranks of
// MPI_COMM_WORLD. Physical Laplacian (Du = 0, Dv = 0.01), noise on; the explicit scheme
// runs at half its stability limit, the semi-implicit one at --factor times it.
//   mpiexec -n 2 field_bench [--scheme explicit|semi|both] [--dim 1|2|both] [--n1 N]
//                            [--n2 N] [--steps S] [--factor F] [--solver auto|direct|iterative]
//                            [-- PETSc options]
#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpi/fields/petsc_predator_prey.hpp"
#include "mpi/fields/petsc_session.hpp"

namespace {

using macrodyn::mpi::DmdaOptions;
using macrodyn::mpi::DmdaPredatorPrey;
using macrodyn::fields::FieldScheme;
using macrodyn::mpi::LinearSolver;

struct Options {
  std::string scheme = "both", dim = "both", solver = "auto";
  long n1 = 65536, n2 = 512, steps = 100;
  double factor = 10.0;
};

[[noreturn]] void bad(const std::string& what) {
  std::fprintf(stderr, "field_bench: error: %s\n", what.c_str());
  std::exit(2);
}

long parse_long(const std::string& opt, const char* v) {
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (!v[0] || *end || x < 1) bad(opt + " needs a positive integer, not '" + v + "'");
  return x;
}

double parse_double(const std::string& opt, const char* v) {
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  if (!v[0] || *end || !(x > 0)) bad(opt + " needs a positive number, not '" + v + "'");
  return x;
}

const char* kUsage =
    "usage: mpiexec -n R field_bench [--scheme explicit|semi|both] [--dim 1|2|both] [--n1 N] [--n2 N]\n"
    "                                [--steps S] [--factor F] [--solver auto|direct|iterative] [-- PETSc options]\n"
    "Prints cell updates/s of the PETSc DMDA predator-prey solver (physical Laplacian, Du = 0,\n"
    "Dv = 0.01, noise on). Explicit at 0.5x the explicit dt limit, semi-implicit at F x (default 10).\n"
    "Defaults: 1-D n1 = 65536 cells, 2-D n2 x n2 = 512 x 512, 100 timed steps after 5 warm-up steps.\n"
    "Arguments after -- go to PETSc (e.g. -pp_v_ksp_type gmres -log_view).\n";

// Parses our options up to "--"; returns the index of the first PETSc argument.
int parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") return i + 1;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) bad(a + " needs a value");
    const char* v = argv[++i];
    if (a == "--scheme") o.scheme = v;
    else if (a == "--dim") o.dim = v;
    else if (a == "--solver") o.solver = v;
    else if (a == "--n1") o.n1 = parse_long(a, v);
    else if (a == "--n2") o.n2 = parse_long(a, v);
    else if (a == "--steps") o.steps = parse_long(a, v);
    else if (a == "--factor") o.factor = parse_double(a, v);
    else bad("unknown option " + a + " (--help)");
  }
  if (o.scheme != "explicit" && o.scheme != "semi" && o.scheme != "both") bad("--scheme: explicit, semi or both");
  if (o.dim != "1" && o.dim != "2" && o.dim != "both") bad("--dim: 1, 2 or both");
  if (o.solver != "auto" && o.solver != "direct" && o.solver != "iterative") bad("--solver: auto, direct or iterative");
  return argc;
}

void bench(const Options& o, int dim, bool semi, int rank, int ranks) {
  macrodyn::fields::PredatorPreyParams p;
  p.dim = dim;
  p.n = static_cast<int>(dim == 1 ? o.n1 : o.n2);
  p.laplacian = macrodyn::fields::Laplacian::physical;
  p.Du = 0.0;
  p.Dv = 0.01;
  p.dt = (semi ? o.factor : 0.5) * p.explicit_dt_limit();
  DmdaOptions d;
  d.scheme = semi ? FieldScheme::semi_implicit : FieldScheme::explicit_euler;
  d.solver = o.solver == "direct" ? LinearSolver::direct
             : o.solver == "iterative" ? LinearSolver::iterative
                                       : LinearSolver::automatic;

  const double t_setup = MPI_Wtime();
  DmdaPredatorPrey s(MPI_COMM_WORLD, p, d);
  std::vector<double> u, v;
  macrodyn::fields::initial_state(p, 0.5, 0.1, u, v);
  s.set_state(u, v);
  macrodyn::fields::NoiseKey key;
  key.seed = 1;
  std::uint32_t step = 0;
  for (int k = 0; k < 5; ++k) {
    key.step = step++;
    s.step(key);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  long iterations = 0;
  for (long k = 0; k < o.steps; ++k) {
    key.step = step++;
    s.step(key);
    iterations += s.last_iterations();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const double t1 = MPI_Wtime();
  const macrodyn::mpi::FieldMeans m = s.means();  // also a check that nothing blew up
  if (rank != 0) return;
  const double cells = static_cast<double>(p.cells());
  const double rate = cells * static_cast<double>(o.steps) / (t1 - t0);
  std::printf("%-14s %d-D %7d^%d cells, %d rank%s: %10.4g cell updates/s  %8.3f ms/step", semi ? "semi-implicit" : "explicit",
              dim, p.n, dim, ranks, ranks == 1 ? " " : "s", rate, 1e3 * (t1 - t0) / static_cast<double>(o.steps));
  if (semi)
    std::printf("  (%.1f its/step, setup %.3f s, %s)", static_cast<double>(iterations) / static_cast<double>(o.steps),
                t0 - t_setup, s.solver_description().c_str());
  std::printf("  means %.4f %.4f\n", m.u, m.v);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const int petsc_from = parse(argc, argv, o);
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  int rc = 0;
  try {
    // PETSc sees only what follows "--".
    std::vector<char*> pargv{argv[0]};
    for (int i = petsc_from; i < argc; ++i) pargv.push_back(argv[i]);
    int pargc = static_cast<int>(pargv.size());
    pargv.push_back(nullptr);
    char** pargs = pargv.data();
    macrodyn::mpi::PetscSession petsc(MPI_COMM_WORLD, &pargc, &pargs);
    for (int dim : {1, 2}) {
      if (o.dim != "both" && o.dim != std::to_string(dim)) continue;
      if (o.scheme != "semi") bench(o, dim, false, rank, ranks);
      if (o.scheme != "explicit") bench(o, dim, true, rank, ranks);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "field_bench: rank %d: %s\n", rank, e.what());
    rc = 1;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return rc;
}
