#pragma once
// HDF5 datasets, schema v1 (docs/design.md §5). No HDF5 header here: the openmpi flavour of
// hdf5.h drags in mpi.h, so it appears only in lib/io sources.
//
// Layout: tables are extendable datasets chunked along the first axis; each group has
// attrs rows_committed, K, patch, L, boundary, observables. Crash rule: rows are
// written, then rows_committed, then H5Fflush, with the default library-version bounds,
// so a file whose writer was SIGKILLed still opens and its committed rows are complete.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace macrodyn::io {

constexpr const char* kSchemaName = "macrodyn-dataset";
constexpr std::int64_t kSchemaVersion = 1;

// u8: the states of systems whose sites hold unsigned codes (systems/state_layout.hpp).
enum class DType { i8, u8, i32, i64, f32, f64 };

struct RootInfo {
  std::uint64_t seed = 0;
  std::string system;           // the registry name (systems/system.hpp)
  std::string config;           // the resolved INI text
  std::string macrodyn_version;
};

// Attributes every group carries (besides rows_committed).
struct GroupInfo {
  std::int64_t K = 1;
  std::int64_t patch = 0;
  std::int64_t L = 0;
  std::string boundary;                 // "periodic", "frozen", "global" or "none"
  std::vector<std::string> observables;  // column names of observable tables
};

class DatasetWriter {
 public:
  // take: the writer holds an exclusive FileLock on `path` for its life (refused, with
  // the file untouched, while another program has it); held_by_caller: the caller
  // holds that lock already (a FileLock it keeps beyond this writer).
  enum class Locking { take, held_by_caller };

  // Creates (truncates) `path`; throws FileError naming the path if it cannot.
  // Writes the root attrs schema, schema_version, macrodyn_version, created, seed,
  // system, config.
  DatasetWriter(const std::string& path, const RootInfo& info, Locking locking = Locking::take);
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // Creates group `group` (e.g. "/pairs") with its attrs and rows_committed = 0.
  void create_group(const std::string& group, const GroupInfo& info);

  // Creates an extendable table `path` (e.g. "/pairs/dt") of rows of shape row_shape
  // (empty for scalars); chunk_rows rows per chunk; deflate (with shuffle) if compress.
  void create_table(const std::string& path, DType type, const std::vector<std::uint64_t>& row_shape,
                    std::uint64_t chunk_rows, bool compress);

  // Appends `rows` rows (row-major, contiguous) at the current end of the table.
  void append(const std::string& path, const void* data, std::uint64_t rows);

  // Writes a whole fixed-size array (not extendable), e.g. small metadata.
  void write_array(const std::string& path, DType type, const std::vector<std::uint64_t>& shape,
                   const void* data);

  // Creates a fixed-size table (contiguous, storage allocated now, never filled) to be
  // written later in pieces, e.g. by ParallelBlockWriter.
  void create_fixed_table(const std::string& path, DType type, const std::vector<std::uint64_t>& shape);

  // Makes `object` an external link to `target_object` in the file `target_file` (a
  // name relative to this file's directory, which is where readers look for it).
  void link_external(const std::string& object, const std::string& target_file, const std::string& target_object);

  // Attributes on a group or table.
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name, std::int64_t value);
  void set_attr(const std::string& object, const std::string& name, double value);
  // A list of strings (read back with DatasetReader::attr_strings).
  void set_attr(const std::string& object, const std::string& name, const std::vector<std::string>& values);

  // Sets the group's rows_committed to `rows` and flushes the file to disk.
  void commit(const std::string& group, std::uint64_t rows);

  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ObjectInfo {
  std::string path;                   // "/pairs/dt"
  bool is_group = false;
  DType type = DType::f64;            // tables only
  std::vector<std::uint64_t> shape;   // tables only, full extent
};

class DatasetReader {
 public:
  // Opens read-only; throws FileError with a clear sentence naming the file when it
  // does not exist, is not HDF5, is truncated, is not a macrodyn dataset, or has a
  // schema_version other than 1.
  explicit DatasetReader(const std::string& path);
  ~DatasetReader();
  DatasetReader(const DatasetReader&) = delete;
  DatasetReader& operator=(const DatasetReader&) = delete;

  bool has(const std::string& object) const;
  // Throws FileError naming file and object when missing.
  void require(const std::string& object) const;

  // The schema check before a table is read: FileError naming file and table unless it
  // exists with rows of shape `row_shape` (empty for scalars; a 0 entry matches any
  // size) and at least as many rows as its group has committed.
  void require_table(const std::string& table, const std::vector<std::uint64_t>& row_shape) const;

  std::vector<ObjectInfo> list() const;  // every group and table, depth first
  std::vector<std::uint64_t> shape(const std::string& table) const;
  DType type(const std::string& table) const;
  std::uint64_t rows_committed(const std::string& group) const;

  // Reads rows [begin, begin + rows) of a table into `out` (converted to `type`).
  void read_rows(const std::string& table, std::uint64_t begin, std::uint64_t rows, DType type,
                 void* out) const;
  // Reads the box [start, start + count) of a table (one entry per dimension) into `out`,
  // row-major, converted to `type`: parts of rows too large to read whole.
  void read_slab(const std::string& table, const std::vector<std::uint64_t>& start,
                 const std::vector<std::uint64_t>& count, DType type, void* out) const;

  std::string attr_string(const std::string& object, const std::string& name) const;
  std::int64_t attr_int(const std::string& object, const std::string& name) const;
  // For unsigned attributes such as the root's seed (attr_int refuses values >= 2^63).
  std::uint64_t attr_uint(const std::string& object, const std::string& name) const;
  double attr_double(const std::string& object, const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& object, const std::string& name) const;
  // Names of all attributes of an object.
  std::vector<std::string> attr_names(const std::string& object) const;
  bool has_attr(const std::string& object, const std::string& name) const;

  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::size_t dtype_size(DType t);
const char* dtype_name(DType t);

}  // namespace macrodyn::io
