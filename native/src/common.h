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
      // Building the result failed (no memory for it, a bug): still a rejection with a code.
      if (!e.Value().Has("code")) e.Value().Set("code", Napi::String::New(env, "INTERNAL"));
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    // A stable machine-readable reason beside the message (SetCode), e.g. "EACCES"; every
    // rejection has one (contract/errors.ts): a SetError without SetCode is a bug, INTERNAL.
    e.Value().Set("code", Napi::String::New(Env(), code_.empty() ? "INTERNAL" : code_));
    deferred_.Reject(e.Value());
  }
  // Call with SetError: the rejection's Error then carries `code`.
  void SetCode(std::string code) { code_ = std::move(code); }
  // SetError with its code.
  void Fail(const std::string& code, const std::string& message) {
    SetCode(code);
    SetError(message);
  }

 private:
  std::string code_;
  Napi::Promise::Deferred deferred_;
};

inline std::string ErrnoText(const std::string& what, int err) {
  return what + ": " + std::strerror(err) + " (" + std::to_string(err) + ")";
}

// The errno's name (ENOENT, EACCES...), a rejection's `code`; EIO for an errno without one.
inline const char* ErrnoCode(int e) {
  const char* name = strerrorname_np(e);
  return name != nullptr ? name : "EIO";
}

// An error of type E (Napi::Error, TypeError, RangeError) carrying a stable `code`, to throw
// from an entry point at once: bad arguments are EINVAL (RANGE for numbers out of range), a
// closed view CLOSED. Like every rejection, a caller decides by the code, not the text.
template <typename E = Napi::Error>
E CodedError(Napi::Env env, const char* code, const std::string& message) {
  E e = E::New(env, message);
  e.Value().Set("code", Napi::String::New(env, code));
  return e;
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
