// Directory scan, filesystem figures and the /proc holder scan, each one async
// call that does all of its system calls on a worker thread.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "common.h"
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
  std::vector<uint8_t> head;
  std::vector<uint8_t> tail;
  uint64_t tailOffset = 0;
};

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
      if (!e.gone) e.error = ErrnoText("stat", errno);
      e.kind = "other";
      return true;
    }
    if (!S_ISREG(e.st.st_mode)) return false;
    e.kind = "file";
    e.error = ErrnoText("open", err);
    return true;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    e.kind = "file";
    e.error = ErrnoText("stat", errno);
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
      e.error = ErrnoText("read", errno);
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
    e.error = ErrnoText("stat", errno);
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
    else e.error = ErrnoText("readlink", errno);
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

// Small integers become V8 Smis (no heap number per field): most sizes, inode numbers, modes and uids fit.
napi_value Num64(Napi::Env env, uint64_t v) {
  napi_value out;
  if (v <= 0x3fffffffu) napi_create_int32(env, static_cast<int32_t>(v), &out);
  else napi_create_double(env, static_cast<double>(v), &out);
  return out;
}

class ScanDirWorker : public PromiseWorker {
 public:
  ScanDirWorker(Napi::Env env, std::string dir, size_t head, size_t tail)
      : PromiseWorker(env), dir_(std::move(dir)), head_(head), tail_(tail) {}

  void Execute() override {
    int dirfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
      SetError(ErrnoText(dir_, errno));
      return;
    }
    int listfd = dup(dirfd);
    DIR* d = listfd < 0 ? nullptr : fdopendir(listfd);
    if (d == nullptr) {
      SetError(ErrnoText(dir_, errno));
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
    for (const Entry& e : entries_) bytes_ += e.head.size() + e.tail.size();
  }

  Napi::Value Result(Napi::Env env) override {
    // Property names made once (not once per entry), and one ArrayBuffer that
    // holds every head and tail, viewed by small Uint8Arrays: thousands of
    // separate Buffers cost far more to make and to collect.
    enum K { kSize, kBlocks, kDev, kIno, kMode, kUid, kMtime, kName, kKind, kError, kLink, kHead, kTail, kTailOff, kN };
    static const char* const names[kN] = {"size", "blocks", "dev", "ino", "mode", "uid", "mtimeMs",
                                          "name", "kind", "error", "linkTarget", "head", "tail", "tailOffset"};
    napi_value keys[kN];
    for (int i = 0; i < kN; ++i) keys[i] = Napi::String::New(env, names[i]);
    Napi::String kinds[4] = {Napi::String::New(env, "file"), Napi::String::New(env, "dir"),
                             Napi::String::New(env, "symlink"), Napi::String::New(env, "other")};
    auto kindValue = [&](const std::string& k) -> napi_value {
      return k == "file" ? kinds[0] : k == "dir" ? kinds[1] : k == "symlink" ? kinds[2] : kinds[3];
    };
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, std::max<size_t>(bytes_, 1));
    uint8_t* base = static_cast<uint8_t*>(ab.Data());
    size_t pos = 0;
    auto view = [&](const std::vector<uint8_t>& v) -> napi_value {
      if (!v.empty()) std::memcpy(base + pos, v.data(), v.size());
      napi_value out;
      NAPI_THROW_IF_FAILED(env, napi_create_typedarray(env, napi_uint8_array, v.size(), ab, pos, &out), napi_value());
      pos += v.size();
      return out;
    };
    Napi::Array arr = Napi::Array::New(env, entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      const struct stat& st = e.st;
      Napi::Object o = Napi::Object::New(env);
      o.Set(keys[kName], Napi::String::New(env, e.name));
      o.Set(keys[kKind], kindValue(e.kind));
      o.Set(keys[kSize], Num64(env, static_cast<uint64_t>(st.st_size)));
      o.Set(keys[kBlocks], Num64(env, static_cast<uint64_t>(st.st_blocks)));
      o.Set(keys[kDev], Num64(env, st.st_dev));
      o.Set(keys[kIno], Num64(env, st.st_ino));
      o.Set(keys[kMode], Num64(env, st.st_mode));
      o.Set(keys[kUid], Num64(env, st.st_uid));
      o.Set(keys[kMtime], Num(env, static_cast<double>(st.st_mtim.tv_sec) * 1e3 +
                                       static_cast<double>(st.st_mtim.tv_nsec) / 1e6));
      if (!e.error.empty()) o.Set(keys[kError], Napi::String::New(env, e.error));
      if (e.kind == "symlink") o.Set(keys[kLink], Napi::String::New(env, e.linkTarget));
      if (e.kind == "file" && e.error.empty()) {
        o.Set(keys[kHead], view(e.head));
        if (!e.tail.empty()) {
          o.Set(keys[kTail], view(e.tail));
          o.Set(keys[kTailOff], Num64(env, e.tailOffset));
        }
      }
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
  }

 private:
  std::string dir_;
  size_t head_, tail_;
  std::vector<Entry> entries_;
  size_t bytes_ = 0;
};

