// DatasetWriter (dataset.hpp): creates a dataset file and appends rows under the crash
// rule below; the HDF5 helpers it shares with the reader are in hdf5_util.hpp.
#include "io/dataset.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

#include "io/file_lock.hpp"
#include "io/hdf5_util.hpp"

namespace macrodyn::io {

using namespace detail;  // the helpers, as unqualified as when they were in this file

// =======================================================================================
// Writer
//
// Crash rule and compression. HDF5 rewrites a chunk whenever rows are added to it; a
// compressed chunk that changes size moves, and HDF5 at once gives its old place to the
// next allocation. If that chunk was written by a commit, the committed metadata still
// points to the old place, which other data may overwrite before the next commit: a
// SIGKILL then loses committed rows (it did in most kills before this scheme). So no
// chunk written by a commit ever moves:
//  - appended rows gather in a one-chunk buffer per table; a chunk goes to HDF5 (through
//    its filters) only once complete, and is written once;
//  - a commit writes the incomplete chunk unfiltered at full size (H5Dwrite_chunk with
//    every filter masked off); it stays unfiltered until complete, so each later
//    rewrite has the same size, lands in place and leaves the committed bytes as they
//    were.
// Cost: at most one uncompressed chunk per table and commit, and one chunk of memory.

namespace {
struct Table {
  Handle dataset;
  DType type = DType::f64;
  std::vector<hsize_t> row_shape;
  hsize_t chunk_rows = 1;
  std::size_t row_bytes = 0;
  bool convert = false;            // native byte order differs from the file's
  std::uint32_t unfiltered = 0;    // H5Dwrite_chunk mask that skips every filter
  hsize_t rows = 0;                // rows appended
  hsize_t extent = 0;              // rows the dataset's extent covers
  std::vector<unsigned char> tail;  // the incomplete last chunk, in file byte order
  bool tail_unfiltered = false;    // a commit wrote the incomplete chunk unfiltered

  hsize_t tail_rows() const { return rows % chunk_rows; }
};

std::vector<hsize_t> row_major_box(hsize_t rows, const std::vector<hsize_t>& row_shape) {
  std::vector<hsize_t> box{rows};
  box.insert(box.end(), row_shape.begin(), row_shape.end());
  return box;
}

void grow_extent(Table& t, const std::string& sentence) {
  if (t.extent >= t.rows) return;
  const std::vector<hsize_t> dims = row_major_box(t.rows, t.row_shape);
  errno = 0;
  if (H5Dset_extent(t.dataset.get(), dims.data()) < 0) fail(sentence + errno_suffix(errno));
  t.extent = t.rows;
}

// Writes the first `rows` rows of the tail buffer, the chunk starting at row `first`,
// through HDF5's filters.
void write_tail_filtered(Table& t, hsize_t first, hsize_t rows, const std::string& sentence) {
  std::vector<hsize_t> start(t.row_shape.size() + 1, 0);
  start[0] = first;
  const std::vector<hsize_t> count = row_major_box(rows, t.row_shape);
  Handle file_space = checked(H5Dget_space(t.dataset.get()), H5Sclose, sentence);
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) < 0)
    fail(sentence);
  Handle mem_space = simple_space(count);
  errno = 0;
  if (H5Dwrite(t.dataset.get(), file_type(t.type), mem_space.get(), file_space.get(), H5P_DEFAULT,
               t.tail.data()) < 0)
    fail(sentence + errno_suffix(errno));
}

// Writes the whole tail buffer as the chunk starting at row `first`, bypassing the
// filters (see above).
void write_tail_unfiltered(Table& t, hsize_t first, const std::string& sentence) {
  std::vector<hsize_t> offset(t.row_shape.size() + 1, 0);
  offset[0] = first;
  errno = 0;
  if (H5Dwrite_chunk(t.dataset.get(), H5P_DEFAULT, t.unfiltered, offset.data(), t.tail.size(), t.tail.data()) < 0)
    fail(sentence + errno_suffix(errno));
  t.tail_unfiltered = true;
}

