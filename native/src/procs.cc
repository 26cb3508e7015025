// Per-process memory and sharing across fork, each entry point one async call
// whose /proc reads all run on worker threads (extension/core/processes/ reads
// the results):
//   scanProcesses()            the whole machine from stat, status, cmdline and smaps_rollup
//   processMappings(pid)       one process's smaps, one record per mapping
//   compareInherited(pairs, exact, control)
//                              for each (child, parent): pages still shared and pages copied
//                              since fork over their common private anonymous ranges, from
//                              pagemap frame numbers (exact) or the child's smaps (estimate)
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common.h"
#include "pool.h"
#include "procfs.h"
#include "procs.h"

namespace shm {
namespace {

// ---- small /proc helpers ---------------------------------------------------

// "Key:   1234 kB" lines: calls f(key, keyLen, bytes) for each line that has a number.
template <typename F>
void ForEachKb(const char* p, const char* end, F&& f) {
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!nl) nl = end;
    const char* colon = static_cast<const char*>(std::memchr(p, ':', static_cast<size_t>(nl - p)));
    if (colon) {
      const char* q = colon + 1;
      while (q < nl && (*q == ' ' || *q == '\t')) ++q;
      if (q < nl && *q >= '0' && *q <= '9') {
        uint64_t v = 0;
        while (q < nl && *q >= '0' && *q <= '9') v = v * 10 + static_cast<uint64_t>(*q++ - '0');
        bool kb = nl - q >= 3 && std::memcmp(q, " kB", 3) == 0;
        f(p, static_cast<size_t>(colon - p), kb ? v * 1024 : v);
      }
    }
    p = nl + 1;
  }
}

bool KeyIs(const char* k, size_t n, const char* lit) { return std::strlen(lit) == n && std::memcmp(k, lit, n) == 0; }

// ---- scanProcesses -----------------------------------------------------------

// One number per field, in this order (extension/core/processes/scan.ts names them).
enum Field {
  kPid, kPpid, kStartTicks, kUid, kStartBrk, kStartStack, kExeDev, kExeIno,
  kRss, kPss, kPssAnon, kPssFile, kPssShmem, kSharedClean, kSharedDirty, kPrivateClean, kPrivateDirty,
  kSwap, kSwapPss, kAnonymous, kRssAnon, kRssFile, kRssShmem, kThreads,
  kFields
};

struct ProcRow {
  double f[kFields] = {};
  std::string comm;
  std::string cmdline;  // NUL-separated as in /proc (trailing NUL dropped)
  int outcome = 0;      // 0 listed, 1 gone/kernel thread, 2 zombie, 3 uninspectable
};

// What one thread of a scan reuses from process to process.
struct ScanScratch {
  ProcBuf buf;
  std::vector<unsigned long long> fields;
};

