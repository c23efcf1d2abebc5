#include "systems/predator_prey.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace macrodyn::fields {

void PredatorPreyParams::validate() const {
  if (dim != 1 && dim != 2)
    throw InputError("predator-prey: dim must be 1 or 2, got " + std::to_string(dim) + ".");
  if (n < 1) throw InputError("predator-prey: n (cells per axis) must be at least 1, got " + std::to_string(n) + ".");
  if (!(dt > 0.0) || !std::isfinite(dt)) throw InputError("predator-prey: dt must be positive and finite.");
  if (!(eta >= 0.0) || !std::isfinite(eta)) throw InputError("predator-prey: eta must be non-negative and finite.");
}

double PredatorPreyParams::laplacian_scale() const {
  return laplacian == Laplacian::grid ? 1.0 : static_cast<double>(n) * static_cast<double>(n);
}

double PredatorPreyParams::noise_amplitude() const {
  if (noise == NoiseKind::additive) return eta;
  // dx^(-dim/2): sqrt(n) in 1-D, n in 2-D (exact there, no pow).
  return eta * (dim == 1 ? std::sqrt(static_cast<double>(n)) : static_cast<double>(n));
}

double PredatorPreyParams::explicit_dt_limit() const {
  const double d = std::max(Du, Dv);
  if (!(d > 0.0)) return std::numeric_limits<double>::infinity();  // no diffusion, no limit
  const double h = laplacian == Laplacian::grid ? 1.0 : dx();
  return h * h / (2.0 * dim * d);
}

// ---------------------------------------------------------------------------------------
// Noise: one Philox4x32-10 block per (seed, purpose, item, step, cell): core/rng.hpp's
// counter layout with the cell in the block slot and the step in the sub slot (level 0),
// so field noise can never collide with another purpose's stream.
void cell_noise(const NoiseKey& key, std::int64_t cell, double& xi_u, double& xi_v) {
  if (cell < 0 || (static_cast<std::uint64_t>(cell) >> 32))
    throw std::invalid_argument("cell_noise: cell index must lie in [0, 2^32)");
  const WorkItem item{key.seed, key.purpose, key.level, key.item, key.step};
  const auto w = r123::Philox4x32()(philox_counter(item, static_cast<std::uint32_t>(cell)), philox_key(key.seed));
  const double u1 = uniform53(w[0], w[1]);
  const double u2 = uniform53(w[2], w[3]);
  // Box-Muller; u1 > 0 so the log is finite (|xi| <= sqrt(2 * 53 ln 2) ~ 8.6).
  constexpr double two_pi = 6.283185307179586476925286766559;
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double phi = two_pi * u2;
  xi_u = r * std::cos(phi);
  xi_v = r * std::sin(phi);
}

// ---------------------------------------------------------------------------------------
void fill_boundary_ghosts(int dim, int n, const GhostedBox& box, double* x) {
  const std::int64_t w = box.nx + 2;
  for (int j = 0; j < box.ny; ++j) {
    double* row = x + (dim == 1 ? 0 : (j + 1) * w);
    if (box.x0 == 0) row[0] = row[1];
    if (box.x0 + box.nx == n) row[box.nx + 1] = row[box.nx];
  }
  if (dim == 1) return;
  if (box.y0 == 0)
    for (int i = 1; i <= box.nx; ++i) x[i] = x[w + i];
  if (box.y0 + box.ny == n)
    for (int i = 1; i <= box.nx; ++i) x[(box.ny + 1) * w + i] = x[box.ny * w + i];
}