void flush(hid_t file, const std::string& path) {
  errno = 0;
  if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) fail("cannot flush " + in_quotes(path) + errno_suffix(errno));
}

// Hands a just completed tail chunk to HDF5 and empties the buffer.
void write_complete_tail(Table& t, const std::string& sentence) {
  grow_extent(t, sentence);
  const hsize_t first = t.rows - t.chunk_rows;
  if (t.tail_unfiltered) write_tail_unfiltered(t, first, sentence);
  else write_tail_filtered(t, first, t.chunk_rows, sentence);
  t.tail_unfiltered = false;
  std::fill(t.tail.begin(), t.tail.end(), 0);  // zero padding keeps files reproducible
}
}  // namespace

struct DatasetWriter::Impl {
  std::string path;
  std::unique_ptr<FileLock> lock;       // released after the file is closed
  Handle file;                          // declared before the tables: closed after them
  std::map<std::string, Table> tables;  // kept open: append() is called often

  std::string cannot_write(const std::string& table) const { return "cannot write " + where(path, table); }
};

DatasetWriter::DatasetWriter(const std::string& path, const RootInfo& info, Locking locking)
    : impl_(std::make_unique<Impl>()) {
  silence_hdf5();
  impl_->path = path;
  // Our lock first, without truncating: HDF5 truncates before it locks (file_lock.hpp).
  if (locking == Locking::take) impl_->lock = std::make_unique<FileLock>(path);
  // Default creation properties and library-version bounds, which is what keeps a
  // SIGKILLed file readable (docs/design.md §5.2); HDF5's own lock is off because
  // ours is held (HDF5_USE_FILE_LOCKING would override that: see keep_writer_locking).
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "cannot create " + in_quotes(path));
  H5Pset_file_locking(fapl.get(), false, true);
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (file < 0) {
    const std::string why = create_failure_reason(path);
    if (impl_->lock) impl_->lock->discard_if_created();
    fail("cannot create " + in_quotes(path) + ": " + why);
  }
  impl_->file = Handle(file, H5Fclose);

  set_attr("/", "schema", std::string(kSchemaName));
  set_attr("/", "schema_version", kSchemaVersion);
  set_attr("/", "macrodyn_version", info.macrodyn_version);
  set_attr("/", "created", iso8601_utc_now());
  write_number_attr(file, path, "/", "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, info.seed);
  set_attr("/", "system", info.system);
  set_attr("/", "config", info.config);
}

// Rows appended since the last commit are written too (readers still ignore them);
// errors are swallowed: a destructor must not throw.
DatasetWriter::~DatasetWriter() {
  if (!impl_) return;
  for (auto& [name, t] : impl_->tables) {
    if (t.tail_rows() == 0) continue;
    try {
      const std::string sentence = impl_->cannot_write(name);
      const hsize_t first = t.rows - t.tail_rows();
      grow_extent(t, sentence);
      if (t.tail_unfiltered) write_tail_unfiltered(t, first, sentence);
      else write_tail_filtered(t, first, t.tail_rows(), sentence);
    } catch (const std::exception&) {
    }
  }
}

const std::string& DatasetWriter::path() const { return impl_->path; }

