#include "sampling/upsample.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using namespace macrodyn::systems;

namespace macrodyn::sampling {

namespace {

// A state as rows along its last axis: dims 1 and 2 padded to 3 with leading extents 1.
struct Rows {
  std::int64_t planes, rows, row;  // extents of the first, second and last axis
};
Rows rows_of(int dim, std::int64_t side) {
  return {dim == 3 ? side : 1, dim >= 2 ? side : 1, side};
}

}  // namespace

void upsample_blocks(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst, int vb) {
  // Each source row is expanded voxel by voxel into a destination row, which is then
  // copied m - 1 times along the second axis; whole planes are copied along the first.
  const Rows s = rows_of(dim, Ls), d = rows_of(dim, static_cast<std::int64_t>(Ls) * m);
  const std::int64_t row_bytes = d.row * vb, plane_bytes = d.rows * row_bytes;
  const std::int64_t row_copies = dim >= 2 ? m : 1, plane_copies = dim == 3 ? m : 1;
  for (std::int64_t x = 0; x < s.planes; ++x) {
    std::int8_t* plane = dst + x * plane_copies * plane_bytes;
    for (std::int64_t y = 0; y < s.rows; ++y) {
      const std::int8_t* srow = src + (x * s.rows + y) * s.row * vb;
      std::int8_t* row = plane + y * row_copies * row_bytes;
      if (vb == 1)  // spins and codes: a byte per voxel, no call per voxel
        for (std::int64_t z = 0; z < s.row; ++z)
          for (int b = 0; b < m; ++b) row[z * m + b] = srow[z];
      else
        for (std::int64_t z = 0; z < s.row; ++z)
          for (int b = 0; b < m; ++b)
            std::memcpy(row + (z * m + b) * vb, srow + z * vb, static_cast<std::size_t>(vb));
      for (std::int64_t a = 1; a < row_copies; ++a)
        std::memcpy(row + a * row_bytes, row, static_cast<std::size_t>(row_bytes));
    }
    for (std::int64_t a = 1; a < plane_copies; ++a)
      std::memcpy(plane + a * plane_bytes, plane, static_cast<std::size_t>(plane_bytes));
  }
}

void upsample_tiles(const std::int8_t* src, int dim, int Ls, int m, std::int8_t* dst, int vb) {
  // Rows of the small state repeated m times along the last axis, then the first Ls rows
  // of each plane copied along the second axis, then the first Ls planes along the first:
  // dst(x) = src(x mod Ls).
  const Rows s = rows_of(dim, Ls), d = rows_of(dim, static_cast<std::int64_t>(Ls) * m);
  const std::int64_t srow_bytes = s.row * vb, row_bytes = d.row * vb, plane_bytes = d.rows * row_bytes;
  for (std::int64_t x = 0; x < s.planes; ++x)
    for (std::int64_t y = 0; y < s.rows; ++y) {
      std::int8_t* row = dst + x * plane_bytes + y * row_bytes;
      for (int a = 0; a < m; ++a)
        std::memcpy(row + a * srow_bytes, src + (x * s.rows + y) * srow_bytes, static_cast<std::size_t>(srow_bytes));
    }
  if (dim >= 2)
    for (std::int64_t x = 0; x < s.planes; ++x) {
      std::int8_t* plane = dst + x * plane_bytes;
      for (int a = 1; a < m; ++a)
        std::memcpy(plane + a * s.rows * row_bytes, plane, static_cast<std::size_t>(s.rows * row_bytes));
    }
  if (dim == 3)
    for (int a = 1; a < m; ++a)
      std::memcpy(dst + a * s.planes * plane_bytes, dst, static_cast<std::size_t>(s.planes * plane_bytes));
}

namespace {

// Coarse neighbours and weights of fine cell f along one axis of n coarse cells:
// fine = w0 c[i0] + w1 c[i1], evaluated in that order (edges held by clamping).
struct Lerp {
  int i0, i1;
  double w0, w1;
};

inline Lerp lerp_at(int f, int n) {
  const int i = f / 2;
  if (f % 2) return {i, std::min(i + 1, n - 1), 0.75, 0.25};
  return {std::max(i - 1, 0), i, 0.25, 0.75};
}

}  // namespace

template <class T>
void upsample_linear2(const T* src, int dim, int n, int channels, T* dst) {
  if (dim != 1 && dim != 2) throw std::invalid_argument("upsample_linear2: dim must be 1 or 2");
  const int nf = 2 * n, C = channels;
  auto at = [C](const T* f, std::int64_t cell, int ch) { return static_cast<double>(f[cell * C + ch]); };
  if (dim == 1) {
    for (int f = 0; f < nf; ++f) {
      const Lerp x = lerp_at(f, n);
      for (int ch = 0; ch < C; ++ch)
        dst[static_cast<std::int64_t>(f) * C + ch] = static_cast<T>(x.w0 * at(src, x.i0, ch) + x.w1 * at(src, x.i1, ch));
    }
    return;
  }
  // Tensor product, x first: each fine value interpolates in y between the two
  // x-interpolated coarse rows (the same bits as a full x pass followed by a y pass in
  // double, without a scratch array).
  for (int fy = 0; fy < nf; ++fy) {
    const Lerp y = lerp_at(fy, n);
    const T* r0 = src + static_cast<std::int64_t>(y.i0) * n * C;
    const T* r1 = src + static_cast<std::int64_t>(y.i1) * n * C;
    T* out = dst + static_cast<std::int64_t>(fy) * nf * C;
    for (int fx = 0; fx < nf; ++fx) {
      const Lerp x = lerp_at(fx, n);
      for (int ch = 0; ch < C; ++ch) {
        const double t0 = x.w0 * at(r0, x.i0, ch) + x.w1 * at(r0, x.i1, ch);
        const double t1 = x.w0 * at(r1, x.i0, ch) + x.w1 * at(r1, x.i1, ch);
        out[static_cast<std::int64_t>(fx) * C + ch] = static_cast<T>(y.w0 * t0 + y.w1 * t1);
      }
    }
  }
}

template void upsample_linear2<float>(const float*, int, int, int, float*);
template void upsample_linear2<double>(const double*, int, int, int, double*);

void upsample_level(const System& system, const std::int8_t* src, int Ls, int m, std::int8_t* dst, std::uint64_t seed,
                    std::uint32_t level, std::uint64_t item, const System::FramePool& pool) {
  upsample(system, src, Ls, m, dst);
  Rng rng({seed, Purpose::upsample, level, item, 0});
  system.after_upsampling(LatticePart::whole(dst, system.dim(), Ls * m), Ls, src, rng,
                          level == 1 && pool.frames_per_run > 0 ? &pool : nullptr, SoloSums{});
}

void upsample(const System& system, const std::int8_t* src, int Ls, int m, std::int8_t* dst) {
  const int dim = system.dim();
  const StateLayout layout = system.state_layout();
  const int vb = layout.voxel_bytes();
  switch (system.upsampling_rule()) {
    case System::UpsamplingRule::tiling: upsample_tiles(src, dim, Ls, m, dst, vb); return;
    case System::UpsamplingRule::block_magnification: upsample_blocks(src, dim, Ls, m, dst, vb); return;
    case System::UpsamplingRule::linear_interpolation: break;
  }
  if (layout.value != StateLayout::Value::field)
    throw std::invalid_argument("upsample: linear interpolation needs a field state layout");
  if (m < 1 || (m & (m - 1)) != 0)
    throw std::invalid_argument("upsample: linear interpolation takes a power-of-2 factor, not " + std::to_string(m));
  const int C = static_cast<int>(layout.channels.size());
  if (m == 1) {
    std::memcpy(dst, src, static_cast<std::size_t>(ipow(Ls, dim) * vb));
    return;
  }
  // Doubling k times on float copies (the state bytes are copied in and out with memcpy,
  // never read through a float pointer).
  thread_local std::vector<float> a, b;  // per thread, only grows: no allocation per snapshot
  a.resize(static_cast<std::size_t>(ipow(Ls, dim) * C));
  std::memcpy(a.data(), src, a.size() * sizeof(float));
  for (int side = Ls; side < Ls * m; side *= 2) {
    b.resize(std::max(b.size(), static_cast<std::size_t>(ipow(2 * side, dim) * C)));
    upsample_linear2(a.data(), dim, side, C, b.data());
    a.swap(b);
  }
  std::memcpy(dst, a.data(), static_cast<std::size_t>(ipow(Ls * m, dim) * C) * sizeof(float));
}

void upsample_blocks_in_place(std::int8_t* buf, int dim, const std::array<int, 3>& extents_before, int m) {
  // Pad 2D to 3D with a leading axis of extent 1 (factor 1), so rows stay along the
  // last real axis. Destination site (m x, m y, m z) has an index >= source (x, y, z),
  // so walking the source backwards never overwrites a source site not yet read.
  const std::int64_t n0 = dim == 3 ? extents_before[0] : 1;
  const std::int64_t n1 = extents_before[dim == 3 ? 1 : 0];
  const std::int64_t n2 = extents_before[dim == 3 ? 2 : 1];
  const std::int64_t m0 = dim == 3 ? m : 1;
  const std::int64_t N1 = n1 * m, N2 = n2 * m;  // destination extents of the last two axes
  const std::int64_t plane = N1 * N2;
  for (std::int64_t x = n0 - 1; x >= 0; --x) {
    std::int8_t* dplane = buf + x * m0 * plane;
    for (std::int64_t y = n1 - 1; y >= 0; --y) {
      const std::int8_t* srow = buf + (x * n1 + y) * n2;
      std::int8_t* drow = dplane + y * m * N2;
      // drow may start at srow (x = y = 0): expand from the row's end backwards.
      for (std::int64_t z = n2 - 1; z >= 0; --z) {
        const std::int8_t v = srow[z];
        for (int b = m - 1; b >= 0; --b) drow[z * m + b] = v;
      }
      for (int a = 1; a < m; ++a) std::memcpy(drow + a * N2, drow, static_cast<std::size_t>(N2));
    }
    for (std::int64_t a = 1; a < m0; ++a)
      std::memcpy(dplane + a * plane, dplane, static_cast<std::size_t>(plane));
  }
}

}  // namespace macrodyn::sampling
