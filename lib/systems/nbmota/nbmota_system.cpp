#include "systems/nbmota/nbmota_system.hpp"

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <stdexcept>

#include "core/error.hpp"
#include "systems/nbmota/barrier_model.hpp"
#include "systems/nbmota/dump.hpp"
#include "systems/nbmota/kmc.hpp"
#include "systems/nbmota/lattice.hpp"
#include "systems/nbmota/sro.hpp"
#include "systems/nbmota/tiling.hpp"

namespace macrodyn::systems {

namespace {

using namespace nbmota;

// The defaults name the shipped files as "@data/...": the data directory of this macrodyn
// (data/ of its source), so that a config written here means the same on another machine.
const char* const kBarrierFile = "@data/nbmota/barrier-model.h5";
const char* const kStartFile = "@data/nbmota/initial_N_1024_equimolar.dump";

std::string resolve_data_path(const std::string& path) {
  const std::string prefix = "@data/";
  return path.rfind(prefix, 0) == 0 ? std::string(MACRODYN_DATA_DIR) + "/" + path.substr(prefix.size()) : path;
}

// A file's content read once per process and path, shared read-only (a system is made
// many times: by validation, every job and every evolver's owner).
template <class T>
std::shared_ptr<const T> read_once(const std::string& path, T (*read)(const std::string&)) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const T>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[path];
  if (!slot) slot = std::make_shared<const T>(read(resolve_data_path(path)));
  return slot;
}

int side_of(std::int64_t voxels) {
  const int L = static_cast<int>(std::lround(std::cbrt(static_cast<double>(voxels))));
  if (static_cast<std::int64_t>(L) * L * L != voxels) throw std::logic_error("nbmota: a state is a cube of voxels");
  return L;
}

// Every site of a side-L grid, in voxel order.
std::vector<std::int64_t> sites_of(int L) {
  std::vector<std::int64_t> s;
  for (int x = 0; x < L; ++x)
    for (int y = 0; y < L; ++y)
      for (int z = 0; z < L; ++z)
        if (is_site(x, y, z)) s.push_back(voxel(L, x, y, z));
  return s;
}

// A random equimolar arrangement: max(1, sites / 1024) vacancies, the atoms Nb, Mo, Ta in
// equal numbers (the remainder to Ta, then Mo, as the dump's 341 / 341 / 342), shuffled.
void random_alloy(std::uint8_t* x, int L, Rng& rng) {
  std::fill(x, x + static_cast<std::int64_t>(L) * L * L, kNoSite);
  const auto sites = sites_of(L);
  const auto n = static_cast<std::int64_t>(sites.size());
  const std::int64_t vacancies = std::max<std::int64_t>(1, n / 1024), atoms = n - vacancies;
  std::vector<std::uint8_t> label(static_cast<std::size_t>(n));
  std::int64_t k = 0;
  for (std::int64_t i = 0; i < vacancies; ++i) label[static_cast<std::size_t>(k++)] = kVacancy;
  const std::int64_t each = atoms / 3, rest = atoms % 3;
  const std::int64_t count[3] = {each, each + (rest >= 2 ? 1 : 0), each + (rest >= 1 ? 1 : 0)};
  for (int s = 0; s < 3; ++s)
    for (std::int64_t i = 0; i < count[s]; ++i) label[static_cast<std::size_t>(k++)] = static_cast<std::uint8_t>(kNb + s);
  for (std::int64_t i = n - 1; i > 0; --i)
    std::swap(label[static_cast<std::size_t>(i)], label[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
  for (std::int64_t i = 0; i < n; ++i) x[sites[static_cast<std::size_t>(i)]] = label[static_cast<std::size_t>(i)];
}

// The start tiled to side L (a multiple of its side), a vacancy at each copy's origin.
void dump_start(const AlloyCell& s, std::uint8_t* x, int L) {
  for (int a = 0; a < L; ++a)
    for (int b = 0; b < L; ++b)
      for (int c = 0; c < L; ++c) x[voxel(L, a, b, c)] = s.codes[static_cast<std::size_t>(voxel(s.N, a, b, c))];
  for (int a = 0; a < L; a += s.N)
    for (int b = 0; b < L; b += s.N)
      for (int c = 0; c < L; c += s.N) x[voxel(L, a, b, c)] = kVacancy;
}

class AlloyEvolver final : public Evolver {
 public:
  AlloyEvolver(std::shared_ptr<const BarrierModel> model, double T, AlloyKmc::WaitingTime waiting)
      : model_(std::move(model)), kmc_(*model_, T) {
    kmc_.set_waiting_time(waiting);
  }

  void load(const std::int8_t* x, int L, const Coord& o, int w, Boundary b, const std::int8_t*) override {
    if (b != Boundary::periodic && w < L) throw std::logic_error("nbmota: a box is evolved as its own torus (periodic)");
    if (((o[0] ^ o[1]) & 1) || ((o[1] ^ o[2]) & 1))
      throw std::logic_error("nbmota: a box must start on a site (all origin indices even or all odd)");
    box_.resize(static_cast<std::size_t>(w) * w * w);
    const auto* codes = reinterpret_cast<const std::uint8_t*>(x);
    for (int a = 0; a < w; ++a)
      for (int c = 0; c < w; ++c)
        for (int d = 0; d < w; ++d) box_[static_cast<std::size_t>(voxel(w, a, c, d))] = codes[voxel(L, o[0] + a, o[1] + c, o[2] + d)];
    kmc_.load(box_.data(), w);
  }
  double run_events(std::uint64_t n, Rng& rng) override { return kmc_.run_hops(n, rng); }
  double run_for(double duration, Rng& rng) override { return kmc_.run_for(duration, rng); }
  void heatbath_sweep(Rng&) override { throw std::logic_error("nbmota: heat-bath sweeps are a spin dynamics"); }
  const std::int8_t* box() const override { return reinterpret_cast<const std::int8_t*>(kmc_.codes().data()); }
  int side() const override { return kmc_.side(); }
  void observables(double* g) const override { sro(kmc_.codes().data(), kmc_.side(), {0, 0, 0}, kmc_.side(), g); }
  void store(std::int8_t* x, int L, const Coord& o) const override {
    const int w = kmc_.side();
    auto* codes = reinterpret_cast<std::uint8_t*>(x);
    for (int a = 0; a < w; ++a)
      for (int c = 0; c < w; ++c)
        for (int d = 0; d < w; ++d) codes[voxel(L, o[0] + a, o[1] + c, o[2] + d)] = kmc_.codes()[static_cast<std::size_t>(voxel(w, a, c, d))];
  }

 private:
  std::shared_ptr<const BarrierModel> model_;  // kept alive for kmc_
  AlloyKmc kmc_;
  std::vector<std::uint8_t> box_;
};

class AlloySystem final : public System {
 public:
  explicit AlloySystem(const SystemParams& p) : params_(p) {
    if (!(params_.get("frame_time") >= 0)) throw InputError("system.frame_time must be >= 0 (0: one hop per site per frame)");
    // Read (and checked) here, before any work: a missing or malformed file is one sentence.
    model_ = read_once<BarrierModel>(params_.text("barrier_model"), &BarrierModel::load);
    start_ = read_once<AlloyCell>(params_.text("start_dump"), &read_lammps_dump);
    if (start_->N % 4 != 0)
      throw InputError("system.start_dump " + params_.text("start_dump") + " has a box of " + std::to_string(start_->N) +
                       " voxels per axis; the alloy's tiles need a multiple of 4");
  }
  std::string name() const override { return "nbmota"; }
  int dim() const override { return 3; }
  const SystemParams& params() const override { return params_; }
  std::vector<std::string> observable_names() const override { return sro_names(); }
  std::vector<std::string> judged_observables() const override { return sro_names(); }
  std::vector<ObservableRange> observable_ranges() const override {
    return std::vector<ObservableRange>(kSroParameters, ObservableRange{-8.0 / 3.0, 16.0 / 3.0});
  }
  bool supports(Boundary b) const override { return b == Boundary::periodic; }
  bool supports_dynamics(Dynamics d) const override { return d == Dynamics::continuous_time; }
  std::unique_ptr<Evolver> make_evolver() const override {
    return std::make_unique<AlloyEvolver>(model_, params_.get("T"), params_.get("waiting_time") == 0.0
                                                                ? AlloyKmc::WaitingTime::exponential
                                                                : AlloyKmc::WaitingTime::mean_residence);
  }
  void patch_observables(const std::int8_t* x, int L, const Coord& o, int p, Boundary, double* g) const override {
    sro(reinterpret_cast<const std::uint8_t*>(x), L, {o[0], o[1], o[2]}, p, g);
  }
  std::vector<std::string> raw_observables() const override { return sro_names(); }
  StateLayout state_layout() const override {
    StateLayout l;
    l.value = StateLayout::Value::code;
    l.codes = {"vacancy", "Nb", "Mo", "Ta"};
    l.no_site = kNoSite;
    return l;
  }
  void site_mask(int L, std::uint8_t* mask) const override {
    for (int x = 0; x < L; ++x)
      for (int y = 0; y < L; ++y)
        for (int z = 0; z < L; ++z) mask[voxel(L, x, y, z)] = is_site(x, y, z) ? 1 : 0;
  }
  std::vector<std::string> initial_condition_names() const override { return {"start"}; }
  std::string check_initial_condition(const InitialCondition& c, int L) const override {
    if ((std::isnan(c[0]) || c[0] == 0.0) && L % start_->N != 0)
      return "start = 0 (the shipped start, " + std::to_string(start_->N) + " voxels per axis) tiles only sides that are "
             "multiples of " + std::to_string(start_->N) + ", not " + std::to_string(L) + "; use start = 1 (random)";
    if (std::isnan(c[0]) || c[0] == 0.0 || c[0] == 1.0) return "";
    return "start = " + shortest(c[0]) + " is neither 0 (the shipped 1024-atom start) nor 1 (a random equimolar alloy)";
  }
  void initial_state(std::int8_t* x, std::int64_t n, InitialKind kind, InitialCondition& c, Rng& rng) const override {
    const int L = side_of(n);
    const bool random = kind != InitialKind::given_m0 || c[0] == 1.0 || L % start_->N != 0;
    c[0] = random ? 1.0 : 0.0;
    if (random) random_alloy(reinterpret_cast<std::uint8_t*>(x), L, rng);
    else dump_start(*start_, reinterpret_cast<std::uint8_t*>(x), L);
  }
  void random_configuration(std::int8_t* x, std::int64_t n, Rng& rng) const override {
    random_alloy(reinterpret_cast<std::uint8_t*>(x), side_of(n), rng);
  }
  // The notes draw one vacancy and evolve the tile around it (nbmota/tiling.hpp): weight
  // exactly 1 when every tile holds one vacancy, as upsampled snapshots do. A tile without
  // a vacancy cannot change.
  bool uniform_patch_choice() const override { return false; }
  PatchChoice choose_patch(const ConstLatticePart& x, int p, Rng& rng, const TeamSums& team) const override {
    return choose_vacancy_tile(x, p, rng, team);
  }
  UpsamplingRule upsampling_rule() const override { return UpsamplingRule::tiling; }
  void after_upsampling(const LatticePart& x, int Ls, const std::int8_t* small, Rng& rng, const FramePool* pool,
                        const TeamSums& team) const override {
    complete_tiling(x, Ls, reinterpret_cast<const std::uint8_t*>(small), rng, pool, team);
  }
  void after_relax(const LatticePart& x, int Ls, const TeamSums& team) const override {
    place_vacancies(x, Ls, team);
  }
  // Teams split the lattice: every box the alloy evolves (relax window, tile) is its own
  // torus, and the steps that read the whole lattice sum over the team (nbmota/tiling.hpp).
  // Halos are as wide as the barrier network's reach, the environment a hop's rates read.
  bool team_splittable() const override { return true; }
  int interaction_range() const override { return BarrierModel::kReach; }
  // One hop per site (a quarter of the voxels): 1024 hops a frame at 1024 sites, near the
  // notes' 1000. (Frames at fixed physical times are not in yet.)
  std::uint64_t events_per_sweep(std::int64_t voxels) const override {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(1, voxels / 4));
  }
  double frame_time() const override { return params_.get("frame_time"); }
  std::string check_side(int L) const override {
    if (L % 2 == 0) return "";
    return "side " + std::to_string(L) + " is odd; the alloy's voxel grid has an even side (BCC: a site's indices are all even or all odd)";
  }

 private:
  SystemParams params_;
  std::shared_ptr<const BarrierModel> model_;
  std::shared_ptr<const AlloyCell> start_;
};

}  // namespace

std::vector<ParamSpec> nbmota_param_specs() {
  ParamSpec frame{"frame_time", 0.0,
                  "physical time in s between the frames of small and truth runs; 0 = one hop per site per frame"};
  frame.in_title = false;
  ParamSpec waiting{"waiting_time", 0.0,
                    "how a hop advances time: exponential (an Exp(R) draw, exact) or mean_residence (1/R, the "
                    "reference's variant); every dataset records it in its config"};
  waiting.words = {"exponential", "mean_residence"};
  waiting.in_title = false;
  ParamSpec model{"barrier_model", 0.0,
                  "the barrier network (HDF5: layer1..layer4/{W, b, bn_*}, output/{W, b}; @data/ is the data shipped with "
                  "macrodyn, data/nbmota/README.md)"};
  model.text = true;
  model.text_default = kBarrierFile;
  ParamSpec dump{"start_dump", 0.0,
                 "the start of small runs (start = 0): a LAMMPS dump of the BCC cell, types 1 Nb, 2 Mo, 3 Ta (@data/: "
                 "shipped with macrodyn)"};
  dump.text = true;
  dump.text_default = kStartFile;
  return {{"T", 2000.0, "temperature in K (rates 10^13 exp(-E / k_B T) with the barrier network's E), > 0", true},
          frame, waiting, model, dump};
}

std::unique_ptr<System> make_nbmota(const SystemParams& params) { return std::make_unique<AlloySystem>(params); }

}  // namespace macrodyn::systems
