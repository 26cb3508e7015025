#pragma once
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace shm {

// An AsyncWorker that settles a Promise: Execute() runs on a libuv pool thread,
// Resolve() builds the JS result back on the main thread.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  virtual Napi::Value Result(Napi::Env env) = 0;
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      deferred_.Resolve(Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    // A stable machine-readable reason beside the message (SetCode), e.g. "EACCES".
    if (!code_.empty()) e.Value().Set("code", Napi::String::New(Env(), code_));
    deferred_.Reject(e.Value());
  }
  // Call with SetError: the rejection's Error then carries `code`.
  void SetCode(std::string code) { code_ = std::move(code); }

 private:
  std::string code_;
  Napi::Promise::Deferred deferred_;
};

inline std::string ErrnoText(const std::string& what, int err) {
  return what + ": " + std::strerror(err) + " (" + std::to_string(err) + ")";
}

inline Napi::Value Num(Napi::Env env, double v) { return Napi::Number::New(env, v); }

// A path argument: a string (its UTF-8), or a Buffer of the exact bytes (a file name that is
// not UTF-8; see extension/core/names.ts). False when it is neither, or holds a NUL.
inline bool PathArg(const Napi::Value& v, std::string& out) {
  if (v.IsString()) {
    out = v.As<Napi::String>().Utf8Value();
  } else if (v.IsBuffer()) {
    Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
    out.assign(b.Data(), b.Length());
  } else {
    return false;
  }
  return out.find('\0') == std::string::npos;
}

}  // namespace shm
