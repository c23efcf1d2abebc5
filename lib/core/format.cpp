#include "core/format.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace macrodyn {

std::string shortest(double v) {
  if (std::isnan(v)) return "nan";
  char b[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  // %g switches to an exponent once the digits kept are fewer than the integer part's
  // (10 -> "1e+01"): the plain decimal is kept when it is no longer.
  if (std::strchr(b, 'e') && std::fabs(v) < 1e17) {
    char f[400];
    for (int decimals = 0; decimals <= 17; ++decimals) {
      std::snprintf(f, sizeof f, "%.*f", decimals, v);
      if (std::strtod(f, nullptr) == v) {
        if (std::strlen(f) <= std::strlen(b)) return f;
        break;
      }
    }
  }
  return b;
}

}  // namespace macrodyn
