// Directory scan, filesystem figures and the /proc holder scan, each one async
// call that does all of its system calls on a worker thread.
#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "common.h"
#include "npy.h"
#include "pool.h"
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
  CanonicalNpy npyHeader;
};

// Sets the entry's error: what failed and the errno (its text, and its code beside it).
void Failed(Entry& e, const char* what, int err) {
  e.error = ErrnoText(what, err);
  e.err = err;
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
    // Read into this thread's scratch: a header numpy wrote is sent as its fields, so its bytes
    // (and the tail) are never kept, and 10,000 such files allocate nothing per file here.
    thread_local std::vector<uint8_t> scratch;
    scratch.resize(std::max(scratch.size(), h));
    ssize_t n = pread(fd, scratch.data(), h, 0);
    if (n < 0) {
      Failed(e, "read", errno);
    } else if (shm::ParseCanonicalNpy(scratch.data(), static_cast<size_t>(n), size, e.npyHeader)) {
      e.npy = true;
      close(fd);
      return true;
    } else {
      e.head.assign(scratch.begin(), scratch.begin() + n);
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
  // Below a few hundred entries a thread costs more than it saves.
  size_t want = n / 512 + 1;
  return static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(want, WorkerThreads())));
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
    // tmpfs gives a folder the size of 20 bytes an entry: room for them all at once, not a
    // dozen reallocations that move every entry (and fault in new pages each time).
    struct stat dst {};
    if (fstat(dirfd, &dst) == 0 && dst.st_size > 0) entries_.reserve(std::min<size_t>(static_cast<size_t>(dst.st_size) / 20 + 16, 1u << 16));
    while (struct dirent* de = readdir(d)) {
      if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
      Entry e;
      e.name = de->d_name;
      e.dtype = de->d_type;
      entries_.push_back(std::move(e));
    }
    closedir(d);
    // Opening and reading thousands of small files is system-call bound: spread it over the
    // addon's pool (the same threads as the passes, no threads of its own), in blocks of 64
    // entries handed out as threads come free.
    size_t n = entries_.size();
    constexpr size_t kBlock = 64;
    PoolRun((n + kBlock - 1) / kBlock, ScanThreads(n), [&](size_t b, unsigned) {
      for (size_t i = b * kBlock, end = std::min(n, i + kBlock); i < end; ++i) StatEntry(dirfd, entries_[i], head_, tail_);
    });
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
      dims += e.npy ? e.npyHeader.shape.size() : 0;
    }
    if (!names.empty()) names.pop_back();
    Napi::Uint8Array kinds = Napi::Uint8Array::New(env, n);
    Napi::Float64Array nums = Napi::Float64Array::New(env, n * 8);
    Napi::Int32Array ints = Napi::Int32Array::New(env, n * 6);
    Napi::Uint32Array spans = Napi::Uint32Array::New(env, n * 4);
    NpyColumns npy(env, n, dims);
    size_t bytes = 0;
    for (const Entry& e : entries_)
      if (!e.npy && e.kind == "file" && e.error.empty()) bytes += e.head.size() + e.tail.size();
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, std::max<size_t>(bytes, 1));
    uint8_t* base = static_cast<uint8_t*>(ab.Data());
    size_t pos = 0;
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
      const bool decoded = e.npy && e.kind == "file" && e.error.empty();
      npy.Put(i, decoded ? &e.npyHeader : nullptr);
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
      if (e.npy) continue;
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
    Napi::Object out = Napi::Object::New(env);
    out.Set("names", Napi::Buffer<char>::Copy(env, names.data(), names.size()));
    out.Set("kinds", kinds);
    out.Set("nums", nums);
    out.Set("ints", ints);
    out.Set("spans", spans);
    out.Set("bytes", ab);
    npy.SetOn(out);
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

