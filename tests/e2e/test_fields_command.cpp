// macrodyn fields as a user runs it: the 2-D config on a small grid in one process and
// under mpiexec -n 2 gives the same means bit for bit, the semi-implicit scheme runs past
// the explicit limit, and bad input is refused with one sentence before any work.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "run_binary.hpp"

using namespace macrodyn::e2e;

namespace {

std::string fields(const std::string& out, const std::string& extra = "") {
  return "fields --config " MACRODYN_SOURCE_DIR "/jobs/configs/predator-prey-2d.ini --large.side 40 --truth.sweeps 60"
         " --field.test_m 0.45,0.55 --run.progress false --output.path " + out + " " + extra;
}

// A digest of the file's observables and its rows_committed, by the Debian Python
// (macrodyn inspect prints statistics, not bits).
std::string observables_sha(const std::string& path) {
  const std::string py = tmp("sha_" + std::to_string(getpid()) + ".txt");
  const std::string cmd = "/usr/bin/python3 -c \"import h5py, hashlib; f = h5py.File('" + path +
                          "', 'r'); print(hashlib.sha256(f['/trajectories/observables'][:].tobytes()).hexdigest(), "
                          "f['/trajectories'].attrs['rows_committed'])\" > " + py;
  REQUIRE(std::system(cmd.c_str()) == 0);
  return slurp(py);
}

}  // namespace

TEST_CASE("fields: 2-D runs give the same means on 1 and 2 ranks", "[e2e][fields_command]") {
  const std::string a = tmp("fields1_" + std::to_string(getpid()) + ".h5");
  const std::string b = tmp("fields2_" + std::to_string(getpid()) + ".h5");
  const Result one = run(fields(a, "--output.overwrite true"));
  INFO(one.out << one.err);
  REQUIRE(one.code == 0);
  CHECK(one.out.find("cell updates/s") != std::string::npos);
  const Result two = run_mpi(2, fields(b, "--output.overwrite true"));
  INFO(two.out << two.err);
  REQUIRE(two.code == 0);
  CHECK(two.out.find("2 rank(s)") != std::string::npos);
  const std::string sa = observables_sha(a), sb = observables_sha(b);
  CHECK(sa.find(" 2\n") != std::string::npos);  // two runs committed
  CHECK(sa == sb);

  // Semi-implicit, physical Laplacian at 10x the explicit limit: dx = 1/40, Dv = 0.01,
  // limit dx^2 / (4 Dv) = 0.0156, dt = 0.156.
  const Result semi = run_mpi(2, fields(b, "--output.overwrite true --field.laplacian physical --field.Dv 0.01 "
                                            "--field.dt 0.156 --field.scheme semi_implicit"));
  INFO(semi.out << semi.err);
  CHECK(semi.code == 0);
  CHECK(semi.out.find("cg + bjacobi") != std::string::npos);

  // Bad input: exit 2 and one sentence naming the key, said once (before any work, but
  // for a run that blows up).
  for (const auto& [extra, says] :
       {std::pair<std::string, std::string>{"--output.overwrite true --field.scheme rk4", "field.scheme"},
        {"--output.overwrite true --field.laplacian physical", "field.dt"},
        {"--output.overwrite true --field.dim 3", "field.dim"},
        {"--output.overwrite true --system.name ising2d", "system.name"},
        {"", "already exists"},
        {"--output.overwrite true --truth.sweeps 1", "truth.sweeps"},
        // Found while running, by every rank at once: still one sentence and exit 2.
        {"--output.overwrite true --field.dt 0.24 --field.eta 2", "blew up"}}) {
    INFO(extra);
    const Result r = run_mpi(2, fields(a, extra));
    CHECK(r.code == 2);
    CHECK(r.err.find(says) != std::string::npos);
    CHECK(r.err.find("error:") == r.err.rfind("error:"));
  }
  std::remove(a.c_str());
  std::remove(b.c_str());
}
