#include "jobs/fss_tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/format.hpp"
#include "jobs/study_recipe.hpp"
#include "macro/plot.hpp"

namespace macrodyn::jobs {

namespace {

const double kNan = std::numeric_limits<double>::quiet_NaN();

// Per setting (and "truth"): cell index -> estimate over seeds.
struct CellStats {
  Estimate abs_m{kNan, kNan}, chi{kNan, kNan}, U{kNan, kNan};
  double factor = 0;
  int seeds = 0;
  std::vector<double> histogram;
};

}  // namespace

std::vector<std::string> write_fss_tables(const Config& base, const FssOptions& o, const FssResults& r) {
  const auto& cells = r.cells;
  auto truth = r.truth;
  const auto& laws = r.laws;
  const bool capped = r.capped;
  std::vector<std::string> warnings;
  // 3. Tables: per model, per cell and setting over the seeds, beside the truth.
  std::map<std::string, std::map<std::size_t, CellStats>> stats;  // setting -> cell -> stats
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (truth.count(i)) {
      CellStats& t = stats["truth"][i];
      t.abs_m = truth[i].abs_m;
      t.chi = truth[i].chi_prime;
      t.U = truth[i].binder;
      t.histogram = truth[i].abs_m_histogram;
    }
    for (const auto& setting : o.factors) {
      std::vector<Estimate> a, x, u;
      CellStats s;
      for (std::uint64_t seed : o.seeds) {
        const auto it = laws.find({i, setting, seed});
        if (it == laws.end()) continue;
        const auto& law = it->second.law;
        const std::string who = "L = " + std::to_string(cells[i].L) + ", T = " + shortest(cells[i].T) + ", " + setting +
                                ", seed " + std::to_string(seed) + ": ";
        if (law.diverged > 0)
          warnings.push_back(who + std::to_string(law.diverged) + " rollout(s) diverged and are left out");
        if (std::fabs(law.drift_z) > 4)
          warnings.push_back(who + "<|m|> still drifts between the second and the last quarter of the rollouts (" +
                             shortest(law.drift_z) + " standard errors): lengthen --steps");
        if (law.trajectories < 2) continue;
        a.push_back(law.abs_m);
        x.push_back(law.chi_prime);
        u.push_back(law.binder);
        s.factor = it->second.factor;
        if (s.histogram.empty()) s.histogram.assign(law.histogram.size(), 0.0);
        for (std::size_t b = 0; b < law.histogram.size(); ++b) s.histogram[b] += law.histogram[b];
      }
      if (a.empty()) continue;
      s.seeds = static_cast<int>(a.size());
      for (auto& h : s.histogram) h /= s.seeds;
      s.abs_m = over_seeds(a);
      s.chi = over_seeds(x);
      s.U = over_seeds(u);
      stats[setting][i] = s;
    }
  }
  const std::string header = "# macrodyn study fss: system " + base.system + ", patch " + std::to_string(base.patch) +
                             "; SDE " + std::to_string(o.epochs) + " epochs; rollouts " + std::to_string(o.starts) +
                             " starts x " + std::to_string(o.copies) + ", " + std::to_string(o.steps) +
                             " steps, the last " + shortest(1 - o.burn) + " kept; truth: " + std::to_string(o.truth_runs) +
                             " chains x " + std::to_string(o.truth_sweeps) + " measurements\n# command: " + o.command_line + "\n";
  auto fmt = [](const Estimate& e) {
    char b[64];
    std::snprintf(b, sizeof b, "%.6g,%.3g", e.value, e.se);
    return std::string(b);
  };
  {
    std::ostringstream f;
    f << header << "L,T,K,setting,factor,seed,abs_m,abs_m_se,chi_prime,chi_prime_se,U,U_se,trajectories,diverged,drift_z,seconds\n";
    for (const auto& [key, m] : laws) {
      const FssCell& cell = cells[std::get<0>(key)];
      f << cell.L << "," << shortest(cell.T) << "," << cell.K << "," << std::get<1>(key) << "," << shortest(m.factor) << ","
        << std::get<2>(key) << "," << fmt(m.law.abs_m) << "," << fmt(m.law.chi_prime) << "," << fmt(m.law.binder) << ","
        << m.law.trajectories << "," << m.law.diverged << "," << shortest(m.law.drift_z) << "," << std::llround(m.seconds) << "\n";
    }
    write_file_atomically(o.out + "/fss-models.csv", f.str());
  }
  auto z_of = [](const Estimate& a, const Estimate& b) { return (a.value - b.value) / std::hypot(a.se, b.se); };
  {
    std::ostringstream f;
    f << header << "# per cell and setting: the mean over seeds (error: the larger of the seeds' spread / sqrt(seeds) and their own "
                   "errors / sqrt(seeds)); z: (model - truth) / combined error\n"
      << "L,T,K,setting,factor,seeds,abs_m,abs_m_se,chi_prime,chi_prime_se,U,U_se,truth_abs_m,truth_abs_m_se,truth_chi_prime,"
         "truth_chi_prime_se,truth_U,truth_U_se,z_abs_m,z_chi_prime,z_U\n";
    for (const auto& [setting, per] : stats) {
      if (setting == "truth") continue;
      for (const auto& [i, s] : per) {
        const FssCell& cell = cells[i];
        const CellStats t = stats["truth"].count(i) ? stats["truth"][i] : CellStats{};
        char z[96];
        std::snprintf(z, sizeof z, "%.2f,%.2f,%.2f", z_of(s.abs_m, t.abs_m), z_of(s.chi, t.chi), z_of(s.U, t.U));
        f << cell.L << "," << shortest(cell.T) << "," << cell.K << "," << setting << "," << shortest(s.factor) << ","
          << s.seeds << "," << fmt(s.abs_m) << "," << fmt(s.chi) << "," << fmt(s.U) << "," << fmt(t.abs_m) << ","
          << fmt(t.chi) << "," << fmt(t.U) << "," << z << "\n";
      }
    }
    write_file_atomically(o.out + "/fss-cells.csv", f.str());
  }

