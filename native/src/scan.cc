// Directory scan, filesystem figures and the /proc holder scan, each one async
// call that does all of its system calls on a worker thread.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <map>
#include <cstdio>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common.h"
#include "procfs.h"
#include "scan.h"

namespace shm {
namespace {

struct Entry {
  std::string name;
  unsigned char dtype = DT_UNKNOWN;  // from readdir
  bool gone = false;                 // vanished between readdir and stat
  std::string kind;                  // file, dir, symlink, other
  struct stat st {};
  std::string linkTarget;
  std::string error;
  int err = 0;  // the errno of `error`: its code (ErrnoCode) goes beside it
  std::vector<uint8_t> head;
  std::vector<uint8_t> tail;
  uint64_t tailOffset = 0;
  // Set when the head holds an NPY header in exactly the form numpy writes (see ParseCanonicalNpy).
  bool npy = false;
  bool npyFortran = false;
  uint32_t npyDataOffset = 0;
  std::string npyDescr;
  std::vector<double> npyShape;
};

// Sets the entry's error: what failed and the errno (its text, and its code beside it).
void Failed(Entry& e, const char* what, int err) {
  e.error = ErrnoText(what, err);
  e.err = err;
}

// numpy 2's NPY_MAXDIMS: the same limit as MAX_DIMS in extension/core/formats/util.ts.
constexpr size_t kMaxDims = 64;

bool IsWordChar(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

// The header exactly as numpy's writer formats it, the same form as CANONICAL in
// extension/core/formats/npy.ts: {'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }
// padded with spaces and ended by a newline. Anything else (other spacing, structured
// dtypes, a header longer than the head read, dimensions past 2^53) is left to the
// TypeScript decoder, which reads and reports it in full; this only saves the common case
// the round trip of its bytes to JavaScript.
bool ParseCanonicalNpy(Entry& e) {
  const std::vector<uint8_t>& h = e.head;
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (h.size() < 12 || std::memcmp(h.data(), kMagic, 6) != 0) return false;
  uint8_t major = h[6], minor = h[7];
  if (major < 1 || major > 3 || minor != 0) return false;
  size_t start, len;
  if (major == 1) {
    len = h[8] | (static_cast<size_t>(h[9]) << 8);
    start = 10;
  } else {
    len = h[8] | (static_cast<size_t>(h[9]) << 8) | (static_cast<size_t>(h[10]) << 16) | (static_cast<size_t>(h[11]) << 24);
    start = 12;
  }
  size_t end = start + len;
  if (len > (1u << 20) || end > h.size() || end > static_cast<uint64_t>(e.st.st_size)) return false;
  const char* p = reinterpret_cast<const char*>(h.data()) + start;
  const char* const stop = reinterpret_cast<const char*>(h.data()) + end;
  auto lit = [&](const char* s) {
    size_t n = std::strlen(s);
    if (static_cast<size_t>(stop - p) < n || std::memcmp(p, s, n) != 0) return false;
    p += n;
    return true;
  };
  if (!lit("{'descr': '")) return false;
  const char* d0 = p;
  if (p < stop && (*p == '<' || *p == '>' || *p == '|' || *p == '=')) ++p;
  if (p >= stop || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return false;
  ++p;
  int word = 0;
  while (p < stop && IsWordChar(static_cast<uint8_t>(*p)) && word < 16) ++p, ++word;
  std::string descr(d0, p);
  if (!lit("', 'fortran_order': ")) return false;
  bool fortran;
  if (lit("True")) fortran = true;
  else if (lit("False")) fortran = false;
  else return false;
  if (!lit(", 'shape': (")) return false;
  std::vector<double> shape;
  for (;;) {
    if (p < stop && *p == ')') break;
    const char* q = p;
    uint64_t v = 0;
    while (p < stop && *p >= '0' && *p <= '9' && p - q < 19) v = v * 10 + static_cast<uint64_t>(*p++ - '0');
    if (p == q || (p < stop && *p >= '0' && *p <= '9')) return false;
    if (v > (uint64_t{1} << 53) - 1) return false;  // not a safe integer: the TS decoder reports it
    // One rule for both paths: past MAX_DIMS (extension/core/formats/util.ts) the TS decoder says so.
    if (shape.size() == kMaxDims) return false;
    shape.push_back(static_cast<double>(v));
    if (p < stop && *p == ',') {
      ++p;
      if (p < stop && *p == ' ') ++p;
    } else if (!(p < stop && *p == ')')) {
      return false;
    }
  }
  if (!lit("), }")) return false;
  while (p < stop && *p == ' ') ++p;
  if (p < stop && *p == '\n') ++p;
  if (p != stop) return false;
  e.npy = true;
  e.npyFortran = fortran;
  e.npyDataOffset = static_cast<uint32_t>(end);
  e.npyDescr = std::move(descr);
  e.npyShape = std::move(shape);
  return true;
}

// Opens a regular file (never following a symlink, never blocking on a FIFO),
// takes the open file's stat as the truth, and reads its first and last bytes.
// Returns false when the name is not a regular file any more (the caller then lstat()s it).
bool ReadEnds(int dirfd, Entry& e, size_t headBytes, size_t tailBytes) {
  int fd = openat(dirfd, e.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP || err == ENXIO || err == ENODEV) return false;  // a symlink, socket or device now
    if (err == ENOENT) {
      e.gone = true;
      return true;
    }
    // Unreadable (permissions): the name's own stat still tells size, owner, mode.
    if (fstatat(dirfd, e.name.c_str(), &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
      e.gone = errno == ENOENT;
      if (!e.gone) Failed(e, "stat", errno);
      e.kind = "other";
      return true;
    }
    if (!S_ISREG(e.st.st_mode)) return false;
    e.kind = "file";
    Failed(e, "open", err);
    return true;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    e.kind = "file";
    Failed(e, "stat", errno);
    close(fd);
    return true;
  }
  if (!S_ISREG(st.st_mode)) {  // replaced by a FIFO or device between readdir and open
    close(fd);
    return false;
  }
  e.st = st;
  e.kind = "file";
  uint64_t size = static_cast<uint64_t>(st.st_size);
  size_t h = static_cast<size_t>(std::min<uint64_t>(headBytes, size));
  if (h > 0) {
    e.head.resize(h);
    ssize_t n = pread(fd, e.head.data(), h, 0);
    if (n < 0) {
      Failed(e, "read", errno);
      e.head.clear();
    } else {
      e.head.resize(static_cast<size_t>(n));
    }
  }
  if (e.error.empty() && tailBytes > 0 && size > h) {
    uint64_t t = std::min<uint64_t>(tailBytes, size);
    uint64_t off = size - t;
    e.tail.resize(static_cast<size_t>(t));
    ssize_t n = pread(fd, e.tail.data(), t, static_cast<off_t>(off));
    if (n <= 0) {
      e.tail.clear();
    } else {
      e.tail.resize(static_cast<size_t>(n));
      e.tailOffset = off;
    }
  }
  close(fd);
  if (e.error.empty()) ParseCanonicalNpy(e);
  return true;
}

void StatEntry(int dirfd, Entry& e, size_t headBytes, size_t tailBytes) {
  // tmpfs (and most file systems) give the type in readdir: a regular file is
  // opened straight away and fstat()ed, saving an lstat per file.
  if (e.dtype == DT_REG && ReadEnds(dirfd, e, headBytes, tailBytes)) return;
  if (fstatat(dirfd, e.name.c_str(), &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      e.gone = true;
      return;
    }
    e.kind = "other";
    Failed(e, "stat", errno);
    return;
  }
  if (S_ISREG(e.st.st_mode)) {
    e.kind = "file";
    if (!ReadEnds(dirfd, e, headBytes, tailBytes)) e.kind = "other";  // changed type again: leave it
  } else if (S_ISDIR(e.st.st_mode)) {
    e.kind = "dir";
  } else if (S_ISLNK(e.st.st_mode)) {
    e.kind = "symlink";
    char buf[4096];
    ssize_t n = readlinkat(dirfd, e.name.c_str(), buf, sizeof buf);
    if (n >= 0) e.linkTarget.assign(buf, static_cast<size_t>(n));
    else Failed(e, "readlink", errno);
  } else {
    e.kind = "other";
  }
}

unsigned ScanThreads(size_t n) {
  unsigned hw = std::thread::hardware_concurrency();
  if (hw == 0) hw = 1;
  // Below a few hundred entries a thread costs more than it saves.
  size_t want = n / 512 + 1;
  return static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>({want, hw, 8})));
}

class ScanDirWorker : public PromiseWorker {
 public:
  ScanDirWorker(Napi::Env env, std::string dir, size_t head, size_t tail)
      : PromiseWorker(env), dir_(std::move(dir)), head_(head), tail_(tail) {}