// One mapped file of a process: its first mapping, and the sum over all of them.
struct MapRef {
  uint64_t dev, ino;
  uint64_t start, end;  // its first mapping's addresses (the name of its /proc/PID/map_files link)
  uint64_t bytes;       // highest mapped end offset over this process's mappings of the file (page-rounded)
  uint32_t pathAt, pathLen;  // its path in Proc::paths
  uint32_t count;            // mappings (VMAs) of it: a System V segment's attach count sums these
  bool deleted;
  bool uncertain;  // the path came from the maps text with a \012 in it (newline or those 4 characters)
};
struct FdRef {
  uint64_t dev, ino;
  std::string path;
  bool deleted;
  int fd;
  uint64_t size;
};
struct Proc {
  int pid = 0;
  std::string comm;
  std::vector<MapRef> maps;
  std::string paths;  // every map's path, each followed by a NUL: the `paths` column, made as it is read
  std::vector<FdRef> fds;
};

const char kDeleted[] = " (deleted)";
constexpr size_t kDeletedLen = sizeof kDeleted - 1;

bool EndsWith(std::string_view s, std::string_view suf) { return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf; }

// True when s is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF):
// then JavaScript gets the path as a string; otherwise its bytes too (extension/core/names.ts).
bool IsUtf8(std::string_view s) {
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

// The device of a maps line, read before anything else: most lines of most processes are on
// other devices (libraries, anonymous memory) and are skipped without parsing the rest. False
// when the line has no readable device field (ParseMapsLine then rejects it too).
bool LineDevice(const char* p, const char* e, uint64_t& dev) {
  for (int spaces = 0; spaces < 3; ++spaces) {  // past "start-end ", "perms ", "offset "
    p = static_cast<const char*>(std::memchr(p, ' ', static_cast<size_t>(e - p)));
    if (p == nullptr) return false;
    ++p;
  }
  uint64_t major, minor;
  if (!ParseHex(p, e, major, ':') || !ParseHex(p, e, minor, ' ')) return false;
  dev = makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor));
  return true;
}

// (dev, ino) -> index in a process's maps, open addressing: no node per file (a process mapping
// 60,000 files made 60,000 of them). Each slot keeps 32 bits of the hash beside the index, so a
// probe reads the maps vector only on a likely match.
class FileIndex {
 public:
  void Clear() {
    slots_.assign(slots_.size() > 1024 ? 16 : slots_.size(), Slot{});
    used_ = 0;
  }
  // The index of (dev, ino) in maps; or, when it is not there, maps.size(), recorded as its index:
  // the caller then appends it.
  size_t FindOrAdd(uint64_t dev, uint64_t ino, const std::vector<MapRef>& maps) {
    if ((used_ + 1) * 2 > slots_.size()) Rehash(maps);
    size_t mask = slots_.size() - 1;
    uint64_t h = Hash(dev, ino);
    uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.index == 0) {
        s = Slot{static_cast<uint32_t>(maps.size() + 1), tag};
        ++used_;
        return maps.size();
      }
      if (s.tag == tag && maps[s.index - 1].ino == ino && maps[s.index - 1].dev == dev) return s.index - 1;
    }
  }

 private:
  struct Slot {
    uint32_t index = 0;  // 1 + index in maps; 0: empty
    uint32_t tag = 0;
  };
  static uint64_t Hash(uint64_t dev, uint64_t ino) {
    uint64_t h = (ino ^ (dev << 40) ^ dev) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
  }
  void Rehash(const std::vector<MapRef>& maps) {
    size_t n = std::max<size_t>(16, slots_.size() * 2);
    while (n < (used_ + 1) * 2) n *= 2;
    slots_.assign(n, Slot{});
    for (size_t k = 0; k < used_; ++k) {
      uint64_t h = Hash(maps[k].dev, maps[k].ino);
      size_t i = h & (n - 1);
      while (slots_[i].index != 0) i = (i + 1) & (n - 1);
      slots_[i] = Slot{static_cast<uint32_t>(k + 1), static_cast<uint32_t>(h >> 32)};
    }
  }
  std::vector<Slot> slots_;
  size_t used_ = 0;
};

