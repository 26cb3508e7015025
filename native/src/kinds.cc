// Shared memory beyond this mount namespace's /dev/shm (issue #15; extension/core/kinds/):
// - shmemDevice: the device number of the kernel's internal shmem mount, on which memfd regions,
//   shared anonymous mappings (`/dev/zero (deleted)`, `[anon_shmem:NAME]`) and System V segments
//   live; the holder scan is asked for that device to find them in /proc/PID/maps and fd.
// - openInRoot: a file or folder of another mount namespace, reached through /proc/PID/root and
//   resolved inside it (openat2 RESOLVE_IN_ROOT: `..` and absolute symbolic links stay in that
//   root; RESOLVE_NO_MAGICLINKS: no /proc magic link leads out). The caller gets the descriptor
//   and reads through it (/proc/self/fd/N), never through a path.
// - InIpcNamespace: work done in another IPC namespace (System V segments of a container) on a
//   thread of its own that enters it with setns and ends with the work: no other thread of the
//   process (the extension host's) ever changes namespace.
#include "kinds.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <thread>

#include "common.h"

namespace shm {
namespace {

class ShmemDeviceWorker : public PromiseWorker {
 public:
  explicit ShmemDeviceWorker(Napi::Env env) : PromiseWorker(env) {}
  void Execute() override {
    int fd = static_cast<int>(syscall(SYS_memfd_create, "shm-inspector-probe", MFD_CLOEXEC));
    if (fd < 0) return SetError(ErrnoText("memfd_create", errno));
    struct stat st;
    int r = fstat(fd, &st);
    int e = errno;
    close(fd);
    if (r != 0) return SetError(ErrnoText("fstat memfd", e));
    dev_ = st.st_dev;
  }
  Napi::Value Result(Napi::Env env) override { return Num(env, static_cast<double>(dev_)); }

 private:
  uint64_t dev_ = 0;
};

class OpenInRootWorker : public PromiseWorker {
 public:
  OpenInRootWorker(Napi::Env env, std::string root, std::string path, bool dir)
      : PromiseWorker(env), root_(std::move(root)), path_(std::move(path)), dir_(dir) {}
  void Execute() override {
    // The root itself is /proc/PID/root: a magic link, followed on purpose (it is the namespace's root).
    int rootFd = open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootFd < 0) return Fail(errno, root_);
    struct open_how how {};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | (dir_ ? O_DIRECTORY : 0);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int fd;
    do fd = static_cast<int>(syscall(SYS_openat2, rootFd, path_.c_str(), &how, sizeof how));
    while (fd < 0 && errno == EAGAIN);
    int e = errno;
    close(rootFd);
    if (fd < 0) return Fail(e, root_ + path_);
    if (fstat(fd, &st_) != 0) {
      e = errno;
      close(fd);
      return Fail(e, root_ + path_);
    }
    fd_ = fd;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("fd", Num(env, fd_));
    o.Set("dev", Num(env, static_cast<double>(st_.st_dev)));
    o.Set("ino", Num(env, static_cast<double>(st_.st_ino)));
    o.Set("mode", Num(env, st_.st_mode));
    o.Set("uid", Num(env, st_.st_uid));
    o.Set("size", Num(env, static_cast<double>(st_.st_size)));
    o.Set("blocks", Num(env, static_cast<double>(st_.st_blocks)));
    o.Set("mtimeMs", Num(env, static_cast<double>(st_.st_mtim.tv_sec) * 1000 + std::floor(st_.st_mtim.tv_nsec / 1e6)));
    return o;
  }

 private:
  void Fail(int e, const std::string& what) {
    SetCode(strerrorname_np(e) ? strerrorname_np(e) : "EIO");
    if (e == ELOOP) SetError(what + ": a symbolic link (not followed)");
    else if (e == EXDEV) SetError(what + ": leads out of the namespace's root; refused");
    else SetError(ErrnoText(what, e));
  }
  std::string root_, path_;
  bool dir_;
  int fd_ = -1;
  struct stat st_ {};
};

}  // namespace

Napi::Value ShmemDevice(const Napi::CallbackInfo& info) {
  auto* w = new ShmemDeviceWorker(info.Env());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// openInRoot(root, path, dir): opens `path` (relative to the root, or absolute: both inside it)
// read-only, not following a final symbolic link, resolved inside `root`; `dir` wants a folder.
// Resolves with the descriptor (the caller closes it) and its fstat; rejects with `code`.
Napi::Value OpenInRoot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string root, path;
  if (info.Length() < 2 || !PathArg(info[0], root) || !PathArg(info[1], path))
    throw Napi::TypeError::New(env, "openInRoot(root: string, path: string | Buffer, dir?: boolean)");
  bool dir = info.Length() > 2 && info[2].ToBoolean();
  auto* w = new OpenInRootWorker(env, std::move(root), std::move(path), dir);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

IpcNs IpcNsArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  IpcNs ns;
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return ns;
  Napi::Env env = info.Env();
  if (!info[i].IsObject()) throw Napi::TypeError::New(env, std::string(fn) + ": ns is { path, ino }");
  Napi::Object o = info[i].As<Napi::Object>();
  Napi::Value p = o.Get("path"), n = o.Get("ino");
  if (!p.IsString() || !n.IsNumber()) throw Napi::TypeError::New(env, std::string(fn) + ": ns is { path: string, ino: number }");
  ns.path = p.As<Napi::String>().Utf8Value();
  ns.ino = static_cast<uint64_t>(n.As<Napi::Number>().DoubleValue());
  if (ns.path.empty()) throw Napi::TypeError::New(env, std::string(fn) + ": ns.path is empty");
  return ns;
}

int InIpcNamespace(const IpcNs& ns, const std::function<void()>& body) {
  if (ns.own()) {
    body();
    return 0;
  }
  int fd = open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_ino != ns.ino) {
    close(fd);
    return ESTALE;
  }
  int err = 0;
  std::thread t([&] {
    if (setns(fd, CLONE_NEWIPC) != 0) {
      err = errno;
      return;
    }
    body();
  });
  t.join();
  close(fd);
  return err;
}

std::string IpcNsErrorText(const IpcNs& ns, int err) {
  const std::string what = "IPC namespace " + std::to_string(ns.ino);
  if (err == EPERM || err == EACCES) return what + ": cannot be entered (needs CAP_SYS_ADMIN)";
  if (err == ENOENT || err == ESRCH) return what + ": its process exited";
  if (err == ESTALE) return what + ": its process exited (the PID now names another namespace)";
  return ErrnoText(what, err);
}

}  // namespace shm
