// No code outside lib/systems asks which system it is: the registry's system names and
// every registered system's observable names appear as string literals ("ising2d",
// "m") only in lib/systems, the tests, the benchmarks, the shipped configs and the
// docs, and in the few places of the allow-list below, each with its reason. A new
// branch on a name elsewhere fails here; the fix is a System hook (docs/design.md §3).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace fs = std::filesystem;
using namespace macrodyn;

namespace {

struct Allowed {
  const char* file;     // relative to the source root
  const char* literal;  // with its quotes
  const char* why;
};

const Allowed kAllowed[] = {
    {"lib/jobs/config.hpp", "\"ising2d\"", "the built-in default job is a 2-D Ising model"},
    {"lib/jobs/bench.cpp", "\"ising2d\"", "macrodyn bench measures named kernels on their reference systems"},
    {"lib/jobs/bench.cpp", "\"ising3d\"", "macrodyn bench measures named kernels on their reference systems"},
    {"lib/jobs/bench.cpp", "\"curie_weiss\"", "macrodyn bench measures named kernels on their reference systems"},
    {"lib/jobs/bench.cpp", "\"nbmota\"", "macrodyn bench measures named kernels on their reference systems"},
};

bool allowed(const std::string& file, const std::string& literal) {
  return std::any_of(std::begin(kAllowed), std::end(kAllowed),
                     [&](const Allowed& a) { return file == a.file && literal == a.literal; });
}

}  // namespace

TEST_CASE("no code outside lib/systems names a system or an observable", "[systems][names]") {
  std::set<std::string> names;
  for (const auto& s : system_names()) {
    names.insert(s);
    for (const auto& o : make_system(s, SystemParams{})->observable_names()) names.insert(o);
  }
  const fs::path root(MACRODYN_SOURCE_DIR);
  std::vector<std::string> found;
  for (const char* top : {"lib", "mpi", "apps"})
    for (const auto& e : fs::recursive_directory_iterator(root / top)) {
      const std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
      const std::string rel = fs::relative(e.path(), root).string();
      if (rel.rfind("lib/systems/", 0) == 0) continue;
      std::ifstream in(e.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n)
        for (const auto& name : names) {
          const std::string literal = "\"" + name + "\"";
          if (line.find(literal) != std::string::npos && !allowed(rel, literal))
            found.push_back(rel + ":" + std::to_string(n) + ": " + literal);
        }
    }
  for (const auto& f : found) UNSCOPED_INFO(f);
  CHECK(found.empty());
}

TEST_CASE("every allow-list entry of the name check is still needed", "[systems][names]") {
  const fs::path root(MACRODYN_SOURCE_DIR);
  for (const auto& a : kAllowed) {
    std::ifstream in(root / a.file);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    INFO(a.file << " " << a.literal << " (" << a.why << ")");
    CHECK(text.find(a.literal) != std::string::npos);
  }
}
