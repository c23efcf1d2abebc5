#pragma once
// One Boost.Program_options front for the subcommands without a config file: Boost's
// errors become InputError (one sentence, exit code 2).
#include <boost/program_options.hpp>

#include <cstdlib>
#include <sstream>
#include <string>
#include <type_traits>

#include "core/error.hpp"

namespace macrodyn::app {

// An option bound to `target` whose --help shows its default in the shortest form that
// reads back as the same value (0.05, not Boost's 0.050000000000000003).
template <class T>
boost::program_options::typed_value<T>* value_with_default(T* target) {
  std::ostringstream text;
  if constexpr (std::is_floating_point_v<T>) {
    for (int digits = 1; digits <= 17; ++digits) {
      text.str("");
      text.precision(digits);
      text << *target;
      if (static_cast<T>(std::strtod(text.str().c_str(), nullptr)) == *target) break;
    }
  } else {
    text << *target;
  }
  return boost::program_options::value<T>(target)->default_value(*target, text.str());
}

inline boost::program_options::variables_map parse_args(
    int argc, char** argv, const boost::program_options::options_description& desc,
    const boost::program_options::positional_options_description& positional = {}) {
  namespace po = boost::program_options;
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(e.what());
  }
  return vm;
}

}  // namespace macrodyn::app
