// `macrodyn inspect`: a dataset summary built on the public DatasetReader API only.
#include "io/inspect.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <optional>
#include <sstream>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "io/dataset.hpp"

namespace macrodyn::io {
namespace {

// Memory bound of one read: a block of rows, or part of one row when a row is larger.
constexpr std::uint64_t kBlockBytes = std::uint64_t{64} << 20;

// Attributes printed in this order before any others.
const std::vector<std::string> kRootAttrs = {"schema", "schema_version", "macrodyn_version", "created",
                                             "seed",   "system",         "config"};
const std::vector<std::string> kGroupAttrs = {"rows_committed", "K", "patch", "L", "boundary", "observables"};

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) s += (i > 0 ? separator : "") + items[i];
  return s;
}

std::string parent_of(const std::string& object) {
  const std::size_t slash = object.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : object.substr(0, slash);
}

std::size_t depth_of(const std::string& object) {
  return static_cast<std::size_t>(std::count(object.begin(), object.end(), '/')) - 1;
}

// Any attribute as text. The reader offers one accessor per kind and refuses the wrong
// kind with a FileError, so try them from the most to the least specific.
std::string attr_text(const DatasetReader& r, const std::string& object, const std::string& name) {
  try { return r.attr_string(object, name); } catch (const FileError&) {}
  try { return "[" + join(r.attr_strings(object, name), ", ") + "]"; } catch (const FileError&) {}
  try { return std::to_string(r.attr_int(object, name)); } catch (const FileError&) {}
  try { return std::to_string(r.attr_uint(object, name)); } catch (const FileError&) {}
  try {
    std::ostringstream s;
    s << std::setprecision(12) << r.attr_double(object, name);
    return s.str();
  } catch (const FileError&) {}
  return "(not shown: not a string or a single number)";
}

void print_indented(std::ostream& out, const std::string& text, const std::string& indent) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out << (line.empty() ? "" : indent) << line << '\n';
}

// The nearest group at or above `object`'s parent that carries attribute `name`.
std::optional<std::string> nearest_owner(const DatasetReader& r, const std::string& object, const std::string& name) {
  for (std::string g = parent_of(object);; g = parent_of(g)) {
    if (r.has_attr(g, name)) return g;
    if (g == "/") return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------
// Statistics

template <class T>
struct Stats {
  std::uint64_t count = 0;  // values in min/max/mean
  std::uint64_t nan = 0;    // NaNs, left out of them
  T min = std::numeric_limits<T>::max();
  T max = std::numeric_limits<T>::lowest();
  double sum = 0;
  // Per-column sums when the last dimension names observables (columns > 0).
  std::size_t columns = 0;
  std::vector<double> column_sum;
  std::vector<std::uint64_t> column_count;

  // `offset`: position of v[0] in the row-major flattening of the table.
  void add(const T* v, std::size_t n, std::uint64_t offset) {
    double block_sum = 0;  // summed per block first: less rounding over long tables
    std::size_t column = columns > 0 ? static_cast<std::size_t>(offset % columns) : 0;
    for (std::size_t i = 0; i < n; ++i) {
      const T x = v[i];
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(x)) {
          ++nan;
          if (columns > 0 && ++column == columns) column = 0;
          continue;
        }
      }
      min = std::min(min, x);
      max = std::max(max, x);
      block_sum += static_cast<double>(x);
      ++count;
      if (columns > 0) {
        column_sum[column] += static_cast<double>(x);
        ++column_count[column];
        if (++column == columns) column = 0;
      }
    }
    sum += block_sum;
  }
};

// Reads the first `rows` rows of a table in blocks of at most kBlockBytes and hands each
// to fn(data, n, offset). A block fixes the leading indices and spans a range along one
// axis with every inner axis whole, so its elements are contiguous in the row-major
// flattening of the table; `offset` is the flat index of its first element.
template <class T, class Fn>
void for_each_block(const DatasetReader& r, const std::string& table, std::vector<std::uint64_t> dims,
                    std::uint64_t rows, DType type, Fn fn) {
  const std::uint64_t budget = kBlockBytes / sizeof(T);  // elements
  if (dims.empty()) {                                    // a single value
    T value{};
    r.read_slab(table, {}, {}, type, &value);
    fn(&value, 1, 0);
    return;
  }
  dims[0] = rows;
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) return;
  const std::size_t rank = dims.size();
  std::vector<std::uint64_t> inner(rank + 1, 1);  // inner[k]: elements per index of axis k-1
  for (std::size_t k = rank; k-- > 0;) inner[k] = inner[k + 1] * dims[k];
  std::size_t axis = 0;  // the outermost axis whose inner part fits the budget
  while (inner[axis + 1] > budget) ++axis;
  const std::uint64_t step = std::min(dims[axis], std::max<std::uint64_t>(1, budget / inner[axis + 1]));

  std::vector<std::uint64_t> start(rank, 0), count(dims);
  std::fill(count.begin(), count.begin() + static_cast<std::ptrdiff_t>(axis), 1);
  std::vector<T> buffer(step * inner[axis + 1]);
  for (;;) {
    count[axis] = std::min(step, dims[axis] - start[axis]);
    r.read_slab(table, start, count, type, buffer.data());
    std::uint64_t offset = 0;
    for (std::size_t k = 0; k < rank; ++k) offset += start[k] * inner[k + 1];
    fn(buffer.data(), static_cast<std::size_t>(count[axis] * inner[axis + 1]), offset);
    // Advance like an odometer: along `axis`, then carry into the outer axes.
    start[axis] += count[axis];
    std::size_t k = axis;
    while (start[k] == dims[k]) {
      if (k == 0) return;
      start[k] = 0;
      ++start[--k];
    }
  }
}

