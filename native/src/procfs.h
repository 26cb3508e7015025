#pragma once
// Reading /proc files: they report size 0, so read until EOF (scan.cc, procs.cc).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace shm {

// A reusable buffer for whole /proc files, one per thread and purpose: reads go straight into it
// (no copy through a stack buffer, no zero-fill), and it keeps its size between files, so a scan
// of 600 processes allocates a handful of times. A seq_file fills the whole buffer of one read(),
// so a 6 MB maps file is a few dozen reads once the buffer has grown. Always NUL-terminated.
class ProcBuf {
 public:
  // The rest of the open file fd, which is closed. False with errno set when it cannot be read.
  bool Read(int fd) {
    len_ = 0;
    for (;;) {
      if (cap_ - len_ < 4096 + 1) Grow();
      ssize_t n = read(fd, p_.get() + len_, cap_ - len_ - 1);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        close(fd);
        len_ = 0;
        p_[0] = '\0';
        errno = err;
        return false;
      }
      if (n == 0) break;
      len_ += static_cast<size_t>(n);
    }
    close(fd);
    p_[len_] = '\0';
    return true;
  }
  // `name` in the directory dirfd (an open /proc/PID: no walk from /proc each time), or a whole path.
  bool ReadAt(int dirfd, const char* name) {
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    return fd >= 0 && Read(fd);
  }
  bool ReadPath(const char* path) { return ReadAt(AT_FDCWD, path); }

  const char* data() const { return p_.get(); }
  char* data() { return p_.get(); }
  size_t size() const { return len_; }
  bool empty() const { return len_ == 0; }
  std::string_view view() const { return std::string_view(p_.get(), len_); }
  // Drops the last n bytes (a trailing NUL of cmdline).
  void Shrink(size_t n) { p_[len_ -= n] = '\0'; }

 private:
  void Grow() {
    size_t cap = cap_ == 0 ? 16384 : cap_ * 2;
    std::unique_ptr<char[]> p(new char[cap]);
    if (len_ > 0) std::memcpy(p.get(), p_.get(), len_);
    p_ = std::move(p);
    cap_ = cap;
  }
  std::unique_ptr<char[]> p_;
  size_t cap_ = 0, len_ = 0;
};

// A whole (small) /proc file into `out`; false with errno set when it cannot be opened or read.
inline bool ReadProcFile(const char* path, std::string& out) {
  ProcBuf b;
  if (!b.ReadPath(path)) return false;
  out.assign(b.data(), b.size());
  return true;
}

}  // namespace shm
