#pragma once
#include <napi.h>
// Per-process memory and sharing across fork (procs.cc).
namespace shm {
Napi::Value ScanProcesses(const Napi::CallbackInfo& info);
Napi::Value ProcessMappings(const Napi::CallbackInfo& info);
Napi::Value CompareInherited(const Napi::CallbackInfo& info);
}  // namespace shm
