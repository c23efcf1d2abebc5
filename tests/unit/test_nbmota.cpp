// The NbMoTa alloy's pieces against the method notes' [sim] checks (§6): the dump reader,
// the barrier network without torch (112 inputs, folded BatchNorm, the 8 hop symmetries),
// the short-range-order parameters, and the total rate.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "systems/nbmota/barrier_model.hpp"
#include "systems/nbmota/dump.hpp"
#include "systems/nbmota/lattice.hpp"
#include "systems/nbmota/sro.hpp"

using namespace macrodyn;
using namespace macrodyn::systems::nbmota;

namespace {

const std::string kData = MACRODYN_SOURCE_DIR "/data/nbmota/";

const BarrierModel& model() {
  static const BarrierModel m = BarrierModel::load(kData + "barrier-model.h5");
  return m;
}

AlloyCell start_with_vacancy() {
  AlloyCell c = read_lammps_dump(kData + "initial_N_1024_equimolar.dump");
  c.codes[static_cast<std::size_t>(voxel(c.N, 0, 0, 0))] = kVacancy;  // "the vacancy replaces the Mo at (0,0,0)"
  return c;
}

std::string tmp_file(const std::string& name, const std::string& text) {
  const std::string path = std::string(MACRODYN_TEST_TMPDIR) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("nbmota: the 1024-atom dump is an equimolar BCC cell with Mo at the origin", "[nbmota]") {
  const AlloyCell c = read_lammps_dump(kData + "initial_N_1024_equimolar.dump");
  REQUIRE(c.N == 16);
  int count[256] = {};
  for (std::uint8_t code : c.codes) ++count[code];
  CHECK(count[kNb] == 341);
  CHECK(count[kMo] == 341);
  CHECK(count[kTa] == 342);
  CHECK(count[kVacancy] == 0);
  CHECK(count[kNoSite] == 16 * 16 * 16 - 1024);
  CHECK(c.codes[static_cast<std::size_t>(voxel(16, 0, 0, 0))] == kMo);
}

TEST_CASE("nbmota: barriers of the notes' reference configurations within 1e-4 eV", "[nbmota]") {
  const AlloyCell c = start_with_vacancy();
  const std::int64_t v = voxel(c.N, 0, 0, 0);
  const double want[8] = {1.71694, 2.29832, 2.18307, 1.17087, 2.26741, 1.38941, 1.36588, 2.17061};
  const int target[8] = {1, 3, 2, 1, 2, 1, 3, 2};
  for (int k = 0; k < 8; ++k) {
    const auto& d = kHops[static_cast<std::size_t>(k)];
    INFO("hop d" << k);
    CHECK(c.codes[static_cast<std::size_t>(voxel(c.N, d[0], d[1], d[2]))] == target[k]);
    CHECK(std::fabs(model().barrier(c.codes.data(), c.N, v, k) - want[k]) < 1e-4);
  }
  // Pure Nb, Mo, Ta: every site that species, the vacancy at the centre.
  const double pure[3] = {1.02010, 1.72255, 1.13068};
  for (int s = kNb; s <= kTa; ++s) {
    AlloyCell p = c;
    for (auto& code : p.codes)
      if (code != kNoSite) code = static_cast<std::uint8_t>(s);
    const std::int64_t centre = voxel(p.N, 8, 8, 8);
    p.codes[static_cast<std::size_t>(centre)] = kVacancy;
    for (int k = 0; k < 8; ++k) {
      INFO("species " << s << " hop d" << k);
      CHECK(std::fabs(model().barrier(p.codes.data(), p.N, centre, k) - pure[s - 1]) < 1e-4);
    }
  }
  // A vacant target: no hop.
  AlloyCell two = c;
  two.codes[static_cast<std::size_t>(voxel(c.N, 1, 1, 1))] = kVacancy;
  CHECK(std::isinf(model().barrier(two.codes.data(), two.N, v, 7)));
}

TEST_CASE("nbmota: the d7 features hold 112 non-zeros and the target Mo at index 455", "[nbmota]") {
  const AlloyCell c = start_with_vacancy();
  std::vector<float> f(BarrierModel::kInputs);
  model().features(c.codes.data(), c.N, voxel(c.N, 0, 0, 0), 7, f.data());
  int nonzero = 0;
  for (float x : f) nonzero += x != 0.0f;
  CHECK(nonzero == 112);
  CHECK(f[455] == 2.0f);
  // The forward pass on the 729 features' slots is the barrier.
  std::vector<float> slots(BarrierModel::kSlots);
  for (int s = 0; s < BarrierModel::kSlots; ++s) slots[static_cast<std::size_t>(s)] = f[static_cast<std::size_t>(model().slot_index(s))];
  CHECK(model().forward(slots.data()) == model().barrier(c.codes.data(), c.N, voxel(c.N, 0, 0, 0), 7));
}

TEST_CASE("nbmota: short-range order of the start with and without the vacancy", "[nbmota]") {
  const double without[6] = {.07234, -.05376, -.01857, .14272, -.08895, .12281};
  const double with[6] = {.07234, -.06256, -.01857, .13333, -.08725, .12281};
  AlloyCell c = read_lammps_dump(kData + "initial_N_1024_equimolar.dump");
  double d[6];
  sro(c.codes.data(), c.N, {0, 0, 0}, c.N, d);
  for (int k = 0; k < 6; ++k) CHECK(d[k] == Approx(without[k]).margin(5e-6));
  c = start_with_vacancy();
  sro(c.codes.data(), c.N, {0, 0, 0}, c.N, d);
  for (int k = 0; k < 6; ++k) CHECK(d[k] == Approx(with[k]).margin(5e-6));
}

TEST_CASE("nbmota: total hop rate of the start at 1000, 2000 and 3000 K", "[nbmota]") {
  const AlloyCell c = start_with_vacancy();
  const std::int64_t v = voxel(c.N, 0, 0, 0);
  const double T[3] = {1000, 2000, 3000}, want[3] = {1.489e7, 1.855e10, 2.254e11};
  for (int t = 0; t < 3; ++t) {
    double R = 0;
    for (int k = 0; k < 8; ++k)
      R += kAttemptFrequency * std::exp(-model().barrier(c.codes.data(), c.N, v, k) / (kBoltzmannEvPerK * T[t]));
    INFO("T = " << T[t]);
    CHECK(R == Approx(want[t]).epsilon(1e-3));  // the notes give 4 digits
  }
}

TEST_CASE("nbmota: malformed dumps and barrier files are refused with one sentence", "[nbmota]") {
  const std::string box = "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 3.24\n0 3.24\n0 3.24\n"
                          "ITEM: ATOMS id type x y z\n";
  CHECK_NOTHROW(read_lammps_dump(tmp_file("nbmota_ok.dump", box + "1 1 0 0 0\n2 2 1.62 1.62 1.62\n")));
  const std::pair<std::string, std::string> bad[] = {
      {box + "1 1 0 0 0\n2 2 1.62 0 0\n", "off the BCC sites"},
      {box + "1 1 0 0 0\n2 2 0 0 0\n", "two atoms on one site"},
      {box + "1 4 0 0 0\n2 2 1.62 1.62 1.62\n", "type 4"},
      {box + "1 1 0 0 0\n2 2 1.7 1.62 1.62\n", "off the 1.62"},
      {box + "1 1 0 0 0\n", "lists 1 atoms"},
      {"ITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 3.0\n0 3.0\n0 3.0\nITEM: ATOMS id type x y z\n1 1 0 0 0\n",
       "whole even number"},
      {"ITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 3.24\n0 3.24\n0 4.86\nITEM: ATOMS id type x y z\n1 1 0 0 0\n",
       "not cubic"},
  };
  int i = 0;
  for (const auto& [text, what] : bad) {
    INFO(what);
    CHECK_THROWS_WITH(read_lammps_dump(tmp_file("nbmota_bad" + std::to_string(i++) + ".dump", text)), Catch::Contains(what));
  }
  CHECK_THROWS_WITH(read_lammps_dump(kData + "missing.dump"), Catch::Contains("cannot be read"));
  CHECK_THROWS_WITH(BarrierModel::load(kData + "missing.h5"), Catch::Contains("missing.h5"));
  // A macrodyn file that is not a barrier model: its arrays are missing.
  CHECK_THROWS_AS(BarrierModel::load(kData + "initial_N_1024_equimolar.dump"), InputError);
}
