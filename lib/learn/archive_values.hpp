#pragma once
// Named scalar values in a torch archive (the meta_* entries of the autoencoder files),
// for the lib/learn sources only (it includes torch).
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace macrodyn::learn {

inline void write_int(torch::serialize::OutputArchive& ar, const std::string& key, std::int64_t v) {
  ar.write(key, c10::IValue(v));
}
inline void write_double(torch::serialize::OutputArchive& ar, const std::string& key, double v) {
  ar.write(key, c10::IValue(v));
}
inline void write_string(torch::serialize::OutputArchive& ar, const std::string& key, const std::string& v) {
  ar.write(key, c10::IValue(v));
}

inline c10::IValue read_value(torch::serialize::InputArchive& ar, const std::string& key) {
  c10::IValue v;
  ar.read(key, v);
  return v;
}

}  // namespace macrodyn::learn