// ---- the maps walk through PROCMAP_QUERY -----------------------------------------------
//
// Linux 6.11+ answers "the file-backed mapping at or after address A" with an ioctl on an open
// /proc/PID/maps (PROCMAP_QUERY): the device and inode of each mapping without formatting its
// line, and its path (d_path, the exact bytes: no \012 escape) only when asked. Most of the time
// of the text form went to formatting and escaping every line's path; here only the mappings on a
// listed device get a path, once per file. And a process's address space can be split: a thread
// with nothing left to do takes the upper half of the range another is still walking, so the
// one process that maps 60,000 files is walked by every thread of the pool, not one.

struct ProcmapQuery {  // struct procmap_query of <linux/fs.h> (uapi, 6.11+), absent from older headers
  uint64_t size, query_flags, query_addr;
  uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
  uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
  uint64_t vma_name_addr, build_id_addr;
};
static_assert(sizeof(ProcmapQuery) == 104, "struct procmap_query");
constexpr unsigned long kProcmapQuery = 0xC0686611;  // _IOWR('f', 17, struct procmap_query)
constexpr uint64_t kQueryCoveringOrNext = 0x10, kQueryFileBacked = 0x20;

// Whether this kernel has PROCMAP_QUERY (cleared at the first ENOTTY/EINVAL: the text is read then).
std::atomic<bool> gProcmapQuery{true};

// One thread's share of a process's address space, [from, end): the files it found there.
struct Piece {
  uint64_t from, cur, end;  // cur and end guarded by Walk::mu (end is lowered by a thief)
  std::vector<MapRef> maps;
  std::string paths;
  FileIndex index;
};

// A process whose maps are being walked, by its owner and any threads that stole part of it.
struct Walk {
  int pfd;  // /proc/PID, open while anyone walks
  std::mutex mu;
  std::deque<Piece> pieces;  // stable addresses (guarded by mu)
  int running = 0;           // pieces being walked (guarded by mu)
  bool any = false;          // a file mapping was seen (guarded by mu): not a kernel thread
  std::condition_variable done;
};

// The first piece of `w` that still has at least two pages left to walk, split at its middle: the
// upper half becomes a new piece. Null when none is worth it. Call with w.mu held.
Piece* Split(Walk& w) {
  Piece* best = nullptr;
  for (Piece& pc : w.pieces)
    if (pc.end - pc.cur >= 2 * 4096 && (best == nullptr || pc.end - pc.cur > best->end - best->cur)) best = &pc;
  if (best == nullptr) return nullptr;
  uint64_t mid = (best->cur + (best->end - best->cur) / 2) & ~uint64_t{4095};
  if (mid <= best->cur) return nullptr;
  Piece& pc = w.pieces.emplace_back();
  pc.from = pc.cur = mid;
  pc.end = best->end;
  best->end = mid;  // the owner stops at the first mapping that starts at or past it
  ++w.running;
  return &pc;
}

// What one thread of the scan reuses from process to process.
struct HolderScratch {
  ProcBuf maps, stat;
  FileIndex index;
  std::string path;
};

class HoldersWorker : public PromiseWorker {
 public:
  // sysv: also keep System V attachments (maps named "/SYSV%08x (deleted)", inode = shmid) whatever
  // their device; with sysv and no devices, only those (no fd is read).
  HoldersWorker(Napi::Env env, std::set<uint64_t> devs, bool sysv, std::vector<int> pids)
      : PromiseWorker(env), devs_(devs.begin(), devs.end()), sysv_(sysv), sysvOnly_(sysv && devs_.empty()), pids_(std::move(pids)) {}

