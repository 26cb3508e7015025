// The passes over a 2-D strided slice of a mapping: grid reductions (a window
// onto a grid of cells) and whole-slice statistics with a histogram. Pure C++
// (no N-API): view.cc runs them inside AsyncWorkers. The reductions are
// operation types in a registry (reduce.cc); their names come from it alone.
//
// Every read of mapped memory happens inside Guarded() (SIGBUS -> Outcome::Fault),
// on the persistent pool (pool.h), and polls Control often enough that a
// cancelled request stops within about a millisecond of work per thread.
#pragma once
#include <atomic>
#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "kernels.h"

namespace shm {

// A 2-D strided view of the mapping: element (r, c) is at
// base + r * strideR + c * strideC, for r < rows, c < cols.
struct Slice {
  DType dtype = DType::Invalid;
  bool swap = false;
  Part part = Part::Magnitude;
  int64_t base = 0;
  int64_t strideR = 0, strideC = 0;
  int64_t rows = 0, cols = 0;
};

// A reduce mode: its index in the registry of operations (reduce.cc).
using Mode = int;

// The names of the reduce modes, in registry order (the addon exports them as `reduceModes`).
std::span<const std::string_view> ReduceModeNames();
// The mode named `name`; -1 when no operation has that name.
Mode ParseReduceMode(std::string_view name);

// Why a pass stopped early; polled by every thread of the pass.
struct Control {
  // The view's request epoch and the value it had when the request was made;
  // null when the request is not cancellable.
  const std::atomic<uint64_t>* epoch = nullptr;
  uint64_t expected = 0;
  // Set when the view is closed: stops every request, cancellable or not.
  const std::atomic<bool>* closed = nullptr;
  std::atomic<bool> fault{false}, cancelled{false};
  // The address of the first SIGBUS a thread of the pass caught (0: none, or unknown).
  std::atomic<uintptr_t> faultAddr{0};

  void Fault(uintptr_t at) {
    uintptr_t none = 0;
    faultAddr.compare_exchange_strong(none, at, std::memory_order_relaxed);
    fault.store(true, std::memory_order_relaxed);
  }

  bool Stopped() const {
    return fault.load(std::memory_order_relaxed) || cancelled.load(std::memory_order_relaxed);
  }
  // Stopped(), after noticing a newer request.
  bool Poll() {
    if ((epoch != nullptr && epoch->load(std::memory_order_relaxed) != expected) ||
        (closed != nullptr && closed->load(std::memory_order_relaxed)))
      cancelled.store(true, std::memory_order_relaxed);
    return Stopped();
  }
};

// Where a grid reduction writes its cells (gh * gw, row-major): doubles, or floats (rounded once,
// after the double-precision accumulation: half the memory, for pictures of data that is no finer
// than float32 anyway). lo/hi: the least and greatest finite cell as stored, found by the threads of
// the pass while the cells are still in cache (lo > hi when no cell is finite).
struct GridOut {
  double* d = nullptr;
  float* f = nullptr;
  double lo = INFINITY, hi = -INFINITY;
};

// Reduces window rows [r0, r1) x cols [c0, c1) of the slice onto gh x gw cells. Cell i of n rows covers rows
// [r0 + floor(i*n/gh), r0 + floor((i+1)*n/gh)); columns likewise. gh <= r1 - r0 and gw <= c1 - c0.
// Strided: each cell's first element. Mean/min/max: over the cell's finite values; a cell
// without any is +-Inf when only one sign of infinity (and, for mean, no NaN) is in it, else NaN.
void ReduceGrid(const uint8_t* addr, const Slice& s, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t gh,
                int64_t gw, Mode mode, Control& ctl, GridOut& out);

struct SliceStats {
  uint64_t n = 0, nan = 0, pinf = 0, ninf = 0;  // n: finite values
  double mean = 0, m2 = 0, mn = INFINITY, mx = -INFINITY;
  // Histogram of the finite values over [histLo, histHi] (empty when no bins were asked for).
  std::vector<uint64_t> hist;
  double histLo = 0, histHi = 0;
};

// Statistics of every element of the slice. bins > 0 adds a histogram over [lo, hi]
// (one pass), or, with autoRange, over [min, max] of the finite values (a second pass
// that only bins).
void ComputeStats(const uint8_t* addr, const Slice& s, int bins, double lo, double hi, bool autoRange, Control& ctl,
                  SliceStats& out);

}  // namespace shm
