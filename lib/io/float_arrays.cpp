#include "io/float_arrays.hpp"

#include <hdf5.h>

#include <filesystem>

#include "core/error.hpp"
#include "io/hdf5_util.hpp"

namespace macrodyn::io {

using namespace detail;

FloatArray read_float_array(const std::string& path, const std::string& name) {
  silence_hdf5();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw FileError("cannot open " + in_quotes(path) + ": no such file");
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw FileError("cannot open " + in_quotes(path) + ": " + open_failure_reason(path));
  const Handle file(f, H5Fclose);
  const std::string where_ = in_quotes(path) + ": " + in_quotes(name);
  if (H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) <= 0) throw FileError(where_ + " is missing");
  const hid_t d = H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT);
  if (d < 0) throw FileError(where_ + " is not a dataset");
  const Handle dataset(d, H5Dclose);
  const Handle type = checked(H5Dget_type(dataset.get()), H5Tclose, "cannot read the type of " + where_);
  if (H5Tget_class(type.get()) != H5T_FLOAT) throw FileError(where_ + " does not hold floating-point numbers");
  FloatArray a;
  for (const hsize_t n : extent(dataset.get())) a.shape.push_back(static_cast<std::uint64_t>(n));
  std::uint64_t count = 1;
  for (const auto n : a.shape) count *= n;
  a.values.resize(static_cast<std::size_t>(count));
  if (count > 0 && H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()) < 0)
    throw FileError("cannot read " + where_);
  return a;
}

}  // namespace macrodyn::io
