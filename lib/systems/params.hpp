#pragma once
// A system's parameters: the [system] keys other than `name` (docs/design.md §3.7).
// Each system declares its keys (ParamSpec: default, help, domain); a job gives some of
// them (SystemParams, key -> value); the registry resolves the two (systems/system.hpp),
// so a key of another system is refused with a sentence naming it, before any work.
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace macrodyn::systems {

struct ParamSpec {
  std::string key;         // the config key system.<key>
  double fallback = 0;     // its default
  std::string help;
  // Domain: any finite number, or (positive) > 0 with a finite reciprocal, as a
  // temperature must be for 1/T.
  bool positive = false;
  bool in_title = true;    // shown in plot titles and run summaries
  // A key that takes a word (system.laplacian = grid | physical): its value is the
  // word's index here (a given index stands for its word: model.json stores numbers),
  // `fallback` the index of the default.
  std::vector<std::string> words = {};
  // A key that names a file (the alloy's barrier network): its value is text, kept as
  // given; `text_default` when not given. Never in titles.
  bool text = false;
  std::string text_default = {};
};

class SystemParams {
 public:
  struct Value {
    std::string key;
    double value = 0;     // a word key: the index of the word
    bool in_title = true;
    std::string word;     // a word key: the word (given, or filled by resolve); a text key: its text
    bool text = false;    // a text key (ParamSpec::text)
  };

  SystemParams() = default;
  // Given values, not yet resolved: SystemParams{{"T", 2.27}, {"h", 0}}.
  SystemParams(std::initializer_list<std::pair<std::string, double>> given);

  // The values of `specs` for system `system`: each key's default, replaced by the value
  // in `given`. Throws InputError naming system.<key> for a key `specs` does not declare
  // (with the keys it does) or a value outside its domain.
  static SystemParams resolve(const std::string& system, const std::vector<ParamSpec>& specs,
                              const SystemParams& given);

  bool has(const std::string& key) const;
  // The value of a declared key (std::logic_error if absent: a system asked for a key it
  // did not declare).
  double get(const std::string& key) const;
  // The text of a declared text key (std::logic_error if absent).
  const std::string& text(const std::string& key) const;
  void set(const std::string& key, double value);
  // A value given as a word (resolve maps it to its index, or refuses it for a key that
  // takes a number).
  void set_word(const std::string& key, const std::string& word);
  // The value as a config would write it: the word of a word key, else the number.
  std::string text(const Value& v) const;
  const std::vector<Value>& values() const { return values_; }
  bool empty() const { return values_.empty(); }

  // "T = 2.5, h = 0.1": the values shown in titles, shortest form.
  std::string describe() const;

  bool operator==(const SystemParams& o) const;
  bool operator!=(const SystemParams& o) const { return !(*this == o); }

 private:
  std::vector<Value> values_;
};

}  // namespace macrodyn::systems
