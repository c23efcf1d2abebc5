#pragma once
// Plain float arrays of an HDF5 file that is not a macrodyn dataset, such as a pretrained
// network's weights (the NbMoTa barrier model, lib/systems/nbmota). No HDF5 header here.
#include <cstdint>
#include <string>
#include <vector>

namespace macrodyn::io {

struct FloatArray {
  std::vector<std::uint64_t> shape;
  std::vector<float> values;  // row-major, converted to float32 from any floating-point type
};

// Dataset `name` of the HDF5 file `path`. FileError with one sentence naming the file and
// the dataset when the file cannot be opened, the dataset is missing, or it does not hold
// floating-point numbers.
FloatArray read_float_array(const std::string& path, const std::string& name);

}  // namespace macrodyn::io
