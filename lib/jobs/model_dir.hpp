#pragma once
// What truth, evaluate and predict share when they use a trained model directory:
// reading and checking it, the device, output directories, the SDE adapter, and the
// number and label formatting of their files and messages. Internal to lib/jobs.
#include <string>
#include <vector>

#include "core/format.hpp"
#include "jobs/model_info.hpp"
#include "macro/rollout.hpp"

namespace macrodyn::learn {
class ExportedSde;
}

namespace macrodyn::jobs {

// 10 significant digits (CSV values and messages).
std::string num(double v);
std::string join(const std::vector<std::string>& v, const std::string& sep);

// model.json of `dir` (the --model option), after checking that the directory holds the
// TorchScript files it names and a usable normalisation and time unit.
ModelInfo read_model_dir(const std::string& dir);
// The device to use for --device; InputError when it is unknown or unavailable.
std::string check_device(const std::string& device);

// The model's drift.pt and diffusion.pt; a conditioned model is evaluated at the value of
// its condition in info.params (set by at_condition).
learn::ExportedSde load_sde(const std::string& dir, const ModelInfo& info, const std::string& device);

// The exported SDE as the rollout's SdeFunctions; `sde` must outlive the result.
macro::SdeFunctions sde_functions(const learn::ExportedSde& sde);

// The system's policies for a model's coordinates (docs/design.md §1.9), asked of the
// System named in `info`: whether latent variable `variable` stays in physical units
// (System::raw_observables; closure codes never do), and the time unit that
// train --time-unit auto and run use ("physical" or "mean_dt", System::time_unit).
bool variable_stays_raw(const ModelInfo& info, const std::string& variable);
std::string default_time_unit_kind(const ModelInfo& info);

// The x-axis label of the band plots, in the model's time unit.
std::string time_label(const ModelInfo& info);

}  // namespace macrodyn::jobs