  void Execute() override {
    int dirfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
      Fail(ErrnoCode(errno), ErrnoText(dir_, errno));
      return;
    }
    int listfd = dup(dirfd);
    DIR* d = listfd < 0 ? nullptr : fdopendir(listfd);
    if (d == nullptr) {
      Fail(ErrnoCode(errno), ErrnoText(dir_, errno));
      if (listfd >= 0) close(listfd);
      close(dirfd);
      return;
    }
    while (struct dirent* de = readdir(d)) {
      if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
      Entry e;
      e.name = de->d_name;
      e.dtype = de->d_type;
      entries_.push_back(std::move(e));
    }
    closedir(d);
    // Opening and reading thousands of small files is system-call bound: spread it over threads.
    size_t n = entries_.size();
    unsigned threads = ScanThreads(n);
    if (threads <= 1) {
      for (Entry& e : entries_) StatEntry(dirfd, e, head_, tail_);
    } else {
      std::vector<std::thread> pool;
      for (unsigned t = 0; t < threads; ++t) {
        size_t b = n * t / threads, end = n * (t + 1) / threads;
        pool.emplace_back([this, dirfd, b, end] {
          for (size_t i = b; i < end; ++i) StatEntry(dirfd, entries_[i], head_, tail_);
        });
      }
      for (auto& th : pool) th.join();
    }
    close(dirfd);
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.gone; }),
                   entries_.end());
    // In byte order, which is the order JavaScript sorts them in for all but rare
    // astral-plane names: its sort then finds the list already in order.
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  }

  // Columns, not an object per entry: setting a dozen properties through Node-API on
  // each of 10,000 objects costs more than the scan itself, while JavaScript builds
  // the same objects from these arrays in a fraction of that (extension/native.ts).
  //   names     every name's bytes as readdir gave them (not necessarily UTF-8), joined by NUL
  //             (which no file name holds), in a Buffer: extension/core/names.ts spells them
  //   kinds     0 file, 1 dir, 2 symlink, 3 other
  //   nums      8 per entry: size, blocks, dev, ino, mode, uid, mtimeMs, tailOffset
  //   ints      the first 6 of those again where they fit in 31 bits, else -1: JavaScript
  //             reads these as small integers, where a double would cost a heap number each
  //   spans     4 per entry: head offset and length, tail offset and length, in `bytes`
  //   bytes     every head and tail read (not those of NPY headers decoded here)
  //   npy       3 per entry: descr index (-1: not decoded here), fortran, data offset
  //   shapes    the dims of every decoded NPY header, entry i's from shapeAt[i] to shapeAt[i+1]
  //   descrs    the distinct descr strings
  //   errors, links   [index, text, index, text, ...]
  //   errorCodes  the code of each error, in the order of `errors` (ENOENT, EACCES...)
  Napi::Value Result(Napi::Env env) override {
    size_t n = entries_.size();
    std::string names;
    size_t dims = 0;
    for (const Entry& e : entries_) {
      names.append(e.name);
      names.push_back('\0');
      dims += e.npyShape.size();
    }
    if (!names.empty()) names.pop_back();
    Napi::Uint8Array kinds = Napi::Uint8Array::New(env, n);
    Napi::Float64Array nums = Napi::Float64Array::New(env, n * 8);
    Napi::Int32Array ints = Napi::Int32Array::New(env, n * 6);
    Napi::Uint32Array spans = Napi::Uint32Array::New(env, n * 4);
    Napi::Int32Array npy = Napi::Int32Array::New(env, n * 3);
    Napi::Float64Array shapes = Napi::Float64Array::New(env, dims);
    Napi::Uint32Array shapeAt = Napi::Uint32Array::New(env, n + 1);
    size_t bytes = 0;
    for (const Entry& e : entries_)
      if (!e.npy && e.kind == "file" && e.error.empty()) bytes += e.head.size() + e.tail.size();
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, std::max<size_t>(bytes, 1));
    uint8_t* base = static_cast<uint8_t*>(ab.Data());
    size_t pos = 0, dimAt = 0;
    std::map<std::string, int> descrIndex;
    Napi::Array descrs = Napi::Array::New(env);
    Napi::Array errors = Napi::Array::New(env);
    Napi::Array errorCodes = Napi::Array::New(env);
    Napi::Array links = Napi::Array::New(env);
    uint32_t nErrors = 0, nLinks = 0;
    for (size_t i = 0; i < n; ++i) {
      const Entry& e = entries_[i];
      const struct stat& st = e.st;
      kinds[i] = e.kind == "file" ? 0 : e.kind == "dir" ? 1 : e.kind == "symlink" ? 2 : 3;
      double* f = nums.Data() + i * 8;
      f[0] = static_cast<double>(st.st_size);
      f[1] = static_cast<double>(st.st_blocks);
      f[2] = static_cast<double>(st.st_dev);
      f[3] = static_cast<double>(st.st_ino);
      f[4] = static_cast<double>(st.st_mode);
      f[5] = static_cast<double>(st.st_uid);
      f[6] = static_cast<double>(st.st_mtim.tv_sec) * 1e3 + static_cast<double>(st.st_mtim.tv_nsec) / 1e6;
      f[7] = static_cast<double>(e.tailOffset);
      for (int k = 0; k < 6; ++k) ints[i * 6 + k] = f[k] >= 0 && f[k] <= 2147483647.0 ? static_cast<int32_t>(f[k]) : -1;
      int32_t* np = npy.Data() + i * 3;
      np[0] = -1;
      shapeAt[i] = static_cast<uint32_t>(dimAt);
      if (!e.error.empty()) {
        errors.Set(nErrors++, Napi::Number::New(env, static_cast<double>(i)));
        errors.Set(nErrors++, Napi::String::New(env, e.error));
        errorCodes.Set(nErrors / 2 - 1, Napi::String::New(env, ErrnoCode(e.err)));
      }
      if (e.kind == "symlink") {
        links.Set(nLinks++, Napi::Number::New(env, static_cast<double>(i)));
        links.Set(nLinks++, Napi::String::New(env, e.linkTarget));
      }
      if (e.kind != "file" || !e.error.empty()) continue;
      if (e.npy) {
        auto it = descrIndex.find(e.npyDescr);
        if (it == descrIndex.end()) {
          int k = static_cast<int>(descrIndex.size());
          it = descrIndex.emplace(e.npyDescr, k).first;
          descrs.Set(static_cast<uint32_t>(k), Napi::String::New(env, e.npyDescr));
        }
        np[0] = it->second;
        np[1] = e.npyFortran ? 1 : 0;
        np[2] = static_cast<int32_t>(e.npyDataOffset);
        for (double d : e.npyShape) shapes[dimAt++] = d;
        continue;
      }
      uint32_t* sp = spans.Data() + i * 4;
      if (!e.head.empty()) std::memcpy(base + pos, e.head.data(), e.head.size());
      sp[0] = static_cast<uint32_t>(pos);
      sp[1] = static_cast<uint32_t>(e.head.size());
      pos += e.head.size();
      if (!e.tail.empty()) std::memcpy(base + pos, e.tail.data(), e.tail.size());
      sp[2] = static_cast<uint32_t>(pos);
      sp[3] = static_cast<uint32_t>(e.tail.size());
      pos += e.tail.size();
    }
    shapeAt[n] = static_cast<uint32_t>(dimAt);
    Napi::Object out = Napi::Object::New(env);
    out.Set("names", Napi::Buffer<char>::Copy(env, names.data(), names.size()));
    out.Set("kinds", kinds);
    out.Set("nums", nums);
    out.Set("ints", ints);
    out.Set("spans", spans);
    out.Set("bytes", ab);
    out.Set("npy", npy);
    out.Set("shapes", shapes);
    out.Set("shapeAt", shapeAt);
    out.Set("descrs", descrs);
    out.Set("errors", errors);
    out.Set("errorCodes", errorCodes);
    out.Set("links", links);
    return out;
  }

 private:
  std::string dir_;
  size_t head_, tail_;
  std::vector<Entry> entries_;
};

