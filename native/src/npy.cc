// The NPY header in exactly the form numpy writes, parsed in the addon (native/src/npy.h).
#include "npy.h"

#include <cstring>

namespace shm {

namespace {

// numpy 2's NPY_MAXDIMS: the same limit as MAX_DIMS in extension/core/formats/util.ts.
constexpr size_t kMaxDims = 64;

bool IsWordChar(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

}  // namespace

// The header exactly as numpy's writer formats it, the same form as CANONICAL in
// extension/core/formats/npy.ts: {'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }
// padded with spaces and ended by a newline. Anything else (other spacing, structured
// dtypes, a header longer than the head read, dimensions past 2^53) is left to the
// TypeScript decoder, which reads and reports it in full; this only saves the common case
// the round trip of its bytes to JavaScript.

bool ParseCanonicalNpy(const uint8_t* h, size_t size, uint64_t fileSize, CanonicalNpy& out) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 12 || std::memcmp(h, kMagic, 6) != 0) return false;
  uint8_t major = h[6], minor = h[7];
  if (major < 1 || major > 3 || minor != 0) return false;
  size_t start, len;
  if (major == 1) {
    len = h[8] | (static_cast<size_t>(h[9]) << 8);
    start = 10;
  } else {
    len = h[8] | (static_cast<size_t>(h[9]) << 8) | (static_cast<size_t>(h[10]) << 16) | (static_cast<size_t>(h[11]) << 24);
    start = 12;
  }
  size_t end = start + len;
  if (len > (1u << 20) || end > size || end > fileSize) return false;
  const char* p = reinterpret_cast<const char*>(h) + start;
  const char* const stop = reinterpret_cast<const char*>(h) + end;
  auto lit = [&](const char* s) {
    size_t n = std::strlen(s);
    if (static_cast<size_t>(stop - p) < n || std::memcmp(p, s, n) != 0) return false;
    p += n;
    return true;
  };
  if (!lit("{'descr': '")) return false;
  const char* d0 = p;
  if (p < stop && (*p == '<' || *p == '>' || *p == '|' || *p == '=')) ++p;
  if (p >= stop || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return false;
  ++p;
  int word = 0;
  while (p < stop && IsWordChar(static_cast<uint8_t>(*p)) && word < 16) ++p, ++word;
  std::string descr(d0, p);
  if (!lit("', 'fortran_order': ")) return false;
  bool fortran;
  if (lit("True")) fortran = true;
  else if (lit("False")) fortran = false;
  else return false;
  if (!lit(", 'shape': (")) return false;
  std::vector<double> shape;
  for (;;) {
    if (p < stop && *p == ')') break;
    const char* q = p;
    uint64_t v = 0;
    while (p < stop && *p >= '0' && *p <= '9' && p - q < 19) v = v * 10 + static_cast<uint64_t>(*p++ - '0');
    if (p == q || (p < stop && *p >= '0' && *p <= '9')) return false;
    if (v > (uint64_t{1} << 53) - 1) return false;  // not a safe integer: the TS decoder reports it
    // One rule for both paths: past MAX_DIMS (extension/core/formats/util.ts) the TS decoder says so.
    if (shape.size() == kMaxDims) return false;
    shape.push_back(static_cast<double>(v));
    if (p < stop && *p == ',') {
      ++p;
      if (p < stop && *p == ' ') ++p;
    } else if (!(p < stop && *p == ')')) {
      return false;
    }
  }
  if (!lit("), }")) return false;
  while (p < stop && *p == ' ') ++p;
  if (p < stop && *p == '\n') ++p;
  if (p != stop) return false;
  out.fortran = fortran;
  out.dataOffset = static_cast<uint32_t>(end);
  out.descr = std::move(descr);
  out.shape = std::move(shape);
  return true;
}

NpyColumns::NpyColumns(Napi::Env env, size_t n, size_t dims)
    : env_(env),
      n_(n),
      npy_(Napi::Int32Array::New(env, n * 3)),
      shapes_(Napi::Float64Array::New(env, dims)),
      shapeAt_(Napi::Uint32Array::New(env, n + 1)),
      descrs_(Napi::Array::New(env)) {}

void NpyColumns::Put(size_t i, const CanonicalNpy* h) {
  int32_t* np = npy_.Data() + i * 3;
  np[0] = -1;
  shapeAt_[i] = static_cast<uint32_t>(dimAt_);
  if (!h) return;
  auto it = index_.find(h->descr);
  if (it == index_.end()) {
    const int k = static_cast<int>(index_.size());
    it = index_.emplace(h->descr, k).first;
    descrs_.Set(static_cast<uint32_t>(k), Napi::String::New(env_, h->descr));
  }
  np[0] = it->second;
  np[1] = h->fortran ? 1 : 0;
  np[2] = static_cast<int32_t>(h->dataOffset);
  for (double d : h->shape) shapes_[dimAt_++] = d;
}

void NpyColumns::SetOn(Napi::Object& o) {
  shapeAt_[n_] = static_cast<uint32_t>(dimAt_);
  o.Set("npy", npy_);
  o.Set("shapes", shapes_);
  o.Set("shapeAt", shapeAt_);
  o.Set("descrs", descrs_);
}

}  // namespace shm
