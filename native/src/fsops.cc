// removeEntries: removes directory entries only when they still are the inode the
// caller planned to remove, a batch at a time on a worker thread.
//
// Checking an entry (lstat: dev, ino) and then unlinking it by name leaves a window in
// which the name can be given to another file (a producer's rename(tmp, name), or
// renameat2(RENAME_EXCHANGE)), and that other file would be deleted. Here, for each entry:
//   1. renameat2(name -> .shmi-rm-<random>-<name>, RENAME_NOREPLACE) in the same directory (the
//      `-<name>` when it fits: an unlinked file keeps its last name in /proc/PID/maps): the
//      inode is taken out of its name atomically, whatever inode that is;
//   2. fstatat(private, AT_SYMLINK_NOFOLLOW): is it the planned one (dev, ino, type)?
//   3. yes: unlinkat(private) (AT_REMOVEDIR for a folder); no: renameat2 back to `name`
//      with RENAME_NOREPLACE. When the name was taken meanwhile, the file is left under
//      `<name>.displaced-<hex>` (a visible name that says what happened) and reported as
//      DISPLACED: a file that was not planned is never deleted.
// The private name is random (64 bits) and exists only between the calls; the only way to
// lose the wrong inode is for another process to rename onto that exact private name in
// the microseconds between steps 2 and 3.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common.h"
#include "fsops.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

