// systems/params: a system's [system] keys are its own. Defaults fill what is not given,
// a key the system does not declare is refused with a sentence naming it, values outside
// a key's domain are refused before any work, and every registered system's keys reach
// its simulator.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "systems/params.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

using namespace macrodyn;
using Catch::Matchers::Contains;

namespace {

// A made-up system's keys: a positive coupling and a signed chemical potential.
const std::vector<ParamSpec> kSpecs = {{"J", 1.0, "coupling", true}, {"mu", -0.5, "chemical potential"}};

std::string refusal(const SystemParams& given) {
  try {
    SystemParams::resolve("gas", kSpecs, given);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("system parameters: defaults, values given, order of declaration", "[params]") {
  const SystemParams none = SystemParams::resolve("gas", kSpecs, {});
  REQUIRE(none.values().size() == 2);
  CHECK(none.values()[0].key == "J");
  CHECK(none.get("J") == 1.0);
  CHECK(none.get("mu") == -0.5);
  const SystemParams given = SystemParams::resolve("gas", kSpecs, {{"mu", 0.25}, {"J", 2.0}});
  CHECK(given.values()[0].key == "J");  // the system's order, not the given one
  CHECK(given.get("J") == 2.0);
  CHECK(given.get("mu") == 0.25);
  CHECK(given.describe() == "J = 2, mu = 0.25");
  CHECK_THROWS(given.get("T"));  // a key the system never declared is a programming error
}

TEST_CASE("system parameters: another system's key and values out of domain are refused by name", "[params]") {
  CHECK_THAT(refusal({{"T", 2.5}}), Contains("system.T is not a key of system gas") &&
                                        Contains("system.J, system.mu"));
  CHECK_THAT(refusal({{"J", 0.0}}), Contains("system.J = 0 must be positive"));
  CHECK_THAT(refusal({{"J", -1.0}}), Contains("system.J = -1 must be positive"));
  CHECK_THAT(refusal({{"J", 1e-310}}), Contains("system.J = 1e-310 is too close to 0"));
  CHECK_THAT(refusal({{"mu", std::numeric_limits<double>::infinity()}}), Contains("system.mu = inf must be a finite"));
  CHECK_THAT(refusal({{"mu", std::nan("")}}), Contains("system.mu = nan must be a finite"));
  CHECK(refusal({{"mu", -3.0}}).empty());  // signed keys take any finite value
}

TEST_CASE("every registered system: its keys are documented, resolved and reach its simulator", "[params]") {
  for (const auto& name : system_names()) {
    INFO(name);
    const auto specs = system_param_specs(name);
    for (const ParamSpec& s : specs) {
      CHECK_FALSE(s.key.empty());
      CHECK_FALSE(s.help.empty());
      CHECK(s.key.find('.') == std::string::npos);
      CHECK(s.key != "name");
    }
    const auto sys = make_system(name);
    REQUIRE(sys->params().values().size() == specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) CHECK(sys->params().values()[i].value == specs[i].fallback);
    CHECK_THROWS_AS(make_system(name, {{"no_such_key", 1.0}}), InputError);
  }
  CHECK_THROWS_WITH(make_system("no_such_system"), Contains("unknown system 'no_such_system'"));
}

TEST_CASE("system parameters: a file key whose path holds a hash or a semicolon is refused", "[params]") {
  // Stored configs are INI text, where either starts a comment: the path would come back cut.
  ParamSpec file{"model", 0.0, "a file"};
  file.text = true;
  file.text_default = "model.h5";
  const std::vector<ParamSpec> specs{file};
  CHECK(SystemParams::resolve("gas", specs, {}).text("model") == "model.h5");
  for (const char* bad : {"runs/a#b.h5", "runs/a;b.h5"}) {
    SystemParams given;
    given.set_word("model", bad);
    CHECK_THROWS_WITH(SystemParams::resolve("gas", specs, given), Contains("system.model") && Contains("comment"));
  }
}
