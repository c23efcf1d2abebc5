#pragma once
// model.json: what a trained model directory is (docs/design.md §5.6): dimensions, K, epsilon,
// normalisation, time unit, the system and its parameters, and the dataset it came from.
// Written by `train`, read by `encode`, `predict` and `evaluate`, and by Python users.
#include <cstdint>
#include <string>
#include <vector>

#include "systems/params.hpp"

namespace macrodyn::jobs {

struct ModelInfo {
  std::string format = "macrodyn-model";
  std::int64_t format_version = 1;
  std::string macrodyn_version;
  // The system (from the dataset's root attributes and resolved config).
  std::string system;
  systems::SystemParams params;  // its [system] keys (model.json "system_params")
  // Tiling the macrostate is defined on.
  std::int64_t L = 0, patch = 0, K = 1;
  std::string boundary;  // partial-evolution boundary of the pairs
  // z = (z*, closure): names, d_z = z_star_dim + closure_dim.
  std::vector<std::string> variables;
  std::int64_t z_star_dim = 0, closure_dim = 0;
  std::string encoder;  // "encoder.pt" or "" without a closure
  std::string decoder;  // autoencoder decoder kind ("" without a closure)
  // The SDE lives in normalised coordinates z_n = (z - offset) / scale and in time
  // t_model = t_physical / time_unit.
  std::vector<double> offset, scale;
  double time_unit = 1.0;
  std::string time_unit_kind;  // "physical" or "mean_dt"
  // The mean physical duration delta t of the training pairs (0: not recorded, a model.json
  // written before it): the step the SDE was fitted at, predict's default --dt.
  double pair_dt = 0.0;
  // Conditions (docs/design.md §5.6.1): system keys the SDE takes as inputs (e.g. T),
  // trained on datasets at several values; empty = an autonomous SDE. Normalised inside
  // the networks by (c - condition_offset) / condition_scale.
  std::vector<std::string> conditions;
  std::vector<double> condition_offset, condition_scale;
  // Per training value of the (one) condition: the mean pair duration and the time unit
  // there (time_unit_kind mean_dt: the mean pair duration). Elsewhere the unit comes from
  // the fit ln(unit) = time_fit_a + time_fit_b / c (an Arrhenius law when c is a temperature).
  std::vector<double> condition_values, condition_pair_dt, condition_time_units;
  double time_fit_a = 0, time_fit_b = 0;
  // Training.
  std::string drift = "mlp";  // "mlp" or "onsager"
  std::string method;  // "kscaled" or "naive"
  double loss_factor = 1, eps = 1e-4;
  // How the loss factor was set: "K" (the method's K-scaled factor), "naive" (1), "given"
  // (a number), or "measured: ..." (macrodyn calibrate's c*, its file and interval).
  std::string loss_factor_source = "K";
  std::string diffusion;
  std::int64_t epochs = 0, train_pairs = 0, val_pairs = 0;
  std::uint64_t seed = 0;
  double final_train_loss = 0, final_val_loss = 0;
  std::string device;
  // Provenance.
  std::string dataset, dataset_created, dataset_version;
  std::uint64_t dataset_seed = 0;

  int dim() const { return static_cast<int>(variables.size()); }
};

// The model as used at condition value `c` (one condition): params[conditions[0]] = c, the
// time unit and pair_dt of that value (the training table, else the fit). Throws
// InputError naming `what` when the model has no condition.
ModelInfo at_condition(const ModelInfo& m, double c, const std::string& what);

// Writes dir/model.json (atomically: a temporary file, then a rename).
void write_model_info(const std::string& dir, const ModelInfo& m);
// Reads dir/model.json; throws FileError naming the file when missing or malformed.
ModelInfo read_model_info(const std::string& dir);

}  // namespace macrodyn::jobs
