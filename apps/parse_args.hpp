#pragma once
// One Boost.Program_options front for the subcommands without a config file: Boost's
// errors become InputError (one sentence, exit code 2).
#include <boost/program_options.hpp>

#include "core/error.hpp"

namespace macrodyn::app {

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
