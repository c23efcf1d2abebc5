#pragma once
// Human-readable summary of a dataset (`macrodyn inspect`): root attributes, then every
// group with its attributes and every table with its type, shape and statistics over
// the committed rows. Large tables are read in blocks of at most 64 MiB.
#include <ostream>
#include <string>

namespace macrodyn::io {

// Throws FileError (see DatasetReader) when `path` is not a readable macrodyn dataset.
void inspect(const std::string& path, std::ostream& out);

}  // namespace macrodyn::io
