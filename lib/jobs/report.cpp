#include "jobs/report.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace macrodyn::jobs {

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A scratch directory for the SVGs, removed with this object.
struct Scratch {
  fs::path dir;
  Scratch() {
    std::string t = (fs::temp_directory_path() / "macrodyn-report-XXXXXX").string();
    if (!mkdtemp(t.data())) throw FileError("cannot create a temporary directory for the report's figures");
    dir = t;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// Runs gnuplot on `script` from directory `cwd`; the SVG it wrote to `svg`, or "".
std::string run_gnuplot(const fs::path& cwd, const std::string& script, const fs::path& svg, const Scratch& scratch) {
  const fs::path gp = scratch.dir / (svg.stem().string() + ".gp");
  write_file_atomically(gp.string(), script);
  const std::string cmd = "cd " + sh_quote(cwd.string()) + " && gnuplot " + sh_quote(gp.string()) + " >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return "";
  return slurp(svg);
}

std::string svg_terminal(const fs::path& svg, int width, int height) {
  std::ostringstream s;
  s << "set terminal svg noenhanced size " << width << "," << height << " font 'sans,11' background '#ffffff'\n"
    << "set output '" << svg.string() << "'\n";
  return s.str();
}

// A plot left by macro/plot (name.gp beside name.dat), re-rendered as SVG: the script's
// terminal and output lines are replaced, the rest is the figure as it was drawn.
std::string rerender(const fs::path& gp, const Scratch& scratch, int index) {
  std::istringstream in(slurp(gp));
  const fs::path svg = scratch.dir / ("figure" + std::to_string(index) + ".svg");
  std::string script, line;
  int width = 1000, height = 600;
  while (std::getline(in, line)) {
    if (line.rfind("set terminal", 0) == 0) {
      const auto at = line.find(" size ");
      if (at != std::string::npos) std::sscanf(line.c_str() + at + 6, "%d,%d", &width, &height);
      script += svg_terminal(svg, width, height);
    } else if (line.rfind("set output", 0) == 0) {
      continue;
    } else {
      script += line + "\n";
    }
  }
  return run_gnuplot(gp.parent_path(), script, svg, scratch);
}

std::string figure(const std::string& svg, const std::string& caption) {
  return "<figure><img alt=\"" + escape(caption) + "\" src=\"data:image/svg+xml;base64," + base64(svg) +
         "\"><figcaption>" + escape(caption) + "</figcaption></figure>\n";
}

std::string png_figure(const fs::path& png, const std::string& caption) {
  return "<figure><img alt=\"" + escape(caption) + "\" src=\"data:image/png;base64," + base64(slurp(png)) +
         "\"><figcaption>" + escape(caption) + "</figcaption></figure>\n";
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream s(line);
  std::string cell;
  while (std::getline(s, cell, sep)) out.push_back(cell);
  return out;
}

// A CSV as an HTML table; '#' lines before it as a note.
std::string csv_table(const fs::path& csv) {
  std::istringstream in(slurp(csv));
  std::string line, notes, rows;
  bool header = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      notes += escape(line.substr(1)) + "\n";
      continue;
    }
    rows += "<tr>";
    for (const auto& cell : split(line, ',')) rows += (header ? "<th>" : "<td>") + escape(cell) + (header ? "</th>" : "</td>");
    rows += "</tr>\n";
    header = false;
  }
  return (notes.empty() ? "" : "<pre class=\"note\">" + notes + "</pre>\n") + "<div class=\"scroll\"><table>\n" + rows +
         "</table></div>\n";
}

// A loss curve from CSV columns (x, then one or more y's) through gnuplot.
std::string loss_curve(const fs::path& csv, int x, const std::vector<std::pair<int, std::string>>& ys,
                       const std::string& title, const std::string& xlabel, const std::string& ylabel, bool logy,
                       const Scratch& scratch, int index) {
  const fs::path svg = scratch.dir / ("loss" + std::to_string(index) + ".svg");
  std::ostringstream gp;
  gp << svg_terminal(svg, 900, 380) << "set datafile separator ','\nset key top right\nset grid\n"
     << "set title '" << title << "'\nset xlabel '" << xlabel << "'\nset ylabel '" << ylabel << "'\n"
     << (logy ? "set logscale y\n" : "") << "plot ";
  for (std::size_t k = 0; k < ys.size(); ++k)
    gp << (k ? ", " : "") << "'" << csv.filename().string() << "' every ::1 using " << x << ":" << ys[k].first
       << " with lines lw 2 title '" << ys[k].second << "'";
  gp << "\n";
  return run_gnuplot(csv.parent_path(), gp.str(), svg, scratch);
}

