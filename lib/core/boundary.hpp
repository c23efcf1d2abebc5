#pragma once
// Boundary kinds of a window or patch (docs/design.md §1.4): `periodic` (isolated torus),
// `frozen` (neighbours outside read from a copy taken when the stage starts),
// `global` (Curie-Weiss: the window feels the whole system's magnetisation).
#include <string>

namespace macrodyn {

enum class Boundary { periodic, frozen, global };

inline const char* to_string(Boundary b) {
  switch (b) {
    case Boundary::periodic: return "periodic";
    case Boundary::frozen: return "frozen";
    case Boundary::global: return "global";
  }
  return "?";
}

// Returns false when the name is not a boundary kind.
inline bool parse_boundary(const std::string& s, Boundary& out) {
  if (s == "periodic") { out = Boundary::periodic; return true; }
  if (s == "frozen") { out = Boundary::frozen; return true; }
  if (s == "global") { out = Boundary::global; return true; }
  return false;
}

}  // namespace macrodyn
