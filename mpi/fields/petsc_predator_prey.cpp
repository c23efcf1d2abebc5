#include "mpi/fields/petsc_predator_prey.hpp"

#include <petscdmda.h>
#include <petscvec.h>

#include <algorithm>
#include <string>
#include <stdexcept>
#include <type_traits>

#include "core/fixed_point_sum.hpp"
#include "mpi/check.hpp"
#include "mpi/fields/implicit_diffusion.hpp"
#include "mpi/fields/petsc_check.hpp"

namespace macrodyn::mpi {

// step_box works on double arrays; PETSc's arrays are passed to it as they are.
static_assert(std::is_same<PetscScalar, double>::value, "macrodyn needs PETSc with real double scalars");

namespace {

using petsc_detail::ImplicitDiffusion;

// Read/write access to a Vec's local array for one scope (restored on every path).
class ReadArray {
 public:
  explicit ReadArray(Vec v) : v_(v) { MACRODYN_PETSC(VecGetArrayRead(v_, &a_)); }
  ~ReadArray() { VecRestoreArrayRead(v_, &a_); }
  ReadArray(const ReadArray&) = delete;
  ReadArray& operator=(const ReadArray&) = delete;
  const double* get() const { return a_; }

 private:
  Vec v_;
  const PetscScalar* a_ = nullptr;
};

class WriteArray {
 public:
  explicit WriteArray(Vec v) : v_(v) { MACRODYN_PETSC(VecGetArray(v_, &a_)); }
  ~WriteArray() { VecRestoreArray(v_, &a_); }
  WriteArray(const WriteArray&) = delete;
  WriteArray& operator=(const WriteArray&) = delete;
  double* get() const { return a_; }

 private:
  Vec v_;
  PetscScalar* a_ = nullptr;
};

}  // namespace

struct DmdaPredatorPrey::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  fields::PredatorPreyParams p;
  fields::PredatorPreyParams reaction;  // p with Du = Dv = 0: step_box gives the IMEX right-hand side
  DmdaOptions o;
  DM da = nullptr;
  Vec u = nullptr, v = nullptr;    // the state (global vectors)
  Vec lu = nullptr, lv = nullptr;  // ghosted local copies, laid out as GhostedBox
  Vec bu = nullptr, bv = nullptr;  // right-hand sides of the implicit fields
  fields::GhostedBox box;
  std::unique_ptr<ImplicitDiffusion> iu, iv;
  // Whole-grid gather to rank 0, made on first use.
  Vec natural = nullptr, on_zero = nullptr;
  VecScatter to_zero = nullptr;

  Impl(MPI_Comm c, const fields::PredatorPreyParams& params, const DmdaOptions& opts);
  ~Impl() { destroy(); }
  void build();
  void destroy();
  void create_dm();
  void exchange();
  void ensure_gather();
  void gather(Vec g, std::vector<double>& out);
  void scatter(const std::vector<double>& in, Vec g);
};

DmdaPredatorPrey::Impl::Impl(MPI_Comm c, const fields::PredatorPreyParams& params, const DmdaOptions& opts)
    : comm(c), p(params), reaction(params), o(opts) {
  p.validate();
  reaction.Du = 0.0;
  reaction.Dv = 0.0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  // A constructor that throws runs no destructor: release what was made so far.
  try {
    build();
  } catch (...) {
    destroy();
    throw;
  }
}

void DmdaPredatorPrey::Impl::build() {
  create_dm();
  MACRODYN_PETSC(DMCreateGlobalVector(da, &u));
  MACRODYN_PETSC(VecDuplicate(u, &v));
  MACRODYN_PETSC(DMCreateLocalVector(da, &lu));
  MACRODYN_PETSC(VecDuplicate(lu, &lv));
  // The 2-D corners are never exchanged (STAR) nor read: keep them defined anyway.
  MACRODYN_PETSC(VecSet(lu, 0.0));
  MACRODYN_PETSC(VecSet(lv, 0.0));
  MACRODYN_PETSC(VecSet(u, 0.0));
  MACRODYN_PETSC(VecSet(v, 0.0));
  if (o.scheme == fields::FieldScheme::semi_implicit) {
    const double base = p.dt * p.laplacian_scale();
    if (p.Du > 0) {
      MACRODYN_PETSC(VecDuplicate(u, &bu));
      iu = std::make_unique<ImplicitDiffusion>(da, base * p.Du, o, o.options_prefix + "u_");
    }
    if (p.Dv > 0) {
      MACRODYN_PETSC(VecDuplicate(u, &bv));
      iv = std::make_unique<ImplicitDiffusion>(da, base * p.Dv, o, o.options_prefix + "v_");
    }
  }
}

