#pragma once
// "No output ever overwrites an input": a command's outputs are compared with its
// inputs as files (same device and inode), not as spellings, before any work.
// A directory input stands for every file in it (a model directory). Resume state that
// a command is meant to update (train --resume, run --resume, a study's --out) is not
// an input in this sense.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace macrodyn {

// An input or output path and the option (or file role) that names it in messages.
struct NamedPath {
  std::string path;
  std::string option;
};

namespace detail {
inline bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  const bool same = std::filesystem::equivalent(a, b, ec);
  return !ec && same;
}
}  // namespace detail

// InputError when the file `output` is one of the input files, or a file inside one of
// the input directories it would overwrite.
inline void refuse_output_is_input(const NamedPath& output, const std::vector<NamedPath>& inputs) {
  namespace fs = std::filesystem;
  if (output.path.empty()) return;
  std::error_code ec;
  if (!fs::exists(output.path, ec)) return;  // a new file cannot be an input
  for (const NamedPath& in : inputs) {
    if (in.path.empty()) continue;
    if (detail::same_file(output.path, in.path))
      throw InputError(output.option + " " + output.path + " is the input " + in.option + " " + in.path +
                       "; choose another " + output.option + " (outputs never overwrite inputs)");
    if (!fs::is_directory(in.path, ec)) continue;
    for (const auto& entry : fs::directory_iterator(in.path, ec))
      if (detail::same_file(output.path, entry.path()))
        throw InputError(output.option + " " + output.path + " is " + entry.path().filename().string() +
                         " of the input " + in.option + " " + in.path + "; choose another " + output.option +
                         " (outputs never overwrite inputs)");
  }
}

// InputError when the output directory `output` is one of the input directories.
inline void refuse_output_dir_is_input(const NamedPath& output, const std::vector<NamedPath>& inputs) {
  if (output.path.empty()) return;
  for (const NamedPath& in : inputs)
    if (!in.path.empty() && detail::same_file(output.path, in.path))
      throw InputError(output.option + " " + output.path + " is the input " + in.option + " " + in.path +
                       "; choose another " + output.option + " (outputs never overwrite inputs)");
}

// Creates the output directory `dir` (named by `option` in the error) with its parents;
// InputError, before any work, when it is a file, cannot be created or is not writable.
inline void make_output_dir(const std::string& dir, const std::string& option) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw InputError(option + " " + dir + " is a file, not a directory");
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec))
    throw InputError(option + " " + dir + " cannot be created: " + (ec ? ec.message() : "not a directory"));
  if (::access(dir.c_str(), W_OK | X_OK) != 0) throw InputError(option + " " + dir + " is not writable");
}

}  // namespace macrodyn
