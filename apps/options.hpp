#pragma once
// Command-line and INI options of the simulation subcommands (Boost.Program_options).
// Every key is `section.key`; an INI file gives it as `key = value` under `[section]`,
// and the command line overrides it as `--section.key value`.
#include <string>
#include <vector>

#include "jobs/config.hpp"

namespace macrodyn::app {

// Parses argv (after the subcommand) into a Config, including --config FILE.
// Returns false if --help was asked (help already printed to stdout).
// Throws InputError with one sentence on unknown options or malformed values.
bool parse_config(const std::string& subcommand, const std::string& summary, int argc, char** argv,
                  jobs::Config& out);

// The resolved configuration as INI text (every key, final values).
std::string to_ini(const jobs::Config& c);

// Markdown table of every key, its default and its meaning (for the README).
std::string config_reference_markdown();

}  // namespace macrodyn::app