  void Execute() override {
    std::vector<int> pids;
    if (!pids_.empty()) {  // only these processes (those the caller knows may hold something)
      pids = pids_;
    } else {
      DIR* d = opendir("/proc");
      if (d == nullptr) {
        Fail(ErrnoCode(errno), ErrnoText("/proc", errno));
        return;
      }
      while (struct dirent* de = readdir(d)) {
        char* end;
        long pid = std::strtol(de->d_name, &end, 10);
        if (*end == '\0' && pid > 0) pids.push_back(static_cast<int>(pid));
      }
      closedir(d);
    }
    // The processes in parallel on the addon's pool: each one's maps are produced by the kernel
    // (most of the time) on the thread that asks. Each thread takes the next process; once none is
    // left, it takes half of a process another thread is still walking (Steal). Results go in pid order.
    std::vector<Proc> found(pids.size());
    unsigned threads = static_cast<unsigned>(std::min<size_t>(WorkerThreads(), std::max<size_t>(pids.size(), 1)));
    std::vector<HolderScratch> scratch(threads);
    std::atomic<size_t> next{0};
    std::atomic<unsigned> inProgress{0};
    PoolRun(threads, threads, [&](size_t, unsigned slot) {
      for (;;) {
        size_t i = next.fetch_add(1);
        if (i < pids.size()) {
          inProgress.fetch_add(1);
          ScanPid(pids[i], found[i], scratch[slot]);
          inProgress.fetch_sub(1);
        } else if (!Steal()) {
          if (inProgress.load() == 0) return;
          usleep(200);  // the last processes are still starting: one of them may be worth a share
        }
      }
    });
    for (Proc& p : found)
      if (!p.maps.empty() || !p.fds.empty()) procs_.push_back(std::move(p));
  }

  bool DevListed(uint64_t dev) const { return std::find(devs_.begin(), devs_.end(), dev) != devs_.end(); }

