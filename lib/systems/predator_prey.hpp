#pragma once
// The stochastic predator-prey reaction-diffusion system (docs/design.md §8.6), serial
// reference: fields u (prey) and v (predator) on a cell-centred grid of n cells per
// axis (1-D or 2-D), zero-flux boundaries (ghost = edge value), explicit
// Euler-Maruyama with additive noise
//     x <- x + dt f(x) + eta_eff sqrt(dt) xi,   xi ~ N(0, 1) per cell, field and step,
//     f_u = u (1 - u - v) + D_u Lap u,   f_v = a v (u - b) + D_v Lap v.
// Fields are computed in double and stored as float32 by the callers that keep them.
//
// One kernel (step_box) advances any box that carries a one-cell ghost ring: the whole
// grid (serial stepper), one rank's part of a PETSc DMDA (mpi/), or one patch with a
// frozen halo taken from a snapshot (partial evolution). The noise of a cell depends
// only on (seed, purpose, item, step, global cell), so all three give the same bits.
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace macrodyn::fields {

enum class Laplacian { grid, physical };  // [1,-2,1] per axis, or that divided by dx^2
enum class NoiseKind { additive, space_time_white };  // eta, or eta * dx^(-D/2)
// How a distributed solver (mpi/fields) steps: all explicit (the kernel below), or
// implicit diffusion with explicit reaction and noise.
enum class FieldScheme { explicit_euler, semi_implicit };

// The config words (system.laplacian, system.noise, system.scheme; the study's field.* keys).
inline const char* to_string(Laplacian l) { return l == Laplacian::grid ? "grid" : "physical"; }
inline const char* to_string(NoiseKind k) { return k == NoiseKind::additive ? "additive" : "white"; }
inline const char* to_string(FieldScheme s) { return s == FieldScheme::explicit_euler ? "explicit" : "semi_implicit"; }

struct PredatorPreyParams {
  int dim = 1;       // 1 or 2
  int n = 100;       // cells per axis; dx = 1 / n
  double a = 3.0, b = 0.4;
  double Du = 0.0, Dv = 1.0;
  double dt = 0.01;
  double eta = 0.02;
  Laplacian laplacian = Laplacian::grid;
  NoiseKind noise = NoiseKind::additive;

  double dx() const { return 1.0 / n; }
  std::int64_t cells() const { return dim == 1 ? n : static_cast<std::int64_t>(n) * n; }
  // Throws macrodyn::InputError unless dim is 1 or 2, n >= 1, dt > 0 and eta >= 0.
  void validate() const;
  // Factor of the [1,-2,1] stencil: 1 (grid) or 1/dx^2 (physical).
  double laplacian_scale() const;
  // Noise amplitude per sqrt(dt): eta, or eta * dx^(-dim/2) for space-time white noise.
  double noise_amplitude() const;
  // Largest stable explicit dt for the diffusion: dx'^2 / (2 dim max(D)) with dx' = 1
  // (grid) or dx (physical).
  double explicit_dt_limit() const;
};

// Which noise a step draws: cell c of step `step` of work item `item` (trajectory id,
// or snapshot id for partial evolution) gets its own Philox block, so any box of the
// grid draws the same numbers for the same cells.
struct NoiseKey {
  std::uint64_t seed = 0;
  Purpose purpose = Purpose::field_noise;
  std::uint64_t item = 0;
  std::uint32_t step = 0;
  std::uint32_t level = 0;  // the work item's level (a hierarchy level for relax windows)
};

// The two standard normals (u, v) of global cell `cell` (row-major, x fastest).
void cell_noise(const NoiseKey& key, std::int64_t cell, double& xi_u, double& xi_v);

// A box of the grid with a one-cell ghost ring. Interior cells are [x0, x0 + nx) ×
// [y0, y0 + ny) in global indices (ny = 1, y0 = 0 in 1-D). Arrays with ghosts hold
// (nx + 2) values in 1-D and (nx + 2)(ny + 2) in 2-D, row-major (x fastest), the
// interior cell (i, j) at index (j + 1)(nx + 2) + (i + 1) (1-D: i + 1).
struct GhostedBox {
  int nx = 0, ny = 1;
  int x0 = 0, y0 = 0;
  std::int64_t ghosted_size(int dim) const {
    return dim == 1 ? nx + 2 : static_cast<std::int64_t>(nx + 2) * (ny + 2);
  }
};

// Zero-flux ghosts (ghost = edge value) on the sides where the box touches the boundary
// of the grid of n cells per axis; the ghosts of other sides are left to the caller
// (neighbours' values: a halo exchange). 2-D corners are never read by the 5-point
// stencil and are not written.
void fill_boundary_ghosts(int dim, int n, const GhostedBox& box, double* x);

// One explicit Euler-Maruyama step of the box's interior. u, v: ghosted inputs (ghosts
// already filled: edge values at the grid boundary, neighbours' values elsewhere);
// u_new, v_new: interior outputs, nx * ny values, row-major. eta = 0 turns noise off
// (no numbers drawn).
void step_box(const PredatorPreyParams& p, const GhostedBox& box, const double* u, const double* v, double* u_new,
              double* v_new, const NoiseKey& key);

// Initial state (docs/design.md §8.6.1): u = m + k cos(10 pi x), v = (1 - m) - k cos(10 pi x),
// x the cell centre (i + 1/2) dx along the first axis; in 2-D the same for every y.
void initial_state(const PredatorPreyParams& p, double m, double k, std::vector<double>& u, std::vector<double>& v);
// The same initial state on the interior of one box only (nx * ny values each,
// row-major): a rank of a distributed grid fills its own cells without the whole grid.
void initial_box(const PredatorPreyParams& p, double m, double k, const GhostedBox& box, double* u, double* v);

// Serial reference stepper over the whole grid (double state, ghost buffers reused).
class SerialStepper {
 public:
  explicit SerialStepper(const PredatorPreyParams& p);
  // Advances (u, v) by one step; `key.step` names the step.
  void step(std::vector<double>& u, std::vector<double>& v, const NoiseKey& key);
  const PredatorPreyParams& params() const { return p_; }

 private:
  PredatorPreyParams p_;
  GhostedBox box_;
  std::vector<double> gu_, gv_;
};

// Upsampling (linear interpolation on cell centres) is the sampling layer's rule:
// sampling::upsample_linear2 (sampling/upsample.hpp).

}  // namespace macrodyn::fields
