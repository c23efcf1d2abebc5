#include "systems/params.hpp"

#include <algorithm>
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
    const Value* g = nullptr;
    for (const Value& v : given.values())
      if (v.key == s.key) g = &v;
    if (s.text) {
      const std::string t = !g ? s.text_default : g->word.empty() ? shortest(g->value) : g->word;
      if (t.empty()) throw InputError("system." + s.key + " is empty; it must name a file (" + s.help + ")");
      // Datasets and models keep the config as INI text, which reads '#' and ';' as the start
      // of a comment: such a path would come back cut.
      if (t.find_first_of("#;") != std::string::npos)
        throw InputError("system." + s.key + " = " + t +
                         " holds '#' or ';', which the configs macrodyn stores read as a comment; rename the file");
      out.values_.push_back({s.key, 0.0, false, t, true});
      continue;
    }
    if (!s.words.empty()) {
      std::string list;
      for (const std::string& w : s.words) list += (list.empty() ? "" : ", ") + w;
      auto index = static_cast<std::size_t>(s.fallback);
      // The index stands for its word (model.json stores numbers).
      const bool index_given = g && g->word.empty() && g->value >= 0 &&
                               g->value < static_cast<double>(s.words.size()) && g->value == std::floor(g->value);
      if (index_given) {
        index = static_cast<std::size_t>(g->value);
      } else if (g) {
        const auto it = std::find(s.words.begin(), s.words.end(), g->word);
        if (g->word.empty() || it == s.words.end())
          throw InputError("system." + s.key + " = " + (g->word.empty() ? shortest(g->value) : g->word) +
                           " is not one of " + list + " (" + s.help + ")");
        index = static_cast<std::size_t>(it - s.words.begin());
      }
      out.values_.push_back({s.key, static_cast<double>(index), s.in_title, s.words[index]});
      continue;
    }
    if (g && !g->word.empty())
      throw InputError("system." + s.key + " = '" + g->word + "' is not a number (" + s.help + ")");
    const double v = g ? g->value : s.fallback;
    const std::string name = "system." + s.key + " = " + shortest(v);
    if (!std::isfinite(v)) throw InputError(name + " must be a finite number (" + s.help + ")");
    if (s.positive && !(v > 0)) throw InputError(name + " must be positive (" + s.help + ")");
    if (s.positive && (!std::isnormal(v) || !std::isfinite(1.0 / v)))
      throw InputError(name + " is too close to 0: 1/" + s.key + " is not a finite number");
    out.values_.push_back({s.key, v, s.in_title, ""});
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
      v.word.clear();
      return;
    }
  values_.push_back({key, value, true, ""});
}

void SystemParams::set_word(const std::string& key, const std::string& word) {
  for (Value& v : values_)
    if (v.key == key) {
      v.word = word;
      return;
    }
  values_.push_back({key, 0.0, true, word});
}

std::string SystemParams::text(const Value& v) const { return v.word.empty() ? shortest(v.value) : v.word; }

const std::string& SystemParams::text(const std::string& key) const {
  for (const Value& v : values_)
    if (v.key == key) return v.word;
  throw std::logic_error("system parameter '" + key + "' was not declared");
}

std::string SystemParams::describe() const {
  std::string s;
  for (const Value& v : values_)
    if (v.in_title) s += (s.empty() ? "" : ", ") + v.key + " = " + text(v);
  return s;
}

bool SystemParams::operator==(const SystemParams& o) const {
  if (values_.size() != o.values_.size()) return false;
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i].key != o.values_[i].key || values_[i].value != o.values_[i].value ||
        (values_[i].text && values_[i].word != o.values_[i].word))
      return false;
  return true;
}

}  // namespace macrodyn::systems
