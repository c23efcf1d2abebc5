#include "io/parallel_blocks.hpp"

#include <hdf5.h>
#include <mpi.h>

#include <vector>

#include "core/error.hpp"
#include "io/hdf5_util.hpp"

namespace macrodyn::io {
namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

}  // namespace

struct ParallelBlockWriter::Impl {
  std::string path, table;
  hid_t file = H5I_INVALID_HID, dataset = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
  hid_t memory = H5I_INVALID_HID;  // the table's own type (int8 spins, uint8 codes, float32 fields): no conversion
  std::vector<hsize_t> dims;  // [rows, L, L(, L)(, channels)]
  int lattice_rank = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw FileError("cannot " + what + " " + quoted(table) + " in " + quoted(path));
  }
  ~Impl() {
    if (dxpl >= 0) H5Pclose(dxpl);
    if (dataset >= 0) H5Dclose(dataset);
    if (file >= 0) H5Fclose(file);
  }
};

ParallelBlockWriter::ParallelBlockWriter(const std::string& path, const std::string& table, const void* mpi_comm,
                                         int lattice_rank)
    : impl_(std::make_unique<Impl>()) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become one sentence, as in hdf5_util.cpp
  impl_->path = path;
  impl_->table = table;
  const MPI_Comm comm = *static_cast<const MPI_Comm*>(mpi_comm);
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0 || H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0) {
    if (fapl >= 0) H5Pclose(fapl);
    impl_->fail("cannot set up parallel (MPI-IO) access to write");
  }
  impl_->file = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  if (impl_->file < 0) throw FileError("cannot open " + quoted(path) + " for parallel writing (missing or not HDF5)");
  impl_->dataset = H5Dopen2(impl_->file, table.c_str(), H5P_DEFAULT);
  if (impl_->dataset < 0) impl_->fail("open");
  {
    const hid_t type = H5Dget_type(impl_->dataset);
    DType t{};
    const bool known = type >= 0 && detail::dtype_of(type, &t);
    if (type >= 0) H5Tclose(type);
    if (!known) impl_->fail("use (it is not a table of states)");
    impl_->memory = detail::memory_type(t);
  }
  const hid_t space = H5Dget_space(impl_->dataset);
  const int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (lattice_rank < 1 || lattice_rank > 3 || rank < 1 + lattice_rank) {
    if (space >= 0) H5Sclose(space);
    impl_->fail("use (it is not a table of " + std::to_string(lattice_rank) + "-D lattices)");
  }
  impl_->lattice_rank = lattice_rank;
  impl_->dims.resize(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space, impl_->dims.data(), nullptr);
  H5Sclose(space);
  impl_->dxpl = H5Pcreate(H5P_DATASET_XFER);
  if (impl_->dxpl < 0 || H5Pset_dxpl_mpio(impl_->dxpl, H5FD_MPIO_COLLECTIVE) < 0) impl_->fail("set up writes to");
}

ParallelBlockWriter::~ParallelBlockWriter() = default;

std::int64_t ParallelBlockWriter::rows() const { return static_cast<std::int64_t>(impl_->dims[0]); }
int ParallelBlockWriter::lattice_rank() const { return impl_->lattice_rank; }

void ParallelBlockWriter::write(std::int64_t row, const int* origin, const int* extent, const std::int8_t* block) {
  const std::size_t rank = impl_->dims.size();
  const hid_t file_space = H5Dget_space(impl_->dataset);
  std::vector<hsize_t> start(rank, 0), count(rank, 1);
  bool ok = file_space >= 0;
  hid_t mem_space = H5I_INVALID_HID;
  if (ok && row >= 0) {
    if (static_cast<hsize_t>(row) >= impl_->dims[0]) {
      H5Sclose(file_space);
      impl_->fail("write row " + std::to_string(row) + " (beyond the table's " + std::to_string(impl_->dims[0]) +
                  " rows) of");
    }
    start[0] = static_cast<hsize_t>(row);
    for (std::size_t d = 1; d < rank; ++d) {  // lattice axes from the block, trailing axes whole
      const bool lattice = d <= static_cast<std::size_t>(impl_->lattice_rank);
      start[d] = lattice ? static_cast<hsize_t>(origin[d - 1]) : 0;
      count[d] = lattice ? static_cast<hsize_t>(extent[d - 1]) : impl_->dims[d];
    }
    ok = H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) >= 0;
    mem_space = H5Screate_simple(static_cast<int>(rank), count.data(), nullptr);
  } else if (ok) {
    // A rank without a block this round still takes part in the collective write.
    ok = H5Sselect_none(file_space) >= 0;
    mem_space = H5Screate_simple(static_cast<int>(rank), count.data(), nullptr);
    if (mem_space >= 0) ok = ok && H5Sselect_none(mem_space) >= 0;
  }
  ok = ok && mem_space >= 0 &&
       H5Dwrite(impl_->dataset, impl_->memory, mem_space, file_space, impl_->dxpl, block) >= 0;
  if (mem_space >= 0) H5Sclose(mem_space);
  if (file_space >= 0) H5Sclose(file_space);
  if (!ok) impl_->fail("write a block of");
}

void ParallelBlockWriter::commit(const std::string& group, std::int64_t rows) {
  if (H5Fflush(impl_->file, H5F_SCOPE_LOCAL) < 0) impl_->fail("flush");
  // Every rank writes the same value: attribute writes are collective in parallel HDF5.
  const hid_t g = H5Oopen(impl_->file, group.c_str(), H5P_DEFAULT);
  const hid_t a = g >= 0 ? H5Aopen(g, "rows_committed", H5P_DEFAULT) : H5I_INVALID_HID;
  const bool ok = a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &rows) >= 0;
  if (a >= 0) H5Aclose(a);
  if (g >= 0) H5Oclose(g);
  if (!ok) throw FileError("cannot write rows_committed of " + quoted(group) + " in " + quoted(impl_->path));
  if (H5Fflush(impl_->file, H5F_SCOPE_LOCAL) < 0) impl_->fail("flush");
}

}  // namespace macrodyn::io
