#pragma once
// A ModelInfo as train would write it for a 2-D `system` at T = 2.5 (1.1 for Curie-Weiss),
// h = 0.1 and its other keys' defaults, physical time and identity normalisation, for
// tests that evaluate
// fake or untrained models against simulated truth (test_evaluate.cpp,
// test_checker_system.cpp).
#include <string>

#include "jobs/model_info.hpp"
#include "systems/system.hpp"

namespace macrodyn::testing {

inline jobs::ModelInfo make_info(const std::string& system, int L, int patch, int closure_dim) {
  const auto sys = systems::make_system(system, systems::SystemParams{{"T", system == "curie_weiss" ? 1.1 : 2.5}, {"h", 0.1}});
  jobs::ModelInfo m;
  m.macrodyn_version = "test";
  m.system = system;
  m.params = sys->params();
  m.L = L;
  m.patch = patch;
  m.K = (L / patch) * (L / patch);
  m.boundary = "periodic";
  m.variables = sys->observable_names();
  m.z_star_dim = static_cast<std::int64_t>(m.variables.size());
  m.closure_dim = closure_dim;
  for (int c = 0; c < closure_dim; ++c) m.variables.push_back("c" + std::to_string(c));
  m.encoder = closure_dim ? "encoder.pt" : "";
  m.decoder = closure_dim ? "patch" : "";
  m.offset.assign(m.variables.size(), 0.0);
  m.scale.assign(m.variables.size(), 1.0);
  m.time_unit = 1.0;
  m.time_unit_kind = "physical";
  m.method = "kscaled";
  m.loss_factor = static_cast<double>(m.K);
  m.diffusion = "constant";
  m.device = "cpu";
  m.dataset = "none";
  return m;
}

}  // namespace macrodyn::testing
