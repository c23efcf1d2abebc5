// A study directory's recipe: a key added to the configuration after the study was
// recorded, at its default, does not make a finished study refuse its rerun; any other
// difference does.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "core/error.hpp"
#include "jobs/study_recipe.hpp"

using namespace macrodyn;
using namespace macrodyn::jobs;

TEST_CASE("study recipe: keys added later at their defaults are accepted, other changes refused", "[study][recipe]") {
  const std::string dir = (std::filesystem::temp_directory_path() / ("recipe_" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/recipe.txt") << "[small]\nruns = 100\nsweeps = 2000\n[upsample]\nfactor = 2\n\n--epochs = 100\n";
  const std::string now = "[small]\nruns = 100\nsweeps = 2000\ndense_sweeps = 0\nframe_stride = 1\n[upsample]\nfactor = 2\n"
                          "last_events = 0\n\n--epochs = 100\n";
  CHECK_NOTHROW(check_recipe(dir, now, true));
  std::string thinned = now;
  thinned.replace(thinned.find("frame_stride = 1"), 16, "frame_stride = 10");
  CHECK_THROWS_AS(check_recipe(dir, thinned, true), InputError);
  std::string other = now;
  other.replace(other.find("--epochs = 100"), 14, "--epochs = 200");
  CHECK_THROWS_WITH(check_recipe(dir, other, true), Catch::Contains("--epochs = 100"));
  std::filesystem::remove_all(dir);
}