class StatfsWorker : public PromiseWorker {
 public:
  StatfsWorker(Napi::Env env, std::string dir) : PromiseWorker(env), dir_(std::move(dir)) {}
  void Execute() override {
    if (statfs(dir_.c_str(), &sf_) != 0) Fail(ErrnoCode(errno), ErrnoText(dir_, errno));
  }
  Napi::Value Result(Napi::Env env) override {
    double bs = static_cast<double>(sf_.f_bsize);
    Napi::Object o = Napi::Object::New(env);
    o.Set("size", Num(env, bs * static_cast<double>(sf_.f_blocks)));
    o.Set("used", Num(env, bs * static_cast<double>(sf_.f_blocks - sf_.f_bfree)));
    o.Set("free", Num(env, bs * static_cast<double>(sf_.f_bavail)));
    o.Set("type", Num(env, static_cast<double>(sf_.f_type)));
    return o;
  }

 private:
  std::string dir_;
  struct statfs sf_ {};
};

// ---- holders ------------------------------------------------------------

struct MapRef {
  uint64_t dev, ino;
  std::string path;
  bool deleted;
  uint64_t bytes;  // highest mapped end offset over this process's mappings of the file (page-rounded)
  std::string mapFile;
  bool uncertain = false;  // the path came from the maps text with a \012 in it (newline or those 4 characters)
  uint32_t count = 1;  // mappings (VMAs) of it: a System V segment's attach count sums these
};
struct FdRef {
  uint64_t dev, ino;
  std::string path;
  bool deleted;
  int fd;
  uint64_t size;
};
struct Proc {
  int pid;
  std::string comm;
  std::vector<MapRef> maps;
  std::vector<FdRef> fds;
};

