#pragma once
// Numbers as people read them back.
#include <string>

namespace macrodyn {

// The shortest text that reads back as the same double (0.05, not 0.050000000000000003);
// "nan" for NaN.
std::string shortest(double v);

}  // namespace macrodyn
