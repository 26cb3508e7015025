// File-system operations that must act on one planned inode, never on whatever a name
// holds by the time the call runs (see fsops.cc).
#pragma once
#include <napi.h>

namespace shm {
// removeEntries(dirFd, [{name, dev, ino, kind}]) -> Promise<[{code, message?, blocks, nlink, displacedAs?}]>
Napi::Value RemoveEntries(const Napi::CallbackInfo& info);
}  // namespace shm
