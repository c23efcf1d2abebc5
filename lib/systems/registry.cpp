// The one registry of simulators: adding a system touches its folder plus one line here.
#include "core/error.hpp"
#include "systems/curie_weiss.hpp"
#include "systems/ising.hpp"
#include "systems/nbmota/nbmota_system.hpp"
#include "systems/predator_prey_system.hpp"
#include "systems/system.hpp"

namespace macrodyn::systems {

namespace {
struct Entry {
  std::string name;
  std::unique_ptr<System> (*make)(const SystemParams&);
  std::vector<ParamSpec> (*params)();
};

// The systems of lib/systems, then those registered at run time.
std::vector<Entry>& registry() {
  static std::vector<Entry> entries = {
      {"ising2d", [](const SystemParams& p) { return make_ising(2, p); }, ising_param_specs},
      {"ising3d", [](const SystemParams& p) { return make_ising(3, p); }, ising_param_specs},
      {"curie_weiss", [](const SystemParams& p) { return make_curie_weiss(2, p); }, curie_weiss_param_specs},
      {"predator_prey", [](const SystemParams& p) { return make_predator_prey(1, p); }, predator_prey_param_specs},
      {"predator_prey2d", [](const SystemParams& p) { return make_predator_prey(2, p); }, predator_prey_param_specs},
      {"nbmota", make_nbmota, nbmota_param_specs},
  };
  return entries;
}

const Entry& entry(const std::string& name) {
  for (const auto& e : registry())
    if (name == e.name) return e;
  std::string known;
  for (const auto& e : registry()) known += (known.empty() ? "" : ", ") + e.name;
  throw InputError("unknown system '" + name + "' (known: " + known + ")");
}
}  // namespace

void register_system(const std::string& name, std::unique_ptr<System> (*make)(const SystemParams&),
                     std::vector<ParamSpec> (*specs)()) {
  if (is_system_name(name)) throw InputError("system '" + name + "' is registered already");
  registry().push_back({name, make, specs});
}

std::unique_ptr<System> make_system(const std::string& name, const SystemParams& given) {
  const Entry& e = entry(name);
  return e.make(SystemParams::resolve(name, e.params(), given));
}

std::vector<ParamSpec> system_param_specs(const std::string& name) { return entry(name).params(); }

SystemParams resolve_system_params(const std::string& name, const SystemParams& given) {
  return SystemParams::resolve(name, system_param_specs(name), given);
}

std::vector<std::string> system_names() {
  std::vector<std::string> out;
  for (const auto& e : registry()) out.push_back(e.name);
  return out;
}

bool is_system_name(const std::string& name) {
  for (const auto& e : registry())
    if (name == e.name) return true;
  return false;
}

}  // namespace macrodyn::systems
