#include "core/format.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace macrodyn {

std::string shortest(double v) {
  if (std::isnan(v)) return "nan";
  char b[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  return b;
}

}  // namespace macrodyn
