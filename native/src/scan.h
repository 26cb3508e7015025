#pragma once
#include <napi.h>
namespace shm {
Napi::Value ScanDir(const Napi::CallbackInfo& info);
Napi::Value Statfs(const Napi::CallbackInfo& info);
Napi::Value ScanHolders(const Napi::CallbackInfo& info);
Napi::Object InitView(Napi::Env env, Napi::Object exports);
}  // namespace shm
