#pragma once
// Shared memory that is not a file of this mount namespace's /dev/shm (issue #15): the device of
// the kernel's internal shmem mount (memfd, shared anonymous memory, System V), files opened inside
// another mount namespace's root (openat2 RESOLVE_IN_ROOT), and work done in another IPC namespace
// from a thread of its own (setns). See kinds.cc.
#include <napi.h>

#include <functional>
#include <string>

namespace shm {
// shmemDevice(): Promise<number>, the st_dev of a memfd (the kernel's internal shmem mount).
Napi::Value ShmemDevice(const Napi::CallbackInfo& info);
// openInRoot(root, path, dir): Promise<{fd, dev, ino, mode, size, blocks, uid, mtimeMs}>; see kinds.cc.
Napi::Value OpenInRoot(const Napi::CallbackInfo& info);

// An IPC namespace to work in: the path of a /proc/PID/ns/ipc link and the namespace's inode it
// must still name (the process may have exited and its PID been reused). Empty path: our own.
struct IpcNs {
  std::string path;
  uint64_t ino = 0;
  bool own() const { return path.empty(); }
};

// Reads an optional { path, ino } argument at info[i] (undefined or null: our own namespace).
IpcNs IpcNsArg(const Napi::CallbackInfo& info, size_t i, const char* fn);

// Runs body() on a new thread that first enters `ns` (setns CLONE_NEWIPC), and waits for it; the
// thread (and its namespace) ends with body. Our own namespace: body() runs here. Returns 0, or
// the errno of entering (EACCES/EPERM without CAP_SYS_ADMIN, ENOENT when the process is gone,
// ESTALE when the link now names another namespace).
int InIpcNamespace(const IpcNs& ns, const std::function<void()>& body);

// "the IPC namespace N could not be entered: ..." for an errno of InIpcNamespace.
std::string IpcNsErrorText(const IpcNs& ns, int err);
}  // namespace shm
