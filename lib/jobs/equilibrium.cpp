#include "jobs/equilibrium.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <unistd.h>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "core/parallel.hpp"
#include "core/progress.hpp"

namespace macrodyn::jobs {

namespace {

// The per-run means a row is made of, in this order.
enum Mean { kAbsM, kM2, kM4, kE, kAbsME, kM2E, kM4E, kCluster, kMeans };

}  // namespace

void check_equilibrium_spec(const EquilibriumSpec& spec, int dim, int L) {
  if (spec.runs < 2)
    throw InputError("--runs = " + std::to_string(spec.runs) + " must be at least 2 (the errors come from the spread over runs)");
  if (spec.sweeps < 1) throw InputError("--sweeps must be at least 1");
  if (spec.thermalise < 0) throw InputError("--thermalise must be >= 0");
  check_threads(spec.threads, "--threads");
  if (L < 2) throw InputError("--sides: L = " + std::to_string(L) + " must be at least 2");
  // A chain holds its spins and a cluster stack of up to N indices: 9 bytes per site.
  const double chains = std::min(spec.runs, resolve_threads(spec.threads));
  const double bytes = chains * 9.0 * std::pow(static_cast<double>(L), dim);
  const double physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  if (physical > 0 && bytes > 0.8 * physical)
    throw InputError("--sides: L = " + std::to_string(L) + " needs about " + shortest(std::round(bytes / (1 << 20))) +
                     " MiB for the chains running at once, more than 80% of this machine's memory");
}

EquilibriumRow measure_equilibrium(const systems::System& system, int L, double T, const EquilibriumSpec& spec) {
  check_equilibrium_spec(spec, system.dim(), L);
  if (!system.make_equilibrium_sampler(L)) throw InputError(system.why_no_equilibrium_sampler());
  const std::int64_t N = ipow(L, system.dim());
  const std::uint64_t key = seed_for_value(spec.seed, T);
  std::vector<std::vector<double>> means(static_cast<std::size_t>(spec.runs), std::vector<double>(kMeans, 0.0));
  const std::size_t bins = static_cast<std::size_t>(std::max(0, spec.histogram_bins));
  std::vector<std::vector<double>> counts(static_cast<std::size_t>(spec.runs), std::vector<double>(bins, 0.0));
  Progress progress("equilibrium: L = " + std::to_string(L) + ", T = " + shortest(T), spec.runs, "chains",
                    spec.progress, 10.0);
  std::mutex progress_mutex;
  std::int64_t finished = 0;
  parallel_for(0, spec.runs, resolve_threads(spec.threads), [&](std::int64_t run, int) {
    auto sampler = system.make_equilibrium_sampler(L);
    Rng rng({key, Purpose::equilibrium, 0, static_cast<std::uint64_t>(run), static_cast<std::uint32_t>(L)});
    std::vector<std::int8_t> x(static_cast<std::size_t>(N));
    for (auto& s : x) s = rng.below(2) ? 1 : -1;
    sampler->load(x.data());
    // Thermalisation in sweeps of site changes; measurements every `per` updates, a count
    // fixed from the thermalisation's mean cluster size (about one sweep). Not "after each
    // sweep of changes": that stopping rule measures right after large flips more often,
    // and large clusters go with ordered states (a bias of 0.03 in e at L = 16, T_c).
    std::int64_t flipped = 0, updates = 0;
    for (std::int64_t changed = 0; changed < spec.thermalise * N || updates < 16; ++updates) {
      const std::int64_t c = sampler->update(rng);
      changed += c;
      flipped += c;
    }
    const std::int64_t per = std::max<std::int64_t>(1, std::llround(static_cast<double>(N) * static_cast<double>(updates) / static_cast<double>(flipped)));
    flipped = updates = 0;
    auto sweep = [&] {
      for (std::int64_t k = 0; k < per; ++k, ++updates) flipped += sampler->update(rng);
    };
    std::vector<double>& a = means[static_cast<std::size_t>(run)];
    for (std::int64_t s = 0; s < spec.sweeps; ++s) {
      sweep();
      const double m = std::fabs(sampler->magnetisation()), m2 = m * m, m4 = m2 * m2;
      const double e = sampler->energy() / static_cast<double>(N);
      a[kAbsM] += m;
      a[kM2] += m2;
      a[kM4] += m4;
      a[kE] += e;
      a[kAbsME] += m * e;
      a[kM2E] += m2 * e;
      a[kM4E] += m4 * e;
      if (bins > 0) counts[static_cast<std::size_t>(run)][std::min(bins - 1, static_cast<std::size_t>(m * static_cast<double>(bins)))] += 1;
    }
    for (int k = 0; k < kCluster; ++k) a[static_cast<std::size_t>(k)] /= static_cast<double>(spec.sweeps);
    a[kCluster] = static_cast<double>(flipped) / static_cast<double>(updates) / static_cast<double>(N);
    const std::lock_guard<std::mutex> lock(progress_mutex);
    progress.update(++finished);
  });

  EquilibriumRow r;
  r.L = L;
  r.T = T;
  r.samples = spec.runs * spec.sweeps;
  const double n = static_cast<double>(N), T2 = T * T;
  r.abs_m = jackknife(means, [](const std::vector<double>& v) { return v[kAbsM]; });
  r.m2 = jackknife(means, [](const std::vector<double>& v) { return v[kM2]; });
  r.m4 = jackknife(means, [](const std::vector<double>& v) { return v[kM4]; });
  r.e = jackknife(means, [](const std::vector<double>& v) { return v[kE]; });
  r.chi_prime = jackknife(means, [&](const std::vector<double>& v) { return n / T * (v[kM2] - v[kAbsM] * v[kAbsM]); });
  r.chi = jackknife(means, [&](const std::vector<double>& v) { return n / T * v[kM2]; });
  r.binder = jackknife(means, [](const std::vector<double>& v) { return 1.0 - v[kM4] / (3.0 * v[kM2] * v[kM2]); });
  // d<A>/dT = (<A E> - <A><E>) / T^2 with E = N e.
  r.dbinder_dt = jackknife(means, [&](const std::vector<double>& v) {
    const double dm2 = n * (v[kM2E] - v[kM2] * v[kE]) / T2, dm4 = n * (v[kM4E] - v[kM4] * v[kE]) / T2;
    return -(dm4 / (v[kM2] * v[kM2]) - 2.0 * v[kM4] * dm2 / (v[kM2] * v[kM2] * v[kM2])) / 3.0;
  });
  double cluster = 0;
  for (const auto& a : means) cluster += a[kCluster] / static_cast<double>(spec.runs);
  r.cluster_fraction = cluster;
  r.abs_m_histogram.assign(bins, 0.0);
  for (const auto& h : counts)
    for (std::size_t b = 0; b < bins; ++b)
      r.abs_m_histogram[b] += h[b] / static_cast<double>(r.samples);
  return r;
}

std::string equilibrium_recipe(const std::string& system, const EquilibriumSpec& spec) {
  return "# macrodyn equilibrium: system " + system + ", runs " + std::to_string(spec.runs) + ", sweeps " +
         std::to_string(spec.sweeps) + ", thermalise " + std::to_string(spec.thermalise) + ", seed " +
         std::to_string(spec.seed);
}

std::string equilibrium_csv_header() {
  return "L,T,samples,abs_m,abs_m_se,m2,m2_se,m4,m4_se,e,e_se,chi_prime,chi_prime_se,chi,chi_se,U,U_se,dU_dT,dU_dT_se,"
         "cluster_fraction";
}

std::string equilibrium_csv_row(const EquilibriumRow& r) {
  std::string s = std::to_string(r.L) + "," + shortest(r.T) + "," + std::to_string(r.samples);
  for (const Estimate* e : {&r.abs_m, &r.m2, &r.m4, &r.e, &r.chi_prime, &r.chi, &r.binder, &r.dbinder_dt})
    s += "," + shortest(e->value) + "," + shortest(e->se);
  return s + "," + shortest(r.cluster_fraction);
}

bool parse_equilibrium_row(const std::string& line, EquilibriumRow& r) {
  std::vector<double> v;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) {
    char* end = nullptr;
    const double x = std::strtod(cell.c_str(), &end);
    if (end == cell.c_str() || *end != '\0') return false;
    v.push_back(x);
  }
  if (v.size() != 20) return false;
  r.L = static_cast<int>(v[0]);
  r.T = v[1];
  r.samples = static_cast<std::int64_t>(v[2]);
  std::size_t k = 3;
  for (Estimate* e : {&r.abs_m, &r.m2, &r.m4, &r.e, &r.chi_prime, &r.chi, &r.binder, &r.dbinder_dt}) {
    e->value = v[k++];
    e->se = v[k++];
  }
  r.cluster_fraction = v[19];
  return true;
}

