// gnuplot front end: data file + script next to the PNG, then one gnuplot run.
#include "macro/plot.hpp"

#include "core/error.hpp"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace macrodyn::macro {
namespace {

namespace fs = std::filesystem;

const char* const kInstallHint = "gnuplot with the pngcairo terminal is needed (apt-get install gnuplot-nox)";

// A gnuplot single-quoted string: '' is the only escape; newlines would end the command.
std::string gp_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "''";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out + "'";
}

// A POSIX-shell single-quoted word.
std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// Non-finite values are written as NaN, which gnuplot treats as an undefined point (a gap).
std::string num(double x) {
  if (!std::isfinite(x)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

// The files that go with one PNG; the script refers to them by name only, so it is run
// (and can be re-run) from their directory.
struct PlotFiles {
  fs::path dir, png, dat, gp, log;
  explicit PlotFiles(const std::string& png_path) {
    const fs::path p(png_path);
    dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    png = p.filename();
    dat = fs::path(p.filename()).replace_extension(".dat");
    gp = fs::path(p.filename()).replace_extension(".gp");
    log = fs::path(p.filename()).replace_extension(".gnuplot.log");
  }
};

void write_file(const fs::path& path, const std::string& text, const std::string& png) {
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) throw FileError("Cannot write " + path.string() + " for the plot " + png + ".");
}

// Writes data and script, runs gnuplot and checks that a non-empty PNG came out.
void render(const std::string& png, const std::string& data, const std::string& script) {
  const PlotFiles files(png);
  std::error_code ec;
  fs::create_directories(files.dir, ec);  // a failure shows up as an unwritable file below
  write_file(files.dir / files.dat, data, png);
  write_file(files.dir / files.gp, script, png);
  fs::remove(files.dir / files.png, ec);  // a stale PNG must not pass for a new one

  const std::string cmd = "cd " + sh_quote(files.dir.string()) + " && gnuplot " + sh_quote(files.gp.string()) +
                          " > " + sh_quote(files.log.string()) + " 2>&1";
  const int status = std::system(cmd.c_str());
  const int code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  if (code == 127)
    throw FileError("Cannot plot " + png + ": the gnuplot program is not on PATH; " + kInstallHint + ".");
  const fs::path out = files.dir / files.png;
  if (code != 0 || !fs::exists(out) || fs::file_size(out, ec) == 0)
    throw FileError("Cannot plot " + png + ": gnuplot failed (exit status " + std::to_string(code) + ", messages in " +
                    (files.dir / files.log).string() + "); " + kInstallHint + ".");
  fs::remove(files.dir / files.log, ec);  // only kept when it explains a failure
}

std::string script_header(const std::string& who, const std::string& png, int width, int height) {
  const PlotFiles files(png);
  std::ostringstream s;
  s << "# Written by macrodyn " << who << ". Re-plot: cd into this directory, then gnuplot "
    << files.gp.string() << "\n"
    << "set terminal pngcairo noenhanced size " << width << "," << height << " font 'sans,10'\n"
    << "set output " << gp_quote(files.png.string()) << "\n"
    << "set grid\n";
  return s.str();
}

}  // namespace

void plot_ensemble_bands(const std::string& png, const std::string& title, const std::string& time_label,
                         const std::vector<std::string>& variables, const std::vector<BandSeries>& series,
                         const std::vector<std::pair<double, double>>& yranges) {
  const std::size_t d = variables.size();
  if (d == 0) throw InputError("plot_ensemble_bands: no variable names for " + png + ".");
  if (series.empty()) throw InputError("plot_ensemble_bands: no series to plot in " + png + ".");
  for (const auto& s : series) {
    const std::size_t T = s.times.size();
    if (T == 0 || s.mean.size() != T * d || s.stddev.size() != T * d)
      throw InputError("plot_ensemble_bands: series '" + s.label + "' in " + png + " has " + std::to_string(T) +
                       " times but mean/std of sizes " + std::to_string(s.mean.size()) + "/" +
                       std::to_string(s.stddev.size()) + ", expected times x " + std::to_string(d) + " variables.");
  }

  // One data block per series (separated by two blank lines: gnuplot's `index`), columns
  // time, mean_0, std_0, mean_1, std_1, ...
  std::ostringstream data;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    data << "# series " << k << ": " << s.label << "\n# time";
    for (const auto& v : variables) data << "  mean(" << v << ") std(" << v << ")";
    data << "\n";
    for (std::size_t t = 0; t < s.times.size(); ++t) {
      data << num(s.times[t]);
      for (std::size_t i = 0; i < d; ++i) data << ' ' << num(s.mean[t * d + i]) << ' ' << num(s.stddev[t * d + i]);
      data << "\n";
    }
    data << "\n\n";
  }

  const PlotFiles files(png);
  std::ostringstream gp;
  gp << script_header("plot_ensemble_bands", png, 1000, 60 + 300 * static_cast<int>(d))
     << "set style fill transparent solid 0.25 noborder\n"
     << "set key top center horizontal outside\n"  // above the panel: the width stays the data's
     << "set multiplot layout " << d << ",1 title " << gp_quote(title) << "\n";
  for (std::size_t i = 0; i < d; ++i) {
    const int mc = 2 + 2 * static_cast<int>(i), sc = mc + 1;
    gp << "set xlabel " << gp_quote(time_label) << "\n"
       << "set ylabel " << gp_quote(variables[i]) << "\n";
    if (i < yranges.size() && std::isfinite(yranges[i].first) && std::isfinite(yranges[i].second) &&
        yranges[i].second > yranges[i].first)
      gp << "set yrange [" << num(yranges[i].first) << ":" << num(yranges[i].second) << "]\n";
    else
      gp << "set autoscale y\n";
    gp << "plot ";
    for (std::size_t k = 0; k < series.size(); ++k) {
      const std::string file = k == 0 ? gp_quote(files.dat.string()) : "''";
      gp << (k ? ", \\\n     " : "") << file << " index " << k << " using 1:($" << mc << "-$" << sc << "):($" << mc
         << "+$" << sc << ") with filledcurves lc " << k + 1 << " notitle, \\\n     '' index " << k
         << " using 1:" << mc << " with lines lw 2 lc " << k + 1 << " title " << gp_quote(series[k].label);
    }
    gp << "\n";
  }
  gp << "unset multiplot\n";
  render(png, data.str(), gp.str());
}

