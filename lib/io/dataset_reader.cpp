// DatasetReader (dataset.hpp): opens a dataset file read-only, checks its schema and
// reads tables and attributes; the HDF5 helpers it shares with the writer are in hdf5_util.hpp.
#include "io/dataset.hpp"

#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>

#include "io/file_lock.hpp"
#include "io/hdf5_util.hpp"

namespace macrodyn::io {

using namespace detail;  // the helpers, as unqualified as when they were in this file
namespace fs = std::filesystem;

// =======================================================================================
// Reader

struct DatasetReader::Impl {
  std::string path;
  Handle file;  // declared first: closed after the tables
  // Tables stay open once used, so that HDF5's chunk cache serves successive small
  // reads (reopening meant inflating the chunk again on every read_rows).
  mutable std::map<std::string, Handle> tables;

  hid_t id() const { return file.get(); }
  hid_t table(const std::string& table) const {
    auto it = tables.find(table);
    if (it == tables.end()) it = tables.emplace(table, open_table(file.get(), path, table)).first;
    return it->second.get();
  }
  OpenAttr attr(const std::string& object, const std::string& name) const {
    return open_attr(file.get(), path, absolute(object), name);
  }
  void list_group(const std::string& group, int depth, std::vector<ObjectInfo>& out) const;
};

DatasetReader::DatasetReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  silence_hdf5();
  impl_->path = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("cannot open " + in_quotes(path) + ": no such file");
  if (fs::is_directory(path, ec)) fail("cannot open " + in_quotes(path) + ": it is a directory");
  // A file this process is writing is already open in HDF5 with its locking off; HDF5
  // refuses a second open with other locking settings (file_lock.hpp).
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "cannot open " + in_quotes(path));
  if (FileLock::held_in_this_process(path)) H5Pset_file_locking(fapl.get(), false, true);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (file < 0) fail("cannot open " + in_quotes(path) + ": " + open_failure_reason(path));
  impl_->file = Handle(file, H5Fclose);

  if (!has_attr("/", "schema"))
    fail(in_quotes(path) + " is not a macrodyn dataset (attribute schema missing)");
  const std::string schema = attr_string("/", "schema");
  if (schema != kSchemaName)
    fail(in_quotes(path) + " is not a macrodyn dataset (its schema is " + in_quotes(schema) + ")");
  if (!has_attr("/", "schema_version"))
    fail(in_quotes(path) + " is not a macrodyn dataset (attribute schema_version missing)");
  const std::int64_t version = attr_int("/", "schema_version");
  if (version != kSchemaVersion)
    fail(in_quotes(path) + " has schema_version " + std::to_string(version) + "; this macrodyn reads version " +
         std::to_string(kSchemaVersion));
}

DatasetReader::~DatasetReader() = default;

const std::string& DatasetReader::path() const { return impl_->path; }

bool DatasetReader::has(const std::string& object) const {
  const Kind kind = kind_of(impl_->id(), absolute(object));
  return kind == Kind::group || kind == Kind::table;
}

void DatasetReader::require(const std::string& object) const {
  require_object(impl_->id(), impl_->path, absolute(object));
}

// Hard links only (soft and external links would list objects twice or leave the
// file), in name order; tables of element types macrodyn never writes are skipped.
void DatasetReader::Impl::list_group(const std::string& group, int depth, std::vector<ObjectInfo>& out) const {
  // Each level of a real dataset adds one; only a file with a hard-link cycle gets here.
  if (depth > 32) fail(in_quotes(path) + " nests groups more than 32 deep below " + in_quotes(group));
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5L_info_t* info, void* data) -> herr_t {
    // External links too: stream.save's /snapshots lives in a file of its own.
    if (info->type == H5L_TYPE_HARD || info->type == H5L_TYPE_EXTERNAL)
      static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t index = 0;
  if (H5Literate_by_name(file.get(), group.c_str(), H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names,
                         H5P_DEFAULT) < 0)
    fail("cannot list " + where(path, group) + ": the file is damaged");
  const std::string prefix = group == "/" ? "/" : group + "/";
  for (const std::string& name : names) {
    ObjectInfo info;
    info.path = prefix + name;
    const Kind kind = kind_of(file.get(), info.path);
    if (kind == Kind::group) {
      info.is_group = true;
      out.push_back(info);
      list_group(info.path, depth + 1, out);
    } else if (kind == Kind::table) {
      Handle dataset = open_table(file.get(), path, info.path);
      Handle type(H5Dget_type(dataset.get()), H5Tclose);
      if (!type.valid() || !dtype_of(type.get(), &info.type)) continue;
      for (hsize_t n : extent(dataset.get())) info.shape.push_back(n);
      out.push_back(info);
    }
  }
}