template <class T>
Stats<T> statistics(const DatasetReader& r, const ObjectInfo& table, std::uint64_t rows, std::size_t columns) {
  Stats<T> s;
  s.columns = columns;
  s.column_sum.assign(columns, 0.0);
  s.column_count.assign(columns, 0);
  const DType read_as = std::is_floating_point_v<T> ? DType::f64 : DType::i64;
  for_each_block<T>(r, table.path, table.shape, rows, read_as,
                    [&](const T* v, std::size_t n, std::uint64_t offset) { s.add(v, n, offset); });
  return s;
}

template <class T>
void print_statistics(std::ostream& out, const Stats<T>& s, const std::vector<std::string>& names,
                      const std::string& indent) {
  if (s.count == 0 && s.nan == 0) {
    out << "  (no committed rows)\n";
    return;
  }
  if (s.count > 0)
    out << "  min " << s.min << "  max " << s.max << "  mean " << s.sum / static_cast<double>(s.count);
  if (s.nan > 0) out << "  NaN " << s.nan;
  out << '\n';
  if (s.columns == 0) return;
  out << indent << "  column means:";
  for (std::size_t c = 0; c < s.columns; ++c) {
    out << "  " << names[c] << ' ';
    if (s.column_count[c] > 0) out << s.column_sum[c] / static_cast<double>(s.column_count[c]);
    else out << "-";
  }
  out << '\n';
}

// ---------------------------------------------------------------------------------------
// Printing

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::vector<std::string> dims;
  for (std::uint64_t n : shape) dims.push_back(std::to_string(n));
  return "[" + join(dims, ", ") + "]";
}

void print_other_attrs(std::ostream& out, const DatasetReader& r, const std::string& object,
                       const std::vector<std::string>& known, const std::string& indent) {
  for (const std::string& name : r.attr_names(object)) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    const std::string value = attr_text(r, object, name);
    if (value.find('\n') == std::string::npos) {
      out << indent << name << ": " << value << '\n';
    } else {
      out << indent << name << ":\n";
      print_indented(out, value, indent + "  ");
    }
  }
}

void print_root(std::ostream& out, const DatasetReader& r) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(r.path(), ec);
  out << r.path();
  if (!ec) out << " (" << std::setprecision(3) << static_cast<double>(bytes) / 1048576.0 << " MiB)";
  out << std::setprecision(6) << ": " << r.attr_string("/", "schema") << ", schema_version "
      << r.attr_int("/", "schema_version") << '\n';
  for (const char* name : {"macrodyn_version", "created", "seed", "system"})
    if (r.has_attr("/", name)) out << "  " << name << ": " << attr_text(r, "/", name) << '\n';
  print_other_attrs(out, r, "/", kRootAttrs, "  ");
  if (r.has_attr("/", "config")) {
    out << "  config:\n";
    print_indented(out, r.attr_string("/", "config"), "    ");
  }
}

void print_group(std::ostream& out, const DatasetReader& r, const std::string& group) {
  const std::string indent(2 * depth_of(group), ' ');
  out << indent << group << "  group";
  const char* separator = ": ";
  for (const std::string& name : kGroupAttrs) {
    if (name == "observables" || !r.has_attr(group, name)) continue;
    out << separator << name << ' ' << attr_text(r, group, name);
    separator = ", ";
  }
  out << '\n';
  if (r.has_attr(group, "observables"))
    out << indent << "  observables: " << join(r.attr_strings(group, "observables"), ", ") << '\n';
  print_other_attrs(out, r, group, kGroupAttrs, indent + "  ");
}

void print_table(std::ostream& out, const DatasetReader& r, const ObjectInfo& table, std::size_t name_width) {
  const std::string indent(2 * depth_of(table.path), ' ');
  out << indent << std::left << std::setw(static_cast<int>(name_width)) << table.path << std::right << "  "
      << std::setw(7) << dtype_name(table.type) << ' ' << shape_text(table.shape);

  // Statistics cover the committed rows of the nearest group that counts them.
  std::uint64_t rows = table.shape.empty() ? 1 : table.shape[0];
  if (auto owner = nearest_owner(r, table.path, "rows_committed"); owner && !table.shape.empty()) {
    const std::uint64_t committed = std::min(rows, r.rows_committed(*owner));
    if (committed < rows) out << " (" << committed << " rows committed)";
    rows = committed;
  }
  // Per-column means for a float table whose last dimension names the observables.
  std::vector<std::string> names;
  const bool is_float = table.type == DType::f32 || table.type == DType::f64;
  if (auto owner = nearest_owner(r, table.path, "observables"); owner && is_float && table.shape.size() >= 2) {
    names = r.attr_strings(*owner, "observables");
    if (names.empty() || names.size() != table.shape.back()) names.clear();
  }
  if (is_float) print_statistics(out, statistics<double>(r, table, rows, names.size()), names, indent);
  else print_statistics(out, statistics<std::int64_t>(r, table, rows, 0), names, indent);
  print_other_attrs(out, r, table.path, {}, indent + "  ");
}

}  // namespace

void inspect(const std::string& path, std::ostream& out) {
  const DatasetReader r(path);
  const std::ios_base::fmtflags flags = out.flags();
  const std::streamsize precision = out.precision(6);
  print_root(out, r);
  const std::vector<ObjectInfo> objects = r.list();
  std::size_t name_width = 0;
  for (const ObjectInfo& o : objects)
    if (!o.is_group) name_width = std::max(name_width, o.path.size() + 2 * depth_of(o.path));
  for (const ObjectInfo& o : objects) {
    if (o.is_group) print_group(out, r, o.path);
    else print_table(out, r, o, name_width - 2 * depth_of(o.path));
  }
  out.flags(flags);
  out.precision(precision);
}

}  // namespace macrodyn::io
