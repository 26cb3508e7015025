// The NPY header in exactly the form numpy writes, parsed in the addon: the directory scan
// (scan.cc) and the System V headers (view.cc) send its fields instead of the header's bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <napi.h>

namespace shm {

struct CanonicalNpy {
  bool fortran = false;
  uint32_t dataOffset = 0;
  std::string descr;
  std::vector<double> shape;
};

// The head (`size` bytes of a file or segment of `fileSize` bytes) holds a version 1-3 NPY header
// in the form CANONICAL matches in extension/core/formats/npy.ts, wholly inside the head: its fields.
// Anything else is left to the TypeScript decoder, which reads and reports it in full.
bool ParseCanonicalNpy(const uint8_t* head, size_t size, uint64_t fileSize, CanonicalNpy& out);

// The parsed headers of n entries as the columns JavaScript reads (scanNpyHeader in
// extension/native.ts): `npy` 3 per entry (descr index in `descrs`, -1 for none; fortran; data
// offset), `shapes` the dims, entry i's from shapeAt[i] to shapeAt[i + 1], `descrs` the distinct
// descr strings. On the main thread (Result).
class NpyColumns {
 public:
  // `dims`: the dims of all the headers that will be put.
  NpyColumns(Napi::Env env, size_t n, size_t dims);
  // Entry i's header, or none (nullptr); every entry, in order.
  void Put(size_t i, const CanonicalNpy* h);
  // The four columns, as properties of `o`.
  void SetOn(Napi::Object& o);

 private:
  Napi::Env env_;
  size_t n_;
  Napi::Int32Array npy_;
  Napi::Float64Array shapes_;
  Napi::Uint32Array shapeAt_;
  Napi::Array descrs_;
  std::map<std::string, int> index_;
  size_t dimAt_ = 0;
};

}  // namespace shm