// One process from its stat, smaps_rollup, status, cmdline and exe, each opened relative to
// /proc/PID (one lookup of the process, not one per file).
void ScanOne(int pid, ProcRow& r, ScanScratch& s) {
  char dir[32];
  std::snprintf(dir, sizeof dir, "/proc/%d", pid);
  int pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0) return void(r.outcome = 1);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{pfd};
  ProcBuf& buf = s.buf;
  if (!buf.ReadAt(pfd, "stat")) return void(r.outcome = 1);
  std::string_view text = buf.view();
  size_t lp = text.find('('), rp = text.rfind(')');
  if (lp == std::string_view::npos || rp == std::string_view::npos || rp < lp) return void(r.outcome = 1);
  // Fields after "(comm)", numbered as in proc(5): 3 state, 4 ppid, 9 flags, 22 starttime,
  // 28 startstack, 47 start_brk (the last two read 0 without ptrace access).
  std::vector<unsigned long long>& v = s.fields;
  v.clear();
  char state = text.size() > rp + 2 ? text[rp + 2] : '?';
  const char* p = rp + 3 <= text.size() ? buf.data() + rp + 3 : buf.data() + text.size();
  while (*p) {
    while (*p == ' ') ++p;
    if (!*p || *p == '\n') break;
    char* e;
    long long x = std::strtoll(p, &e, 10);
    if (e == p) break;
    v.push_back(static_cast<unsigned long long>(x));
    p = e;
  }
  auto field = [&](int n) -> unsigned long long { return static_cast<size_t>(n - 4) < v.size() ? v[static_cast<size_t>(n - 4)] : 0; };
  constexpr unsigned long long kPfKthread = 0x00200000;
  if ((field(9) & kPfKthread) != 0) return void(r.outcome = 1);
  if (state == 'Z' || state == 'X') return void(r.outcome = 2);
  r.comm.assign(text.substr(lp + 1, rp - lp - 1));
  r.f[kPid] = pid;
  r.f[kPpid] = static_cast<double>(field(4));
  r.f[kStartTicks] = static_cast<double>(field(22));
  r.f[kStartStack] = static_cast<double>(field(28));
  r.f[kStartBrk] = static_cast<double>(field(47));
  if (!buf.ReadAt(pfd, "smaps_rollup")) {
    int err = errno;
    return void(r.outcome = (err == ENOENT || err == ESRCH) ? 1 : 3);
  }
  if (buf.empty()) {
    // No address space: it exited (or became a zombie) between the two reads.
    return void(r.outcome = 1);
  }
  const char* first = static_cast<const char*>(std::memchr(buf.data(), '\n', buf.size()));
  ForEachKb(first == nullptr ? buf.data() + buf.size() : first + 1, buf.data() + buf.size(),
            [&](const char* k, size_t n, uint64_t b) {
              double d = static_cast<double>(b);
              if (KeyIs(k, n, "Rss")) r.f[kRss] = d;
              else if (KeyIs(k, n, "Pss")) r.f[kPss] = d;
              else if (KeyIs(k, n, "Pss_Anon")) r.f[kPssAnon] = d;
              else if (KeyIs(k, n, "Pss_File")) r.f[kPssFile] = d;
              else if (KeyIs(k, n, "Pss_Shmem")) r.f[kPssShmem] = d;
              else if (KeyIs(k, n, "Shared_Clean")) r.f[kSharedClean] = d;
              else if (KeyIs(k, n, "Shared_Dirty")) r.f[kSharedDirty] = d;
              else if (KeyIs(k, n, "Private_Clean")) r.f[kPrivateClean] = d;
              else if (KeyIs(k, n, "Private_Dirty")) r.f[kPrivateDirty] = d;
              else if (KeyIs(k, n, "Swap")) r.f[kSwap] = d;
              else if (KeyIs(k, n, "SwapPss")) r.f[kSwapPss] = d;
              else if (KeyIs(k, n, "Anonymous")) r.f[kAnonymous] = d;
            });
  if (buf.ReadAt(pfd, "status")) {
    ForEachKb(buf.data(), buf.data() + buf.size(), [&](const char* k, size_t n, uint64_t b) {
      double d = static_cast<double>(b);
      if (KeyIs(k, n, "Uid")) r.f[kUid] = d;  // the real uid: the first number
      else if (KeyIs(k, n, "RssAnon")) r.f[kRssAnon] = d;
      else if (KeyIs(k, n, "RssFile")) r.f[kRssFile] = d;
      else if (KeyIs(k, n, "RssShmem")) r.f[kRssShmem] = d;
      else if (KeyIs(k, n, "Threads")) r.f[kThreads] = d;
    });
  }
  if (buf.ReadAt(pfd, "cmdline")) {
    size_t n = buf.size();
    while (n > 0 && buf.data()[n - 1] == '\0') --n;
    r.cmdline.assign(buf.data(), n);
  }
  struct stat st;
  if (fstatat(pfd, "exe", &st, 0) == 0) {
    r.f[kExeDev] = static_cast<double>(st.st_dev);
    r.f[kExeIno] = static_cast<double>(st.st_ino);
  }
  r.outcome = 0;
}

std::vector<int> ListPids() {
  std::vector<int> pids;
  DIR* d = opendir("/proc");
  if (!d) return pids;
  while (struct dirent* de = readdir(d)) {
    char* end;
    long pid = std::strtol(de->d_name, &end, 10);
    if (*end == '\0' && pid > 0) pids.push_back(static_cast<int>(pid));
  }
  closedir(d);
  return pids;
}