struct FileKey {
  uint64_t dev, ino;
  bool operator==(const FileKey& o) const { return dev == o.dev && ino == o.ino; }
};
struct FileKeyHash {
  size_t operator()(const FileKey& k) const { return std::hash<uint64_t>()(k.ino * 0x9E3779B97F4A7C15ull ^ k.dev); }
};

const char kDeleted[] = " (deleted)";

// True when s is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF):
// then JavaScript gets the path as a string; otherwise its bytes too (extension/core/names.ts).
bool IsUtf8(const std::string& s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  auto cont = [&](size_t k) { return i + k < n && (b[i + k] & 0xC0) == 0x80; };
  while (i < n) {
    unsigned char c = b[i];
    if (c < 0x80) {
      ++i;
    } else if (c >= 0xC2 && c <= 0xDF && cont(1)) {
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2) && !(c == 0xE0 && b[i + 1] < 0xA0) &&
               !(c == 0xED && b[i + 1] >= 0xA0)) {
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3) && !(c == 0xF0 && b[i + 1] < 0x90) &&
               !(c == 0xF4 && b[i + 1] >= 0x90)) {
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

// One line of /proc/PID/maps: "start-end perms offset major:minor inode   path".
struct MapsLine {
  uint64_t start = 0, end = 0, offset = 0, ino = 0;
  unsigned major = 0, minor = 0;
  const char* path = nullptr;  // up to the end of the line; empty for anonymous mappings
};

// Parsed by hand, field by field (sscanf, which re-reads its format for each of 60,000 lines,
// was most of a scan's own time).
bool ParseMapsLine(const char* p, const char* e, MapsLine& out) {
  auto hex = [&](uint64_t& v, char stop) {
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
  };
  uint64_t major = 0, minor = 0;
  if (!hex(out.start, '-') || !hex(out.end, ' ')) return false;
  while (p < e && *p != ' ') ++p;  // perms
  if (p >= e) return false;
  ++p;
  if (!hex(out.offset, ' ') || !hex(major, ':') || !hex(minor, ' ')) return false;
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

bool EndsWith(const std::string& s, const char* suf) {
  size_t n = std::strlen(suf);
  return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
}

class HoldersWorker : public PromiseWorker {
 public:
  // sysv: also keep System V attachments (maps named "/SYSV%08x (deleted)", inode = shmid) whatever
  // their device; with sysv and no devices, only those (no fd is read).
  HoldersWorker(Napi::Env env, std::set<uint64_t> devs, bool sysv, std::vector<int> pids)
      : PromiseWorker(env), devs_(std::move(devs)), sysv_(sysv), sysvOnly_(sysv && devs_.empty()), pids_(std::move(pids)) {}

  void Execute() override {
    if (!pids_.empty()) {  // only these processes (those the caller knows may hold something)
      for (int pid : pids_) ScanPid(pid);
      return;
    }
    DIR* d = opendir("/proc");
    if (d == nullptr) {
      Fail(ErrnoCode(errno), ErrnoText("/proc", errno));
      return;
    }
    std::vector<int> pids;
    while (struct dirent* de = readdir(d)) {
      char* end;
      long pid = std::strtol(de->d_name, &end, 10);
      if (*end == '\0' && pid > 0) pids.push_back(static_cast<int>(pid));
    }
    closedir(d);
    for (int pid : pids) ScanPid(pid);
  }

  // A whole (small) /proc file; false with errno set when it cannot be opened or read.
  static bool ReadAll(const std::string& path, std::string& out) { return ReadProcFile(path.c_str(), out); }

  void ScanPid(int pid) {
    std::string base = "/proc/" + std::to_string(pid);
    Proc p;
    p.pid = pid;
    // stat is readable for every process: name, state and flags.
    std::string statText;
    if (!ReadAll(base + "/stat", statText)) return;  // gone
    size_t lp = statText.find('('), rp = statText.rfind(')');
    if (lp == std::string::npos || rp == std::string::npos || rp < lp) return;
    p.comm = statText.substr(lp + 1, rp - lp - 1);
    char state = 0;
    unsigned long flags = 0;
    // After "(comm)": state ppid pgrp session tty_nr tpgid flags
    if (std::sscanf(statText.c_str() + rp + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) < 2) return;
    constexpr unsigned long kPfKthread = 0x00200000;  // include/linux/sched.h PF_KTHREAD
    // Kernel threads and zombies map nothing and hold no files: nothing to hide, whoever we are.
    if ((flags & kPfKthread) != 0 || state == 'Z' || state == 'X') return;
    bool denied = false;
    // maps: "start-end perms offset MM:mm inode   path"; another user's process
    // (without CAP_SYS_PTRACE) refuses the open with EACCES.
    std::string maps;
    std::unordered_map<FileKey, size_t, FileKeyHash> mapIndex;
    if (!ReadAll(base + "/maps", maps)) {
      if (errno == EACCES || errno == EPERM) denied = true;
    } else if (sysvOnly_ && maps.find("/SYSV") == std::string::npos) {
      // No System V attachment in this process: nothing to parse.
    } else {
      if (!maps.empty() && maps.back() != '\n') maps.push_back('\n');
      size_t at = 0;
      while (at < maps.size()) {
        size_t nl = maps.find('\n', at);
        const char* line = maps.data() + at;
        const char* const lineEnd = maps.data() + nl;
        at = nl + 1;
        MapsLine ml;
        if (!ParseMapsLine(line, lineEnd, ml) || ml.ino == 0) continue;
        uint64_t start = ml.start, end = ml.end, off = ml.offset, ino = ml.ino;
        uint64_t dev = makedev(ml.major, ml.minor);
        const bool sysvMap = sysv_ && std::strncmp(ml.path, "/SYSV", 5) == 0;
        if (sysvOnly_ ? !sysvMap : (!devs_.empty() && devs_.count(dev) == 0 && !sysvMap)) continue;
        std::string path(ml.path, lineEnd);
        bool deleted = EndsWith(path, kDeleted);
        if (deleted) path.resize(path.size() - (sizeof kDeleted - 1));
        // The kernel writes a newline in a mapped file's name as \012 (seq_file_path) but a backslash
        // as itself, so "\012" is ambiguous. The link /proc/PID/map_files/START-END holds the exact
        // bytes (readable with CAP_SYS_ADMIN); without it \012 is read as a newline, marked uncertain.
        bool uncertain = false;
        if (path.find("\\012") != std::string::npos) {
          char link[96];
          std::snprintf(link, sizeof link, "%s/map_files/%llx-%llx", base.c_str(), static_cast<unsigned long long>(start),
                        static_cast<unsigned long long>(end));
          char buf[PATH_MAX + sizeof kDeleted];
          ssize_t n = readlink(link, buf, sizeof buf);
          if (n > 0 && static_cast<size_t>(n) < sizeof buf) {
            path.assign(buf, static_cast<size_t>(n));
            if (deleted && EndsWith(path, kDeleted)) path.resize(path.size() - (sizeof kDeleted - 1));
          } else {
            for (size_t k = path.find("\\012"); k != std::string::npos; k = path.find("\\012", k + 1)) path.replace(k, 4, "\n");
            uncertain = true;
          }
        }
        uint64_t len = end - start;
        // One entry per file: found by hash, not by a search of the entries so far (a process
        // mapping 60,000 files made that search quadratic: seconds per scan).
        auto [it, fresh] = mapIndex.try_emplace(FileKey{dev, ino}, p.maps.size());
        if (fresh) {
          // /proc/PID/map_files/START-END opens the mapped file itself, even once it is
          // unlinked (privileged: CAP_SYS_ADMIN); the catalog uses it to fstat and read a deleted segment.
          char mapFile[96] = "";
          if (deleted) {
            std::snprintf(mapFile, sizeof mapFile, "%s/map_files/%llx-%llx", base.c_str(), static_cast<unsigned long long>(start),
                          static_cast<unsigned long long>(end));
          }
          p.maps.push_back(MapRef{dev, ino, path, deleted, off + len, mapFile, uncertain});
        } else {
          MapRef& m = p.maps[it->second];
          m.bytes = std::max<uint64_t>(m.bytes, off + len);
          ++m.count;
        }
      }
    }
    std::string fdDir = base + "/fd";
    DIR* fd = sysvOnly_ ? nullptr : opendir(fdDir.c_str());
    if (sysvOnly_) {
    } else if (fd == nullptr) {
      if (errno == EACCES || errno == EPERM) denied = true;
    } else {
      while (struct dirent* de = readdir(fd)) {
        if (de->d_name[0] == '.') continue;
        std::string link = fdDir + "/" + de->d_name;
        struct stat st;
        // stat() follows the magic link to the open file itself (also when it is unlinked).
        if (stat(link.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (!devs_.empty() && devs_.count(st.st_dev) == 0) continue;
        char buf[4096];
        ssize_t n = readlink(link.c_str(), buf, sizeof buf);
        std::string path = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
        bool deleted = EndsWith(path, kDeleted);
        if (deleted) path.resize(path.size() - (sizeof kDeleted - 1));
        p.fds.push_back(FdRef{st.st_dev, st.st_ino, path, deleted, std::atoi(de->d_name),
                              static_cast<uint64_t>(st.st_size)});
      }
      closedir(fd);
    }
    if (denied) ++invisible_;
    if (!p.maps.empty() || !p.fds.empty()) procs_.push_back(std::move(p));
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    Napi::Array arr = Napi::Array::New(env, procs_.size());
    // Property names made once, not once per object: a process mapping 60,000 files makes
    // 60,000 objects here, and re-making each key string was most of the cost.
    Napi::String kDev = Napi::String::New(env, "dev"), kIno = Napi::String::New(env, "ino"), kPath = Napi::String::New(env, "path"),
                 kDel = Napi::String::New(env, "deleted"), kBytes = Napi::String::New(env, "bytes"), kMapFile = Napi::String::New(env, "mapFile"),
                 kFd = Napi::String::New(env, "fd"), kSize = Napi::String::New(env, "size");
    Napi::Boolean yes = Napi::Boolean::New(env, true), no = Napi::Boolean::New(env, false);
    for (size_t i = 0; i < procs_.size(); ++i) {
      const Proc& p = procs_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("pid", Num(env, p.pid));
      o.Set("comm", Napi::String::New(env, p.comm));
      // The mapped files as columns (extension/native.ts makes the objects): a process mapping
      // 60,000 files would otherwise cost 60,000 objects built property by property here.
      //   dev, ino, bytes, count (mappings of it)  Float64Array, one per file;  deleted  Uint8Array;
      //   paths             every path joined by NUL;    mapFiles  [index, /proc/PID/map_files/A-B, ...] of deleted ones
      size_t nm = p.maps.size();
      Napi::Float64Array cDev = Napi::Float64Array::New(env, nm), cIno = Napi::Float64Array::New(env, nm), cBytes = Napi::Float64Array::New(env, nm),
                         cCount = Napi::Float64Array::New(env, nm);
      Napi::Uint8Array cDel = Napi::Uint8Array::New(env, nm);
      std::string paths;
      Napi::Array mapFiles = Napi::Array::New(env);
      uint32_t nFiles = 0;
      Napi::Array pathBytes = Napi::Array::New(env);
      uint32_t nBytes = 0;
      Napi::Array uncertain = Napi::Array::New(env);  // indices of paths read from the maps text with a \012 in it
      uint32_t nUncertain = 0;
      for (size_t j = 0; j < nm; ++j) {
        const MapRef& r = p.maps[j];
        cDev[j] = static_cast<double>(r.dev);
        cIno[j] = static_cast<double>(r.ino);
        cBytes[j] = static_cast<double>(r.bytes);
        cDel[j] = r.deleted ? 1 : 0;
        cCount[j] = r.count;
        if (j > 0) paths.push_back('\0');
        paths.append(r.path);
        // Only a deleted file is opened through its mapping (catalog.ts).
        // A path that is not UTF-8 goes as its exact bytes too (extension/core/names.ts).
        if (!IsUtf8(r.path)) {
          pathBytes.Set(nBytes++, Num(env, static_cast<double>(j)));
          pathBytes.Set(nBytes++, Napi::Buffer<char>::Copy(env, r.path.data(), r.path.size()));
        }
        if (r.uncertain) uncertain.Set(nUncertain++, Num(env, static_cast<double>(j)));
        if (r.deleted) {
          mapFiles.Set(nFiles++, Num(env, static_cast<double>(j)));
          mapFiles.Set(nFiles++, Napi::String::New(env, r.mapFile));
        }
      }
      Napi::Object maps = Napi::Object::New(env);
      maps.Set(kDev, cDev);
      maps.Set(kIno, cIno);
      maps.Set(kBytes, cBytes);
      maps.Set("count", cCount);
      maps.Set(kDel, cDel);
      maps.Set("paths", Napi::String::New(env, paths));
      maps.Set(kMapFile, mapFiles);
      maps.Set("pathBytes", pathBytes);
      maps.Set("uncertain", uncertain);
      o.Set("maps", maps);
      Napi::Array fds = Napi::Array::New(env, p.fds.size());
      for (size_t j = 0; j < p.fds.size(); ++j) {
        const FdRef& r = p.fds[j];
        Napi::Object m = Napi::Object::New(env);
        m.Set(kDev, Num(env, static_cast<double>(r.dev)));
        m.Set(kIno, Num(env, static_cast<double>(r.ino)));
        m.Set(kPath, Napi::String::New(env, r.path));
        if (!IsUtf8(r.path)) m.Set("pathBytes", Napi::Buffer<char>::Copy(env, r.path.data(), r.path.size()));
        m.Set(kDel, r.deleted ? yes : no);
        m.Set(kFd, Num(env, r.fd));
        m.Set(kSize, Num(env, static_cast<double>(r.size)));
        fds.Set(j, m);
      }
      o.Set("fds", fds);
      arr.Set(i, o);
    }
    out.Set("processes", arr);
    out.Set("invisible", Num(env, invisible_));
    return out;
  }

 private:
  std::set<uint64_t> devs_;
  bool sysv_ = false, sysvOnly_ = false;
  std::vector<int> pids_;
  std::vector<Proc> procs_;
  int invisible_ = 0;
};

}  // namespace

Napi::Value ScanDir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir;
  if (info.Length() < 1 || !PathArg(info[0], dir)) throw CodedError<Napi::TypeError>(env, "EINVAL", "scanDir(dir: string | Buffer, headBytes, tailBytes)");
  size_t head = info.Length() > 1 ? info[1].As<Napi::Number>().Uint32Value() : 0;
  size_t tail = info.Length() > 2 ? info[2].As<Napi::Number>().Uint32Value() : 0;
  auto* w = new ScanDirWorker(env, std::move(dir), std::min<size_t>(head, 1 << 20),
                              std::min<size_t>(tail, 1 << 20));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Statfs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw CodedError<Napi::TypeError>(env, "EINVAL", "statfs(dir)");
  auto* w = new StatfsWorker(env, info[0].As<Napi::String>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value ScanHolders(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::set<uint64_t> devs;
  if (info.Length() > 0 && info[0].IsArray()) {
    Napi::Array a = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) devs.insert(static_cast<uint64_t>(a.Get(i).As<Napi::Number>().DoubleValue()));
  }
  bool sysv = false;
  std::vector<int> pids;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    sysv = o.Get("sysv").ToBoolean();
    if (o.Get("pids").IsArray()) {
      Napi::Array a = o.Get("pids").As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i)
        if (a.Get(i).IsNumber() && a.Get(i).As<Napi::Number>().Int32Value() > 0) pids.push_back(a.Get(i).As<Napi::Number>().Int32Value());
      std::sort(pids.begin(), pids.end());
      pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
      if (pids.empty()) pids.push_back(-1);  // none: scan nothing (ScanPid of -1 finds no /proc/-1)
    }
  }
  auto* w = new HoldersWorker(env, std::move(devs), sysv, std::move(pids));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace shm
