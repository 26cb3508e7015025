#pragma once
// Reading /proc files: they report size 0, so read until EOF (scan.cc, procs.cc).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace shm {

// A whole (small) /proc file into `out` (reused); false with errno set when it cannot be opened or read.
inline bool ReadProcFile(const char* path, std::string& out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      errno = err;
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

}  // namespace shm
