#pragma once
// A study directory keeps its finished stages and reuses them on a rerun. recipe.txt
// records what those stages depend on (`key = value` lines, optionally under `[section]`
// headers), so that a rerun with other settings is refused instead of silently mixing
// stages made with different settings.
#include <string>

namespace macrodyn {

// Throws InputError naming the first differing setting when `out`/recipe.txt exists and
// differs from `want`; writes `want` there when it does not exist and `record` is set.
void check_recipe(const std::string& out, const std::string& want, bool record);

}  // namespace macrodyn
