// Entry point of the shm_native addon. Every export that touches the file
// system or reads memory returns a Promise and does its work off the JS thread.
#include <napi.h>

#include "fsops.h"
#include "kinds.h"
#include "procs.h"
#include "scan.h"

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("scanDir", Napi::Function::New(env, shm::ScanDir, "scanDir"));
  exports.Set("statfs", Napi::Function::New(env, shm::Statfs, "statfs"));
  exports.Set("scanHolders", Napi::Function::New(env, shm::ScanHolders, "scanHolders"));
  exports.Set("removeEntries", Napi::Function::New(env, shm::RemoveEntries, "removeEntries"));
  // Processes: per-process memory, fork families, copied since fork (procs.cc).
  exports.Set("scanProcesses", Napi::Function::New(env, shm::ScanProcesses, "scanProcesses"));
  exports.Set("processMappings", Napi::Function::New(env, shm::ProcessMappings, "processMappings"));
  exports.Set("compareInherited", Napi::Function::New(env, shm::CompareInherited, "compareInherited"));
  // Shared memory beyond /dev/shm: memfd and shared anonymous memory, containers' roots (kinds.cc).
  exports.Set("shmemDevice", Napi::Function::New(env, shm::ShmemDevice, "shmemDevice"));
  exports.Set("openInRoot", Napi::Function::New(env, shm::OpenInRoot, "openInRoot"));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return shm::InitView(env, exports);
}
}  // namespace

NODE_API_MODULE(shm_native, Init)