  // 4. Exponents: the same fit on the same sides for the truth and each setting.
  struct Exponent {
    std::string setting, quantity, sides;
    Estimate model, truth;
    double theory = 0;
  };
  std::vector<Exponent> exponents;
  auto decisive = [&](const Exponent& e) { return std::hypot(e.model.se, e.truth.se) <= 0.25 * std::fabs(e.theory); };
  auto sides_at = [&](const std::map<std::size_t, CellStats>& per, double T) {
    std::vector<std::size_t> at;
    for (const auto& [i, s] : per)
      if (cells[i].T == T) at.push_back(i);
    std::sort(at.begin(), at.end(), [&](std::size_t a, std::size_t b) { return cells[a].L < cells[b].L; });
    return at;
  };
  std::set<double> temps;
  for (const auto& cell : cells) temps.insert(cell.T);
  // |dU/dT| at T_c per side from U(T) fitted over the temperatures of that side.
  auto dudt = [&](const std::map<std::size_t, CellStats>& per, std::vector<double>& L, std::vector<Estimate>& d) {
    std::map<int, std::vector<std::size_t>> by_side;
    for (const auto& [i, s] : per) by_side[cells[i].L].push_back(i);
    for (const auto& [side, idx] : by_side) {
      if (idx.size() < 2) continue;
      std::vector<double> T, U, se;
      for (std::size_t i : idx) {
        T.push_back(cells[i].T);
        U.push_back(per.at(i).U.value);
        se.push_back(per.at(i).U.se);
      }
      const PolyFit fit = fit_polynomial(T, U, se, std::min<int>(o.binder_degree, static_cast<int>(idx.size()) - 1));
      L.push_back(side);
      d.push_back({std::fabs(fit.slope_at(kIsingTc)), fit.slope_se_at(kIsingTc)});
    }
  };
  for (const auto& setting : o.factors) {
    if (!stats.count(setting)) continue;
    const auto& per = stats[setting];
    const auto& tper = stats["truth"];
    // The sides both have at the slope temperature.
    std::vector<double> L;
    std::vector<Estimate> ma, mc, ta, tc;
    for (std::size_t i : sides_at(per, o.slope_temperature)) {
      if (!tper.count(i)) continue;
      L.push_back(cells[i].L);
      ma.push_back(per.at(i).abs_m);
      mc.push_back(per.at(i).chi);
      ta.push_back(tper.at(i).abs_m);
      tc.push_back(tper.at(i).chi);
    }
    std::string sides;
    for (double l : L) sides += (sides.empty() ? "" : " ") + shortest(l);
    if (L.size() >= 2) {
      exponents.push_back({setting, "<|m|> ~ L^(-beta/nu)", sides, loglog_slope(L, ma), loglog_slope(L, ta), -0.125});
      exponents.push_back({setting, "chi' ~ L^(gamma/nu)", sides, loglog_slope(L, mc), loglog_slope(L, tc), 1.75});
    }
    // dU/dT: sides with at least two temperatures in both.
    std::map<std::size_t, CellStats> mboth, tboth;
    for (const auto& [i, s] : per)
      if (tper.count(i)) {
        mboth[i] = s;
        tboth[i] = tper.at(i);
      }
    std::vector<double> Lm, Lt;
    std::vector<Estimate> dm, dt;
    dudt(mboth, Lm, dm);
    dudt(tboth, Lt, dt);
    if (Lm.size() >= 2) {
      std::string s2;
      for (double l : Lm) s2 += (s2.empty() ? "" : " ") + shortest(l);
      exponents.push_back({setting, "|dU/dT| at T_c ~ L^(1/nu)", s2, loglog_slope(Lm, dm), loglog_slope(Lt, dt), 1.0});
    }
  }
  std::vector<std::string> verdict;
  {
    std::ostringstream f;
    f << header << "# slopes of weighted least-squares lines in log-log (errors: formal, from the points' errors); z = (model - truth) / combined error\n"
      << "# decisive: the combined error is at most a quarter of the theory's exponent (a 2-error test can tell an exponent "
         "half wrong)\n"
      << "setting,quantity,sides,slope,slope_se,truth_slope,truth_slope_se,theory,z,within_2se,decisive\n";
    for (const auto& e : exponents) {
      const double z = z_of(e.model, e.truth);
      char b[256];
      std::snprintf(b, sizeof b, "%s,%s,%s,%.4f,%.4f,%.4f,%.4f,%s,%.2f,%s,%s", e.setting.c_str(), e.quantity.c_str(),
                    e.sides.c_str(), e.model.value, e.model.se, e.truth.value, e.truth.se, shortest(e.theory).c_str(), z,
                    std::fabs(z) <= 2 ? "yes" : "no", decisive(e) ? "yes" : "no");
      f << b << "\n";
    }
    write_file_atomically(o.out + "/exponents.csv", f.str());
  }
  for (const auto& setting : o.factors) {
    int n = 0, pass = 0, undecided = 0;
    std::string detail;
    for (const auto& e : exponents) {
      if (e.setting != setting) continue;
      const double z = z_of(e.model, e.truth);
      ++n;
      pass += std::fabs(z) <= 2;
      undecided += std::fabs(z) <= 2 && !decisive(e);
      char b[200];
      std::snprintf(b, sizeof b, "%s%s %.3f +- %.3f against the truth's %.3f +- %.3f (z = %.1f)", detail.empty() ? "" : "; ",
                    e.quantity.c_str(), e.model.value, e.model.se, e.truth.value, e.truth.se, z);
      detail += b;
    }
    if (n == 0) verdict.push_back("c = " + setting + ": no exponent (fewer than two sides finished at T = " + shortest(o.slope_temperature) + ")");
    else
      verdict.push_back("c = " + setting + ": " + std::to_string(pass) + " of " + std::to_string(n) +
                        " exponents within 2 combined standard errors of the truth's" +
                        (pass < n       ? " (does NOT reproduce the finite-size scaling): "
                         : undecided > 0 ? " (but " + std::to_string(undecided) +
                                               " with errors too wide to tell; more seeds or longer rollouts): "
                                         : " (reproduces the finite-size scaling): ") +
                        detail);
  }
  if (capped) verdict.push_back("capped at " + shortest(o.max_hours) + " h: not every model is finished (rerun to go on)");