void DmdaPredatorPrey::Impl::create_dm() {
  if (p.dim == 1) {
    MACRODYN_PETSC(DMDACreate1d(comm, DM_BOUNDARY_GHOSTED, p.n, 1, 1, nullptr, &da));
  } else {
    MACRODYN_PETSC(DMDACreate2d(comm, DM_BOUNDARY_GHOSTED, DM_BOUNDARY_GHOSTED, DMDA_STENCIL_STAR, p.n, p.n,
                                PETSC_DECIDE, PETSC_DECIDE, 1, 1, nullptr, nullptr, &da));
  }
  MACRODYN_PETSC(DMSetUp(da));
  // The local ghosted array must be exactly GhostedBox's: interior plus one ghost cell on
  // every side, the physical boundary included (that is what DM_BOUNDARY_GHOSTED gives).
  PetscInt xs = 0, ys = 0, xm = 0, ym = 0, gxs = 0, gys = 0, gxm = 0, gym = 0;
  MACRODYN_PETSC(DMDAGetCorners(da, &xs, &ys, nullptr, &xm, &ym, nullptr));
  MACRODYN_PETSC(DMDAGetGhostCorners(da, &gxs, &gys, nullptr, &gxm, &gym, nullptr));
  const bool x_ok = gxs == xs - 1 && gxm == xm + 2;
  const bool y_ok = p.dim == 1 ? (ym == 1 && gym == 1) : (gys == ys - 1 && gym == ym + 2);
  if (!x_ok || !y_ok) throw std::logic_error("DmdaPredatorPrey: DMDA ghost corners do not match GhostedBox");
  box.nx = static_cast<int>(xm);
  box.x0 = static_cast<int>(xs);
  box.ny = p.dim == 1 ? 1 : static_cast<int>(ym);
  box.y0 = p.dim == 1 ? 0 : static_cast<int>(ys);
}

void DmdaPredatorPrey::Impl::destroy() {
  // Called from the destructor, so nothing is thrown; PETSc prints what fails here.
  iu.reset();
  iv.reset();
  VecScatterDestroy(&to_zero);
  VecDestroy(&on_zero);
  VecDestroy(&natural);
  VecDestroy(&bu);
  VecDestroy(&bv);
  VecDestroy(&lu);
  VecDestroy(&lv);
  VecDestroy(&u);
  VecDestroy(&v);
  DMDestroy(&da);
}

// Ghost exchange of both fields, then the zero-flux physical ghosts. One field after
// the other: PETSc 3.18 refuses two outstanding exchanges on the DM's one scatter
// ("Could not find pack" in DMGlobalToLocalEnd).
void DmdaPredatorPrey::Impl::exchange() {
  MACRODYN_PETSC(DMGlobalToLocalBegin(da, u, INSERT_VALUES, lu));
  MACRODYN_PETSC(DMGlobalToLocalEnd(da, u, INSERT_VALUES, lu));
  MACRODYN_PETSC(DMGlobalToLocalBegin(da, v, INSERT_VALUES, lv));
  MACRODYN_PETSC(DMGlobalToLocalEnd(da, v, INSERT_VALUES, lv));
  WriteArray gu(lu), gv(lv);
  // Ghosts between ranks came from the exchange; the physical boundary is zero flux.
  fields::fill_boundary_ghosts(p.dim, p.n, box, gu.get());
  fields::fill_boundary_ghosts(p.dim, p.n, box, gv.get());
}

void DmdaPredatorPrey::Impl::ensure_gather() {
  if (to_zero) return;
  MACRODYN_PETSC(DMDACreateNaturalVector(da, &natural));
  MACRODYN_PETSC(VecScatterCreateToZero(natural, &to_zero, &on_zero));
}

// Global (PETSc) order -> natural (row-major) order -> rank 0.
void DmdaPredatorPrey::Impl::gather(Vec g, std::vector<double>& out) {
  ensure_gather();
  MACRODYN_PETSC(DMDAGlobalToNaturalBegin(da, g, INSERT_VALUES, natural));
  MACRODYN_PETSC(DMDAGlobalToNaturalEnd(da, g, INSERT_VALUES, natural));
  MACRODYN_PETSC(VecScatterBegin(to_zero, natural, on_zero, INSERT_VALUES, SCATTER_FORWARD));
  MACRODYN_PETSC(VecScatterEnd(to_zero, natural, on_zero, INSERT_VALUES, SCATTER_FORWARD));
  if (rank != 0) {
    out.clear();
    return;
  }
  ReadArray a(on_zero);
  out.assign(a.get(), a.get() + p.cells());
}

void DmdaPredatorPrey::Impl::scatter(const std::vector<double>& in, Vec g) {
  ensure_gather();
  if (rank == 0) {
    WriteArray a(on_zero);
    std::copy(in.begin(), in.end(), a.get());
  }
  MACRODYN_PETSC(VecScatterBegin(to_zero, on_zero, natural, INSERT_VALUES, SCATTER_REVERSE));
  MACRODYN_PETSC(VecScatterEnd(to_zero, on_zero, natural, INSERT_VALUES, SCATTER_REVERSE));
  MACRODYN_PETSC(DMDANaturalToGlobalBegin(da, natural, INSERT_VALUES, g));
  MACRODYN_PETSC(DMDANaturalToGlobalEnd(da, natural, INSERT_VALUES, g));
}

