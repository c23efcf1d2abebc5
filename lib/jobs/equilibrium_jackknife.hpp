#pragma once
// The jackknife of jobs/equilibrium.hpp (a template: any function of the run means).
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace macrodyn::jobs {

template <class F>
Estimate jackknife(const std::vector<std::vector<double>>& per_run, F&& f) {
  const std::size_t R = per_run.size();
  if (R < 2) throw std::invalid_argument("jackknife: needs at least 2 runs");
  const std::size_t q = per_run[0].size();
  std::vector<double> all(q, 0.0), left(q);
  for (const auto& r : per_run)
    for (std::size_t k = 0; k < q; ++k) all[k] += r[k];
  std::vector<double> mean(q);
  for (std::size_t k = 0; k < q; ++k) mean[k] = all[k] / static_cast<double>(R);
  Estimate e;
  e.value = f(mean);
  std::vector<double> loo(R);
  double m = 0;
  for (std::size_t i = 0; i < R; ++i) {
    for (std::size_t k = 0; k < q; ++k) left[k] = (all[k] - per_run[i][k]) / static_cast<double>(R - 1);
    loo[i] = f(left);
    m += loo[i] / static_cast<double>(R);
  }
  double ss = 0;
  for (const double v : loo) ss += (v - m) * (v - m);
  e.se = std::sqrt(ss * static_cast<double>(R - 1) / static_cast<double>(R));
  return e;
}

}  // namespace macrodyn::jobs
