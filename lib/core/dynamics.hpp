#pragma once
// The two dynamics of a run (small.dynamics, truth.dynamics): continuous-time
// rejection-free events (Evolver::run_events) or discrete heat-bath sweeps in raster
// order (Evolver::heatbath_sweep). A system says which it supports
// (System::supports_dynamics).
namespace macrodyn {

enum class Dynamics { continuous_time, heat_bath };

inline const char* to_string(Dynamics d) { return d == Dynamics::continuous_time ? "ct" : "heatbath"; }

}  // namespace macrodyn