namespace shm {
namespace {

enum class Kind { File, Dir, Symlink, Other, Any };

struct Item {
  std::string name;  // bytes of one directory entry's name
  double dev = 0, ino = 0;
  Kind kind = Kind::Any;
  // Results.
  std::string code = "OK";
  std::string message;
  double blocks = 0, nlink = 0;
  std::string displacedAs;
};

Kind KindOf(const std::string& s) {
  if (s == "file") return Kind::File;
  if (s == "dir") return Kind::Dir;
  if (s == "symlink") return Kind::Symlink;
  if (s == "other") return Kind::Other;
  return Kind::Any;
}

bool SameKind(Kind k, mode_t m) {
  switch (k) {
    case Kind::File: return S_ISREG(m);
    case Kind::Dir: return S_ISDIR(m);
    case Kind::Symlink: return S_ISLNK(m);
    case Kind::Other: return !S_ISREG(m) && !S_ISDIR(m) && !S_ISLNK(m);
    case Kind::Any: return true;
  }
  return false;
}

// "operation not permitted": strerror's text as Node's errors spell it (lower-case first letter).
std::string ErrnoMessage(int e) {
  std::string m = std::strerror(e);
  if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z') m[0] = static_cast<char>(m[0] - 'A' + 'a');
  return m;
}

void Fail(Item& it, int e) {
  it.code = ErrnoCode(e);
  it.message = ErrnoMessage(e);
}

std::string RandomHex(size_t bytes) {
  unsigned char b[16];
  if (bytes > sizeof b) bytes = sizeof b;
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(b + got, bytes - got, 0);
    if (n <= 0) {
      // No entropy source: the clock and the address of a stack object still differ between calls.
      struct timespec ts {};
      clock_gettime(CLOCK_MONOTONIC, &ts);
      uint64_t v = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 30) ^ reinterpret_cast<uintptr_t>(&ts);
      for (; got < bytes; ++got, v >>= 8) b[got] = static_cast<unsigned char>(v);
      break;
    }
    got += static_cast<size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < bytes; ++i) {
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

int Rename2(int dirfd, const std::string& from, const std::string& to, unsigned flags) {
  return renameat2(dirfd, from.c_str(), dirfd, to.c_str(), flags);
}

// Moves `from` to a new name that did not exist (RENAME_NOREPLACE; where the file system
// lacks it, EINVAL, a plain rename onto a name just seen to be free). Returns 0 or an errno.
int MoveToFree(int dirfd, const std::string& from, const std::string& to) {
  if (Rename2(dirfd, from, to, RENAME_NOREPLACE) == 0) return 0;
  int e = errno;
  if (e != EINVAL) return e;
  struct stat st {};
  if (fstatat(dirfd, to.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return EEXIST;
  if (errno != ENOENT) return errno;
  return renameat(dirfd, from.c_str(), dirfd, to.c_str()) == 0 ? 0 : errno;
}

// `<name>.displaced-<hex>`, the name's bytes cut (at a UTF-8 character start) to fit 255 bytes.
std::string DisplacedName(const std::string& name) {
  std::string suffix = ".displaced-" + RandomHex(3);
  size_t keep = std::min(name.size(), static_cast<size_t>(255) - suffix.size());
  while (keep > 0 && keep < name.size() && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80) --keep;
  return name.substr(0, keep) + suffix;
}

// Puts a file that was not the planned one back under its name; when that name was taken
// meanwhile, under a displaced name. Sets the item's code accordingly.
void PutBack(int dirfd, const std::string& priv, Item& it, const std::string& code, const std::string& message) {
  int e = MoveToFree(dirfd, priv, it.name);
  if (e == 0) {
    it.code = code;
    it.message = message;
    return;
  }
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string alt = DisplacedName(it.name);
    if (MoveToFree(dirfd, priv, alt) == 0) {
      it.code = "DISPLACED";
      it.displacedAs = alt;
      it.message = message + "; its name was taken meanwhile, so it was left as " + alt;
      return;
    }
  }
  it.code = "DISPLACED";
  it.displacedAs = priv;
  it.message = message + "; its name was taken meanwhile and it could not be renamed back (" + ErrnoMessage(e) + "), so it was left as " + priv;
}

void RemoveOne(int dirfd, Item& it) {
  if (it.name.empty() || it.name == "." || it.name == ".." || it.name.find('/') != std::string::npos ||
      it.name.find('\0') != std::string::npos) {
    Fail(it, EINVAL);
    return;
  }
  std::string priv;
  int e = EEXIST;
  for (int attempt = 0; attempt < 4 && e == EEXIST; ++attempt) {
    priv = ".shmi-rm-" + RandomHex(8);
    // The name goes along when it fits (NAME_MAX): a process that maps or holds the file open keeps
    // seeing it under its last name once unlinked (/proc/PID/maps, /proc/PID/fd), and the catalog
    // reads the segment's name back from there (fsutil.ts removedName).
    if (priv.size() + 1 + it.name.size() <= 255) priv += "-" + it.name;
    e = MoveToFree(dirfd, it.name, priv);
  }
  if (e != 0) {
    Fail(it, e);
    return;
  }
  struct stat st {};
  if (fstatat(dirfd, priv.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    // Renamed a moment ago: only another process renaming our private name away gets here.
    Fail(it, errno);
    return;
  }
  if (static_cast<double>(st.st_dev) != it.dev || static_cast<double>(st.st_ino) != it.ino || !SameKind(it.kind, st.st_mode)) {
    PutBack(dirfd, priv, it, "CHANGED", "replaced by a different file since it was listed");
    return;
  }
  bool dir = S_ISDIR(st.st_mode);
  if (unlinkat(dirfd, priv.c_str(), dir ? AT_REMOVEDIR : 0) != 0) {
    int u = errno;
    std::string why = (u == ENOTEMPTY || u == EEXIST) ? "entries that were not listed appeared in it" : ErrnoMessage(u);
    PutBack(dirfd, priv, it, u == EEXIST ? std::string("ENOTEMPTY") : ErrnoCode(u), why);
    return;
  }
  it.code = "OK";
  it.blocks = static_cast<double>(st.st_blocks);
  it.nlink = static_cast<double>(st.st_nlink);
}

class RemoveWorker : public PromiseWorker {
 public:
  RemoveWorker(Napi::Env env, int dirfd, std::vector<Item> items) : PromiseWorker(env), dirfd_(dirfd), items_(std::move(items)) {}
  void Execute() override {
    for (Item& it : items_) RemoveOne(dirfd_, it);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, items_.size());
    for (size_t i = 0; i < items_.size(); ++i) {
      const Item& it = items_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("code", it.code);
      if (!it.message.empty()) o.Set("message", it.message);
      o.Set("blocks", Num(env, it.blocks));
      o.Set("nlink", Num(env, it.nlink));
      if (!it.displacedAs.empty()) o.Set("displacedAs", Napi::String::New(env, it.displacedAs));
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  int dirfd_;
  std::vector<Item> items_;
};

}  // namespace

Napi::Value RemoveEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "removeEntries(dirFd, [{name, dev, ino, kind}])";
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsArray()) throw CodedError<Napi::TypeError>(env, "EINVAL", usage);
  int dirfd = info[0].As<Napi::Number>().Int32Value();
  Napi::Array a = info[1].As<Napi::Array>();
  std::vector<Item> items(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value v = a.Get(i);
    if (!v.IsObject()) throw CodedError<Napi::TypeError>(env, "EINVAL", usage);
    Napi::Object o = v.As<Napi::Object>();
    Napi::Value name = o.Get("name");
    if (name.IsBuffer()) {
      Napi::Buffer<char> b = name.As<Napi::Buffer<char>>();
      items[i].name.assign(b.Data(), b.Length());
    } else if (name.IsString()) {
      items[i].name = name.As<Napi::String>().Utf8Value();
    } else {
      throw CodedError<Napi::TypeError>(env, "EINVAL", usage);
    }
    items[i].dev = o.Get("dev").ToNumber().DoubleValue();
    items[i].ino = o.Get("ino").ToNumber().DoubleValue();
    Napi::Value kind = o.Get("kind");
    items[i].kind = kind.IsString() ? KindOf(kind.As<Napi::String>().Utf8Value()) : Kind::Any;
  }
  auto* w = new RemoveWorker(env, dirfd, std::move(items));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace shm
