// HDF5 datasets, schema v1 (docs/design.md §5): the only place that talks to the HDF5 C library.
//
// Every failure becomes a FileError with one sentence naming the file (and the object);
// HDF5's own error-stack printing is switched off so that users see only that sentence.
// The serial API is used throughout (H5P_DEFAULT file access): it needs no MPI_Init even
// with the openmpi flavour of the library.
#include "io/dataset.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>

#include "core/error.hpp"
#include "io/file_lock.hpp"

namespace macrodyn::io {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Errors

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

[[noreturn]] void fail(const std::string& sentence) { throw FileError(sentence); }

// "'/pairs/dt' in 'x.h5'"
std::string where(const std::string& file, const std::string& object) {
  return in_quotes(object) + " in " + in_quotes(file);
}

// HDF5 prints its whole error stack to stderr by default. Called by every constructor:
// the setting is per thread in thread-safe builds of the library.
void silence_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// HDF5_USE_FILE_LOCKING = TRUE/1/BEST_EFFORT overrides the writer's "no HDF5 lock"
// property, and HDF5's flock would then collide with our FileLock. Those values ask
// for what is HDF5's default anyway (readers lock), so they are dropped before main();
// FALSE (read files that are being written) is kept. Runs single-threaded, at load.
[[maybe_unused]] const bool keep_writer_locking = [] {
  const char* v = std::getenv("HDF5_USE_FILE_LOCKING");
  if (v != nullptr && std::strcmp(v, "FALSE") != 0 && std::strcmp(v, "0") != 0) unsetenv("HDF5_USE_FILE_LOCKING");
  return true;
}();

// Whether the error stack left by the last failed HDF5 call holds minor error `minor`;
// used to tell a locked file from a damaged one.
bool error_stack_has(hid_t minor) {
  struct Search {
    hid_t minor;
    bool found;
  } search{minor, false};
  auto visit = [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
    auto* s = static_cast<Search*>(data);
    if (e->min_num == s->minor) s->found = true;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, visit, &search);
  return search.found;
}

// ": No space left on device" when a failed write set errno, else "".
std::string errno_suffix(int err) { return err != 0 ? std::string(": ") + std::strerror(err) : ""; }

// ---------------------------------------------------------------------------------------
// Handles: every hid_t is closed exactly once, also when an exception unwinds.

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  void reset() {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// Wraps a freshly created id; a negative id (HDF5 failure) throws `sentence`.
Handle checked(hid_t id, Handle::Closer close, const std::string& sentence) {
  if (id < 0) fail(sentence);
  return Handle(id, close);
}

Handle simple_space(const std::vector<hsize_t>& dims, const std::vector<hsize_t>* maxdims = nullptr) {
  if (dims.empty()) return checked(H5Screate(H5S_SCALAR), H5Sclose, "cannot create an HDF5 dataspace");
  return checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(),
                                  maxdims != nullptr ? maxdims->data() : nullptr),
                 H5Sclose, "cannot create an HDF5 dataspace");
}

Handle utf8_string_type() {
  Handle t = checked(H5Tcopy(H5T_C_S1), H5Tclose, "cannot create an HDF5 string type");
  // Variable length: the text lives in the global heap, so even a long config stays
  // clear of the 64 KiB limit on attributes in the object header.
  if (H5Tset_size(t.get(), H5T_VARIABLE) < 0 || H5Tset_cset(t.get(), H5T_CSET_UTF8) < 0)
    fail("cannot create an HDF5 string type");
  return t;
}

// ---------------------------------------------------------------------------------------
// Element types

hid_t file_type(DType t) {
  switch (t) {
    case DType::i8: return H5T_STD_I8LE;
    case DType::i32: return H5T_STD_I32LE;
    case DType::i64: return H5T_STD_I64LE;
    case DType::f32: return H5T_IEEE_F32LE;
    case DType::f64: return H5T_IEEE_F64LE;
  }
  throw std::invalid_argument("unknown DType");
}

hid_t memory_type(DType t) {
  switch (t) {
    case DType::i8: return H5T_NATIVE_INT8;
    case DType::i32: return H5T_NATIVE_INT32;
    case DType::i64: return H5T_NATIVE_INT64;
    case DType::f32: return H5T_NATIVE_FLOAT;
    case DType::f64: return H5T_NATIVE_DOUBLE;
  }
  throw std::invalid_argument("unknown DType");
}

