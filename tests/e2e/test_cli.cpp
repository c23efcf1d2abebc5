// The macrodyn command: help, and bad input rejected with one sentence naming the
// option or file, before any work, with a non-zero exit.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "run_binary.hpp"

using namespace macrodyn::e2e;

namespace {
// One line on stderr that names `what`, non-zero exit, no output file.
void expect_rejected(const std::string& args, const std::string& what) {
  const Result r = run(args);
  INFO("macrodyn " << args << "\nstderr: " << r.err);
  CHECK(r.code != 0);
  CHECK(r.code < 128);  // not a crash
  CHECK(r.err.find(what) != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}
}  // namespace

TEST_CASE("every subcommand has --help", "[e2e][cli]") {
  for (const char* cmd : {"generate", "simulate", "inspect", "bench"}) {
    const Result r = run(std::string(cmd) + " --help");
    INFO(cmd);
    CHECK(r.code == 0);
    CHECK(r.out.find("usage: macrodyn") != std::string::npos);
  }
  const Result g = run("generate --help");
  CHECK(g.out.find("partial.boundary") != std::string::npos);
  CHECK(run("--help").code == 0);
  CHECK(run("frobnicate").code != 0);
}

TEST_CASE("bad options are rejected naming the option", "[e2e][cli]") {
  const std::string out = " --output.path " + tmp("never.h5");
  expect_rejected("generate --system.foo 1" + out, "system.foo is not a key of any system (their keys: system.name, system.T");
  expect_rejected("generate --system.T abc" + out, "system.T");
  expect_rejected("generate --system.T 0" + out, "system.T");
  expect_rejected("generate --system.T -1" + out, "system.T");
  // A system's keys are its own: predator_prey has no temperature.
  expect_rejected("simulate --system.name predator_prey --system.T 2" + out, "system.T is not a key of system predator_prey");
  // The former fields command says where it went.
  expect_rejected("fields --config " MACRODYN_SOURCE_DIR "/jobs/configs/predator-prey-2d.ini", "macrodyn fields is now macrodyn simulate");
  expect_rejected("generate --system.name potts" + out, "system.name");
  expect_rejected("generate --partial.patch 12 --large.side 32" + out, "partial.patch");
  expect_rejected("generate --partial.boundary global" + out, "partial.boundary");
  expect_rejected("generate --system.name curie_weiss --partial.boundary frozen" + out, "partial.boundary");
  expect_rejected("generate --partial.boundary sticky" + out, "partial.boundary");
  expect_rejected("generate --upsample.factor 4" + out, "upsample.factor");
  expect_rejected("generate --large.side 48 --small.side 16" + out, "large.side");
  expect_rejected("generate --small.runs 0" + out, "small.runs");
  // About 52 GiB of intermediate snapshots: refused up front, not by the kernel later.
  expect_rejected("generate --large.side 1024 --small.side 16 --large.snapshots 100000" + out, "large.snapshots");
  expect_rejected("simulate --truth.init m0 --truth.m0 ''" + out, "truth.m0");
  expect_rejected("simulate --truth.init m0 --truth.m0 0.5,x" + out, "truth.m0");
  expect_rejected("generate --config /nonexistent.ini", "/nonexistent.ini");
  expect_rejected("bench --seconds -1", "--seconds");
  expect_rejected("inspect", "FILE");
}

TEST_CASE("unknown and malformed keys in a config file are rejected", "[e2e][cli]") {
  const std::string ini = tmp("bad.ini");
  {
    std::ofstream f(ini);
    f << "[system]\nname = ising2d\ncolour = blue\n";
  }
  expect_rejected("generate --config " + ini, "colour");
  {
    std::ofstream f(ini);
    f << "[small]\nruns = many\n";
  }
  expect_rejected("generate --config " + ini, "small.runs");
}

TEST_CASE("unwritable or existing output paths are rejected before any work", "[e2e][cli]") {
  expect_rejected(tiny() + " --output.path /nonexistent-dir/x.h5", "/nonexistent-dir");
  expect_rejected(tiny() + " --output.path /proc/macrodyn-test.h5", "/proc/macrodyn-test.h5");
  const std::string existing = tmp("existing.h5");
  { std::ofstream(existing) << "x"; }
  expect_rejected(tiny() + " --output.overwrite false --output.path " + existing, "already exists");
}

TEST_CASE("the README's configuration table is what config-reference prints", "[e2e][cli]") {
  const Result r = run("config-reference");
  REQUIRE(r.code == 0);
  const std::string readme = slurp(MACRODYN_SOURCE_DIR "/README.md");
  const auto at = readme.find("| key | default | meaning |");
  REQUIRE(at != std::string::npos);
  // The table runs to the first line that is not a table row.
  std::size_t end = at;
  while (end < readme.size() && readme[end] == '|') end = readme.find('\n', end) + 1;
  INFO("regenerate the README table with `macrodyn config-reference`");
  CHECK(readme.substr(at, end - at) == r.out);
  // Every key documented: a default and a meaning on every row, and every registered
  // system's own keys listed with the systems that read them.
  std::istringstream rows(r.out);
  std::string row;
  int keys = 0;
  while (std::getline(rows, row)) {
    if (row.rfind("| `", 0) != 0) continue;
    ++keys;
    INFO(row);
    const auto meaning = row.substr(row.rfind("` | ") + 4);
    CHECK(meaning.size() > 3);
  }
  CHECK(keys > 60);
  for (const char* key : {"| `system.T` |", "| `system.h` |"}) CHECK(r.out.find(key) != std::string::npos);
  CHECK(r.out.find("ising2d, ising3d") != std::string::npos);
  CHECK(r.out.find("curie_weiss:") != std::string::npos);
}

TEST_CASE("one spelling per concept: --overwrite, --threads, --progress and --seed in config commands",
          "[e2e][cli]") {
  std::string ini = slurp(MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini");
  ini.replace(ini.find("overwrite = true"), 16, "overwrite = false");
  const std::string config = tmp("no_overwrite.ini"), existing = tmp("existing_alias.h5");
  { std::ofstream(config) << ini; }
  { std::ofstream(existing) << "x"; }
  const std::string generate = "generate --config " + config + " --output.path " + existing;
  expect_rejected(generate + " --progress false", "already exists");
  const Result r = run(generate + " --overwrite --threads 1 --progress false --seed 5");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(run(generate + " --overwrite true --progress false").code == 0);
  expect_rejected(generate + " --overwrite false --progress false", "already exists");
  const Result help = run("generate --help");
  CHECK(help.out.find("= --output.overwrite true") != std::string::npos);
  CHECK(help.out.find("= --run.threads") != std::string::npos);
}
