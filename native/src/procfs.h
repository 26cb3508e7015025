#pragma once
// Reading /proc files: they report size 0, so read until EOF; and parsing their maps lines (scan.cc, procs.cc).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
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

// A hex number ending at `stop`, at most 16 digits; p is left past the separator.
inline bool ParseHex(const char*& p, const char* e, uint64_t& v, char stop) {
  const char* q = p;
  v = 0;
  for (; p < e && *p != stop; ++p) {
    int d = (*p >= '0' && *p <= '9') ? *p - '0' : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10 : (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10 : -1;
    if (d < 0 || p - q >= 16) return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  if (p == q || p >= e) return false;
  ++p;  // the separator
  return true;
}

// One line of /proc/PID/maps, or a mapping's first line in smaps: "start-end perms offset major:minor inode   path".
struct MapsLine {
  uint64_t start = 0, end = 0, offset = 0, ino = 0;
  unsigned major = 0, minor = 0;
  char perms[5] = {};
  const char* path = nullptr;  // up to the end of the line; empty for anonymous mappings
};

// Parsed by hand, field by field (sscanf, which re-reads its format for each of 60,000 lines,
// was most of a scan's own time).
inline bool ParseMapsLine(const char* p, const char* e, MapsLine& out) {
  uint64_t major = 0, minor = 0;
  if (!ParseHex(p, e, out.start, '-') || !ParseHex(p, e, out.end, ' ')) return false;
  size_t np = 0;
  while (p < e && *p != ' ') {
    if (np < 4) out.perms[np++] = *p;
    ++p;
  }
  out.perms[np] = '\0';
  if (p >= e) return false;
  ++p;
  if (!ParseHex(p, e, out.offset, ' ') || !ParseHex(p, e, major, ':') || !ParseHex(p, e, minor, ' ')) return false;
  const char* q = p;
  uint64_t ino = 0;
  for (; p < e && *p >= '0' && *p <= '9' && p - q < 20; ++p) ino = ino * 10 + static_cast<uint64_t>(*p - '0');
  if (p == q || (p < e && *p != ' ')) return false;
  while (p < e && *p == ' ') ++p;
  out.ino = ino;
  out.major = static_cast<unsigned>(major);
  out.minor = static_cast<unsigned>(minor);
  out.path = p;
  return true;
}

}  // namespace shm