DmdaPredatorPrey::DmdaPredatorPrey(MPI_Comm comm, const fields::PredatorPreyParams& p, const DmdaOptions& o)
    : impl_(std::make_unique<Impl>(comm, p, o)) {}

DmdaPredatorPrey::~DmdaPredatorPrey() = default;

void DmdaPredatorPrey::step(const fields::NoiseKey& key) {
  Impl& m = *impl_;
  // Both schemes start from the ghosted state. (The semi-implicit right-hand side has
  // D = 0 and reads the ghosts only as 0 * Lap: exchanging keeps them finite.)
  m.exchange();
  if (m.o.scheme == fields::FieldScheme::explicit_euler) {
    ReadArray gu(m.lu), gv(m.lv);
    WriteArray nu(m.u), nv(m.v);
    fields::step_box(m.p, m.box, gu.get(), gv.get(), nu.get(), nv.get(), key);
    return;
  }
  {
    // x + dt R(x) + amp sqrt(dt) xi, into the right-hand side of an implicit field or
    // straight into the state of an explicit one (D = 0).
    ReadArray gu(m.lu), gv(m.lv);
    WriteArray nu(m.iu ? m.bu : m.u), nv(m.iv ? m.bv : m.v);
    fields::step_box(m.reaction, m.box, gu.get(), gv.get(), nu.get(), nv.get(), key);
  }
  if (m.iu) m.iu->solve(m.bu, m.u);
  if (m.iv) m.iv->solve(m.bv, m.v);
}

void DmdaPredatorPrey::set_state(const std::vector<double>& u, const std::vector<double>& v) {
  Impl& m = *impl_;
  // Rank 0 checks the sizes for everyone, so that no rank is left inside a collective.
  int ok = 1;
  if (m.rank == 0)
    ok = static_cast<std::int64_t>(u.size()) == m.p.cells() && static_cast<std::int64_t>(v.size()) == m.p.cells();
  check_mpi(MPI_Bcast(&ok, 1, MPI_INT, 0, m.comm), "MPI_Bcast");
  if (!ok) throw std::invalid_argument("DmdaPredatorPrey::set_state: u and v need cells() values on rank 0");
  m.scatter(u, m.u);
  m.scatter(v, m.v);
}

void DmdaPredatorPrey::set_initial(double m, double k) {
  WriteArray u(impl_->u), v(impl_->v);
  fields::initial_box(impl_->p, m, k, impl_->box, u.get(), v.get());
}

void DmdaPredatorPrey::get_state(std::vector<double>& u, std::vector<double>& v) {
  impl_->gather(impl_->u, u);
  impl_->gather(impl_->v, v);
}

fields::GhostedBox DmdaPredatorPrey::owned_box() const { return impl_->box; }

void DmdaPredatorPrey::get_owned(std::vector<double>& u, std::vector<double>& v) const {
  const std::int64_t n = static_cast<std::int64_t>(impl_->box.nx) * impl_->box.ny;
  ReadArray a(impl_->u), b(impl_->v);
  u.assign(a.get(), a.get() + n);
  v.assign(b.get(), b.get() + n);
}

FieldMeans DmdaPredatorPrey::means() const {
  const Impl& m = *impl_;
  if (m.p.cells() > FixedPointSum::kMaxTerms)
    throw std::runtime_error("means: " + std::to_string(m.p.cells()) + " cells exceed the fixed-point sum's 2^28");
  const std::int64_t n = static_cast<std::int64_t>(m.box.nx) * m.box.ny;
  FixedPointSum su, sv;
  int ok = 1;
  {
    ReadArray a(m.u), b(m.v);
    for (std::int64_t i = 0; i < n && ok; ++i) ok = su.add(a.get()[i]) && sv.add(b.get()[i]);
  }
  // The failure count travels with the sums, so every rank learns of any rank's failure.
  std::int64_t s[3] = {su.raw(), sv.raw(), ok ? 0 : 1};
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, s, 3, MPI_INT64_T, MPI_SUM, m.comm), "MPI_Allreduce");
  if (s[2] != 0)
    throw FieldBlowUp("a field value is not finite or outside [-4, 4]");
  return {FixedPointSum::mean(s[0], m.p.cells()), FixedPointSum::mean(s[1], m.p.cells())};
}

const fields::PredatorPreyParams& DmdaPredatorPrey::params() const { return impl_->p; }
const DmdaOptions& DmdaPredatorPrey::options() const { return impl_->o; }
MPI_Comm DmdaPredatorPrey::comm() const { return impl_->comm; }

int DmdaPredatorPrey::last_iterations() const {
  return (impl_->iu ? impl_->iu->last_iterations() : 0) + (impl_->iv ? impl_->iv->last_iterations() : 0);
}

std::string DmdaPredatorPrey::solver_description() const {
  std::string d;
  if (impl_->iu) d += "u: " + impl_->iu->description();
  if (impl_->iv) d += std::string(d.empty() ? "" : ", ") + "v: " + impl_->iv->description();
  return d;
}

}  // namespace macrodyn::mpi