std::vector<ObjectInfo> DatasetReader::list() const {
  std::vector<ObjectInfo> out;
  impl_->list_group("/", 0, out);
  return out;
}

void DatasetReader::require_table(const std::string& table_path, const std::vector<std::uint64_t>& row_shape) const {
  const std::string table = absolute(table_path);
  require(table);
  const std::vector<std::uint64_t> dims = shape(table);
  auto text = [](const std::vector<std::uint64_t>& v, std::size_t from) {
    std::string s = "[";
    for (std::size_t i = from; i < v.size(); ++i) s += (i > from ? ", " : "") + (v[i] ? std::to_string(v[i]) : "any");
    return s + "]";
  };
  bool ok = dims.size() == row_shape.size() + 1;
  for (std::size_t k = 0; ok && k < row_shape.size(); ++k) ok = row_shape[k] == 0 || dims[k + 1] == row_shape[k];
  if (!ok)
    fail(where(impl_->path, table) + " has rows of shape " + text(dims, 1) + ", the schema says " + text(row_shape, 0) +
         ": the file was not written by this macrodyn or was changed");
  const std::string group = table.substr(0, table.rfind('/'));
  if (!group.empty() && has_attr(group, "rows_committed") && dims[0] < rows_committed(group))
    fail(where(impl_->path, table) + " has " + std::to_string(dims[0]) + " rows, fewer than the " +
         std::to_string(rows_committed(group)) + " its group has committed");
}

std::vector<std::uint64_t> DatasetReader::shape(const std::string& table) const {
  const std::vector<hsize_t> dims = extent(impl_->table(absolute(table)));
  return {dims.begin(), dims.end()};
}

DType DatasetReader::type(const std::string& table_path) const {
  const std::string table = absolute(table_path);
  Handle type(H5Dget_type(impl_->table(table)), H5Tclose);
  DType t;
  if (!type.valid() || !dtype_of(type.get(), &t))
    fail(where(impl_->path, table) + " has an element type macrodyn does not use");
  return t;
}

std::uint64_t DatasetReader::rows_committed(const std::string& group_path) const {
  const std::string group = absolute(group_path);
  require_kind(impl_->id(), impl_->path, group, Kind::group);
  return attr_uint(group, "rows_committed");
}

void DatasetReader::read_rows(const std::string& table_path, std::uint64_t begin, std::uint64_t rows, DType type,
                              void* out) const {
  const std::string table = absolute(table_path);
  std::vector<std::uint64_t> dims = shape(table);
  if (dims.empty()) fail(where(impl_->path, table) + " is a single value, not a table of rows");
  if (begin > dims[0] || rows > dims[0] - begin)
    fail("cannot read rows [" + std::to_string(begin) + ", " + std::to_string(begin + rows) + ") of " +
         where(impl_->path, table) + ": it has " + std::to_string(dims[0]) + " rows");
  std::vector<std::uint64_t> start(dims.size(), 0);
  start[0] = begin;
  dims[0] = rows;
  read_slab(table, start, dims, type, out);
}