class StatfsWorker : public PromiseWorker {
 public:
  StatfsWorker(Napi::Env env, std::string dir) : PromiseWorker(env), dir_(std::move(dir)) {}
  void Execute() override {
    if (statfs(dir_.c_str(), &sf_) != 0) SetError(ErrnoText(dir_, errno));
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

const char kDeleted[] = " (deleted)";

bool EndsWith(const std::string& s, const char* suf) {
  size_t n = std::strlen(suf);
  return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
}

class HoldersWorker : public PromiseWorker {
 public:
  HoldersWorker(Napi::Env env, std::set<uint64_t> devs) : PromiseWorker(env), devs_(std::move(devs)) {}

  void Execute() override {
    DIR* d = opendir("/proc");
    if (d == nullptr) {
      SetError(ErrnoText("/proc", errno));
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
  static bool ReadAll(const std::string& path, std::string& out) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
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
    if (!ReadAll(base + "/maps", maps)) {
      if (errno == EACCES || errno == EPERM) denied = true;
    } else {
      if (!maps.empty() && maps.back() != '\n') maps.push_back('\n');
      size_t at = 0;
      while (at < maps.size()) {
        size_t nl = maps.find('\n', at);
        maps[nl] = '\0';  // each line becomes a C string for sscanf
        const char* line = maps.c_str() + at;
        size_t lineEnd = nl;
        at = nl + 1;
        unsigned long long start, end, off, ino;
        unsigned maj, min;
        int pos = 0;
        if (std::sscanf(line, "%llx-%llx %*s %llx %x:%x %llu %n", &start, &end, &off, &maj, &min, &ino, &pos) < 6)
          continue;
        if (ino == 0 || pos == 0) continue;
        uint64_t dev = makedev(maj, min);
        if (!devs_.empty() && devs_.count(dev) == 0) continue;
        // The path is the rest of the line (it may contain spaces; the kernel writes a newline in a name as \012).
        std::string path(line + pos, maps.c_str() + lineEnd);
        bool deleted = EndsWith(path, kDeleted);
        if (deleted) path.resize(path.size() - (sizeof kDeleted - 1));
        auto it = std::find_if(p.maps.begin(), p.maps.end(),
                               [&](const MapRef& m) { return m.dev == dev && m.ino == ino; });
        uint64_t len = end - start;
        if (it == p.maps.end()) {
          // /proc/PID/map_files/START-END opens the mapped file itself, even once it is
          // unlinked (privileged: CAP_SYS_ADMIN); the catalog uses it to fstat and read a deleted segment.
          char mapFile[96];
          std::snprintf(mapFile, sizeof mapFile, "%s/map_files/%llx-%llx", base.c_str(), start, end);
          p.maps.push_back(MapRef{dev, ino, path, deleted, off + len, mapFile});
        } else {
          it->bytes = std::max<uint64_t>(it->bytes, off + len);
        }
      }
    }
    std::string fdDir = base + "/fd";
    DIR* fd = opendir(fdDir.c_str());
    if (fd == nullptr) {
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
    for (size_t i = 0; i < procs_.size(); ++i) {
      const Proc& p = procs_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("pid", Num(env, p.pid));
      o.Set("comm", Napi::String::New(env, p.comm));
      Napi::Array maps = Napi::Array::New(env, p.maps.size());
      for (size_t j = 0; j < p.maps.size(); ++j) {
        Napi::Object m = Napi::Object::New(env);
        m.Set("dev", Num(env, static_cast<double>(p.maps[j].dev)));
        m.Set("ino", Num(env, static_cast<double>(p.maps[j].ino)));
        m.Set("path", Napi::String::New(env, p.maps[j].path));
        m.Set("deleted", Napi::Boolean::New(env, p.maps[j].deleted));
        m.Set("bytes", Num(env, static_cast<double>(p.maps[j].bytes)));
        m.Set("mapFile", Napi::String::New(env, p.maps[j].mapFile));
        maps.Set(j, m);
      }
      o.Set("maps", maps);
      Napi::Array fds = Napi::Array::New(env, p.fds.size());
      for (size_t j = 0; j < p.fds.size(); ++j) {
        Napi::Object m = Napi::Object::New(env);
        m.Set("dev", Num(env, static_cast<double>(p.fds[j].dev)));
        m.Set("ino", Num(env, static_cast<double>(p.fds[j].ino)));
        m.Set("path", Napi::String::New(env, p.fds[j].path));
        m.Set("deleted", Napi::Boolean::New(env, p.fds[j].deleted));
        m.Set("fd", Num(env, p.fds[j].fd));
        m.Set("size", Num(env, static_cast<double>(p.fds[j].size)));
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
  std::vector<Proc> procs_;
  int invisible_ = 0;
};

}  // namespace

Napi::Value ScanDir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "scanDir(dir, headBytes, tailBytes)");
  size_t head = info.Length() > 1 ? info[1].As<Napi::Number>().Uint32Value() : 0;
  size_t tail = info.Length() > 2 ? info[2].As<Napi::Number>().Uint32Value() : 0;
  auto* w = new ScanDirWorker(env, info[0].As<Napi::String>(), std::min<size_t>(head, 1 << 20),
                              std::min<size_t>(tail, 1 << 20));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Statfs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "statfs(dir)");
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
  auto* w = new HoldersWorker(env, std::move(devs));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace shm
