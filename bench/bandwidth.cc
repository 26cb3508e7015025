// The memory-bandwidth limit for bench/preview.mjs: reads every byte of a file through a
// fresh read-only MAP_SHARED mapping, summing 64-bit words with T threads (as the addon's
// passes do), then once more over the same mapping (pages already mapped).
// Built by the bench with g++ -O3 -march=native. Prints one JSON line per run:
//   {"coldMs": first pass incl. page faults, "warmMs": second pass, "coldCpuMs", "warmCpuMs": CPU time
//    of all threads (user + system), "sum": ...}
//   bandwidth FILE THREADS RUNS
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

static double CpuMs() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

static double Now() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

__attribute__((noinline)) static uint64_t Sum(const uint64_t* p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) a += p[i], b += p[i + 1], c += p[i + 2], d += p[i + 3];
  for (; i < n; ++i) a += p[i];
  return a + b + c + d;
}

static uint64_t Pass(const uint8_t* base, size_t len, int threads) {
  std::vector<std::thread> pool;
  std::vector<uint64_t> sums(threads);
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      size_t b = len / 8 * t / threads, e = len / 8 * (t + 1) / threads;
      sums[t] = Sum(reinterpret_cast<const uint64_t*>(base) + b, e - b);
    });
  uint64_t s = 0;
  for (int t = 0; t < threads; ++t) pool[t].join(), s += sums[t];
  return s;
}

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  int threads = atoi(argv[2]), runs = atoi(argv[3]);
  for (int r = 0; r < runs; ++r) {
    int fd = open(argv[1], O_RDONLY | O_NOFOLLOW);
    if (fd < 0) return perror("open"), 1;
    struct stat st;
    fstat(fd, &st);
    size_t len = static_cast<size_t>(st.st_size);
    double t0 = Now(), c0 = CpuMs();
    void* a = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
    if (a == MAP_FAILED) return perror("mmap"), 1;
    uint64_t s1 = Pass(static_cast<const uint8_t*>(a), len, threads);
    double t1 = Now(), c1 = CpuMs();
    uint64_t s2 = Pass(static_cast<const uint8_t*>(a), len, threads);
    double t2 = Now(), c2 = CpuMs();
    munmap(a, len);
    close(fd);
    printf("{\"coldMs\": %.3f, \"warmMs\": %.3f, \"coldCpuMs\": %.3f, \"warmCpuMs\": %.3f, \"sum\": \"%llu\"}\n",
           t1 - t0, t2 - t1, c1 - c0, c2 - c1, static_cast<unsigned long long>(s1 ^ s2));
    fflush(stdout);
  }
  return 0;
}