void DatasetReader::read_slab(const std::string& table_path, const std::vector<std::uint64_t>& start,
                              const std::vector<std::uint64_t>& count, DType type, void* out) const {
  const std::string table = absolute(table_path);
  const hid_t dataset = impl_->table(table);
  const std::vector<hsize_t> dims = extent(dataset);
  if (start.size() != dims.size() || count.size() != dims.size())
    throw std::invalid_argument("read_slab of " + where(impl_->path, table) + ": it has " +
                                std::to_string(dims.size()) + " dimensions");
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (start[i] > dims[i] || count[i] > dims[i] - start[i])
      fail("cannot read [" + std::to_string(start[i]) + ", " + std::to_string(start[i] + count[i]) +
           ") along dimension " + std::to_string(i) + " of " + where(impl_->path, table) + ": its extent is " +
           std::to_string(dims[i]));
    if (count[i] == 0) return;
  }
  const std::string cannot_read = "cannot read " + where(impl_->path, table);
  const std::string sentence = cannot_read + ": the file is damaged";
  Handle file_space = checked(H5Dget_space(dataset), H5Sclose, sentence);
  if (!dims.empty()) {
    const std::vector<hsize_t> h_start(start.begin(), start.end()), h_count(count.begin(), count.end());
    require_chunks(dataset, h_start, h_count, cannot_read);
    if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, h_start.data(), nullptr, h_count.data(),
                            nullptr) < 0)
      fail(sentence);
  }
  Handle mem_space = simple_space(std::vector<hsize_t>(count.begin(), count.end()));
  if (H5Dread(dataset, memory_type(type), mem_space.get(), file_space.get(), H5P_DEFAULT, out) < 0)
    fail(sentence);
}

std::string DatasetReader::attr_string(const std::string& object, const std::string& name) const {
  OpenAttr a = impl_->attr(object, name);
  if (a.cls == H5T_STRING && H5Sget_simple_extent_type(a.space.get()) != H5S_SCALAR)
    fail(a.name + " is a list of strings, not a single string");
  const std::vector<std::string> values = read_strings(a);
  return values.empty() ? std::string() : values[0];
}

std::vector<std::string> DatasetReader::attr_strings(const std::string& object, const std::string& name) const {
  return read_strings(impl_->attr(object, name));
}

std::int64_t DatasetReader::attr_int(const std::string& object, const std::string& name) const {
  OpenAttr a = impl_->attr(object, name);
  if (a.cls != H5T_INTEGER) fail(a.name + " is not an integer");
  if (is_unsigned(a)) {  // reading a uint64 as int64 would silently clip
    std::uint64_t value = 0;
    read_number(a, H5T_NATIVE_UINT64, &value);
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail(a.name + " is " + std::to_string(value) + ", too large for a signed 64-bit integer");
    return static_cast<std::int64_t>(value);
  }
  std::int64_t value = 0;
  read_number(a, H5T_NATIVE_INT64, &value);
  return value;
}

std::uint64_t DatasetReader::attr_uint(const std::string& object, const std::string& name) const {
  OpenAttr a = impl_->attr(object, name);
  if (a.cls != H5T_INTEGER) fail(a.name + " is not an integer");
  if (!is_unsigned(a)) {
    std::int64_t value = 0;
    read_number(a, H5T_NATIVE_INT64, &value);
    if (value < 0) fail(a.name + " is " + std::to_string(value) + ", but should not be negative");
    return static_cast<std::uint64_t>(value);
  }
  std::uint64_t value = 0;
  read_number(a, H5T_NATIVE_UINT64, &value);
  return value;
}

double DatasetReader::attr_double(const std::string& object, const std::string& name) const {
  OpenAttr a = impl_->attr(object, name);
  if (a.cls != H5T_INTEGER && a.cls != H5T_FLOAT) fail(a.name + " is not a number");
  double value = 0;
  read_number(a, H5T_NATIVE_DOUBLE, &value);
  return value;
}

std::vector<std::string> DatasetReader::attr_names(const std::string& object_path) const {
  const std::string object = absolute(object_path);
  require_object(impl_->id(), impl_->path, object);
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t index = 0;
  if (H5Aiterate_by_name(impl_->id(), object.c_str(), H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names,
                         H5P_DEFAULT) < 0)
    fail("cannot list the attributes of " + where(impl_->path, object) + ": the file is damaged");
  return names;
}

bool DatasetReader::has_attr(const std::string& object_path, const std::string& name) const {
  const std::string object = absolute(object_path);
  require_object(impl_->id(), impl_->path, object);
  return H5Aexists_by_name(impl_->id(), object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

}  // namespace macrodyn::io