  void ScanPid(int pid, Proc& p, HolderScratch& s) {
    char base[32];
    std::snprintf(base, sizeof base, "/proc/%d", pid);
    int pfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) return;  // gone
    ScanOpenPid(pid, pfd, base, p, s);
    close(pfd);
  }

  // Reads stat (readable for every process): the name, and whether it is a kernel thread or a
  // zombie. False when it is gone or one of those (nothing to list, nothing hidden).
  static bool ReadStat(int pfd, Proc& p, HolderScratch& s) {
    if (!s.stat.ReadAt(pfd, "stat")) return false;  // gone
    std::string_view t = s.stat.view();
    size_t lp = t.find('('), rp = t.rfind(')');
    if (lp == std::string_view::npos || rp == std::string_view::npos || rp < lp) return false;
    char state = 0;
    unsigned long flags = 0;
    // After "(comm)": state ppid pgrp session tty_nr tpgid flags
    if (std::sscanf(s.stat.data() + rp + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) < 2) return false;
    constexpr unsigned long kPfKthread = 0x00200000;  // include/linux/sched.h PF_KTHREAD
    // Kernel threads and zombies map nothing and hold no files: nothing to hide, whoever we are.
    if ((flags & kPfKthread) != 0 || state == 'Z' || state == 'X') return false;
    p.comm.assign(t.substr(lp + 1, rp - lp - 1));
    return true;
  }

  void ScanOpenPid(int pid, int pfd, const char* base, Proc& p, HolderScratch& s) {
    p.pid = pid;
    bool denied = false;
    // maps: "start-end perms offset MM:mm inode   path"; another user's process
    // (without CAP_SYS_PTRACE) refuses the open with EACCES. A process with an address space
    // is no kernel thread and no zombie: its stat is read only if it holds something (for its name).
    bool statRead = false;
    int walked = query_ && gProcmapQuery.load(std::memory_order_relaxed) ? WalkMaps(pfd, p) : -2;
    if (walked == -1) {
      int err = errno;
      if (!ReadStat(pfd, p, s)) return;
      statRead = true;
      if (err == EACCES || err == EPERM) denied = true;
    } else if (walked == 0) {
      if (!ReadStat(pfd, p, s)) return;
      statRead = true;
    } else if (walked == 1) {
      // Walked.
    } else if (!s.maps.ReadAt(pfd, "maps")) {
      int err = errno;
      if (!ReadStat(pfd, p, s)) return;
      statRead = true;
      if (err == EACCES || err == EPERM) denied = true;
    } else if (s.maps.empty()) {
      if (!ReadStat(pfd, p, s)) return;
      statRead = true;
    } else if (sysvOnly_ && memmem(s.maps.data(), s.maps.size(), "/SYSV", 5) == nullptr) {
      // No System V attachment in this process: nothing to parse.
    } else {
      ParseMaps(base, p, s);
    }
    if (!sysvOnly_) ScanFds(pfd, p, denied);
    if (denied) invisible_.fetch_add(1, std::memory_order_relaxed);
    if ((!p.maps.empty() || !p.fds.empty()) && !statRead && !ReadStat(pfd, p, s)) {
      p.maps.clear();  // exited meanwhile
      p.fds.clear();
    }
  }

  void ParseMaps(const char* base, Proc& p, HolderScratch& s) {
    const bool filterDev = !devs_.empty() && !sysv_;
    s.index.Clear();
    const char* at = s.maps.data();
    const char* const stop = at + s.maps.size();
    while (at < stop) {
      const char* line = at;
      const char* lineEnd = static_cast<const char*>(std::memchr(at, '\n', static_cast<size_t>(stop - at)));
      if (lineEnd == nullptr) lineEnd = stop;
      at = lineEnd + 1;
      uint64_t dev;
      // Only the device is read from lines on devices not listed: no other field, no path.
      if (filterDev && (!LineDevice(line, lineEnd, dev) || !DevListed(dev))) continue;
      MapsLine ml;
      if (!ParseMapsLine(line, lineEnd, ml)) continue;
      dev = makedev(ml.major, ml.minor);
      const bool sysvMap = sysv_ && lineEnd - ml.path >= 5 && std::memcmp(ml.path, "/SYSV", 5) == 0;
      // Inode 0 is anonymous memory, except for System V: there the inode is the shmid, and
      // shmid 0 is the first segment of every IPC namespace.
      if (ml.ino == 0 && !sysvMap) continue;
      if (sysvOnly_ ? !sysvMap : (!devs_.empty() && !DevListed(dev) && !sysvMap)) continue;
      uint64_t len = ml.end - ml.start;
      // One entry per file: found by hash, not by a search of the entries so far (a process
      // mapping 60,000 files made that search quadratic: seconds per scan).
      size_t idx = s.index.FindOrAdd(dev, ml.ino, p.maps);
      if (idx < p.maps.size()) {
        MapRef& m = p.maps[idx];
        m.bytes = std::max<uint64_t>(m.bytes, ml.offset + len);
        ++m.count;
        continue;
      }
      std::string_view path(ml.path, static_cast<size_t>(lineEnd - ml.path));
      bool deleted = EndsWith(path, kDeleted);
      if (deleted) path.remove_suffix(kDeletedLen);
      // The kernel writes a newline in a mapped file's name as \012 (seq_file_path) but a backslash
      // as itself, so "\012" is ambiguous. The link /proc/PID/map_files/START-END holds the exact
      // bytes (readable with CAP_SYS_ADMIN); without it \012 is read as a newline, marked uncertain.
      bool uncertain = false;
      if (path.find("\\012") != std::string_view::npos) {
        char link[96];
        std::snprintf(link, sizeof link, "%s/map_files/%llx-%llx", base, static_cast<unsigned long long>(ml.start),
                      static_cast<unsigned long long>(ml.end));
        char buf[PATH_MAX + sizeof kDeleted];
        ssize_t n = readlink(link, buf, sizeof buf);
        if (n > 0 && static_cast<size_t>(n) < sizeof buf) {
          s.path.assign(buf, static_cast<size_t>(n));
          if (deleted && EndsWith(s.path, kDeleted)) s.path.resize(s.path.size() - kDeletedLen);
        } else {
          s.path.assign(path);
          for (size_t k = s.path.find("\\012"); k != std::string::npos; k = s.path.find("\\012", k + 1)) s.path.replace(k, 4, "\n");
          uncertain = true;
        }
        path = s.path;
      }
      p.maps.push_back(MapRef{dev, ml.ino, ml.start, ml.end, ml.offset + len, static_cast<uint32_t>(p.paths.size()),
                              static_cast<uint32_t>(path.size()), 1, deleted, uncertain});
      p.paths.append(path);
      p.paths.push_back('\0');
    }
  }

  // ---- the walk (PROCMAP_QUERY) ----

  // Walks pc with the maps fd mfd: every file-backed mapping starting in [pc.from, pc.end) on a
  // listed device, one entry per file with its path. False when the ioctl is not there.
  bool WalkPiece(Walk& w, Piece& pc, int mfd) {
    char name[PATH_MAX];
    uint64_t addr = pc.from;
    bool wantName = false;  // the last mapping was on a listed device: ask for the next one's path at once
    for (;;) {
      ProcmapQuery q{};
      q.size = sizeof q;
      q.query_flags = kQueryCoveringOrNext | kQueryFileBacked;
      q.query_addr = addr;
      if (wantName) {
        q.vma_name_size = sizeof name;
        q.vma_name_addr = reinterpret_cast<uintptr_t>(name);
      }
      if (ioctl(mfd, kProcmapQuery, &q) != 0) {
        if (errno == ENOTTY || errno == EINVAL) return Finish(w, pc), false;
        if (errno == ENAMETOOLONG && wantName) {  // a path past PATH_MAX: the same query without it
          wantName = false;
          continue;
        }
        break;  // ENOENT: no mapping past addr; ESRCH: it exited (its stat then says so)
      }
      {
        std::lock_guard<std::mutex> lk(w.mu);
        if (q.vma_start >= pc.end) break;  // a thief's from here on
        pc.cur = q.vma_end;
        w.any = true;
      }
      // A mapping covering `from` that starts below it is the previous piece's.
      const bool mine = q.vma_start >= pc.from;
      addr = q.vma_end;
      uint64_t dev = makedev(q.dev_major, q.dev_minor);
      wantName = DevListed(dev);
      if (!mine || !wantName || q.inode == 0) continue;
      uint64_t bytes = q.vma_offset + (q.vma_end - q.vma_start);
      size_t at = pc.index.FindOrAdd(dev, q.inode, pc.maps);
      if (at < pc.maps.size()) {
        MapRef& m = pc.maps[at];
        m.bytes = std::max(m.bytes, bytes);
        ++m.count;
        continue;
      }
      if (q.vma_name_size == 0 || q.vma_name_addr == 0) {
        // Its path, asked for now: the same mapping (covering its start), checked to be the same file.
        ProcmapQuery n{};
        n.size = sizeof n;
        n.query_flags = kQueryFileBacked;
        n.query_addr = q.vma_start;
        n.vma_name_size = sizeof name;
        n.vma_name_addr = reinterpret_cast<uintptr_t>(name);
        if (ioctl(mfd, kProcmapQuery, &n) != 0 || n.vma_start != q.vma_start || n.inode != q.inode ||
            makedev(n.dev_major, n.dev_minor) != dev) {
          n.vma_name_size = 0;  // unmapped meanwhile, or a path past PATH_MAX: listed without a path
        }
        q.vma_name_size = n.vma_name_size;
      }
      std::string_view path(name, q.vma_name_size > 0 ? q.vma_name_size - 1 : 0);  // the size counts the NUL
      bool deleted = EndsWith(path, kDeleted);
      if (deleted) path.remove_suffix(kDeletedLen);
      pc.maps.push_back(MapRef{dev, q.inode, q.vma_start, q.vma_end, bytes, static_cast<uint32_t>(pc.paths.size()),
                               static_cast<uint32_t>(path.size()), 1, deleted, false});
      pc.paths.append(path);
      pc.paths.push_back('\0');
    }
    Finish(w, pc);
    return true;
  }

  static void Finish(Walk& w, Piece& pc) {
    std::lock_guard<std::mutex> lk(w.mu);
    pc.cur = pc.end;
    if (--w.running == 0) w.done.notify_all();
  }

  // The owner's walk of one process: 1 walked (p.maps filled), 0 nothing to walk (no file
  // mapping: maybe a kernel thread), -1 maps not openable (errno set), -2 no PROCMAP_QUERY here.
  int WalkMaps(int pfd, Proc& p) {
    int mfd = openat(pfd, "maps", O_RDONLY | O_CLOEXEC);
    if (mfd < 0) return -1;
    Walk w;
    w.pfd = pfd;
    Piece& first = w.pieces.emplace_back();
    first.from = first.cur = 0;
    first.end = uint64_t{1} << 57;  // past any user address (5-level paging)
    w.running = 1;
    {
      std::lock_guard<std::mutex> lk(walksMu_);
      walks_.push_back(&w);
    }
    bool ok = WalkPiece(w, first, mfd);
    {
      std::lock_guard<std::mutex> lk(walksMu_);
      walks_.erase(std::find(walks_.begin(), walks_.end(), &w));
    }
    // Then the owner helps with its own process until nothing is left to split, and waits for the rest.
    for (;;) {
      Piece* pc;
      {
        std::lock_guard<std::mutex> lk(w.mu);
        pc = ok ? Split(w) : nullptr;
      }
      if (pc == nullptr) break;
      ok = WalkPiece(w, *pc, mfd) && ok;
    }
    {
      std::unique_lock<std::mutex> lk(w.mu);
      w.done.wait(lk, [&] { return w.running == 0; });
    }
    close(mfd);
    if (!ok) {
      gProcmapQuery.store(false, std::memory_order_relaxed);
      return -2;
    }
    // The pieces in address order, each file once: the order (and first mapping) of the maps text.
    std::sort(w.pieces.begin(), w.pieces.end(), [](const Piece& a, const Piece& b) { return a.from < b.from; });
    if (w.pieces.size() == 1) {
      p.maps = std::move(w.pieces[0].maps);
      p.paths = std::move(w.pieces[0].paths);
    } else {
      FileIndex index;
      for (Piece& pc : w.pieces) {
        for (const MapRef& r : pc.maps) {
          size_t at = index.FindOrAdd(r.dev, r.ino, p.maps);
          if (at < p.maps.size()) {
            MapRef& m = p.maps[at];
            m.bytes = std::max(m.bytes, r.bytes);
            m.count += r.count;
            continue;
          }
          p.maps.push_back(r);
          p.maps.back().pathAt = static_cast<uint32_t>(p.paths.size());
          p.paths.append(pc.paths, r.pathAt, r.pathLen + 1);  // with its NUL
        }
      }
    }
    return w.any ? 1 : 0;
  }

  // A thread with no process left to start takes half of what another is walking. False when none is worth it.
  bool Steal() {
    Walk* w = nullptr;
    Piece* pc = nullptr;
    int mfd = -1;
    {
      std::lock_guard<std::mutex> lk(walksMu_);
      for (Walk* c : walks_) {
        bool worth = false;
        {
          std::lock_guard<std::mutex> lw(c->mu);
          for (const Piece& x : c->pieces) worth = worth || x.end - x.cur >= 2 * 4096;
        }
        if (!worth) continue;
        // Its own fd, opened while the owner keeps /proc/PID open (it is listed in walks_, which
        // walksMu_ guards) but without holding up the owner's walk.
        mfd = openat(c->pfd, "maps", O_RDONLY | O_CLOEXEC);
        if (mfd < 0) continue;
        {
          std::lock_guard<std::mutex> lw(c->mu);
          pc = Split(*c);
        }
        if (pc != nullptr) {
          w = c;
          break;
        }
        close(mfd);
        mfd = -1;
      }
    }
    if (w == nullptr) return false;
    WalkPiece(*w, *pc, mfd);
    close(mfd);
    return true;
  }

  // ---- open files ----

  // The open files on a listed device, from /proc/PID/fd.
  void ScanFds(int pfd, Proc& p, bool& denied) {
    int dfd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* fd = dfd < 0 ? nullptr : fdopendir(dfd);
    if (fd == nullptr) {
      if (errno == EACCES || errno == EPERM) denied = true;
      if (dfd >= 0) close(dfd);
      return;
    }
    while (struct dirent* de = readdir(fd)) {
      if (de->d_name[0] == '.') continue;
      char buf[4096];
      ssize_t n = readlinkat(dfd, de->d_name, buf, sizeof buf);
      // Sockets, pipes, event fds and the like link to "socket:[123]" and so on: no file on a listed
      // device (whose links are paths). Skipped without a stat; most of a busy process's fds are these.
      if (n > 0 && buf[0] != '/' && !devs_.empty()) continue;
      struct stat st;
      // stat() follows the magic link to the open file itself (also when it is unlinked).
      if (fstatat(dfd, de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;
      if (!devs_.empty() && !DevListed(st.st_dev)) continue;
      std::string path = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
      bool deleted = EndsWith(path, kDeleted);
      if (deleted) path.resize(path.size() - kDeletedLen);
      p.fds.push_back(FdRef{st.st_dev, st.st_ino, path, deleted, std::atoi(de->d_name), static_cast<uint64_t>(st.st_size)});
    }
    closedir(fd);
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
      Napi::Array mapFiles = Napi::Array::New(env);
      uint32_t nFiles = 0;
      Napi::Array pathBytes = Napi::Array::New(env);
      uint32_t nBytes = 0;
      Napi::Array uncertain = Napi::Array::New(env);  // indices of paths read from the maps text with a \012 in it
      uint32_t nUncertain = 0;
      // Most paths are ASCII: one check of the whole column spares the per-path UTF-8 check.
      const bool ascii = std::all_of(p.paths.begin(), p.paths.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
      for (size_t j = 0; j < nm; ++j) {
        const MapRef& r = p.maps[j];
        cDev[j] = static_cast<double>(r.dev);
        cIno[j] = static_cast<double>(r.ino);
        cBytes[j] = static_cast<double>(r.bytes);
        cDel[j] = r.deleted ? 1 : 0;
        cCount[j] = r.count;
        // A path that is not UTF-8 goes as its exact bytes too (extension/core/names.ts).
        std::string_view path(p.paths.data() + r.pathAt, r.pathLen);
        if (!ascii && !IsUtf8(path)) {
          pathBytes.Set(nBytes++, Num(env, static_cast<double>(j)));
          pathBytes.Set(nBytes++, Napi::Buffer<char>::Copy(env, path.data(), path.size()));
        }
        if (r.uncertain) uncertain.Set(nUncertain++, Num(env, static_cast<double>(j)));
        // Only a deleted file is opened through its mapping (catalog.ts): /proc/PID/map_files/START-END
        // opens the mapped file itself, even once it is unlinked (privileged: CAP_SYS_ADMIN).
        if (r.deleted) {
          char mapFile[96];
          std::snprintf(mapFile, sizeof mapFile, "/proc/%d/map_files/%llx-%llx", p.pid, static_cast<unsigned long long>(r.start),
                        static_cast<unsigned long long>(r.end));
          mapFiles.Set(nFiles++, Num(env, static_cast<double>(j)));
          mapFiles.Set(nFiles++, Napi::String::New(env, mapFile));
        }
      }
      Napi::Object maps = Napi::Object::New(env);
      maps.Set(kDev, cDev);
      maps.Set(kIno, cIno);
      maps.Set(kBytes, cBytes);
      maps.Set("count", cCount);
      maps.Set(kDel, cDel);
      // Joined by NUL: the arena without its last NUL.
      maps.Set("paths", Napi::String::New(env, p.paths.data(), p.paths.empty() ? 0 : p.paths.size() - 1));
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
    out.Set("invisible", Num(env, invisible_.load()));
    return out;
  }

 private:
  std::vector<uint64_t> devs_;  // a few at most: a linear search beats a tree
  bool sysv_ = false, sysvOnly_ = false;
  std::vector<int> pids_;
  // The walk (PROCMAP_QUERY) when only listed devices are wanted; System V attachments are found
  // by their path, which only the text has for every mapping.
  bool query_ = !devs_.empty() && !sysv_;
  std::mutex walksMu_;
  std::vector<Walk*> walks_;  // processes being walked that a thread may take a share of
  std::vector<Proc> procs_;
  std::atomic<int> invisible_{0};
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
