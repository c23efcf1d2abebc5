// The HDF5 helpers that dataset_writer.cpp and dataset_reader.cpp share (hdf5_util.hpp
// says what each does): error sentences, handles, element types, object paths, attributes.
#include "io/hdf5_util.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "core/error.hpp"

namespace macrodyn::io {
namespace {

// HDF5_USE_FILE_LOCKING = TRUE/1/BEST_EFFORT overrides the writer's "no HDF5 lock"
// property, and HDF5's flock would then collide with our FileLock. Those values ask
// for what is HDF5's default anyway (readers lock), so they are dropped before main();
// FALSE (read files that are being written) is kept. Runs single-threaded, at load.
[[maybe_unused]] const bool keep_writer_locking = [] {
  const char* v = std::getenv("HDF5_USE_FILE_LOCKING");
  if (v != nullptr && std::strcmp(v, "FALSE") != 0 && std::strcmp(v, "0") != 0) unsetenv("HDF5_USE_FILE_LOCKING");
  return true;
}();

}  // namespace

namespace detail {

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
// Handles

// Wraps a freshly created id; a negative id (HDF5 failure) throws `sentence`.
Handle checked(hid_t id, Handle::Closer close, const std::string& sentence) {
  if (id < 0) fail(sentence);
  return Handle(id, close);
}

Handle simple_space(const std::vector<hsize_t>& dims, const std::vector<hsize_t>* maxdims) {
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
    case DType::u8: return H5T_STD_U8LE;
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
    case DType::u8: return H5T_NATIVE_UINT8;
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
  } else if (cls == H5T_INTEGER && size == 1) {
    return *out = DType::u8, true;
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

}  // namespace detail
}  // namespace macrodyn::io