// The DType of an HDF5 element type, or false for the types macrodyn never writes.
bool dtype_of(hid_t type, DType* out) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_2) {
    if (size == 1) return *out = DType::i8, true;
    if (size == 4) return *out = DType::i32, true;
    if (size == 8) return *out = DType::i64, true;
  } else if (cls == H5T_FLOAT) {
    if (size == 4) return *out = DType::f32, true;
    if (size == 8) return *out = DType::f64, true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Objects

// Object paths are absolute ("/pairs/dt"); a relative one is taken from the root.
std::string absolute(const std::string& object) {
  return !object.empty() && object[0] == '/' ? object : "/" + object;
}

std::vector<std::string> components(const std::string& object) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (begin <= object.size()) {
    std::size_t end = object.find('/', begin);
    if (end == std::string::npos) end = object.size();
    if (end > begin) parts.push_back(object.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

enum class Kind { missing, group, table, other };

Kind kind_of(hid_t file, const std::string& object) {
  const std::vector<std::string> parts = components(object);
  if (parts.empty()) return Kind::group;  // the root
  // H5Lexists fails (rather than answering false) when an intermediate group is
  // missing, so walk down the path.
  std::string prefix;
  for (const std::string& part : parts) {
    prefix += "/" + part;
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return Kind::missing;
  }
  if (H5Oexists_by_name(file, prefix.c_str(), H5P_DEFAULT) <= 0) return Kind::missing;  // dangling soft link
  Handle obj(H5Oopen(file, prefix.c_str(), H5P_DEFAULT), H5Oclose);
  if (!obj.valid()) return Kind::missing;
  switch (H5Iget_type(obj.get())) {
    case H5I_GROUP: return Kind::group;
    case H5I_DATASET: return Kind::table;
    default: return Kind::other;
  }
}

void require_kind(hid_t file, const std::string& file_path, const std::string& object, Kind want) {
  const Kind kind = kind_of(file, object);
  if (kind == want) return;
  const char* noun = want == Kind::group ? "group" : "table";
  if (kind == Kind::missing) fail(in_quotes(file_path) + " has no " + noun + " " + in_quotes(object));
  fail(where(file_path, object) + " is not a " + noun);
}

void require_object(hid_t file, const std::string& file_path, const std::string& object) {
  const Kind kind = kind_of(file, object);
  if (kind == Kind::missing) fail(in_quotes(file_path) + " has no group or table " + in_quotes(object));
  if (kind == Kind::other) fail(where(file_path, object) + " is neither a group nor a table");
}

Handle open_table(hid_t file, const std::string& file_path, const std::string& table) {
  require_kind(file, file_path, table, Kind::table);
  return checked(H5Dopen2(file, table.c_str(), H5P_DEFAULT), H5Dclose,
                 "cannot open " + where(file_path, table) + ": the file is damaged");
}

std::vector<hsize_t> extent(hid_t dataset) {
  Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (rank < 0) return {};
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

// Every chunk of a box of a chunked table must exist. The writer writes every chunk up
// to rows_committed before committing, so a missing one means a damaged file (a kill
// in the middle of a commit's flush can leave the chunk index torn), which HDF5 would
// otherwise read back as zeros without a word.
void require_chunks(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                    const std::string& sentence) {
  Handle dcpl(H5Dget_create_plist(dataset), H5Pclose);
  if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return;
  const std::size_t rank = start.size();
  std::vector<hsize_t> chunk(rank), first(rank), last(rank), offset(rank);
  if (rank == 0 || H5Pget_chunk(dcpl.get(), static_cast<int>(rank), chunk.data()) != static_cast<int>(rank))
    fail(sentence + ": the file is damaged");
  for (std::size_t k = 0; k < rank; ++k) {
    first[k] = start[k] / chunk[k];
    last[k] = (start[k] + count[k] - 1) / chunk[k];
  }
  std::vector<hsize_t> at = first;  // chunk grid coordinates, advanced like an odometer
  for (;;) {
    for (std::size_t k = 0; k < rank; ++k) offset[k] = at[k] * chunk[k];
    // Looks the chunk up as H5Dread does (H5Dget_chunk_info_by_coord scans the whole
    // index instead, and still finds chunks that a torn index hides from H5Dread).
    hsize_t size = 0;
    if (H5Dget_chunk_storage_size(dataset, offset.data(), &size) < 0 || size == 0)
      fail(sentence + ": the chunk holding row " + std::to_string(offset[0]) +
           " is missing (the file was damaged, e.g. by a kill during a commit)");
    std::size_t k = rank - 1;
    while (at[k] == last[k]) {
      if (k == 0) return;
      at[k] = first[k];
      --k;
    }
    ++at[k];
  }
}

Handle link_creation_with_parents() {
  Handle lcpl = checked(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "cannot create an HDF5 property list");
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  return lcpl;
}

// ---------------------------------------------------------------------------------------
// Attributes

// Attributes are reached through an open object: in HDF5 1.10.8, H5Awrite on an
// attribute opened with H5Aopen_by_name fails ("can't locate open attribute?") when the
// object itself is not open.
Handle open_object(hid_t file, const std::string& file_path, const std::string& object) {
  require_object(file, file_path, object);
  return checked(H5Oopen(file, object.c_str(), H5P_DEFAULT), H5Oclose,
                 "cannot open " + where(file_path, object) + ": the file is damaged");
}

// Writes attribute `name` of `object`. An existing attribute of the same type and shape
// is overwritten in place: commit() rewrites rows_committed this way, so the object
// header never has to be rearranged between two flushes.
void write_attr(hid_t file, const std::string& file_path, const std::string& object,
                const std::string& name, hid_t stored_type, hid_t mem_type, hid_t space, const void* data) {
  const std::string sentence = "cannot write attribute " + in_quotes(name) + " of " + where(file_path, object);
  Handle obj = open_object(file, file_path, object);
  const htri_t exists = H5Aexists(obj.get(), name.c_str());
  if (exists < 0) fail(sentence);
  if (exists > 0) {
    Handle attr = checked(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), H5Aclose, sentence);
    Handle old_type(H5Aget_type(attr.get()), H5Tclose);
    Handle old_space(H5Aget_space(attr.get()), H5Sclose);
    if (H5Tequal(old_type.get(), stored_type) > 0 && H5Sextent_equal(old_space.get(), space) > 0) {
      if (H5Awrite(attr.get(), mem_type, data) < 0) fail(sentence);
      return;
    }
    attr = Handle();
    if (H5Adelete(obj.get(), name.c_str()) < 0) fail(sentence);
  }
  Handle attr =
      checked(H5Acreate2(obj.get(), name.c_str(), stored_type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, sentence);
  if (H5Awrite(attr.get(), mem_type, data) < 0) fail(sentence);
}

void write_string_attr(hid_t file, const std::string& file_path, const std::string& object,
                       const std::string& name, const std::string& value) {
  Handle type = utf8_string_type();
  Handle space = simple_space({});
  const char* text = value.c_str();
  write_attr(file, file_path, object, name, type.get(), type.get(), space.get(), &text);
}

void write_strings_attr(hid_t file, const std::string& file_path, const std::string& object,
                        const std::string& name, const std::vector<std::string>& values) {
  Handle type = utf8_string_type();
  Handle space = simple_space({values.size()});
  std::vector<const char*> texts;
  for (const std::string& v : values) texts.push_back(v.c_str());
  if (texts.empty()) texts.push_back(nullptr);  // H5Awrite refuses a null buffer, even for 0 elements
  write_attr(file, file_path, object, name, type.get(), type.get(), space.get(), texts.data());
}

template <class T>
void write_number_attr(hid_t file, const std::string& file_path, const std::string& object,
                       const std::string& name, hid_t stored_type, hid_t mem_type, T value) {
  Handle space = simple_space({});
  write_attr(file, file_path, object, name, stored_type, mem_type, space.get(), &value);
}

// An open attribute together with what the readers need to know about it.
struct OpenAttr {
  Handle object, attr, type, space;
  H5T_class_t cls = H5T_NO_CLASS;
  hssize_t count = 0;  // number of elements
  std::string name;    // "attribute 'K' of '/pairs' in 'x.h5'", for messages
};

OpenAttr open_attr(hid_t file, const std::string& file_path, const std::string& object,
                   const std::string& name) {
  OpenAttr a;
  a.object = open_object(file, file_path, object);
  a.name = "attribute " + in_quotes(name) + " of " + where(file_path, object);
  const htri_t exists = H5Aexists(a.object.get(), name.c_str());
  if (exists == 0) fail(where(file_path, object) + " has no attribute " + in_quotes(name));
  const std::string damaged = "cannot read " + a.name + ": the file is damaged";
  if (exists < 0) fail(damaged);
  a.attr = checked(H5Aopen(a.object.get(), name.c_str(), H5P_DEFAULT), H5Aclose, damaged);
  a.type = checked(H5Aget_type(a.attr.get()), H5Tclose, damaged);
  a.space = checked(H5Aget_space(a.attr.get()), H5Sclose, damaged);
  a.cls = H5Tget_class(a.type.get());
  a.count = H5Sget_simple_extent_npoints(a.space.get());
  if (a.count < 0) fail(damaged);
  return a;
}

// Reads every element of a string attribute, variable or fixed length, whatever its
// padding. The memory type keeps the stored character set: HDF5 refuses to convert
// between ASCII and UTF-8 strings.
std::vector<std::string> read_strings(const OpenAttr& a) {
  if (a.cls != H5T_STRING) fail(a.name + " is not a string");
  const auto count = static_cast<std::size_t>(a.count);
  if (count == 0) return {};
  const std::string damaged = "cannot read " + a.name + ": the file is damaged";
  Handle mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, damaged);
  H5Tset_cset(mem.get(), H5Tget_cset(a.type.get()));
  std::vector<std::string> out;
  if (H5Tis_variable_str(a.type.get()) > 0) {
    H5Tset_size(mem.get(), H5T_VARIABLE);
    std::vector<char*> texts(count, nullptr);
    if (H5Aread(a.attr.get(), mem.get(), texts.data()) < 0) fail(damaged);
    for (char* t : texts) out.emplace_back(t != nullptr ? t : "");
    H5Dvlen_reclaim(mem.get(), a.space.get(), H5P_DEFAULT, texts.data());
    return out;
  }
  const std::size_t size = H5Tget_size(a.type.get());
  const H5T_str_t pad = H5Tget_strpad(a.type.get());
  H5Tset_size(mem.get(), size);
  H5Tset_strpad(mem.get(), pad);
  std::vector<char> buffer(size * count);
  if (H5Aread(a.attr.get(), mem.get(), buffer.data()) < 0) fail(damaged);
  for (std::size_t i = 0; i < count; ++i) {
    std::string s(buffer.data() + i * size, size);
    s.resize(std::strlen(s.c_str()));  // NULLTERM and NULLPAD
    if (pad == H5T_STR_SPACEPAD) s.erase(s.find_last_not_of(' ') + 1);
    out.push_back(std::move(s));
  }
  return out;
}

// Reads a single-element numeric attribute converted to `mem_type`.
void read_number(const OpenAttr& a, hid_t mem_type, void* out) {
  if (a.count != 1) fail(a.name + " is not a single number");
  if (H5Aread(a.attr.get(), mem_type, out) < 0) fail("cannot read " + a.name + ": the file is damaged");
}

bool is_unsigned(const OpenAttr& a) { return H5Tget_sign(a.type.get()) == H5T_SGN_NONE; }

std::string iso8601_utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Why H5Fcreate failed, as the end of a sentence.
std::string create_failure_reason(const std::string& path) {
  if (error_stack_has(H5E_CANTLOCKFILE)) return "the file is open in another program";
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "directory " + in_quotes(dir.string()) + " does not exist";
  if (access(dir.c_str(), W_OK) != 0) return "directory " + in_quotes(dir.string()) + " is not writable";
  if (fs::is_directory(path, ec)) return "it is a directory";
  return "the file cannot be replaced";
}

// Why H5Fopen failed, as the end of a sentence.
std::string open_failure_reason(const std::string& path) {
  if (error_stack_has(H5E_CANTLOCKFILE))
    return "it is being written by another program (set HDF5_USE_FILE_LOCKING=FALSE to read it anyway)";
  if (error_stack_has(H5E_TRUNCATED)) return "the file is truncated";
  if (access(path.c_str(), R_OK) != 0) return "permission denied";
  if (H5Fis_hdf5(path.c_str()) > 0) return "the file is damaged";
  return "not an HDF5 file or truncated";
}

}  // namespace

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::i8: return 1;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::f32: return 4;
    case DType::f64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::i8: return "int8";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
  }
  return "unknown";
}

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