std::vector<EquilibriumRow> run_equilibrium(const std::string& system, const systems::SystemParams& params,
                                            const std::vector<int>& sides, const std::vector<double>& temperatures,
                                            const EquilibriumSpec& spec, const std::string& out) {
  if (sides.empty() || temperatures.empty()) throw InputError("--sides and --temperatures must name at least one value");
  const std::string recipe = equilibrium_recipe(system, spec);
  // Validation before any work: the spec at every side, the system at every T, a sampler
  // at every side.
  std::vector<std::unique_ptr<systems::System>> at_T;
  for (const double T : temperatures) {
    if (!(T > 0) || !std::isfinite(T)) throw InputError("--temperatures: T = " + shortest(T) + " must be positive");
    systems::SystemParams p = params;
    p.set("T", T);
    at_T.push_back(systems::make_system(system, p));
    for (const int L : sides) {
      check_equilibrium_spec(spec, at_T.back()->dim(), L);
      const std::string why = at_T.back()->check_side(L);
      if (!why.empty()) throw InputError("--sides: " + why);
      if (!at_T.back()->make_equilibrium_sampler(L)) throw InputError(at_T.back()->why_no_equilibrium_sampler());
    }
  }

  // The table so far: rows already made under this recipe (a row that does not parse, e.g.
  // cut by a crash, is made again); rows not asked for this time stay.
  std::vector<EquilibriumRow> table;
  if (std::ifstream in{out}) {
    std::string line;
    std::getline(in, line);
    if (line != recipe)
      throw InputError(out + " holds " +
                       (line.rfind("# macrodyn equilibrium", 0) == 0 ? "rows of another recipe (" + line.substr(2) + ")"
                                                                    : std::string("something else than macrodyn equilibrium's table")) +
                       "; choose another --out or rerun with the same options");
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      EquilibriumRow r;
      if (!line.empty() && parse_equilibrium_row(line, r)) table.push_back(r);
    }
  }
  std::vector<EquilibriumRow> rows;
  for (std::size_t t = 0; t < temperatures.size(); ++t)
    for (const int L : sides) {
      const double T = temperatures[t];
      auto at = std::find_if(table.begin(), table.end(), [&](const EquilibriumRow& r) { return r.L == L && r.T == T; });
      const bool kept = at != table.end();
      if (!kept) {
        table.push_back(measure_equilibrium(*at_T[t], L, T, spec));
        at = table.end() - 1;
        std::string text = recipe + "\n" + equilibrium_csv_header() + "\n";
        for (const auto& r : table) text += equilibrium_csv_row(r) + "\n";
        write_file_atomically(out, text.data(), text.size());
      }
      const EquilibriumRow& row = *at;
      std::fprintf(stderr, "  L = %d, T = %s: <|m|> = %.5f +- %.5f, chi' = %.4g +- %.2g, U = %.5f +- %.5f, dU/dT = %.4g +- %.2g%s\n",
                   L, shortest(T).c_str(), row.abs_m.value, row.abs_m.se, row.chi_prime.value, row.chi_prime.se,
                   row.binder.value, row.binder.se, row.dbinder_dt.value, row.dbinder_dt.se, kept ? " (kept)" : "");
      rows.push_back(row);
    }
  return rows;
}

}  // namespace macrodyn::jobs
