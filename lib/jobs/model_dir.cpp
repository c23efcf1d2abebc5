#include "jobs/model_dir.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "core/error.hpp"
#include "learn/exported.hpp"
#include "learn/sde.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace fs = std::filesystem;

namespace {

void check_model_files(const ModelInfo& info, const std::string& dir) {
  for (const char* f : {"drift.pt", "diffusion.pt"})
    if (!fs::exists(dir + "/" + f))
      throw FileError(dir + "/" + f + " does not exist: the model directory is incomplete (macrodyn train writes it).");
  if (info.closure_dim > 0) {
    if (info.encoder.empty())
      throw FileError(dir + "/model.json has a closure of dimension " + std::to_string(info.closure_dim) +
                      " but names no encoder file.");
    if (!fs::exists(dir + "/" + info.encoder))
      throw FileError(dir + "/" + info.encoder + " does not exist: the model directory is incomplete.");
  }
  for (std::size_t i = 0; i < info.scale.size(); ++i)
    if (!(std::isfinite(info.scale[i]) && info.scale[i] != 0 && std::isfinite(info.offset[i])))
      throw FileError(dir + "/model.json: the normalisation of " + info.variables[i] + " is not finite and non-zero.");
  if (!(std::isfinite(info.time_unit) && info.time_unit > 0))
    throw FileError(dir + "/model.json: time_unit must be finite and positive, not " + num(info.time_unit) + ".");
}

}  // namespace


std::string num(double v) {
  if (std::isnan(v)) return "nan";
  char b[40];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

ModelInfo read_model_dir(const std::string& dir) {
  if (dir.empty()) throw InputError("--model is required (a model directory written by macrodyn train).");
  if (!fs::is_directory(dir)) throw InputError("--model " + dir + " is not a directory.");
  ModelInfo info = read_model_info(dir);
  check_model_files(info, dir);
  return info;
}

std::string check_device(const std::string& device) {
  try {
    return learn::resolve_device(device);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
}

learn::ExportedSde load_sde(const std::string& dir, const ModelInfo& info, const std::string& device) {
  learn::ExportedSde sde(dir, info.dim(), device);
  std::vector<float> c;
  for (const auto& key : info.conditions) c.push_back(static_cast<float>(info.params.get(key)));
  if (!c.empty()) sde.set_condition(c);
  return sde;
}

macro::SdeFunctions sde_functions(const learn::ExportedSde& sde) {
  return macro::SdeFunctions{sde.dim(), [&sde](const float* z, std::int64_t B, float* drift, float* sigma) {
                               sde.eval(z, B, drift, sigma);
                             }};
}

bool variable_stays_raw(const ModelInfo& info, const std::string& variable) {
  const auto raw = make_system(info.system, info.params)->raw_observables();
  return std::find(raw.begin(), raw.end(), variable) != raw.end();
}

std::string default_time_unit_kind(const ModelInfo& info) {
  return make_system(info.system, info.params)->time_unit() == System::TimeUnit::physical
             ? "physical"
             : "mean_dt";
}

std::string time_label(const ModelInfo& info) {
  if (info.time_unit_kind == "physical") return "time (physical units)";
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", info.time_unit);
  return std::string("time (model units: 1 = ") + b + " physical time)";
}

}  // namespace macrodyn::jobs