void DatasetWriter::create_group(const std::string& group_path, const GroupInfo& info) {
  const hid_t file = impl_->file.get();
  const std::string group = absolute(group_path);
  if (kind_of(file, group) != Kind::missing) fail(where(impl_->path, group) + " already exists");
  Handle lcpl = link_creation_with_parents();
  checked(H5Gcreate2(file, group.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
          "cannot create group " + where(impl_->path, group));
  set_attr(group, "rows_committed", std::int64_t{0});
  set_attr(group, "K", info.K);
  set_attr(group, "patch", info.patch);
  set_attr(group, "L", info.L);
  set_attr(group, "boundary", info.boundary);
  write_strings_attr(file, impl_->path, group, "observables", info.observables);
}

void DatasetWriter::create_table(const std::string& table_path, DType type,
                                 const std::vector<std::uint64_t>& row_shape, std::uint64_t chunk_rows,
                                 bool compress) {
  const hid_t file = impl_->file.get();
  const std::string table = absolute(table_path);
  const std::string sentence = "cannot create table " + where(impl_->path, table);
  if (chunk_rows == 0) throw std::invalid_argument(sentence + ": chunk_rows is 0");
  if (kind_of(file, table) != Kind::missing) fail(where(impl_->path, table) + " already exists");

  Table t;
  t.type = type;
  t.row_shape.assign(row_shape.begin(), row_shape.end());
  t.chunk_rows = chunk_rows;
  t.row_bytes = dtype_size(type);
  for (hsize_t n : t.row_shape) {
    if (n == 0) throw std::invalid_argument(sentence + ": a row dimension is 0");
    t.row_bytes *= n;
  }
  // HDF5's limit on one chunk.
  if (static_cast<double>(chunk_rows) * static_cast<double>(t.row_bytes) >= 4294967296.0)
    throw std::invalid_argument(sentence + ": a chunk would exceed 4 GiB");

  std::vector<hsize_t> maxdims = row_major_box(H5S_UNLIMITED, t.row_shape);
  Handle space = simple_space(row_major_box(0, t.row_shape), &maxdims);
  Handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, sentence);
  const std::vector<hsize_t> chunk = row_major_box(chunk_rows, t.row_shape);
  if (H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) < 0) fail(sentence);
  if (compress && (H5Pset_shuffle(dcpl.get()) < 0 || H5Pset_deflate(dcpl.get(), 4) < 0))
    fail(sentence + ": deflate compression is not available");
  t.unfiltered = compress ? 0x3u : 0u;  // bit i skips filter i: shuffle, deflate
  Handle lcpl = link_creation_with_parents();
  t.dataset = checked(
      H5Dcreate2(file, table.c_str(), file_type(type), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
      H5Dclose, sentence);
  t.convert = H5Tequal(file_type(type), memory_type(type)) <= 0;
  t.tail.assign(chunk_rows * t.row_bytes, 0);
  impl_->tables[table] = std::move(t);
}

void DatasetWriter::append(const std::string& table_path, const void* data, std::uint64_t rows) {
  const std::string table = absolute(table_path);
  auto it = impl_->tables.find(table);
  if (it == impl_->tables.end())
    throw std::invalid_argument(where(impl_->path, table) + " was not created with create_table");
  Table& t = it->second;
  const std::string sentence = "cannot append " + std::to_string(rows) + " rows to " + where(impl_->path, table);
  const auto* next = static_cast<const unsigned char*>(data);
  while (rows > 0) {
    const hsize_t take = std::min<hsize_t>(rows, t.chunk_rows - t.tail_rows());
    unsigned char* dest = t.tail.data() + t.tail_rows() * t.row_bytes;
    std::memcpy(dest, next, take * t.row_bytes);
    if (t.convert &&
        H5Tconvert(memory_type(t.type), file_type(t.type), take * t.row_bytes / dtype_size(t.type), dest,
                   nullptr, H5P_DEFAULT) < 0)
      fail(sentence);
    next += take * t.row_bytes;
    rows -= take;
    t.rows += take;
    if (t.tail_rows() == 0) write_complete_tail(t, sentence);
  }
}