// Runs f(0..n-1) on the addon's pool: up to one thread per perThread items (this one included).
template <typename F>
void Parallel(size_t n, size_t perThread, F&& f) {
  unsigned threads = static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(n / perThread + 1, WorkerThreads())));
  PoolRun(n, threads, [&](size_t i, unsigned) { f(i); });
}

class ScanProcessesWorker : public PromiseWorker {
 public:
  explicit ScanProcessesWorker(Napi::Env env) : PromiseWorker(env) {}
  void Execute() override {
    std::vector<int> pids = ListPids();
    if (pids.empty()) return Fail("EIO", "/proc: cannot list processes");
    rows_.resize(pids.size());
    // smaps_rollup walks each process's page tables: spread the processes over the pool.
    unsigned threads = static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(pids.size() / 16 + 1, WorkerThreads())));
    std::vector<ScanScratch> scratch(threads);
    PoolRun(pids.size(), threads, [&](size_t i, unsigned slot) { ScanOne(pids[i], rows_[i], scratch[slot]); });
  }
  // Columns: `nums` (kFields per listed process), `comms` and `cmdlines` (one string each,
  // cmdline NUL-separated), and the counts of what was left out.
  Napi::Value Result(Napi::Env env) override {
    size_t n = 0;
    int zombies = 0, denied = 0;
    for (const ProcRow& r : rows_) {
      if (r.outcome == 0) ++n;
      else if (r.outcome == 2) ++zombies;
      else if (r.outcome == 3) ++denied;
    }
    Napi::Float64Array nums = Napi::Float64Array::New(env, n * kFields);
    Napi::Array comms = Napi::Array::New(env, n), cmds = Napi::Array::New(env, n);
    size_t i = 0;
    for (const ProcRow& r : rows_) {
      if (r.outcome != 0) continue;
      std::memcpy(nums.Data() + i * kFields, r.f, sizeof r.f);
      comms.Set(static_cast<uint32_t>(i), Napi::String::New(env, r.comm));
      cmds.Set(static_cast<uint32_t>(i), Napi::String::New(env, r.cmdline));
      ++i;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("fields", Num(env, kFields));
    o.Set("nums", nums);
    o.Set("comms", comms);
    o.Set("cmdlines", cmds);
    o.Set("zombies", Num(env, zombies));
    o.Set("uninspectable", Num(env, denied));
    o.Set("pageSize", Num(env, static_cast<double>(sysconf(_SC_PAGESIZE))));
    o.Set("clockTicks", Num(env, static_cast<double>(sysconf(_SC_CLK_TCK))));
    return o;
  }

 private:
  std::vector<ProcRow> rows_;
};

// ---- maps and smaps ------------------------------------------------------------

struct Vma {
  uint64_t start = 0, end = 0, offset = 0, dev = 0, ino = 0;
  char perms[5] = {};
  std::string path;
  // smaps figures (bytes), when read from smaps
  uint64_t rss = 0, pss = 0, sharedClean = 0, sharedDirty = 0, privateClean = 0, privateDirty = 0, swap = 0,
           anonymous = 0;
};

// Parses a maps (or smaps) header line "start-end perms offset MM:mm inode   path".
bool ParseVmaLine(const char* line, const char* lineEnd, Vma& v) {
  MapsLine ml;
  if (!ParseMapsLine(line, lineEnd, ml)) return false;
  v.start = ml.start;
  v.end = ml.end;
  v.offset = ml.offset;
  v.dev = makedev(ml.major, ml.minor);
  v.ino = ml.ino;
  std::memcpy(v.perms, ml.perms, sizeof v.perms);
  v.path.assign(ml.path, lineEnd);
  return true;
}

