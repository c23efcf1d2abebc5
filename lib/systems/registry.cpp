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
};
const Entry kSystems[] = {
    {"ising2d", [](const SystemParams& p) { return make_ising(2, p); }},
    {"ising3d", [](const SystemParams& p) { return make_ising(3, p); }},
    {"curie_weiss", [](const SystemParams& p) { return make_curie_weiss(2, p); }},
};
}  // namespace

std::unique_ptr<System> make_system(const std::string& name, const SystemParams& params) {
  for (const auto& e : kSystems)
    if (name == e.name) return e.make(params);
  throw InputError("unknown system '" + name + "'");
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