  // Binder crossings of consecutive sides.
  {
    std::ostringstream f;
    f << header << "setting,L_a,L_b,T_cross,T_cross_se\n";
    for (const auto& [setting, per] : stats) {
      std::map<int, std::map<double, Estimate>> U;
      for (const auto& [i, s] : per) U[cells[i].L][cells[i].T] = s.U;
      // Each side against the next larger one with at least two temperatures in common (a side
      // run at one temperature only, like 48 at 2.27 alone, is passed over).
      for (auto a = U.begin(); a != U.end(); ++a) {
        std::vector<double> T;
        std::vector<Estimate> ua, ub;
        auto b = std::next(a);
        for (; b != U.end(); ++b) {
          T.clear();
          ua.clear();
          ub.clear();
          for (const auto& [t, e] : a->second)
            if (b->second.count(t)) {
              T.push_back(t);
              ua.push_back(e);
              ub.push_back(b->second.at(t));
            }
          if (T.size() >= 2) break;
        }
        if (b == U.end()) continue;
        const Estimate x = binder_crossing(T, ua, ub, std::min<int>(o.binder_degree, static_cast<int>(T.size()) - 1));
        f << setting << "," << a->first << "," << b->first << "," << shortest(x.value) << "," << shortest(x.se) << "\n";
      }
    }
    write_file_atomically(o.out + "/binder-crossings.csv", f.str());
  }
  {
    std::string v;
    for (const auto& line : verdict) v += line + "\n";
    write_file_atomically(o.out + "/verdict.txt", v);
    std::string w;
    for (const auto& line : warnings) w += line + "\n";
    write_file_atomically(o.out + "/warnings.txt", w);
  }
  for (const auto& line : verdict) study_say(line);
  if (!warnings.empty())
    study_say("warning: " + std::to_string(warnings.size()) + " suspect result(s), listed in " + o.out + "/warnings.txt");

