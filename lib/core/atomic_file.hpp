#pragma once
// Whole files written so that a reader never sees a torn one and a failure leaves the
// previous file (or none) in place: write PATH.tmp, check every write and the flush to
// disk, then rename over PATH. A full disk or an unwritable directory becomes one
// FileError sentence naming the file (model files, checkpoints, reports).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/error.hpp"

namespace macrodyn {

inline void write_file_atomically(const std::string& path, const void* data, std::size_t bytes) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](int err) {
    ::unlink(tmp.c_str());
    throw FileError("cannot write '" + path + "': " + std::strerror(err));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    throw FileError("cannot write '" + path + "': " + std::strerror(err));
  }
  const char* p = static_cast<const char*>(data);
  std::size_t left = bytes;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      fail(err);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail(err);
  }
  if (::close(fd) != 0) fail(errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(errno);
}

inline void write_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, text.data(), text.size());
}

}  // namespace macrodyn