std::string section(const std::string& title, const std::string& body) {
  return "<section><h2>" + escape(title) + "</h2>\n" + body + "</section>\n";
}

std::string verdict_block(const fs::path& txt) {
  std::string out = "<pre class=\"verdict\">";
  std::istringstream in(slurp(txt));
  std::string line;
  while (std::getline(in, line)) {
    const std::string e = escape(line);
    if (line.find("warning:") != std::string::npos) out += "<span class=\"warn\">" + e + "</span>\n";
    else if (line.rfind("verdict: PASS", 0) == 0) out += "<span class=\"pass\">" + e + "</span>\n";
    else if (line.rfind("verdict: FAIL", 0) == 0) out += "<span class=\"fail\">" + e + "</span>\n";
    else out += e + "\n";
  }
  return out + "</pre>\n";
}

// File stems in reading order: numbers (with their sign and decimals) compare by value, so
// bands_m0_-0.5 < bands_m0_0 < bands_m0_0.25 < bands_m0_0.5 and bands-p8 < bands-p16.
bool reading_order(const fs::path& a, const fs::path& b) {
  const std::string x = a.stem().string(), y = b.stem().string();
  const auto number_at = [](const std::string& s, std::size_t i) {
    return std::isdigit(static_cast<unsigned char>(s[i])) ||
           (s[i] == '-' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])));
  };
  std::size_t i = 0, j = 0;
  while (i < x.size() && j < y.size()) {
    if (number_at(x, i) && number_at(y, j)) {
      char *ex = nullptr, *ey = nullptr;
      const double nx = std::strtod(x.c_str() + i, &ex), ny = std::strtod(y.c_str() + j, &ey);
      if (nx != ny) return nx < ny;
      i = static_cast<std::size_t>(ex - x.c_str());
      j = static_cast<std::size_t>(ey - y.c_str());
      continue;
    }
    if (x[i] != y[j]) return x[i] < y[j];
    ++i;
    ++j;
  }
  return x.size() - i < y.size() - j;
}

// The caption of a figure: where its files are, so that a reader can find the numbers.
std::string caption_of(const fs::path& file) {
  const std::string stem = file.stem().string();
  return "file " + stem + ".png (numbers in " + stem + ".dat, gnuplot script " + stem + ".gp)";
}

// The figures and tables of one directory (the report's top directory or verdict/).
std::string plots_of(const fs::path& dir, const Scratch& scratch, int& index, std::string& notes) {
  std::vector<fs::path> gps, pngs;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".gp") gps.push_back(e.path());
    if (e.path().extension() == ".png") pngs.push_back(e.path());
  }
  std::sort(gps.begin(), gps.end(), reading_order);
  std::sort(pngs.begin(), pngs.end(), reading_order);
  std::string body;
  for (const auto& gp : gps) {
    const std::string svg = rerender(gp, scratch, index++);
    const std::string caption = caption_of(gp);
    if (!svg.empty()) {
      body += figure(svg, caption);
      continue;
    }
    fs::path png = gp;
    png.replace_extension(".png");
    if (fs::exists(png)) body += png_figure(png, caption);
    else notes += "gnuplot could not redraw " + gp.string() + "\n";
  }
  // PNGs without their script (e.g. a study's own plots).
  for (const auto& png : pngs) {
    fs::path gp = png;
    gp.replace_extension(".gp");
    if (!fs::exists(gp)) body += png_figure(png, "file " + png.filename().string());
  }
  return body;
}

}  // namespace

