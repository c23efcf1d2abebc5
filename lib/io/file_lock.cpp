#include "io/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

#include "core/error.hpp"

namespace macrodyn::io {

namespace {
// (device, inode) of the files this process holds locks on.
std::mutex held_mutex;
std::set<std::pair<unsigned long long, unsigned long long>> held_files;

std::string cannot_create(const std::string& path, const std::string& why) {
  return "cannot create '" + path + "': " + why;
}

// Why open(path, O_RDWR | O_CREAT) failed, as the end of a sentence.
std::string open_failure(const std::string& path, int err) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (err == EISDIR || fs::is_directory(path, ec)) return "it is a directory";
  if (!fs::is_directory(dir, ec)) return "directory '" + dir.string() + "' does not exist";
  if (err == EACCES && fs::exists(path, ec)) return "the file is not writable";
  if (err == EACCES) return "directory '" + dir.string() + "' is not writable";
  return std::strerror(err);
}
}  // namespace

FileLock::FileLock(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd_ >= 0) {
    created_ = true;
  } else if (errno == EEXIST) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd_ < 0) throw FileError(cannot_create(path, open_failure(path, errno)));
  struct stat st {};
  if (fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw FileError(cannot_create(path, "it is not a regular file"));
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw FileError(cannot_create(path, err == EWOULDBLOCK ? "the file is open in another program (nothing was changed)"
                                                           : std::string("cannot lock it: ") + std::strerror(err)));
  }
  device_ = st.st_dev;
  inode_ = st.st_ino;
  std::lock_guard<std::mutex> guard(held_mutex);
  held_files.insert({device_, inode_});
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  {
    std::lock_guard<std::mutex> guard(held_mutex);
    held_files.erase({device_, inode_});
  }
  ::close(fd_);  // releases the flock
}

bool FileLock::held_in_this_process(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  std::lock_guard<std::mutex> guard(held_mutex);
  return held_files.count({static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino)}) > 0;
}

void FileLock::discard_if_created() {
  if (!created_) return;
  ::unlink(path_.c_str());
  created_ = false;
}

}  // namespace macrodyn::io