// The arithmetic below is the reference for every solver (serial, halo patch, PETSc);
// with -ffp-contract=off it is evaluated exactly in this order:
//   lap   = (xl + xr) - 2 xc                      (1-D)
//   lap   = ((xl + xr) - 2 xc) + ((xd + xu) - 2 xc) (2-D)
//   lap  *= s                                     (s = laplacian_scale())
//   f_u   = u ((1 - u) - v) + Du lap_u
//   f_v   = (a v)(u - b) + Dv lap_v
//   x_new = (x + dt f) + (amp sqrt(dt)) xi        (no noise term when eta == 0)
// A y-independent 2-D field has a y term of exactly +0, so it follows the 1-D bits.
void step_box(const PredatorPreyParams& p, const GhostedBox& box, const double* u, const double* v, double* u_new,
              double* v_new, const NoiseKey& key) {
  const double s = p.laplacian_scale();
  const double a = p.a, b = p.b, Du = p.Du, Dv = p.Dv, dt = p.dt;
  const bool noisy = p.eta != 0.0;
  const double amp = p.noise_amplitude() * std::sqrt(dt);
  const int w = box.nx + 2;
  const int ny = p.dim == 1 ? 1 : box.ny;
  const std::int64_t n = p.n;
  for (int j = 0; j < ny; ++j) {
    const std::int64_t row = p.dim == 1 ? 0 : static_cast<std::int64_t>(j + 1) * w;
    const std::int64_t cell_row = p.dim == 1 ? box.x0 : (box.y0 + j) * n + box.x0;
    double* un = u_new + static_cast<std::int64_t>(j) * box.nx;
    double* vn = v_new + static_cast<std::int64_t>(j) * box.nx;
    for (int i = 0; i < box.nx; ++i) {
      const std::int64_t c = row + i + 1;
      const double uc = u[c], vc = v[c];
      double lap_u = (u[c - 1] + u[c + 1]) - 2.0 * uc;
      double lap_v = (v[c - 1] + v[c + 1]) - 2.0 * vc;
      if (p.dim == 2) {
        lap_u = lap_u + ((u[c - w] + u[c + w]) - 2.0 * uc);
        lap_v = lap_v + ((v[c - w] + v[c + w]) - 2.0 * vc);
      }
      lap_u = lap_u * s;
      lap_v = lap_v * s;
      const double fu = uc * ((1.0 - uc) - vc) + Du * lap_u;
      const double fv = (a * vc) * (uc - b) + Dv * lap_v;
      double nu = uc + dt * fu;
      double nv = vc + dt * fv;
      if (noisy) {
        double xu, xv;
        cell_noise(key, cell_row + i, xu, xv);
        nu = nu + amp * xu;
        nv = nv + amp * xv;
      }
      un[i] = nu;
      vn[i] = nv;
    }
  }
}

// ---------------------------------------------------------------------------------------
void initial_box(const PredatorPreyParams& p, double m, double k, const GhostedBox& box, double* u, double* v) {
  p.validate();
  const double pi = 3.141592653589793238462643383279;
  const int rows = p.dim == 1 ? 1 : box.ny;
  for (int i = 0; i < box.nx; ++i) {
    const double x = (box.x0 + i + 0.5) / p.n;
    const double c = k * std::cos(10.0 * pi * x);
    for (int j = 0; j < rows; ++j) {
      const std::size_t at = static_cast<std::size_t>(j) * box.nx + i;
      u[at] = m + c;
      v[at] = (1.0 - m) - c;
    }
  }
}

void initial_state(const PredatorPreyParams& p, double m, double k, std::vector<double>& u, std::vector<double>& v) {
  p.validate();
  u.resize(static_cast<std::size_t>(p.cells()));
  v.resize(u.size());
  GhostedBox whole;
  whole.nx = p.n;
  whole.ny = p.dim == 1 ? 1 : p.n;
  initial_box(p, m, k, whole, u.data(), v.data());
}

SerialStepper::SerialStepper(const PredatorPreyParams& p) : p_(p) {
  p_.validate();
  box_.nx = p_.n;
  box_.ny = p_.dim == 1 ? 1 : p_.n;
  gu_.assign(static_cast<std::size_t>(box_.ghosted_size(p_.dim)), 0.0);
  gv_.assign(gu_.size(), 0.0);
}

void SerialStepper::step(std::vector<double>& u, std::vector<double>& v, const NoiseKey& key) {
  const std::size_t cells = static_cast<std::size_t>(p_.cells());
  if (u.size() != cells || v.size() != cells)
    throw std::invalid_argument("SerialStepper::step: state size does not match the grid");
  const int w = box_.nx + 2;
  for (int j = 0; j < box_.ny; ++j) {
    const std::size_t src = static_cast<std::size_t>(j) * box_.nx;
    const std::size_t dst = p_.dim == 1 ? 1 : static_cast<std::size_t>(j + 1) * w + 1;
    std::copy(u.begin() + src, u.begin() + src + box_.nx, gu_.begin() + dst);
    std::copy(v.begin() + src, v.begin() + src + box_.nx, gv_.begin() + dst);
  }
  fill_boundary_ghosts(p_.dim, p_.n, box_, gu_.data());
  fill_boundary_ghosts(p_.dim, p_.n, box_, gv_.data());
  step_box(p_, box_, gu_.data(), gv_.data(), u.data(), v.data(), key);
}

}  // namespace macrodyn::fields