std::string write_report(const std::string& dir_name) {
  const fs::path dir(dir_name);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw FileError("report: " + dir_name + " is not a directory");
  Scratch scratch;
  int index = 0;
  std::string notes, body;
  const fs::path verdict_dir = dir / "verdict";

  // The verdict first: the answer the reader came for.
  for (const fs::path& v : {dir / "verdict.txt", verdict_dir / "verdict.txt"})
    if (fs::exists(v)) body += section("Verdict", verdict_block(v));
  // A study's suspect cells (study.cpp), before its numbers.
  if (fs::exists(dir / "warnings.txt") && !slurp(dir / "warnings.txt").empty())
    body += section("Warnings", "<p>Results to distrust, whatever their numbers:</p>\n<pre>" +
                                    escape(slurp(dir / "warnings.txt")) + "</pre>\n");

  // Bands, studies' curves.
  std::string plots = plots_of(dir, scratch, index, notes);
  if (fs::is_directory(verdict_dir)) plots += plots_of(verdict_dir, scratch, index, notes);
  if (!plots.empty())
    body += section("Prediction against truth",
                    "<p>Mean &plusmn; one standard deviation over the ensembles, per initial condition: the truth "
                    "(large-system runs) against the learned SDE's paths from the same initial macrostates.</p>\n" +
                        plots);

  // Tables: evaluation metrics and study tables.
  std::string tables;
  for (const fs::path& d : {dir, verdict_dir}) {
    if (!fs::is_directory(d)) continue;
    std::vector<fs::path> csvs;
    for (const auto& e : fs::directory_iterator(d))
      if (e.path().extension() == ".csv") csvs.push_back(e.path());
    std::sort(csvs.begin(), csvs.end());
    for (const auto& csv : csvs) {
      const std::string name = csv.filename().string();
      if (name == "history.csv" || name == "ae_history.csv" || name == "bands.csv") continue;  // plotted
      const std::string head = slurp(csv).substr(0, 64);
      if (head.rfind("step,loss", 0) == 0) continue;  // a run's loss log: plotted below
      tables += "<h3>" + escape(fs::relative(csv, dir).string()) + "</h3>\n" + csv_table(csv);
    }
  }
  if (!tables.empty()) body += section("Tables", tables);

  // Training: what each loss means, then the curves.
  std::string training;
  if (fs::exists(dir / "metrics.csv") && slurp(dir / "metrics.csv").rfind("step,loss", 0) == 0) {
    const std::string svg = loss_curve(dir / "metrics.csv", 1, {{2, "training loss (batch)"}},
                                       "SDE training (online)", "optimiser step", "loss", false, scratch, index++);
    training += svg.empty() ? "" : figure(svg, "SDE loss per optimiser step (metrics.csv)");
  }
  if (fs::exists(dir / "history.csv")) {
    const std::string svg = loss_curve(dir / "history.csv", 1, {{2, "training"}, {3, "validation"}},
                                       "SDE training", "epoch", "loss", false, scratch, index++);
    training += svg.empty() ? "" : figure(svg, "SDE loss per epoch, training and held-out validation pairs (history.csv)");
  }
  if (fs::exists(dir / "ae_history.csv")) {
    // The loss column names the network's loss: bce (spins) or mse (fields).
    const bool mse = slurp(dir / "ae_history.csv").rfind("epoch,mse", 0) == 0;
    const std::string svg = loss_curve(dir / "ae_history.csv", 1, {{2, mse ? "reconstruction (MSE)" : "reconstruction (BCE)"}},
                                       "Closure autoencoder", "epoch", mse ? "mean squared error" : "binary cross-entropy",
                                       false, scratch, index++);
    training += svg.empty() ? "" : figure(svg, "Autoencoder reconstruction loss per epoch (ae_history.csv)");
  }
  if (!training.empty())
    body += section("Training",
                    "<p>The SDE loss is the negative log-likelihood of the observed increments under the Gaussian "
                    "transition of dz = &mu;(z) dt + &sigma;(z) dW over each pair's duration, with the covariance "
                    "scaled by the loss factor (K for the K-scaled method): lower is better, and its value can be "
                    "negative. The autoencoder loss is the binary cross-entropy of the reconstructed spins.</p>\n" +
                        training);

  // Configuration and provenance.
  std::string config;
  if (fs::exists(dir / "model.json")) config += "<h3>model.json</h3><pre>" + escape(slurp(dir / "model.json")) + "</pre>\n";
  for (const char* f : {"config.ini", "recipe.txt"})
    if (fs::exists(dir / f)) config += std::string("<h3>") + f + "</h3><pre>" + escape(slurp(dir / f)) + "</pre>\n";
  if (!config.empty()) body += section("Configuration and provenance", config);
  if (body.empty())
    throw FileError("report: " + dir_name + " holds no model, evaluation, run or study files to report on");
  if (!notes.empty()) body += section("Notes", "<pre>" + escape(notes) + "</pre>");

  const std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>macrodyn report: " +
      escape(fs::absolute(dir).lexically_normal().string()) +
      "</title>\n<style>\nbody{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}\n"
      "h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:1.5em}\n"
      "pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}\n"
      ".warn{color:#a15c00;font-weight:bold}.pass{color:#176317;font-weight:bold}.fail{color:#b00020;font-weight:bold}\n"
      "figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}\n"
      "table{border-collapse:collapse;font-size:.8em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}\n"
      ".scroll{overflow-x:auto}\n</style></head><body>\n<h1>macrodyn report: " +
      escape(fs::absolute(dir).lexically_normal().string()) + "</h1>\n" + body + "</body></html>\n";
  const std::string path = (dir / "report.html").string();
  write_file_atomically(path, html);
  return path;
}

}  // namespace macrodyn::jobs
