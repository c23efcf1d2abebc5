#pragma once
// PNG figures through the gnuplot program (Debian: apt-get install gnuplot-nox; the
// pngcairo terminal). Next to out.png the functions leave out.dat (the numbers) and out.gp
// (the script): `cd <dir> && gnuplot out.gp` re-plots, and either can be edited.
//
// Errors: InputError for inconsistent series; FileError naming the PNG when a file
// cannot be written or gnuplot is missing or fails (its messages are then kept in
// out.gnuplot.log). Labels are printed literally (no enhanced-text markup).
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace macrodyn::macro {

// One ensemble to draw: mean and std [T, d] at times [T].
struct BandSeries {
  std::string label;
  std::vector<double> times;
  std::vector<double> mean;    // [T, d]
  std::vector<double> stddev;  // [T, d]
};

// One panel per variable, stacked; each series as its mean (line) with a transparent
// mean +- std band. time_label is the x-axis label including units, variables[i] names
// dimension i (the y-axis label of panel i).
// `yranges` (optional, one [lo, hi] per variable) fixes the y-axes, e.g. to one range
// for every plot of an evaluation so that initial conditions compare at a glance.
void plot_ensemble_bands(const std::string& png, const std::string& title, const std::string& time_label,
                         const std::vector<std::string>& variables, const std::vector<BandSeries>& series,
                         const std::vector<std::pair<double, double>>& yranges = {});

// Curves y(x) as points joined by lines (e.g. an error against the patch side). With
// lo and hi (as many as x) each point gets an error bar from lo to hi (e.g. the spread
// over training seeds).
struct XySeries {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> lo, hi;
};

// A reference line across the plot: x = at (vertical) or y = at, labelled.
struct XyGuide {
  bool vertical = false;
  double at = 0;
  std::string label;
};

// A finite `ymax` tops the frame: points and bars above it are clipped, so that one
// diverged value does not flatten every other point against the x-axis (when no point
// lies below ymax, the frame is not clipped).
void plot_xy(const std::string& png, const std::string& title, const std::string& xlabel,
             const std::string& ylabel, bool logx, bool logy, const std::vector<XySeries>& series,
             const std::vector<XyGuide>& guides = {}, double ymax = NAN);

}  // namespace macrodyn::macro
