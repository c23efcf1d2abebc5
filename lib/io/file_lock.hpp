#pragma once
// An exclusive lock on an output file, held for the writer's life (flock, advisory).
//
// Why our own lock: HDF5 1.10's H5Fcreate truncates the file *before* it takes its own
// lock, so a second writer that HDF5 then refuses has already destroyed the first
// writer's data. We lock first, without truncating, and refuse on contention; only
// then does HDF5 create the file (with its own locking off for that access, since its
// flock on another descriptor would conflict with ours). Readers that use HDF5's
// locking (its default) are refused while we hold the lock, as before. The MPI-IO
// driver takes no lock at all, so for a parallel file one rank holds a FileLock.
#include <string>

namespace macrodyn::io {

class FileLock {
 public:
  // Opens (creating if missing, never truncating) `path` and takes an exclusive,
  // non-blocking flock. Throws FileError "cannot create 'path': <why>" when another
  // program holds the file or it cannot be opened for writing.
  explicit FileLock(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Whether the constructor created the file (removed again by discard_if_created).
  bool created() const { return created_; }
  // Removes the file if this lock created it and nothing was written (a failed create).
  void discard_if_created();

  // Whether a FileLock of this process holds `path` (the same file, however spelled):
  // a reader then opens it as the writer did, with HDF5's locking off, since HDF5
  // refuses to open one file twice with different locking settings.
  static bool held_in_this_process(const std::string& path);

 private:
  std::string path_;
  int fd_ = -1;
  unsigned long long device_ = 0, inode_ = 0;
  bool created_ = false;
};

}  // namespace macrodyn::io