void plot_xy(const std::string& png, const std::string& title, const std::string& xlabel,
             const std::string& ylabel, bool logx, bool logy, const std::vector<XySeries>& series,
             const std::vector<XyGuide>& guides, double ymax) {
  if (series.empty()) throw InputError("plot_xy: no series to plot in " + png + ".");
  for (const auto& s : series) {
    if (s.x.empty() || s.x.size() != s.y.size())
      throw InputError("plot_xy: series '" + s.label + "' in " + png + " has " + std::to_string(s.x.size()) +
                       " x and " + std::to_string(s.y.size()) + " y values; they must be equal and non-zero.");
    if ((!s.lo.empty() || !s.hi.empty()) && (s.lo.size() != s.x.size() || s.hi.size() != s.x.size()))
      throw InputError("plot_xy: series '" + s.label + "' in " + png + " has error bars for some points only.");
  }

  std::ostringstream data;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    data << "# series " << k << ": " << s.label << (s.lo.empty() ? "\n# x y\n" : "\n# x y lo hi\n");
    for (std::size_t j = 0; j < s.x.size(); ++j) {
      data << num(s.x[j]) << ' ' << num(s.y[j]);
      if (!s.lo.empty()) data << ' ' << num(s.lo[j]) << ' ' << num(s.hi[j]);
      data << "\n";
    }
    data << "\n\n";
  }

  const PlotFiles files(png);
  std::ostringstream gp;
  gp << script_header("plot_xy", png, 900, 650) << "set title " << gp_quote(title) << "\n"
     << "set xlabel " << gp_quote(xlabel) << "\n"
     << "set ylabel " << gp_quote(ylabel) << "\n"
     << (logx ? "set logscale x\n" : "") << (logy ? "set logscale y\n" : "") << "set key top right\n";
  // What lies above ymax is clipped, unless nothing lies below it (gnuplot then has no
  // point to draw and fails).
  bool some_below = false;
  for (const auto& s : series)
    for (double y : s.y) some_below = some_below || (y < ymax && (!logy || y > 0));
  if (std::isfinite(ymax) && some_below) gp << "set yrange [*:" << num(ymax) << "]\n";
  for (const auto& g : guides) {
    if (g.vertical)
      gp << "set arrow from " << num(g.at) << ", graph 0 to " << num(g.at) << ", graph 1 nohead dt 2 lc rgb 'gray40'\n"
         << "set label " << gp_quote(g.label) << " at " << num(g.at) << ", graph 0.96 offset 0.5, 0 tc rgb 'gray30'\n";
    else
      gp << "set arrow from graph 0, first " << num(g.at) << " to graph 1, first " << num(g.at)
         << " nohead dt 2 lc rgb 'gray40'\n"
         << "set label " << gp_quote(g.label) << " at graph 0.02, first " << num(g.at)
         << " offset 0, 0.6 tc rgb 'gray30'\n";
  }
  gp << "plot ";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const std::string file = k == 0 ? gp_quote(files.dat.string()) : "''";
    gp << (k ? ", \\\n     " : "") << file << " index " << k
       << (series[k].lo.empty() ? " using 1:2 with linespoints" : " using 1:2:3:4 with yerrorlines") << " lw 2 pt 7 lc "
       << k + 1 << " title " << gp_quote(series[k].label);
  }
  gp << "\n";
  render(png, data.str(), gp.str());
}

}  // namespace macrodyn::macro
