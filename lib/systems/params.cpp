#include "systems/params.hpp"

#include <cmath>
#include <stdexcept>

#include "core/error.hpp"
#include "core/format.hpp"

namespace macrodyn::systems {

SystemParams::SystemParams(std::initializer_list<std::pair<std::string, double>> given) {
  for (const auto& [key, value] : given) set(key, value);
}

SystemParams SystemParams::resolve(const std::string& system, const std::vector<ParamSpec>& specs,
                                   const SystemParams& given) {
  for (const Value& g : given.values()) {
    bool declared = false;
    std::string keys;
    for (const ParamSpec& s : specs) {
      declared = declared || s.key == g.key;
      keys += (keys.empty() ? "system." : ", system.") + s.key;
    }
    if (!declared)
      throw InputError("system." + g.key + " is not a key of system " + system +
                       (keys.empty() ? " (it has no parameters)" : " (its keys: " + keys + ")"));
  }
  SystemParams out;
  for (const ParamSpec& s : specs) {
    const double v = given.has(s.key) ? given.get(s.key) : s.fallback;
    const std::string name = "system." + s.key + " = " + shortest(v);
    if (!std::isfinite(v)) throw InputError(name + " must be a finite number (" + s.help + ")");
    if (s.positive && !(v > 0)) throw InputError(name + " must be positive (" + s.help + ")");
    if (s.positive && (!std::isnormal(v) || !std::isfinite(1.0 / v)))
      throw InputError(name + " is too close to 0: 1/" + s.key + " is not a finite number");
    out.values_.push_back({s.key, v, s.in_title});
  }
  return out;
}

bool SystemParams::has(const std::string& key) const {
  for (const Value& v : values_)
    if (v.key == key) return true;
  return false;
}

double SystemParams::get(const std::string& key) const {
  for (const Value& v : values_)
    if (v.key == key) return v.value;
  throw std::logic_error("system parameter '" + key + "' was not declared");
}

void SystemParams::set(const std::string& key, double value) {
  for (Value& v : values_)
    if (v.key == key) {
      v.value = value;
      return;
    }
  values_.push_back({key, value, true});
}

std::string SystemParams::describe() const {
  std::string s;
  for (const Value& v : values_)
    if (v.in_title) s += (s.empty() ? "" : ", ") + v.key + " = " + shortest(v.value);
  return s;
}

bool SystemParams::operator==(const SystemParams& o) const {
  if (values_.size() != o.values_.size()) return false;
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i].key != o.values_[i].key || values_[i].value != o.values_[i].value) return false;
  return true;
}

}  // namespace macrodyn::systems