  // 5. Plots.
  auto series = [&](const std::string& setting, double T, auto value) {
    macro::XySeries s{setting == "truth" ? "truth (equilibrium)" : "c = " + setting, {}, {}, {}, {}};
    if (!stats.count(setting)) return s;
    for (std::size_t i : sides_at(stats[setting], T)) {
      const Estimate e = value(stats[setting][i]);
      s.x.push_back(cells[i].L);
      s.y.push_back(e.value);
      s.lo.push_back(e.value - e.se);
      s.hi.push_back(e.value + e.se);
    }
    return s;
  };
  std::vector<std::string> plotted{"truth"};
  for (const auto& s : o.factors) plotted.push_back(s);
  for (const auto& [file, label, getter] :
       {std::tuple<std::string, std::string, Estimate (*)(const CellStats&)>{
            "abs-m.png", "<|m|>", [](const CellStats& s) { return s.abs_m; }},
        {"chi.png", "chi' = (N/T)(<m^2> - <|m|>^2)", [](const CellStats& s) { return s.chi; }}}) {
    std::vector<macro::XySeries> all;
    for (const auto& s : plotted) {
      auto x = series(s, o.slope_temperature, getter);
      if (!x.x.empty()) all.push_back(x);
    }
    if (!all.empty())
      macro::plot_xy(o.out + "/" + file, label + " against L at T = " + shortest(o.slope_temperature), "L", label, true,
                     true, all);
  }
  for (const auto& setting : o.factors) {
    if (!stats.count(setting)) continue;
    std::vector<macro::XySeries> binder, collapse, hist;
    for (const std::string& who : {std::string("truth"), setting}) {
      std::map<int, std::vector<std::size_t>> by_side;
      for (const auto& [i, s] : stats[who]) by_side[cells[i].L].push_back(i);
      const std::string tag = who == "truth" ? "truth" : "c = " + setting;
      for (auto& [side, idx] : by_side) {
        std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return cells[a].T < cells[b].T; });
        macro::XySeries b{tag + ", L = " + std::to_string(side), {}, {}, {}, {}}, c = b;
        for (std::size_t i : idx) {
          const auto& s = stats[who][i];
          b.x.push_back(cells[i].T);
          b.y.push_back(s.U.value);
          b.lo.push_back(s.U.value - s.U.se);
          b.hi.push_back(s.U.value + s.U.se);
          const double scale = std::pow(static_cast<double>(side), 0.125);
          c.x.push_back((cells[i].T - kIsingTc) * side);
          c.y.push_back(s.abs_m.value * scale);
          c.lo.push_back((s.abs_m.value - s.abs_m.se) * scale);
          c.hi.push_back((s.abs_m.value + s.abs_m.se) * scale);
          if (cells[i].T == o.slope_temperature && !s.histogram.empty()) {
            macro::XySeries h{tag + ", L = " + std::to_string(side), {}, {}, {}, {}};
            for (std::size_t k = 0; k < s.histogram.size(); ++k) {
              h.x.push_back((k + 0.5) / static_cast<double>(s.histogram.size()));
              h.y.push_back(s.histogram[k] * static_cast<double>(s.histogram.size()));
            }
            hist.push_back(h);
          }
        }
        binder.push_back(b);
        collapse.push_back(c);
      }
    }
    macro::plot_xy(o.out + "/binder-" + setting + ".png", "Binder cumulant U(T): truth and c = " + setting, "T", "U",
                   false, false, binder, {{true, kIsingTc, "T_c"}});
    macro::plot_xy(o.out + "/collapse-" + setting + ".png",
                   "collapse <|m|> L^(1/8) against (T - T_c) L: truth and c = " + setting, "(T - T_c) L",
                   "<|m|> L^(1/8)", false, false, collapse);
    if (!hist.empty())
      macro::plot_xy(o.out + "/histograms-" + setting + ".png",
                     "|m| at T = " + shortest(o.slope_temperature) + ": truth and c = " + setting, "|m|", "density",
                     false, false, hist);
  }
  return verdict;
}

}  // namespace macrodyn::jobs
