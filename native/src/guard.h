// Protection against SIGBUS while reading a mapping whose file shrinks under it.
//
// A tmpfs file that is truncated (or whose pages vanish) while we read through a
// MAP_SHARED mapping raises SIGBUS in the reading thread. Without a handler that
// kills the whole process: here, the VS Code extension host. Every read of
// mapped memory runs inside GuardedRegion; the process-wide handler jumps back
// to the region's start in the faulting thread, and the caller reports an error.
#pragma once
#include <csetjmp>
#include <cstdint>

namespace shm {

struct GuardFrame {
  sigjmp_buf env;
  GuardFrame* prev;
};

// Installs the process-wide SIGBUS handler once (chaining to any earlier one
// for faults outside a guarded region).
void InstallBusGuard();

// The current thread's innermost frame (nullptr when unguarded).
GuardFrame*& CurrentGuardFrame();

// The address the current thread's last caught SIGBUS named (si_addr), 0 before any:
// where the read failed, for telling a file that shrank from a hole that found no free page.
uintptr_t& LastFaultAddress();

}  // namespace shm

namespace shm {
// Runs body(); if a SIGBUS hits this thread during it, returns false instead of
// letting the process die. siglongjmp skips destructors of objects created
// inside body: keep owning objects outside it.
template <typename Body>
bool Guarded(Body&& body) {
  InstallBusGuard();
  GuardFrame frame;
  frame.prev = CurrentGuardFrame();
  if (sigsetjmp(frame.env, 1) == 0) {
    CurrentGuardFrame() = &frame;
    body();
    CurrentGuardFrame() = frame.prev;
    return true;
  }
  CurrentGuardFrame() = frame.prev;
  return false;
}
}  // namespace shm
