#pragma once
// study fss's tables, exponents, verdict and plots (docs/design.md §8.5.9) from the stages'
// results: fss_study.cpp runs the stages, this file only reads what they left.
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "jobs/config.hpp"
#include "jobs/equilibrium.hpp"
#include "jobs/fss_analysis.hpp"
#include "jobs/fss_study.hpp"

namespace macrodyn::jobs {

// A cell (L, T) of the study: its K and directory.
struct FssCell {
  int L = 0;
  double T = 0;
  std::int64_t K = 1;
  std::string dir;
};

// A model's rollouts: its loss factor, their stationary law, the seconds its stages took.
struct FssModelLaw {
  double factor = 0;
  StationaryLaw law;
  double seconds = 0;
};

// (cell index, factor setting, training seed) -> the model's rollouts.
using FssLaws = std::map<std::tuple<std::size_t, std::string, std::uint64_t>, FssModelLaw>;

struct FssResults {
  std::vector<FssCell> cells;
  std::map<std::size_t, EquilibriumRow> truth;  // cell index -> truth
  FssLaws laws;
  bool capped = false;  // --max-hours stopped the stages
};

// Writes o.out/fss-models.csv, fss-cells.csv, exponents.csv, binder-crossings.csv,
// verdict.txt, warnings.txt and the plots; returns the verdict lines.
std::vector<std::string> write_fss_tables(const Config& base, const FssOptions& o, const FssResults& r);

}  // namespace macrodyn::jobs
