// DType's size and name (dataset.hpp): the part of the datasets that needs no HDF5. The
// writer, the reader and their HDF5 helpers are in dataset_writer.cpp, dataset_reader.cpp
// and hdf5_util.cpp.
#include "io/dataset.hpp"

namespace macrodyn::io {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::i8: return 1;
    case DType::u8: return 1;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::f32: return 4;
    case DType::f64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
  }
  return "unknown";
}

}  // namespace macrodyn::io
