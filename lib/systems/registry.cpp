// The one registry of simulators: adding a system touches its folder plus one line here.
#include "core/error.hpp"
#include "systems/curie_weiss.hpp"
#include "systems/ising.hpp"
#include "systems/system.hpp"

namespace macrodyn {

namespace {
struct Entry {
  const char* name;
  std::unique_ptr<System> (*make)(const SystemParams&);
  std::vector<ParamSpec> (*params)();
};
const Entry kSystems[] = {
    {"ising2d", [](const SystemParams& p) { return make_ising(2, p); }, ising_param_specs},
    {"ising3d", [](const SystemParams& p) { return make_ising(3, p); }, ising_param_specs},
    {"curie_weiss", [](const SystemParams& p) { return make_curie_weiss(2, p); }, curie_weiss_param_specs},
};

const Entry& entry(const std::string& name) {
  for (const auto& e : kSystems)
    if (name == e.name) return e;
  std::string known;
  for (const auto& e : kSystems) known += (known.empty() ? "" : ", ") + std::string(e.name);
  throw InputError("unknown system '" + name + "' (known: " + known + ")");
}
}  // namespace

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
  for (const auto& e : kSystems) out.emplace_back(e.name);
  return out;
}

bool is_system_name(const std::string& name) {
  for (const auto& e : kSystems)
    if (name == e.name) return true;
  return false;
}

}  // namespace macrodyn
