#pragma once
// Errors that reach the user: one sentence naming the option or file and what is wrong.
#include <stdexcept>
#include <string>

namespace macrodyn {

// Bad input (config, command line, file): the app prints what() and exits non-zero
// before doing any expensive work.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file that exists but cannot be used (wrong schema, truncated, missing group).
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace macrodyn
