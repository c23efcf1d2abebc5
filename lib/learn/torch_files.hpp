#pragma once
// TorchScript modules and archives are serialised in memory and written with
// write_file_atomically: torch's own file writer throws from a destructor on a full
// disk (std::terminate, exit 134) and leaves a torn file behind.
#include <torch/script.h>
#include <torch/serialize.h>

#include <sstream>
#include <string>

#include "core/atomic_file.hpp"

namespace macrodyn::learn {

inline void save_module(const torch::jit::Module& module, const std::string& path) {
  std::ostringstream bytes;
  module.save(bytes);
  write_file_atomically(path, bytes.str());
}

inline void save_archive_file(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(path, bytes.str());
}

}  // namespace macrodyn::learn
