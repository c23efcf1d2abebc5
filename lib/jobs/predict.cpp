// macrodyn predict: ensembles of the learned SDE from given macrostates (see predict.hpp).
#include "jobs/predict.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/output_guard.hpp"
#include "jobs/model_dir.hpp"
#include "jobs/truth.hpp"  // the coordinate conversions
#include "learn/exported.hpp"
#include "macro/metrics.hpp"
#include "macro/plot.hpp"

namespace macrodyn::jobs {

namespace fs = std::filesystem;

namespace {

void make_parent_dir(const std::string& file, const char* option) {
  const fs::path parent = fs::path(file).parent_path();
  if (!parent.empty()) make_output_dir(parent.string(), option);
  if (fs::is_directory(file)) throw InputError(std::string(option) + " " + file + " is a directory, not a file.");
}

}  // namespace

ModelInfo check_predict_options(const PredictOptions& o) {
  ModelInfo info = read_model_dir(o.model_dir);
  if (!info.conditions.empty()) {
    if (std::isnan(o.condition))
      throw InputError("--condition is required: the model takes " + info.conditions[0] + " as an input (trained at " +
                       [&] {
                         std::vector<std::string> v;
                         for (double x : info.condition_values) v.push_back(shortest(x));
                         return join(v, ", ");
                       }() + ")");
    info = at_condition(info, o.condition, "--condition");
  } else if (!std::isnan(o.condition)) {
    throw InputError("--condition: the model has no condition (it was trained at " + info.params.describe() + ")");
  }
  const auto d = static_cast<std::size_t>(info.dim());
  if (o.z0.empty())
    throw InputError("--z0 gives no initial state (the model needs " + std::to_string(d) + " numbers per state: " +
                     join(info.variables, ", ") + ", physical coordinates).");
  for (std::size_t s = 0; s < o.z0.size(); ++s) {
    if (o.z0[s].size() != d)
      throw InputError("--z0: initial state " + std::to_string(s + 1) + " has " + std::to_string(o.z0[s].size()) +
                       " numbers, the model needs " + std::to_string(d) + " (" + join(info.variables, ", ") +
                       ", physical coordinates).");
    for (double v : o.z0[s])
      if (!std::isfinite(v)) throw InputError("--z0 values must be finite.");
  }
  if (o.steps < 1) throw InputError("--steps must be at least 1, not " + std::to_string(o.steps) + ".");
  if (!(std::isfinite(o.dt) && o.dt >= 0))
    throw InputError("--dt must be finite and positive (or 0 for the training step), not " + num(o.dt) + ".");
  if (o.ensemble < 1) throw InputError("--ensemble must be at least 1, not " + std::to_string(o.ensemble) + ".");
  const double values = static_cast<double>(o.z0.size()) * static_cast<double>(o.ensemble) * (o.steps + 1.0) * d;
  if (values > 4e8)
    throw InputError("--ensemble x --steps x states is too large (" + num(values) +
                     " values held in memory, at most 4e8): split the prediction.");
  check_device(o.device);
  if (o.output_csv.empty()) throw InputError("--output is required (the CSV of ensemble means and stds).");
  make_parent_dir(o.output_csv, "--output");
  if (!o.trajectories_csv.empty()) make_parent_dir(o.trajectories_csv, "--trajectories");
  for (const NamedPath& out : {NamedPath{o.output_csv, "--output"}, NamedPath{o.trajectories_csv, "--trajectories"},
                               NamedPath{o.png, "--png"}})
    refuse_output_is_input(out, {{o.model_dir, "--model"}});
  if (!o.png.empty()) {
    make_parent_dir(o.png, "--png");
    if (std::system("gnuplot --version >/dev/null 2>&1") != 0)
      throw InputError("--png needs the gnuplot program (apt-get install gnuplot-nox).");
  }
  return info;
}

double step_of(const PredictOptions& o, const ModelInfo& info) {
  if (o.dt > 0) return o.dt;
  return info.pair_dt > 0 ? info.pair_dt / info.time_unit : 1.0;
}

PredictionResult predict(const PredictOptions& o) {
  const ModelInfo info = check_predict_options(o);
  const learn::ExportedSde sde = load_sde(o.model_dir, info, check_device(o.device));
  return predict_with(info, sde_functions(sde), o);
}

PredictionResult predict_with(const ModelInfo& info, const macro::SdeFunctions& sde, const PredictOptions& o) {
  const int d = info.dim();
  if (sde.dim != d) throw InputError("predict: the SDE's dimension differs from the model's.");
  std::vector<double> z0p;  // [S, d] physical
  for (const auto& state : o.z0) {
    if (state.size() != static_cast<std::size_t>(d))
      throw InputError("--z0: every initial state needs " + std::to_string(d) + " numbers.");
    z0p.insert(z0p.end(), state.begin(), state.end());
  }
  if (z0p.empty()) throw InputError("--z0 gives no initial state.");
  if (o.ensemble < 1) throw InputError("--ensemble must be at least 1.");
  PredictionResult res;
  res.variables = info.variables;
  res.states = static_cast<std::int64_t>(o.z0.size());
  res.ensemble = o.ensemble;
  const std::int64_t S = res.states, E = o.ensemble, T = o.steps + 1;
  res.times.resize(static_cast<std::size_t>(T));
  const double dt = step_of(o, info);
  for (std::int64_t k = 0; k < T; ++k) res.times[static_cast<std::size_t>(k)] = static_cast<double>(k) * dt;

  std::vector<double> z0m = z0p;
  to_model_coordinates(info, z0m);
  std::vector<double> z0(static_cast<std::size_t>(S * E * d));
  for (std::int64_t s = 0; s < S; ++s)
    for (std::int64_t e = 0; e < E; ++e) std::copy_n(z0m.begin() + s * d, d, z0.begin() + (s * E + e) * d);
  Progress meter("predict: rollout", S * E, "trajectories", o.progress);
  res.trajectories = macro::euler_maruyama(sde, z0, o.steps, dt, o.seed, 4096,
                                           [&](std::int64_t done, std::int64_t) { meter.update(done); });
  to_physical_coordinates(info, res.trajectories);
  // Frame 0 exactly as given (the round trip through the normalisation may round).
  for (std::int64_t j = 0; j < S * E; ++j)
    std::copy_n(z0p.begin() + (j / E) * d, d, res.trajectories.begin() + j * T * d);

  res.mean.resize(static_cast<std::size_t>(S * T * d));
  res.stddev.resize(res.mean.size());
  for (std::int64_t s = 0; s < S; ++s) {
    const std::vector<double> ens(res.trajectories.begin() + s * E * T * d, res.trajectories.begin() + (s + 1) * E * T * d);
    const auto m = macro::ensemble_mean(ens, T, d), sd = macro::ensemble_std(ens, T, d);
    std::copy(m.begin(), m.end(), res.mean.begin() + s * T * d);
    std::copy(sd.begin(), sd.end(), res.stddev.begin() + s * T * d);
  }

  auto header = [&](std::ostream& f) {
    f << "# macrodyn predict: model " << o.model_dir << " (" << info.system << ", method " << info.method << ", L "
      << info.L << ", patch " << info.patch << ")\n"
      << "# " << E << " Euler-Maruyama trajectories per initial state, " << o.steps << " steps of dt = " << shortest(step_of(o, info))
      << " model time units (t_physical = t x " << shortest(info.time_unit) << "), seed " << o.seed
      << "; values in physical coordinates\n";
    for (std::int64_t s = 0; s < S; ++s) {
      f << "# state " << s << ": z0 = (";
      for (int i = 0; i < d; ++i) f << (i ? ", " : "") << shortest(z0p[static_cast<std::size_t>(s * d + i)]);
      f << ")\n";
    }
  };
  auto write = [](const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp);
      if (!(f << text) || !f.flush()) throw FileError("cannot write " + tmp + ".");
    }
    fs::rename(tmp, path);
  };
  if (!o.output_csv.empty()) {
    std::ostringstream f;
    header(f);
    f << "state,t,t_physical";
    for (const auto& v : info.variables) f << "," << v << "_mean," << v << "_std";
    f << "\n";
    for (std::int64_t s = 0; s < S; ++s)
      for (std::int64_t k = 0; k < T; ++k) {
        const double t = res.times[static_cast<std::size_t>(k)];
        f << s << "," << num(t) << "," << num(t * info.time_unit);
        for (int i = 0; i < d; ++i) {
          const auto at = static_cast<std::size_t>((s * T + k) * d + i);
          f << "," << num(res.mean[at]) << "," << num(res.stddev[at]);
        }
        f << "\n";
      }
    write(o.output_csv, f.str());
  }
  if (!o.trajectories_csv.empty()) {
    std::ostringstream f;
    header(f);
    f << "state,member,t,t_physical";
    for (const auto& v : info.variables) f << "," << v;
    f << "\n";
    for (std::int64_t j = 0; j < S * E; ++j)
      for (std::int64_t k = 0; k < T; ++k) {
        const double t = res.times[static_cast<std::size_t>(k)];
        f << j / E << "," << j % E << "," << num(t) << "," << num(t * info.time_unit);
        for (int i = 0; i < d; ++i) f << "," << num(res.trajectories[static_cast<std::size_t>((j * T + k) * d + i)]);
        f << "\n";
      }
    write(o.trajectories_csv, f.str());
  }
  if (!o.png.empty()) {
    std::vector<macro::BandSeries> series;
    for (std::int64_t s = 0; s < S; ++s) {
      std::string label = "z0 = (";
      for (int i = 0; i < d; ++i) label += (i ? ", " : "") + shortest(z0p[static_cast<std::size_t>(s * d + i)]);
      label += ")";
      series.push_back({label, res.times,
                        std::vector<double>(res.mean.begin() + s * T * d, res.mean.begin() + (s + 1) * T * d),
                        std::vector<double>(res.stddev.begin() + s * T * d, res.stddev.begin() + (s + 1) * T * d)});
    }
    macro::plot_ensemble_bands(o.png,
                               info.system + " (" + info.method + ", patch " + std::to_string(info.patch) + "): " +
                                   std::to_string(E) + " trajectories per initial state, mean +- std",
                               time_label(info), info.variables, series);
  }
  return res;
}

}  // namespace macrodyn::jobs