bool IsVmaHeader(const char* p, const char* nl) {
  // Header lines start with a hex address and a '-'; field lines with "Name:".
  const char* q = p;
  while (q < nl && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'))) ++q;
  return q > p && q < nl && *q == '-';
}

// Reads /proc/PID/maps or smaps. False with errno set when it cannot be read.
bool ReadVmas(int pid, bool smaps, std::vector<Vma>& out) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/%s", pid, smaps ? "smaps" : "maps");
  ProcBuf buf;
  if (!buf.ReadPath(path)) return false;
  out.clear();
  const char* p = buf.data();
  const char* end = p + buf.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!nl) nl = end;
    if (IsVmaHeader(p, nl)) {
      Vma v;
      if (ParseVmaLine(p, nl, v)) out.push_back(std::move(v));
    } else if (smaps && !out.empty()) {
      Vma& v = out.back();
      ForEachKb(p, nl + (nl < end ? 1 : 0), [&](const char* k, size_t n, uint64_t b) {
        if (KeyIs(k, n, "Rss")) v.rss = b;
        else if (KeyIs(k, n, "Pss")) v.pss = b;
        else if (KeyIs(k, n, "Shared_Clean")) v.sharedClean = b;
        else if (KeyIs(k, n, "Shared_Dirty")) v.sharedDirty = b;
        else if (KeyIs(k, n, "Private_Clean")) v.privateClean = b;
        else if (KeyIs(k, n, "Private_Dirty")) v.privateDirty = b;
        else if (KeyIs(k, n, "Swap")) v.swap = b;
        else if (KeyIs(k, n, "Anonymous")) v.anonymous = b;
      });
    }
    p = nl + 1;
  }
  return true;
}

// A private anonymous mapping (what fork shares copy-on-write): the heap, the stack,
// nameless or named ([anon:...]) anonymous mappings; not the kernel's [vdso]/[vvar].
bool IsPrivateAnon(const Vma& v) {
  if (v.perms[3] != 'p' || v.ino != 0) return false;
  if (v.path.empty() || v.path == "[heap]" || v.path == "[stack]" || v.path.rfind("[anon:", 0) == 0) return true;
  return false;
}

std::vector<Vma> PrivateAnon(const std::vector<Vma>& all) {
  std::vector<Vma> out;
  for (const Vma& v : all)
    if (IsPrivateAnon(v)) out.push_back(v);
  return out;
}

class MappingsWorker : public PromiseWorker {
 public:
  MappingsWorker(Napi::Env env, int pid) : PromiseWorker(env), pid_(pid) {}
  void Execute() override {
    if (!ReadVmas(pid_, true, vmas_)) {
      int err = errno;
      if (err == ENOENT || err == ESRCH) return Fail("ENOENT", "process " + std::to_string(pid_) + " has exited");
      return Fail(ErrnoCode(err), ErrnoText("/proc/" + std::to_string(pid_) + "/smaps", err));
    }
  }
  // Columns: `nums` (12 per mapping: start, end, offset, dev, ino, rss, pss, sharedClean,
  // sharedDirty, privateClean, privateDirty, swap), `perms` and `paths`.
  Napi::Value Result(Napi::Env env) override {
    constexpr size_t k = 12;
    Napi::Float64Array nums = Napi::Float64Array::New(env, vmas_.size() * k);
    Napi::Array perms = Napi::Array::New(env, vmas_.size()), paths = Napi::Array::New(env, vmas_.size());
    for (size_t i = 0; i < vmas_.size(); ++i) {
      const Vma& v = vmas_[i];
      double row[k] = {double(v.start), double(v.end), double(v.offset), double(v.dev), double(v.ino), double(v.rss),
                       double(v.pss), double(v.sharedClean), double(v.sharedDirty), double(v.privateClean),
                       double(v.privateDirty), double(v.swap)};
      std::memcpy(nums.Data() + i * k, row, sizeof row);
      perms.Set(static_cast<uint32_t>(i), Napi::String::New(env, v.perms));
      paths.Set(static_cast<uint32_t>(i), Napi::String::New(env, v.path));
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("nums", nums);
    o.Set("perms", perms);
    o.Set("paths", paths);
    return o;
  }

 private:
  int pid_;
  std::vector<Vma> vmas_;
};

// ---- compareInherited ------------------------------------------------------------

constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kSwapped = uint64_t{1} << 62;
constexpr uint64_t kPfnMask = (uint64_t{1} << 55) - 1;

// The zero page's frame number as this process sees it: a fresh anonymous page that is only
// read maps it. 0 when frame numbers are hidden (no CAP_SYS_ADMIN): then nothing is exact.
uint64_t ZeroPfn() {
  static std::once_flag once;
  static uint64_t pfn = 0;
  std::call_once(once, [] {
    long ps = sysconf(_SC_PAGESIZE);
    void* m = mmap(nullptr, static_cast<size_t>(ps), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    volatile char c = *static_cast<volatile char*>(m);
    (void)c;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      uint64_t e = 0;
      off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(m) / static_cast<uintptr_t>(ps) * 8);
      if (pread(fd, &e, 8, at) == 8 && (e & kPresent)) pfn = e & kPfnMask;
      close(fd);
    }
    munmap(m, static_cast<size_t>(ps));
  });
  return pfn;
}