void DatasetWriter::write_array(const std::string& array_path, DType type,
                                const std::vector<std::uint64_t>& shape, const void* data) {
  const hid_t file = impl_->file.get();
  const std::string array = absolute(array_path);
  const std::string sentence = "cannot write array " + where(impl_->path, array);
  if (kind_of(file, array) != Kind::missing) fail(where(impl_->path, array) + " already exists");
  Handle space = simple_space(std::vector<hsize_t>(shape.begin(), shape.end()));
  Handle lcpl = link_creation_with_parents();
  Handle dataset = checked(
      H5Dcreate2(file, array.c_str(), file_type(type), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose, sentence);
  errno = 0;
  if (H5Dwrite(dataset.get(), memory_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(sentence + errno_suffix(errno));
}

void DatasetWriter::create_fixed_table(const std::string& table_path, DType type,
                                       const std::vector<std::uint64_t>& shape) {
  const hid_t file = impl_->file.get();
  const std::string table = absolute(table_path);
  const std::string sentence = "cannot create table " + where(impl_->path, table);
  if (kind_of(file, table) != Kind::missing) fail(where(impl_->path, table) + " already exists");
  Handle space = simple_space(std::vector<hsize_t>(shape.begin(), shape.end()));
  Handle lcpl = link_creation_with_parents();
  // Allocated now so that parallel writers (MPI-IO) need no collective allocation later;
  // never filled, so creating a table of many large snapshots writes nothing.
  Handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, sentence);
  if (H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS) < 0 || H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY) < 0 ||
      H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER) < 0)
    fail(sentence);
  errno = 0;
  const hid_t d = H5Dcreate2(file, table.c_str(), file_type(type), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT);
  if (d < 0) fail(sentence + errno_suffix(errno));
  H5Dclose(d);
}

void DatasetWriter::link_external(const std::string& object_path, const std::string& target_file,
                                  const std::string& target_object) {
  const std::string object = absolute(object_path);
  Handle lcpl = link_creation_with_parents();
  if (H5Lcreate_external(target_file.c_str(), absolute(target_object).c_str(), impl_->file.get(), object.c_str(),
                         lcpl.get(), H5P_DEFAULT) < 0)
    fail("cannot link " + where(impl_->path, object) + " to " + where(target_file, target_object));
}

void DatasetWriter::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  write_string_attr(impl_->file.get(), impl_->path, absolute(object), name, value);
}

void DatasetWriter::set_attr(const std::string& object, const std::string& name, std::int64_t value) {
  write_number_attr(impl_->file.get(), impl_->path, absolute(object), name, H5T_STD_I64LE,
                    H5T_NATIVE_INT64, value);
}

void DatasetWriter::set_attr(const std::string& object, const std::string& name, double value) {
  write_number_attr(impl_->file.get(), impl_->path, absolute(object), name, H5T_IEEE_F64LE,
                    H5T_NATIVE_DOUBLE, value);
}

void DatasetWriter::set_attr(const std::string& object, const std::string& name,
                             const std::vector<std::string>& values) {
  write_strings_attr(impl_->file.get(), impl_->path, absolute(object), name, values);
}

void DatasetWriter::commit(const std::string& group_path, std::uint64_t rows) {
  const std::string group = absolute(group_path);
  require_kind(impl_->file.get(), impl_->path, group, Kind::group);
  const std::string prefix = group == "/" ? "/" : group + "/";
  for (auto& [name, t] : impl_->tables) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;  // another group's table
    // Committing rows that were never appended would make readers trust missing data.
    const bool direct_child = name.find('/', prefix.size()) == std::string::npos;
    if (direct_child && t.rows < rows)
      throw std::invalid_argument("cannot commit " + std::to_string(rows) + " rows of " +
                                  where(impl_->path, group) + ": " + in_quotes(name) + " has only " +
                                  std::to_string(t.rows));
    // Crash rule, first the rows...
    grow_extent(t, impl_->cannot_write(name));
    if (t.tail_rows() > 0) write_tail_unfiltered(t, t.rows - t.tail_rows(), impl_->cannot_write(name));
  }
  // ...on disk with all the metadata that describes them, before rows_committed
  // changes: a kill during this flush leaves the previous rows_committed...
  flush(impl_->file.get(), impl_->path);
  // ...and the second flush writes little more than the group's object header.
  set_attr(group, "rows_committed", static_cast<std::int64_t>(rows));
  flush(impl_->file.get(), impl_->path);
}

}  // namespace macrodyn::io
