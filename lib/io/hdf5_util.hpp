#pragma once
// Internal to lib/io: the HDF5 helpers that dataset_writer.cpp and dataset_reader.cpp share.
// It includes hdf5.h (whose openmpi flavour drags in mpi.h), so only lib/io sources may
// include it; public headers such as dataset.hpp stay free of HDF5.
//
// Every failure becomes a FileError with one sentence naming the file (and the object);
// HDF5's own error-stack printing is switched off so that users see only that sentence.
// The serial API is used throughout (H5P_DEFAULT file access): it needs no MPI_Init even
// with the openmpi flavour of the library. (docs/design.md §5 describes the schema.)
#include <hdf5.h>

#include <cstddef>
#include <string>
#include <vector>

#include "io/dataset.hpp"

namespace macrodyn::io::detail {

// ---------------------------------------------------------------------------------------
// Errors

// "'s'": a name quoted for a message.
std::string in_quotes(const std::string& s);
// Throws FileError(sentence).
[[noreturn]] void fail(const std::string& sentence);
// "'/pairs/dt' in 'x.h5'"
std::string where(const std::string& file, const std::string& object);
// Switches off HDF5's printing of its error stack (per thread); every constructor calls it.
void silence_hdf5();
// Whether the error stack of the last failed HDF5 call holds minor error `minor`.
bool error_stack_has(hid_t minor);
// ": No space left on device" when a failed write set errno, else "".
std::string errno_suffix(int err);

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
Handle checked(hid_t id, Handle::Closer close, const std::string& sentence);
// A dataspace of shape `dims` (scalar when empty), extendable up to `maxdims` if given.
Handle simple_space(const std::vector<hsize_t>& dims, const std::vector<hsize_t>* maxdims = nullptr);
// A variable-length UTF-8 string type.
Handle utf8_string_type();

// ---------------------------------------------------------------------------------------
// Element types

// The little-endian type a DType is stored as in the file.
hid_t file_type(DType t);
// The native type of a DType in memory.
hid_t memory_type(DType t);
// The DType of an HDF5 element type, or false for the types macrodyn never writes.
bool dtype_of(hid_t type, DType* out);

// ---------------------------------------------------------------------------------------
// Objects

// Object paths are absolute ("/pairs/dt"); a relative one is taken from the root.
std::string absolute(const std::string& object);
// The non-empty names between the slashes of a path.
std::vector<std::string> components(const std::string& object);

// What a path names in a file.
enum class Kind { missing, group, table, other };

// What `object` is in `file` (missing also for a dangling link or a missing parent).
Kind kind_of(hid_t file, const std::string& object);
// Throws a FileError naming file and object unless `object` is a `want` (group or table).
void require_kind(hid_t file, const std::string& file_path, const std::string& object, Kind want);
// Throws a FileError naming file and object unless `object` is a group or a table.
void require_object(hid_t file, const std::string& file_path, const std::string& object);
// Opens an existing table (dataset); FileError if it is missing or not a table.
Handle open_table(hid_t file, const std::string& file_path, const std::string& table);
// A dataset's current dimensions (empty if they cannot be read).
std::vector<hsize_t> extent(hid_t dataset);
// Throws `sentence` + why unless every chunk of the box [start, start + count) exists.
void require_chunks(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                    const std::string& sentence);
// Link-creation properties that create missing parent groups.
Handle link_creation_with_parents();

// ---------------------------------------------------------------------------------------
// Attributes

// Opens a group or table, through which its attributes are reached.
Handle open_object(hid_t file, const std::string& file_path, const std::string& object);
// Writes attribute `name` of `object`, in place when one of the same type and shape exists.
void write_attr(hid_t file, const std::string& file_path, const std::string& object,
                const std::string& name, hid_t stored_type, hid_t mem_type, hid_t space, const void* data);
// Writes a scalar UTF-8 string attribute.
void write_string_attr(hid_t file, const std::string& file_path, const std::string& object,
                       const std::string& name, const std::string& value);
// Writes a one-dimensional UTF-8 string attribute (a list of strings).
void write_strings_attr(hid_t file, const std::string& file_path, const std::string& object,
                        const std::string& name, const std::vector<std::string>& values);

// Writes a scalar numeric attribute stored as `stored_type` from a `mem_type` value.
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

// Opens attribute `name` of `object`; FileError naming both when it is missing or damaged.
OpenAttr open_attr(hid_t file, const std::string& file_path, const std::string& object,
                   const std::string& name);
// Every element of a string attribute, variable or fixed length, whatever its padding.
std::vector<std::string> read_strings(const OpenAttr& a);
// Reads a single-element numeric attribute converted to `mem_type`.
void read_number(const OpenAttr& a, hid_t mem_type, void* out);
// Whether an (integer) attribute is stored unsigned.
bool is_unsigned(const OpenAttr& a);

// ---------------------------------------------------------------------------------------
// Files

// The time now, e.g. "2024-05-01T12:00:00Z" (the root's `created`).
std::string iso8601_utc_now();
// Why H5Fcreate failed, as the end of a sentence.
std::string create_failure_reason(const std::string& path);
// Why H5Fopen failed, as the end of a sentence.
std::string open_failure_reason(const std::string& path);

}  // namespace macrodyn::io::detail
