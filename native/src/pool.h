// A persistent pool of worker threads shared by every request of the addon.
//
// Run(n, threads, body) calls body(item, slot) for every item in [0, n): the
// calling thread (a libuv pool thread running an AsyncWorker) takes part, and
// up to threads-1 pool threads join it. Items are handed out one at a time
// from an atomic counter (dynamic scheduling), so a slow item (page faults,
// NaN-heavy data) does not leave a core idle. Several requests may run at once:
// each is a job the pool threads can join. `slot` is dense in [0, threads):
// index per-thread scratch with it.
#pragma once
#include <cstddef>
#include <functional>

namespace shm {

// Threads a full pass may use: the CPUs this process may run on (sched_getaffinity), at most 16.
unsigned WorkerThreads();

void PoolRun(size_t n, unsigned threads, const std::function<void(size_t item, unsigned slot)>& body);

}  // namespace shm