struct Range {
  uint64_t start, end;
  uint64_t shared = 0, copied = 0;
};

struct PairResult {
  double shared = 0, copied = 0, childOnly = 0, parentOnly = 0, compared = 0;
  int status = 0;  // 1 exact, 0 estimate, -1 a process exited or could not be read
  std::string error;
  std::vector<Range> ranges;  // the common ranges with their figures (exact or estimated)
};

// The intersection of two sorted, disjoint VMA lists.
std::vector<Range> Common(const std::vector<Vma>& a, const std::vector<Vma>& b) {
  std::vector<Range> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    uint64_t s = std::max(a[i].start, b[j].start), e = std::min(a[i].end, b[j].end);
    if (s < e) {
      // Adjacent VMAs split by permissions are one range to the user.
      if (!out.empty() && out.back().end == s) out.back().end = e;
      else out.push_back(Range{s, e});
    }
    if (a[i].end < b[j].end) ++i;
    else ++j;
  }
  return out;
}

class InheritedWorker : public PromiseWorker {
 public:
  InheritedWorker(Napi::Env env, std::vector<std::pair<int, int>> pairs, bool exact, Napi::Float64Array control)
      : PromiseWorker(env), pairs_(std::move(pairs)), exact_(exact), control_(control.Data()), controlLen_(control.ElementLength()) {
    controlRef_ = Napi::Persistent(control);
  }
  ~InheritedWorker() override { controlRef_.Reset(); }

  bool Cancelled() const {
    return controlLen_ > 0 && std::atomic_ref<double>(control_[0]).load(std::memory_order_relaxed) != 0;
  }
  void Progress(double done, double total) {
    if (controlLen_ > 2) {
      std::atomic_ref<double>(control_[2]).store(total, std::memory_order_relaxed);
      std::atomic_ref<double>(control_[1]).store(done, std::memory_order_relaxed);
    }
  }

  void Execute() override {
    results_.resize(pairs_.size());
    page_ = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    uint64_t zero = exact_ ? ZeroPfn() : 0;
    bool canExact = exact_ && zero != 0;
    // First every pair's common ranges (for the total the progress counts against): each parent's
    // maps read once (a pool parent has many children), then each child's, in parallel.
    std::vector<std::vector<Vma>> childVmas(pairs_.size());
    std::vector<int> parents;
    for (const auto& pr : pairs_) parents.push_back(pr.second);
    std::sort(parents.begin(), parents.end());
    parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
    std::vector<std::vector<Vma>> parentVmas(parents.size());
    std::vector<int> parentErr(parents.size(), 0);
    Parallel(parents.size(), 4, [&](size_t i) {
      std::vector<Vma> pm;
      if (ReadVmas(parents[i], false, pm)) parentVmas[i] = PrivateAnon(pm);
      else parentErr[i] = errno;
    });
    Parallel(pairs_.size(), 4, [&](size_t k) {
      PairResult& r = results_[k];
      size_t pi = static_cast<size_t>(std::lower_bound(parents.begin(), parents.end(), pairs_[k].second) - parents.begin());
      std::vector<Vma> cm;
      if (parentErr[pi] != 0 || !ReadVmas(pairs_[k].first, !canExact, cm)) {
        r.status = -1;
        r.error = std::strerror(parentErr[pi] != 0 ? parentErr[pi] : errno);
        return;
      }
      childVmas[k] = PrivateAnon(cm);
      r.ranges = Common(childVmas[k], parentVmas[pi]);
    });
    double total = 0;
    for (const PairResult& r : results_)
      for (const Range& g : r.ranges) total += double(g.end - g.start);
    Progress(0, total);
    total_ = total;
    // Pairs in parallel: each pagemap read is a page-table walk in the kernel, CPU bound.
    Parallel(pairs_.size(), 1, [&](size_t k) {
      if (Cancelled()) return;
      PairResult& r = results_[k];
      if (r.status < 0) return;
      if (canExact) {
        if (ComparePagemaps(pairs_[k].first, pairs_[k].second, zero, r)) return;
        if (Cancelled() || r.status < 0) return;
        // Frame numbers hidden for this pair: the estimate, from the child's smaps.
        std::vector<Vma> cm;
        if (!ReadVmas(pairs_[k].first, true, cm)) {
          r.status = -1;
          r.error = std::strerror(errno);
          return;
        }
        childVmas[k] = PrivateAnon(cm);
      }
      Estimate(childVmas[k], r);
      uint64_t bytes = 0;
      for (const Range& g : r.ranges) bytes += g.end - g.start;
      Advance(bytes);
    });
    if (Cancelled()) return Fail("CANCELLED", "cancelled");
  }

