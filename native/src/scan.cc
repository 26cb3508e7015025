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
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "common.h"
#include "scan.h"

namespace shm {
namespace {

struct Entry {
  std::string name;
  std::string kind;  // file, dir, symlink, other
  struct stat st {};
  std::string linkTarget;
  std::string error;
  std::vector<uint8_t> head;
  std::vector<uint8_t> tail;
  uint64_t tailOffset = 0;
};

void ReadEnds(int dirfd, Entry& e, size_t headBytes, size_t tailBytes) {
  int fd = openat(dirfd, e.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    e.error = ErrnoText("open", errno);
    return;
  }
  struct stat st;
  if (fstat(fd, &st) == 0) e.st = st;  // the open file is the truth
  uint64_t size = static_cast<uint64_t>(e.st.st_size);
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
  if (tailBytes > 0 && size > h) {
    uint64_t t = std::min<uint64_t>(tailBytes, size);
    uint64_t off = size - t;
    e.tail.resize(static_cast<size_t>(t));
    ssize_t n = pread(fd, e.tail.data(), t, static_cast<off_t>(off));
    if (n < 0) {
      e.tail.clear();
    } else {
      e.tail.resize(static_cast<size_t>(n));
      e.tailOffset = off;
    }
  }
  close(fd);
}

Napi::Object StatObject(Napi::Env env, const struct stat& st) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", Num(env, static_cast<double>(st.st_size)));
  o.Set("blocks", Num(env, static_cast<double>(st.st_blocks)));
  o.Set("dev", Num(env, static_cast<double>(st.st_dev)));
  o.Set("ino", Num(env, static_cast<double>(st.st_ino)));
  o.Set("mode", Num(env, static_cast<double>(st.st_mode)));
  o.Set("uid", Num(env, static_cast<double>(st.st_uid)));
  o.Set("mtimeMs", Num(env, static_cast<double>(st.st_mtim.tv_sec) * 1e3 +
                                static_cast<double>(st.st_mtim.tv_nsec) / 1e6));
  return o;
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
    DIR* d = fdopendir(dirfd);
    if (d == nullptr) {
      SetError(ErrnoText(dir_, errno));
      close(dirfd);
      return;
    }
    while (struct dirent* de = readdir(d)) {
      if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
      Entry e;
      e.name = de->d_name;
      if (fstatat(dirfd, de->d_name, &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // vanished between readdir and stat
        e.kind = "other";
        e.error = ErrnoText("stat", errno);
        entries_.push_back(std::move(e));
        continue;
      }
      if (S_ISREG(e.st.st_mode)) {
        e.kind = "file";
        if (head_ > 0 || tail_ > 0) ReadEnds(dirfd, e, head_, tail_);
      } else if (S_ISDIR(e.st.st_mode)) {
        e.kind = "dir";
      } else if (S_ISLNK(e.st.st_mode)) {
        e.kind = "symlink";
        char buf[4096];
        ssize_t n = readlinkat(dirfd, de->d_name, buf, sizeof buf);
        if (n >= 0) e.linkTarget.assign(buf, static_cast<size_t>(n));
      } else {
        e.kind = "other";
      }
      entries_.push_back(std::move(e));
    }
    closedir(d);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      Napi::Object o = StatObject(env, e.st);
      o.Set("name", Napi::String::New(env, e.name));
      o.Set("kind", Napi::String::New(env, e.kind));
      if (!e.error.empty()) o.Set("error", Napi::String::New(env, e.error));
      if (e.kind == "symlink") o.Set("linkTarget", Napi::String::New(env, e.linkTarget));
      if (e.kind == "file" && e.error.empty()) {
        o.Set("head", Napi::Buffer<uint8_t>::Copy(env, e.head.data(), e.head.size()));
        if (!e.tail.empty()) {
          o.Set("tail", Napi::Buffer<uint8_t>::Copy(env, e.tail.data(), e.tail.size()));
          o.Set("tailOffset", Num(env, static_cast<double>(e.tailOffset)));
        }
      }
      arr.Set(i, o);
    }
    return arr;
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
  uint64_t bytes;  // mapped length (sum over this process's mappings of the file)
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

  void ScanPid(int pid) {
    std::string base = "/proc/" + std::to_string(pid);
    Proc p;
    p.pid = pid;
    {
      std::ifstream c(base + "/comm");
      if (!c) return;  // gone
      std::getline(c, p.comm);
    }
    bool denied = false;
    // maps: "start-end perms offset MM:mm inode   path"
    FILE* f = std::fopen((base + "/maps").c_str(), "re");
    if (f == nullptr) {
      if (errno == EACCES || errno == EPERM) denied = true;
    } else {
      char line[8192];
      bool any = false;
      while (std::fgets(line, sizeof line, f)) {
        any = true;
        unsigned long long start, end, off, ino;
        unsigned maj, min;
        int pos = 0;
        if (std::sscanf(line, "%llx-%llx %*s %llx %x:%x %llu %n", &start, &end, &off, &maj, &min, &ino, &pos) < 6)
          continue;
        if (ino == 0) continue;
        uint64_t dev = makedev(maj, min);
        if (!devs_.empty() && devs_.count(dev) == 0) continue;
        std::string path(line + pos);
        while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
        bool deleted = EndsWith(path, kDeleted);
        if (deleted) path.resize(path.size() - (sizeof kDeleted - 1));
        auto it = std::find_if(p.maps.begin(), p.maps.end(),
                               [&](const MapRef& m) { return m.dev == dev && m.ino == ino; });
        uint64_t len = end - start;
        if (it == p.maps.end()) {
          p.maps.push_back(MapRef{dev, ino, path, deleted, off + len});
        } else {
          it->bytes = std::max<uint64_t>(it->bytes, off + len);
        }
      }
      std::fclose(f);
      // Another user's process: maps opens but reads as empty without ptrace rights.
      if (!any && !KernelThread(pid)) denied = true;
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

  static bool KernelThread(int pid) {
    // Kernel threads have an empty cmdline and no maps.
    std::ifstream c("/proc/" + std::to_string(pid) + "/cmdline");
    return !c || c.peek() == std::ifstream::traits_type::eof();
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
