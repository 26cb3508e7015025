// The NPY header in exactly the form numpy writes, parsed in the addon: the directory scan
// (scan.cc) and the System V headers (view.cc) send its fields instead of the header's bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace shm