  void Advance(uint64_t bytes) { Progress(double(done_.fetch_add(bytes) + bytes), total_); }

  // The estimate: each common range gets the child's Shared_* (shared) and Private_* (copied)
  // of the mappings it overlaps, in proportion to the overlap.
  void Estimate(const std::vector<Vma>& vmas, PairResult& r) {
    r.status = 0;
    r.shared = r.copied = 0;
    for (Range& g : r.ranges) {
      g.shared = g.copied = 0;
      for (const Vma& v : vmas) {
        uint64_t s = std::max(v.start, g.start), e = std::min(v.end, g.end);
        if (s >= e) continue;
        double part = double(e - s) / double(v.end - v.start);
        g.shared += static_cast<uint64_t>(double(v.sharedClean + v.sharedDirty) * part) / page_ * page_;
        g.copied += static_cast<uint64_t>(double(v.privateClean + v.privateDirty) * part) / page_ * page_;
      }
      r.shared += double(g.shared);
      r.copied += double(g.copied);
      r.compared += double(g.end - g.start);
    }
  }

  // Streams both pagemaps over the common ranges in chunks. True when done exactly; false
  // when frame numbers turned out hidden (status 0, caller estimates) or a process went away
  // (status -1) or the pass was cancelled.
  bool ComparePagemaps(int child, int parent, uint64_t zero, PairResult& r) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/pagemap", child);
    int cfd = open(path, O_RDONLY | O_CLOEXEC);
    std::snprintf(path, sizeof path, "/proc/%d/pagemap", parent);
    int pfd = open(path, O_RDONLY | O_CLOEXEC);
    struct Closer {
      int a, b;
      ~Closer() {
        if (a >= 0) close(a);
        if (b >= 0) close(b);
      }
    } closer{cfd, pfd};
    if (cfd < 0 || pfd < 0) {
      r.status = -1;
      r.error = std::strerror(errno);
      return false;
    }
    constexpr size_t kChunk = 16384;  // pages per read: 128 KiB of entries per side
    std::vector<uint64_t> a(kChunk), b(kChunk);
    bool sawPfn = false;
    double pfnless = 0;
    for (Range& g : r.ranges) {
      for (uint64_t vp = g.start / page_; vp < g.end / page_;) {
        if (Cancelled()) return false;
        size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, g.end / page_ - vp));
        ssize_t ra = pread(cfd, a.data(), n * 8, static_cast<off_t>(vp * 8));
        ssize_t rb = pread(pfd, b.data(), n * 8, static_cast<off_t>(vp * 8));
        if (ra < 0 || rb < 0) {
          r.status = -1;
          r.error = std::strerror(errno);
          return false;
        }
        // A short read: the mapping went away under us; count what was read.
        size_t m = static_cast<size_t>(std::min(ra, rb) / 8);
        uint64_t shared = 0, copied = 0, childOnly = 0, parentOnly = 0;
        for (size_t i = 0; i < m; ++i) {
          uint64_t x = a[i], y = b[i];
          bool px = (x & kPresent) && !(x & kSwapped), py = (y & kPresent) && !(y & kSwapped);
          uint64_t fx = x & kPfnMask, fy = y & kPfnMask;
          if (px && fx == 0) ++pfnless;
          if (py && fy == 0) ++pfnless;
          px = px && fx != zero && fx != 0;
          py = py && fy != zero && fy != 0;
          if (px && py) {
            if (fx == fy) ++shared;
            else ++copied;
          } else if (px) {
            ++childOnly;
          } else if (py) {
            ++parentOnly;
          }
        }
        if (shared + copied > 0) sawPfn = true;
        g.shared += shared * page_;
        g.copied += copied * page_;
        r.shared += double(shared * page_);
        r.copied += double(copied * page_);
        r.childOnly += double(childOnly * page_);
        r.parentOnly += double(parentOnly * page_);
        r.compared += double(m * page_);
        Advance(n * page_);
        if (m < n) break;
        vp += n;
      }
    }
    if (!sawPfn && pfnless > 0) {
      // Present pages without frame numbers: this pair's pagemaps hide them (no privilege over it).
      r.shared = r.copied = r.childOnly = r.parentOnly = r.compared = 0;
      for (Range& g : r.ranges) g.shared = g.copied = 0;
      r.status = 0;
      return false;
    }
    r.status = 1;
    return true;
  }

  // A Float64Array of 6 per pair: shared, copied, status (1 exact, 0 estimate, -1 failed),
  // childOnly, parentOnly, compared; `ranges`: per pair a Float64Array of (start, end, shared,
  // copied) for each common range; `errors`: per pair a string or null.
  Napi::Value Result(Napi::Env env) override {
    Napi::Float64Array nums = Napi::Float64Array::New(env, results_.size() * 6);
    Napi::Array ranges = Napi::Array::New(env, results_.size()), errors = Napi::Array::New(env, results_.size());
    for (size_t k = 0; k < results_.size(); ++k) {
      const PairResult& r = results_[k];
      double row[6] = {r.shared, r.copied, double(r.status), r.childOnly, r.parentOnly, r.compared};
      std::memcpy(nums.Data() + k * 6, row, sizeof row);
      Napi::Float64Array rg = Napi::Float64Array::New(env, r.ranges.size() * 4);
      for (size_t i = 0; i < r.ranges.size(); ++i) {
        const Range& g = r.ranges[i];
        double q[4] = {double(g.start), double(g.end), double(g.shared), double(g.copied)};
        std::memcpy(rg.Data() + i * 4, q, sizeof q);
      }
      ranges.Set(static_cast<uint32_t>(k), rg);
      errors.Set(static_cast<uint32_t>(k), r.status < 0 ? Napi::Value(Napi::String::New(env, r.error)) : env.Null());
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("nums", nums);
    o.Set("ranges", ranges);
    o.Set("errors", errors);
    o.Set("pageSize", Num(env, double(page_)));
    return o;
  }

 private:
  std::vector<std::pair<int, int>> pairs_;
  bool exact_;
  double* control_;
  size_t controlLen_;
  Napi::Reference<Napi::Float64Array> controlRef_;
  uint64_t page_ = 4096;
  std::vector<PairResult> results_;
  std::atomic<uint64_t> done_{0};
  double total_ = 0;
};

}  // namespace

Napi::Value ScanProcesses(const Napi::CallbackInfo& info) {
  auto* w = new ScanProcessesWorker(info.Env());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value ProcessMappings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw CodedError<Napi::TypeError>(env, "EINVAL", "processMappings(pid)");
  auto* w = new MappingsWorker(env, info[0].As<Napi::Number>().Int32Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value CompareInherited(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw CodedError<Napi::TypeError>(env, "EINVAL", "compareInherited([child, parent, child, parent, ...], exact, control: Float64Array(3))");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<std::pair<int, int>> pairs;
  for (uint32_t i = 0; i + 1 < a.Length(); i += 2)
    pairs.emplace_back(a.Get(i).As<Napi::Number>().Int32Value(), a.Get(i + 1).As<Napi::Number>().Int32Value());
  auto* w = new InheritedWorker(env, std::move(pairs), info[1].ToBoolean(), info[2].As<Napi::Float64Array>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace shm
