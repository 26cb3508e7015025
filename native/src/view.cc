// MappedView: a read-only MAP_SHARED mapping of one segment, with async
// reductions (window -> grid), statistics and byte reads. Nothing here copies
// the segment; results are small typed arrays copied into JS memory.
//
// Reading never allocates: a read fault on a hole of a tmpfs file gives the file a
// new zeroed page (a sparse 1 GiB segment would become 1 GiB of RAM, a sparse 1 TiB
// one would fill its tmpfs). So the holes (SEEK_DATA/SEEK_HOLE) are mapped over with
// anonymous read-only memory, which reads as zeros from the kernel's zero page.
// The file is mapped through the very descriptor that was fstat'ed, and the caller
// may name the dev/ino it decoded the header of: another file is refused (CHANGED).
// Every rejection carries a stable `code` beside its message.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"
#include "decompress.h"
#include "guard.h"
#include "pages.h"
#include "kernels.h"
#include "kinds.h"
#include "npy.h"
#include "pool.h"
#include "reduce.h"
#include "scan.h"
#include "simd.h"

namespace shm {
namespace {

// ---- holes ----------------------------------------------------------------

struct Range {
  uint64_t a, b;  // [a, b), file offsets
};

uint64_t PageSize() {
  static const uint64_t p = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return p;
}
uint64_t RoundUp(uint64_t v, uint64_t p) { return (v + p - 1) / p * p; }
uint64_t RoundDown(uint64_t v, uint64_t p) { return v / p * p; }

// The whole pages of holes in [0, min(len, size)) of the open file (len: the mapping's length,
// size: the file's now). A hole that reaches the end of a file that has not shrunk runs to the
// mapping's last page. Nothing when the file system cannot tell (every byte is then data).
std::vector<Range> FindHoles(int fd, uint64_t len, uint64_t size) {
  std::vector<Range> out;
  const uint64_t pg = PageSize(), limit = std::min(len, size);
  uint64_t off = 0;
  while (off < limit) {
    off_t d = lseek(fd, static_cast<off_t>(off), SEEK_DATA);
    uint64_t data;
    if (d >= 0) data = std::min<uint64_t>(static_cast<uint64_t>(d), limit);
    else if (errno == ENXIO) data = limit;  // a hole up to the end
    else break;
    if (data > off) {
      const uint64_t a = RoundUp(off, pg);
      const uint64_t b = data < limit ? RoundDown(data, pg) : size >= len ? RoundUp(len, pg) : RoundDown(limit, pg);
      if (b > a) out.push_back({a, b});
    }
    if (data >= limit) break;
    off_t h = lseek(fd, static_cast<off_t>(data), SEEK_HOLE);
    if (h < 0 || static_cast<uint64_t>(h) <= data) break;
    off = static_cast<uint64_t>(h);
  }
  return out;
}

// Ranges of a that are not in b (both sorted, disjoint).
std::vector<Range> Subtract(const std::vector<Range>& a, const std::vector<Range>& b) {
  std::vector<Range> out;
  size_t j = 0;
  for (const Range& r : a) {
    while (j < b.size() && b[j].b <= r.a) ++j;
    uint64_t at = r.a;
    for (size_t k = j; at < r.b; ++k) {
      if (k >= b.size() || b[k].a >= r.b) {
        out.push_back({at, r.b});
        break;
      }
      if (b[k].a > at) out.push_back({at, b[k].a});
      at = std::max(at, b[k].b);
    }
  }
  return out;
}

uint64_t Bytes(const std::vector<Range>& v) {
  uint64_t n = 0;
  for (const Range& r : v) n += r.b - r.a;
  return n;
}

// Memory-map areas this process may still create (vm.max_map_count minus the lines of /proc/self/maps).
int64_t FreeMapAreas() {
  int64_t max = 65530;
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "re")) {
    long long v;
    if (std::fscanf(f, "%lld", &v) == 1 && v > 0) max = v;
    std::fclose(f);
  }
  int64_t used = 0;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) used += std::count(buf, buf + n, '\n');
    close(fd);
  }
  return std::max<int64_t>(0, max - used);
}

// At most `cap` ranges: the largest (the rest stay mapped to the file, and may allocate when read).
std::vector<Range> Largest(std::vector<Range> v, size_t cap) {
  if (v.size() <= cap) return v;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(cap), v.end(),
                   [](const Range& x, const Range& y) { return x.b - x.a > y.b - y.a; });
  v.resize(cap);
  std::sort(v.begin(), v.end(), [](const Range& x, const Range& y) { return x.a < y.a; });
  return v;
}

struct Mapping {
  int fd = -1;
  const uint8_t* addr = nullptr;
  size_t len = 0;
  std::string path;
  uint64_t dev = 0, ino = 0;
  // A System V segment attached with shmat (then fd is -1 and shmdt detaches it); -1 for a file.
  int shmid = -1;
  std::atomic<uint64_t> epoch{0};
  std::atomic<bool> closed{false};
  // Guards holes (refreshes run on pool threads; the accessors read it on the JS thread).
  mutable std::mutex remap;
  // The ranges mapped over with anonymous zero pages; the holes left mapped to the file (too many
  // for vm.max_map_count) and their bytes.
  std::vector<Range> holes;
  uint64_t holesLeft = 0, holeBytesLeft = 0;
  // A remap failed half-way: what the mapping shows is no longer the file.
  std::atomic<bool> broken{false};
  ~Mapping() {
    if (shmid >= 0) {
      if (addr != nullptr) shmdt(addr);
    } else if (addr != nullptr && len > 0) {
      munmap(const_cast<uint8_t*>(addr), len);
    }
    if (fd >= 0) close(fd);
  }
  // The file's size now (it may have shrunk since we mapped it). A System V segment never
  // shrinks, and stays whole while attached even once removed (IPC_RMID).
  int64_t CurrentSize() const {
    if (shmid >= 0) return static_cast<int64_t>(len);
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    return static_cast<int64_t>(st.st_size);
  }
  uint8_t* At(uint64_t off) const { return const_cast<uint8_t*>(addr) + off; }
  bool MapZeros(const Range& r) const {
    void* p = mmap(At(r.a), r.b - r.a, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    // Read faults of a large hole then map the huge zero page: fewer faults and page tables.
    if (r.b - r.a >= (2u << 20)) madvise(p, r.b - r.a, MADV_HUGEPAGE);
    return true;
  }
  bool MapFile(const Range& r) const {
    void* p = mmap(At(r.a), r.b - r.a, PROT_READ, MAP_SHARED | MAP_FIXED, fd, static_cast<off_t>(r.a));
    if (p == MAP_FAILED) return false;
    madvise(p, r.b - r.a, MADV_RANDOM);
    return true;
  }

  // Maps the file's holes (as they are now) to zero pages, and the former holes that hold data
  // now back to the file. Returns "" or why the mapping could not be kept whole (then it is unusable).
  std::string SyncHoles() {
    std::lock_guard<std::mutex> lock(remap);
    if (fd < 0) {  // a System V segment (shmat): no file, no holes
      holesLeft = holeBytesLeft = 0;
      return "";
    }
    struct stat st;
    const bool known = fstat(fd, &st) == 0;
    const uint64_t size = known ? static_cast<uint64_t>(st.st_size) : len;
    // A file with a block for every page has no hole: no lseek at all (SEEK_HOLE walks every page
    // of a tmpfs file: some 30 ms for 1 GiB).
    const bool dense = known && static_cast<uint64_t>(st.st_blocks) * 512 >= RoundUp(std::min<uint64_t>(len, size), PageSize());
    std::vector<Range> found = dense ? std::vector<Range>() : FindHoles(fd, len, size);
    if (found.empty() && holes.empty()) {
      holesLeft = holeBytesLeft = 0;
      return "";
    }
    // Each range splits a file area in up to three: use at most a quarter of the free areas (the
    // ones this view holds count as free again).
    const int64_t avail = FreeMapAreas() + 2 * static_cast<int64_t>(holes.size());
    std::vector<Range> want = Largest(found, static_cast<size_t>(std::max<int64_t>(0, avail / 8)));
    holesLeft = found.size() - want.size();
    holeBytesLeft = Bytes(found) - Bytes(want);
    for (const Range& r : Subtract(holes, want)) {
      if (MapFile(r)) continue;
      const int e = errno;
      MapZeros(r);  // never leave a gap in the mapping
      broken = true;
      return ErrnoText("mmap " + path, e);
    }
    std::vector<Range> done;
    for (const Range& r : Subtract(want, holes)) {
      if (MapZeros(r)) continue;
      // Out of map areas after all: the range stays (or is mapped again) to the file.
      if (!MapFile(r)) {
        broken = true;
        return ErrnoText("mmap " + path, errno);
      }
      done.push_back(r);
    }
    holes = done.empty() ? want : Subtract(want, done);
    if (!done.empty()) {
      holesLeft += done.size();
      holeBytesLeft += Bytes(done);
    }
    return "";
  }
};
using MappingPtr = std::shared_ptr<Mapping>;

struct AddonData {
  Napi::FunctionReference viewCtor;
};

std::string ParseSlice(const Napi::Object& o, Slice& s) {
  auto num = [&](const char* k) -> double {
    Napi::Value v = o.Get(k);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : std::numeric_limits<double>::quiet_NaN();
  };
  std::string dt = o.Get("dtype").IsString() ? o.Get("dtype").As<Napi::String>().Utf8Value() : "";
  s.dtype = ParseDType(dt);
  if (s.dtype == DType::Invalid) return "unsupported dtype '" + dt + "'";
  s.swap = o.Get("byteSwap").ToBoolean();
  std::string part = o.Get("part").IsString() ? o.Get("part").As<Napi::String>().Utf8Value() : "magnitude";
  s.part = part == "real" ? Part::Real : part == "imag" ? Part::Imag : part == "phase" ? Part::Phase : Part::Magnitude;
  double vals[5] = {num("offset"), num("strideR"), num("strideC"), num("rows"), num("cols")};
  for (double v : vals)
    if (!std::isfinite(v) || v < 0 || v > 9.007199254740992e15 || std::floor(v) != v)
      return "slice numbers must be non-negative integers";
  s.base = static_cast<int64_t>(vals[0]);
  s.strideR = static_cast<int64_t>(vals[1]);
  s.strideC = static_cast<int64_t>(vals[2]);
  s.rows = static_cast<int64_t>(vals[3]);
  s.cols = static_cast<int64_t>(vals[4]);
  return "";
}

// Bytes needed to hold the elements of window rows [r0,r1) x cols [c0,c1).
bool WindowEnd(const Slice& s, int64_t r0, int64_t r1, int64_t c0, int64_t c1, unsigned __int128& end) {
  if (r1 <= r0 || c1 <= c0) return false;
  unsigned __int128 last = static_cast<unsigned __int128>(s.base) +
                           static_cast<unsigned __int128>(r1 - 1) * static_cast<uint64_t>(s.strideR) +
                           static_cast<unsigned __int128>(c1 - 1) * static_cast<uint64_t>(s.strideC);
  end = last + ItemSize(s.dtype);
  return true;
}

std::string U128(unsigned __int128 v) {
  if (v > std::numeric_limits<uint64_t>::max()) return "more than 2^64";
  return std::to_string(static_cast<uint64_t>(v));
}

const char kCancelled[] = "cancelled: superseded by a newer request";
const char kClosed[] = "cancelled: the view was closed";

// A PromiseWorker of the view: its rejections carry a stable `code` beside the message
// (SHRANK, NOSPACE, FAULT, CANCELLED, CLOSED, CHANGED, RANGE, NOTFILE, or an errno name such as ENOENT).
class ViewWorker : public PromiseWorker {
 public:
  using PromiseWorker::PromiseWorker;

 protected:
  // Whether bytes [0, end) can be read now; otherwise rejects, saying why.
  bool Readable(const Mapping& m, unsigned __int128 end) {
    if (m.broken.load()) {
      Fail("FAULT", "the mapping could not be rebuilt after the segment changed; reopen it");
      return false;
    }
    if (end > m.len) {
      Fail("RANGE", "the array extends past the end of the segment (it needs " + U128(end) + " bytes; the segment had " +
                        std::to_string(m.len) + " when opened)");
      return false;
    }
    return !Shrank(m, end, "while open");
  }

  // After a pass: a file that now ends before `end` gave some of it as zeros (a hole's) or not at all.
  bool Shrank(const Mapping& m, unsigned __int128 end, const char* when) {
    int64_t now = m.CurrentSize();
    if (now < 0 || static_cast<unsigned __int128>(now) >= end) return false;
    Fail("SHRANK", "the segment shrank to " + std::to_string(now) + " bytes " + when + " (it had " +
                       std::to_string(m.len) + "; this read needs " + U128(end) + ")");
    return true;
  }

  // A SIGBUS at `at` (0: unknown) while reading bytes [0, end): the file shrank under the read
  // (SHRANK), a hole found no free page because the file system is full (NOSPACE), or else (FAULT).
  void Faulted(const Mapping& m, uintptr_t at, unsigned __int128 end) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(m.addr);
    const bool known = at >= base && at - base < RoundUp(m.len, PageSize());
    const uint64_t off = known ? at - base : 0;
    const std::string where = known ? " at offset " + std::to_string(off) : "";
    const int64_t now = m.CurrentSize();
    if (now >= 0 && ((known && static_cast<uint64_t>(now) <= off) || static_cast<unsigned __int128>(now) < end)) {
      Fail("SHRANK", "the segment shrank to " + std::to_string(now) + " bytes while it was being read (SIGBUS caught" +
                         where + ")");
      return;
    }
    bool hole = false;
    if (known) {
      const off_t page = static_cast<off_t>(RoundDown(off, PageSize()));
      const off_t d = lseek(m.fd, page, SEEK_DATA);
      hole = (d < 0 && errno == ENXIO) || d > page;
    }
    struct statfs fs;
    const bool sized = fstatfs(m.fd, &fs) == 0 && fs.f_blocks > 0;
    const uint64_t bsize = sized ? static_cast<uint64_t>(fs.f_bsize) : 0;
    const uint64_t free = sized ? static_cast<uint64_t>(fs.f_bavail) * bsize : 0;
    const bool full = sized && free < 16 * PageSize();
    if (full || hole) {
      const std::string room = sized ? " (" + std::to_string(free) + " of " +
                                           std::to_string(static_cast<uint64_t>(fs.f_blocks) * bsize) + " bytes free)"
                                     : "";
      Fail("NOSPACE", "the file system holding the segment is full" + room + ": reading " +
                          (hole ? "the hole" + where + " needed a new page" : "it" + where + " needed memory") +
                          " (SIGBUS caught); the segment did not shrink. Free some space and read again");
      return;
    }
    Fail("FAULT", "reading the segment failed" + where +
                      " (SIGBUS caught, yet it did not shrink and its file system has room: an I/O error, or it was "
                      "truncated and grown again); reopen it");
  }

  // Why a pass stopped early, as a rejection; false when it ran to the end.
  bool Stopped(const Mapping& m, const Control& ctl, unsigned __int128 end) {
    if (ctl.fault.load()) {
      Faulted(m, ctl.faultAddr.load(), end);
      return true;
    }
    if (ctl.cancelled.load()) {
      Cancelled(m);
      return true;
    }
    return Shrank(m, end, "while it was being read");
  }
  void Cancelled(const Mapping& m) {
    if (m.closed.load()) Fail("CLOSED", kClosed);
    else Fail("CANCELLED", kCancelled);
  }
};

// ---- reduce -------------------------------------------------------------

class ReduceWorker : public ViewWorker {
 public:
  ReduceWorker(Napi::Env env, MappingPtr m, Slice s, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t gh,
               int64_t gw, Mode mode, bool f32)
      : ViewWorker(env), m_(std::move(m)), s_(s), r0_(r0), r1_(r1), c0_(c0), c1_(c1), gh_(gh), gw_(gw),
        mode_(mode) {
    ctl_.epoch = &m_->epoch;
    ctl_.expected = m_->epoch.load();
    ctl_.closed = &m_->closed;
    // The result array is made here, on the main thread, and the worker writes the cells straight
    // into it: no second buffer and no copy of up to 512 MiB back on the main thread. V8 never moves
    // an ArrayBuffer's memory, and the reference keeps it alive until the promise settles.
    const size_t n = static_cast<size_t>(gh * gw);
    if (f32) {
      Napi::Float32Array values = Napi::Float32Array::New(env, n);
      out_.f = values.Data();
      values_ = Napi::Persistent(values.As<Napi::Object>());
    } else {
      Napi::Float64Array values = Napi::Float64Array::New(env, n);
      out_.d = values.Data();
      values_ = Napi::Persistent(values.As<Napi::Object>());
    }
  }

  void Execute() override {
    if (ctl_.Poll()) return Cancelled(*m_);
    unsigned __int128 end;
    if (r0_ < 0 || c0_ < 0 || r1_ > s_.rows || c1_ > s_.cols || !WindowEnd(s_, r0_, r1_, c0_, c1_, end))
      return Fail("RANGE", "window is empty or outside the array");
    if (!Readable(*m_, end)) return;
    ReduceGrid(m_->addr, s_, r0_, r1_, c0_, c1_, gh_, gw_, mode_, ctl_, out_);
    Stopped(*m_, ctl_, end);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("values", values_.Value());
    o.Set("width", Num(env, static_cast<double>(gw_)));
    o.Set("height", Num(env, static_cast<double>(gh_)));
    o.Set("min", out_.lo <= out_.hi ? Num(env, out_.lo) : env.Null());
    o.Set("max", out_.lo <= out_.hi ? Num(env, out_.hi) : env.Null());
    return o;
  }

 private:
  MappingPtr m_;
  Slice s_;
  int64_t r0_, r1_, c0_, c1_, gh_, gw_;
  Mode mode_;
  Control ctl_;
  GridOut out_;                          // the cells, in values_, and their finite extent
  Napi::Reference<Napi::Object> values_;  // a Float64Array, or a Float32Array (output: 'f32')
};

// ---- stats --------------------------------------------------------------

class StatsWorker : public ViewWorker {
 public:
  StatsWorker(Napi::Env env, MappingPtr m, Slice s, int bins, double lo, double hi, bool autoRange, bool cancellable)
      : ViewWorker(env), m_(std::move(m)), s_(s), bins_(bins), lo_(lo), hi_(hi), auto_(autoRange) {
    if (cancellable) {
      ctl_.epoch = &m_->epoch;
      ctl_.expected = m_->epoch.load();
    }
    // Closing the view (its panel closed, or it shows another array) stops even an uncancellable pass.
    ctl_.closed = &m_->closed;
  }

  void Execute() override {
    if (ctl_.Poll()) return Cancelled(*m_);
    unsigned __int128 end = 0;
    if (s_.rows > 0 && s_.cols > 0) {
      if (!WindowEnd(s_, 0, s_.rows, 0, s_.cols, end)) return Fail("RANGE", "window is empty or outside the array");
      if (!Readable(*m_, end)) return;
    }
    ComputeStats(m_->addr, s_, bins_, lo_, hi_, auto_, ctl_, st_);
    Stopped(*m_, ctl_, end);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    const SliceStats& t = st_;
    o.Set("count", Num(env, static_cast<double>(s_.rows) * static_cast<double>(s_.cols)));
    o.Set("finiteCount", Num(env, static_cast<double>(t.n)));
    o.Set("nanCount", Num(env, static_cast<double>(t.nan)));
    o.Set("infCount", Num(env, static_cast<double>(t.pinf + t.ninf)));
    o.Set("posInfCount", Num(env, static_cast<double>(t.pinf)));
    o.Set("negInfCount", Num(env, static_cast<double>(t.ninf)));
    if (t.n > 0) {
      o.Set("min", Num(env, t.mn));
      o.Set("max", Num(env, t.mx));
      o.Set("mean", Num(env, t.mean));
      o.Set("std", Num(env, std::sqrt(t.m2 / static_cast<double>(t.n))));
    } else {
      o.Set("min", env.Null());
      o.Set("max", env.Null());
      o.Set("mean", env.Null());
      o.Set("std", env.Null());
    }
    if (bins_ > 0) {
      Napi::Float64Array h = Napi::Float64Array::New(env, t.hist.size());
      for (size_t i = 0; i < t.hist.size(); ++i) h[i] = static_cast<double>(t.hist[i]);
      o.Set("histogram", h);
      o.Set("histMin", Num(env, t.histLo));
      o.Set("histMax", Num(env, t.histHi));
    }
    return o;
  }

 private:
  MappingPtr m_;
  Slice s_;
  int bins_;
  double lo_, hi_;
  bool auto_;
  Control ctl_;
  SliceStats st_;
};

// ---- read bytes ---------------------------------------------------------

class ReadWorker : public ViewWorker {
 public:
  ReadWorker(Napi::Env env, MappingPtr m, uint64_t off, uint64_t len)
      : ViewWorker(env), m_(std::move(m)), off_(off), len_(len) {}
  void Execute() override {
    if (off_ > m_->len) return Fail("RANGE", "offset past the end of the segment");
    len_ = std::min<uint64_t>(len_, m_->len - off_);
    if (!Readable(*m_, off_ + len_)) return;
    buf_.resize(static_cast<size_t>(len_));
    uint8_t* dst = buf_.data();
    const uint8_t* src = m_->addr + off_;
    size_t n = buf_.size();
    if (!Guarded([&] { std::memcpy(dst, src, n); })) return Faulted(*m_, LastFaultAddress(), off_ + len_);
    Shrank(*m_, off_ + len_, "while it was being read");
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Buffer<uint8_t>::Copy(env, buf_.data(), buf_.size()); }

 private:
  MappingPtr m_;
  uint64_t off_, len_;
  std::vector<uint8_t> buf_;
};

// Elements of a 2-D window at any strides, in C order (row by row), exactly as stored.
class GatherWorker : public ViewWorker {
 public:
  GatherWorker(Napi::Env env, MappingPtr m, uint64_t off, int64_t rows, int64_t cols, int64_t sr, int64_t sc, int64_t item)
      : ViewWorker(env), m_(std::move(m)), off_(off), rows_(rows), cols_(cols), sr_(sr), sc_(sc), item_(item) {}
  void Execute() override {
    // Strides are non-negative (resolveSlice's), so the window's last byte is its farthest.
    const unsigned __int128 end = static_cast<unsigned __int128>(off_) + static_cast<unsigned __int128>(rows_ - 1) * sr_ +
                                  static_cast<unsigned __int128>(cols_ - 1) * sc_ + item_;
    if (!Readable(*m_, end)) return;
    buf_.resize(static_cast<size_t>(rows_ * cols_ * item_));
    uint8_t* dst = buf_.data();
    const uint8_t* base = m_->addr + off_;
    const int64_t rows = rows_, cols = cols_, sr = sr_, sc = sc_, item = item_;
    bool ok = Guarded([&] {
      for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* src = base + r * sr;
        uint8_t* d = dst + r * cols * item;
        if (sc == item) {
          std::memcpy(d, src, static_cast<size_t>(cols * item));
        } else {
          for (int64_t c = 0; c < cols; ++c) std::memcpy(d + c * item, src + c * sc, static_cast<size_t>(item));
        }
      }
    });
    if (!ok) return Faulted(*m_, LastFaultAddress(), end);
    Shrank(*m_, end, "while it was being read");
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Buffer<uint8_t>::Copy(env, buf_.data(), buf_.size()); }

 private:
  MappingPtr m_;
  uint64_t off_;
  int64_t rows_, cols_, sr_, sc_, item_;
  std::vector<uint8_t> buf_;
};

// ---- decompress (Arrow's compressed buffers) -----------------------------

// Bytes [off, off + len) of the mapping, one LZ4 or ZSTD frame, decoded into a Uint8Array of
// exactly `declared` bytes made on the JS thread before (never more memory than declared).
class DecompressWorker : public ViewWorker {
 public:
  DecompressWorker(Napi::Env env, MappingPtr m, Codec c, uint64_t off, uint64_t len, size_t declared)
      : ViewWorker(env), m_(std::move(m)), codec_(c), off_(off), len_(len), cap_(declared) {
    Napi::Uint8Array out = Napi::Uint8Array::New(env, declared);
    dst_ = out.Data();
    out_ = Napi::Persistent(out.As<Napi::Object>());
  }
  void Execute() override {
    const unsigned __int128 end = static_cast<unsigned __int128>(off_) + len_;
    if (!Readable(*m_, end)) return;
    Decoder d(codec_);  // made outside the guard: a caught SIGBUS skips no destructor
    if (!d.ready()) return Fail("ENOMEM", "no memory for a decompression context");
    DecodeOutcome o;
    const uint8_t* src = m_->addr + off_;
    const size_t n = static_cast<size_t>(len_), cap = cap_;
    uint8_t* dst = dst_;
    if (!Guarded([&] { d.Run(src, n, dst, cap, o); })) return Faulted(*m_, LastFaultAddress(), end);
    if (Shrank(*m_, end, "while it was being decompressed")) return;
    std::string code;
    std::string msg = DescribeOutcome(o, codec_, n, cap, code);
    if (!code.empty()) Fail(code, msg);
  }
  Napi::Value Result(Napi::Env env) override { return out_.Value(); }

 private:
  MappingPtr m_;
  Codec codec_;
  uint64_t off_, len_;
  size_t cap_;
  uint8_t* dst_ = nullptr;
  Napi::Reference<Napi::Object> out_;
};

// ---- holes, again -------------------------------------------------------

Napi::Object HoleInfo(Napi::Env env, const Mapping& m, int64_t size) {
  Napi::Object o = Napi::Object::New(env);
  std::lock_guard<std::mutex> lock(m.remap);
  o.Set("size", Num(env, static_cast<double>(size)));
  o.Set("holes", Num(env, static_cast<double>(m.holes.size())));
  o.Set("holeBytes", Num(env, static_cast<double>(Bytes(m.holes))));
  o.Set("holesLeft", Num(env, static_cast<double>(m.holesLeft)));
  o.Set("holeBytesLeft", Num(env, static_cast<double>(m.holeBytesLeft)));
  return o;
}

// Looks for the file's holes again (a producer may have written into some, or punched new ones).
class RefreshWorker : public ViewWorker {
 public:
  RefreshWorker(Napi::Env env, MappingPtr m) : ViewWorker(env), m_(std::move(m)) {}
  void Execute() override {
    if (m_->broken.load()) return Fail("FAULT", "the mapping could not be rebuilt after the segment changed; reopen it");
    if (m_->len > 0) {
      std::string err = m_->SyncHoles();
      if (!err.empty()) return Fail("FAULT", err);
    }
    size_ = m_->CurrentSize();
  }
  Napi::Value Result(Napi::Env env) override { return HoleInfo(env, *m_, size_); }

 private:
  MappingPtr m_;
  int64_t size_ = 0;
};

// ---- the JS class -------------------------------------------------------

class View : public Napi::ObjectWrap<View> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MappedView",
                       {InstanceAccessor<&View::Size>("size"), InstanceAccessor<&View::Path>("path"),
                        InstanceAccessor<&View::Dev>("dev"), InstanceAccessor<&View::Ino>("ino"),
                        InstanceAccessor<&View::Closed>("closed"), InstanceAccessor<&View::Holes>("holes"),
                        InstanceMethod<&View::Refresh>("refresh"), InstanceMethod<&View::Reduce>("reduce"),
                        InstanceMethod<&View::Stats>("stats"), InstanceMethod<&View::Read>("read"),
                        InstanceMethod<&View::Gather>("gather"), InstanceMethod<&View::Decompress>("decompress"),
                        InstanceMethod<&View::Cancel>("cancelPending"), InstanceMethod<&View::Close>("close")});
  }

  explicit View(const Napi::CallbackInfo& info) : Napi::ObjectWrap<View>(info) {
    if (info.Length() < 1 || !info[0].IsExternal())
      throw CodedError<Napi::TypeError>(info.Env(), "EINVAL", "MappedView is created by openView(path)");
    m_ = *info[0].As<Napi::External<MappingPtr>>().Data();
  }

 private:
  MappingPtr Live(Napi::Env env) {
    if (!m_) throw CodedError(env, "CLOSED", "view is closed");
    return m_;
  }
  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Num(info.Env(), m_ ? static_cast<double>(m_->len) : 0);
  }
  Napi::Value Path(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), m_ ? m_->path : ""); }
  // The mapped file's identity (fstat of the open file): a name now naming another file is a replacement.
  Napi::Value Dev(const Napi::CallbackInfo& info) { return Num(info.Env(), m_ ? static_cast<double>(m_->dev) : 0); }
  Napi::Value Ino(const Napi::CallbackInfo& info) { return Num(info.Env(), m_ ? static_cast<double>(m_->ino) : 0); }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !m_); }
  // The holes read as zeros as of the open or the last refresh (size: the mapped length).
  Napi::Value Holes(const Napi::CallbackInfo& info) {
    if (!m_) return info.Env().Null();
    return HoleInfo(info.Env(), *m_, static_cast<int64_t>(m_->len));
  }
  Napi::Value Refresh(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto* w = new RefreshWorker(env, Live(env));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value Reduce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    MappingPtr m = Live(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw CodedError<Napi::TypeError>(env, "EINVAL", "reduce(request)");
    Napi::Object o = info[0].As<Napi::Object>();
    Slice s;
    std::string err = ParseSlice(o, s);
    if (!err.empty()) throw CodedError<Napi::TypeError>(env, "EINVAL", err);
    auto get = [&](const char* k, double dflt) {
      Napi::Value v = o.Get(k);
      return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
    };
    double r0 = get("r0", 0), r1 = get("r1", static_cast<double>(s.rows));
    double c0 = get("c0", 0), c1 = get("c1", static_cast<double>(s.cols));
    double gh = get("gridHeight", 0), gw = get("gridWidth", 0);
    for (double v : {r0, r1, c0, c1, gh, gw})
      if (!std::isfinite(v) || v < 0 || std::floor(v) != v) throw CodedError<Napi::RangeError>(env, "RANGE", "window and grid must be non-negative integers");
    if (r1 <= r0 || c1 <= c0 || r1 > s.rows || c1 > s.cols) throw CodedError<Napi::RangeError>(env, "RANGE", "window is empty or outside the array");
    // Never more cells than the window has elements.
    gh = std::min(gh, r1 - r0);
    gw = std::min(gw, c1 - c0);
    if (gh < 1 || gw < 1 || gh * gw > 64.0 * 1024 * 1024) throw CodedError<Napi::RangeError>(env, "RANGE", "grid must have 1 to 64Mi cells");
    // The mode names come from the registry of reductions (reduce.cc); no mode given: strided.
    const std::string mode = o.Get("mode").IsString() ? o.Get("mode").As<Napi::String>().Utf8Value() : "strided";
    const Mode md = ParseReduceMode(mode);
    if (md < 0) {
      std::string names;
      for (std::string_view n : ReduceModeNames()) names += (names.empty() ? "" : ", ") + std::string(n);
      throw CodedError<Napi::TypeError>(env, "EINVAL", "mode must be one of " + names);
    }
    Napi::Value output = o.Get("output");
    if (!output.IsUndefined() && !(output.IsString() && (output.As<Napi::String>().Utf8Value() == "f64" ||
                                                          output.As<Napi::String>().Utf8Value() == "f32")))
      throw CodedError<Napi::TypeError>(env, "EINVAL", "output must be f64 or f32");
    const bool f32 = output.IsString() && output.As<Napi::String>().Utf8Value() == "f32";
    auto* w = new ReduceWorker(env, m, s, static_cast<int64_t>(r0), static_cast<int64_t>(r1), static_cast<int64_t>(c0),
                               static_cast<int64_t>(c1), static_cast<int64_t>(gh), static_cast<int64_t>(gw), md, f32);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    MappingPtr m = Live(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw CodedError<Napi::TypeError>(env, "EINVAL", "stats(slice)");
    Napi::Object o = info[0].As<Napi::Object>();
    Slice s;
    std::string err = ParseSlice(o, s);
    if (!err.empty()) throw CodedError<Napi::TypeError>(env, "EINVAL", err);
    int bins = 0;
    double lo = 0, hi = 0;
    bool autoRange = false;
    if (o.Get("bins").IsNumber()) {
      bins = std::max(0, std::min(1 << 16, o.Get("bins").As<Napi::Number>().Int32Value()));
      // Without histMin/histMax: bins over [min, max] of the finite values (a second pass).
      autoRange = !o.Get("histMin").IsNumber() && !o.Get("histMax").IsNumber();
      lo = o.Get("histMin").IsNumber() ? o.Get("histMin").As<Napi::Number>().DoubleValue() : 0;
      hi = o.Get("histMax").IsNumber() ? o.Get("histMax").As<Napi::Number>().DoubleValue() : 0;
    }
    bool cancellable = o.Get("cancellable").ToBoolean();
    auto* w = new StatsWorker(env, m, s, bins, lo, hi, autoRange, cancellable);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    MappingPtr m = Live(env);
    double off = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    double len = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!(off >= 0) || !(len >= 0) || len > 64.0 * 1024 * 1024) throw CodedError<Napi::RangeError>(env, "RANGE", "read(offset, length <= 64 MiB)");
    auto* w = new ReadWorker(env, m, static_cast<uint64_t>(off), static_cast<uint64_t>(len));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // gather({ offset, rows, cols, strideR, strideC, itemSize }): at most 256 MiB.
  Napi::Value Gather(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    MappingPtr m = Live(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw CodedError<Napi::TypeError>(env, "EINVAL", "gather(request)");
    Napi::Object o = info[0].As<Napi::Object>();
    double v[6];
    const char* keys[6] = {"offset", "rows", "cols", "strideR", "strideC", "itemSize"};
    for (int k = 0; k < 6; ++k) {
      Napi::Value x = o.Get(keys[k]);
      v[k] = x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : -1;
      if (!(v[k] >= 0) || std::floor(v[k]) != v[k] || v[k] > 9007199254740991.0)
        throw CodedError<Napi::RangeError>(env, "RANGE", std::string("gather: ") + keys[k] + " must be a non-negative integer");
    }
    const double item = v[5];
    if (v[1] < 1 || v[2] < 1 || !(item == 1 || item == 2 || item == 4 || item == 8 || item == 16))
      throw CodedError<Napi::RangeError>(env, "RANGE", "gather: an empty window or a bad item size");
    if (v[1] * v[2] * item > 256.0 * 1024 * 1024) throw CodedError<Napi::RangeError>(env, "RANGE", "gather: at most 256 MiB");
    auto* w = new GatherWorker(env, m, static_cast<uint64_t>(v[0]), static_cast<int64_t>(v[1]), static_cast<int64_t>(v[2]),
                               static_cast<int64_t>(v[3]), static_cast<int64_t>(v[4]), static_cast<int64_t>(item));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // decompress(codec 'lz4' | 'zstd', offset, length, declaredLength <= 1 GiB): one frame, decoded.
  Napi::Value Decompress(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    MappingPtr m = Live(env);
    const std::string codec = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (codec != "lz4" && codec != "zstd") throw CodedError<Napi::TypeError>(env, "EINVAL", "decompress: the codec must be 'lz4' or 'zstd'");
    double v[3];
    for (int k = 0; k < 3; ++k) {
      v[k] = info.Length() > static_cast<size_t>(k + 1) && info[k + 1].IsNumber() ? info[k + 1].As<Napi::Number>().DoubleValue() : -1;
      if (!(v[k] >= 0) || std::floor(v[k]) != v[k] || v[k] > 9007199254740991.0)
        throw CodedError<Napi::RangeError>(env, "RANGE", "decompress(codec, offset, length, declaredLength): non-negative integers");
    }
    if (v[2] > 1024.0 * 1024 * 1024)
      throw CodedError<Napi::RangeError>(env, "RANGE", "decompress: a buffer that declares " + std::to_string(static_cast<uint64_t>(v[2])) +
                                                           " bytes, more than the 1 GiB this reads at once");
    auto* w = new DecompressWorker(env, m, codec == "lz4" ? Codec::Lz4Frame : Codec::Zstd, static_cast<uint64_t>(v[0]),
                                   static_cast<uint64_t>(v[1]), static_cast<size_t>(v[2]));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    if (m_) m_->epoch.fetch_add(1);
    return info.Env().Undefined();
  }

  // Drops this handle; the mapping goes away when the last running request ends.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (m_) {
      m_->epoch.fetch_add(1);
      m_->closed.store(true);
    }
    m_.reset();
    return info.Env().Undefined();
  }

  MappingPtr m_;
};

// A MappedView object over a mapping (on the main thread, when its worker is done).
Napi::Value NewView(Napi::Env env, MappingPtr m) {
  AddonData* data = env.GetInstanceData<AddonData>();
  return data->viewCtor.New({Napi::External<MappingPtr>::New(env, &m)});
}

// /proc/PID/fd/N, /proc/PID/map_files/A-B or /proc/self/fd/N, nothing else.
bool IsHolderLink(const std::string& p) {
  size_t at = 6;
  if (p.compare(0, at, "/proc/") != 0) return false;
  if (p.compare(at, 5, "self/") == 0) at += 5;
  else {
    size_t d = at;
    while (d < p.size() && p[d] >= '0' && p[d] <= '9') ++d;
    if (d == at || d >= p.size() || p[d] != '/') return false;
    at = d + 1;
  }
  size_t slash = p.find('/', at);
  if (slash == std::string::npos) return false;
  const std::string dir = p.substr(at, slash - at);
  const std::string leaf = p.substr(slash + 1);
  if ((dir != "fd" && dir != "map_files") || leaf.empty() || leaf.find('/') != std::string::npos) return false;
  return leaf.find_first_not_of(dir == "fd" ? "0123456789" : "0123456789abcdef-") == std::string::npos;
}

class OpenWorker : public ViewWorker {
 public:
  OpenWorker(Napi::Env env, std::string path, bool expect, double dev, double ino)
      : ViewWorker(env), path_(std::move(path)), expect_(expect), dev_(dev), ino_(ino) {}
  void Execute() override {
    auto m = std::make_shared<Mapping>();
    m->path = path_;
    // Never blocks (a FIFO), never follows a symbolic link; everything after is read through this descriptor.
    // Except a holder's /proc/PID/fd/N or /proc/PID/map_files/A-B (a memfd, shared anonymous memory,
    // a deleted segment), or our own /proc/self/fd/N (a file opened inside a container's root): that
    // magic link is the way to the file, followed only when `expect` names the file it must reach.
    const bool magic = expect_ && IsHolderLink(path_);
    m->fd = open(path_.c_str(), O_RDONLY | (magic ? 0 : O_NOFOLLOW) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (m->fd < 0) {
      int e = errno;
      return Fail(ErrnoCode(e), e == ELOOP ? path_ + ": is a symbolic link (not followed)" : ErrnoText(path_, e));
    }
    struct stat st;
    if (fstat(m->fd, &st) != 0) return Fail(ErrnoCode(errno), ErrnoText(path_, errno));
    if (!S_ISREG(st.st_mode)) {
      const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : S_ISDIR(st.st_mode) ? "a directory"
                         : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "not a file";
      return Fail("NOTFILE", path_ + ": not a regular file (" + kind + "); there is no array to read");
    }
    // The header the caller decoded is that of (dev_, ino_): the name must still name that file.
    // (Compared as the doubles JavaScript holds: an inode number past 2^53 is rounded alike on both sides.)
    if (expect_ && (static_cast<double>(st.st_dev) != dev_ || static_cast<double>(st.st_ino) != ino_))
      return Fail("CHANGED", path_ + ": replaced by another file since it was inspected (renamed over or recreated)");
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->len = static_cast<size_t>(st.st_size);
    if (m->len > 0) {
      void* a = mmap(nullptr, m->len, PROT_READ, MAP_SHARED, m->fd, 0);
      if (a == MAP_FAILED) return Fail(ErrnoCode(errno), ErrnoText("mmap " + path_, errno));
      madvise(a, m->len, MADV_RANDOM);
      m->addr = static_cast<const uint8_t*>(a);
      std::string err = m->SyncHoles();
      if (!err.empty()) return Fail("FAULT", err);
    }
    m_ = std::move(m);
  }
  Napi::Value Result(Napi::Env env) override { return NewView(env, m_); }

 private:
  std::string path_;
  bool expect_;
  double dev_, ino_;
  MappingPtr m_;
};

// The code of a System V call's errno: removed (EIDRM) is EINVAL, as for a segment that never was;
// a SIGBUS while copying (EFAULT here) is SHRANK (the segment vanished under the read).
const char* SysvCode(int e) { return e == EIDRM ? "EINVAL" : e == EFAULT ? "SHRANK" : ErrnoCode(e); }

// Why a System V segment could not be read, for a person.
std::string SysvErrorText(const std::string& what, int e) {
  if (e == EINVAL || e == EIDRM) return what + ": no such System V segment (removed?)";
  if (e == EACCES || e == EPERM) return what + ": permission denied (its mode does not let this user read it)";
  if (e == ENOMEM) return what + ": too large to attach in this process's address space (" + std::strerror(e) + ")";
  if (e == EFAULT) return what + ": it vanished while being read (SIGBUS caught)";
  return ErrnoText(what, e);
}

// Attaches System V segment `shmid` read-only (shmat SHM_RDONLY) as a view; shmdt when the
// last user of the view is done. The segment cannot shrink, so reads need no size check.
class OpenSysvWorker : public PromiseWorker {
 public:
  OpenSysvWorker(Napi::Env env, int shmid, IpcNs ns) : PromiseWorker(env), shmid_(shmid), ns_(std::move(ns)) {}
  void Execute() override {
    // In another IPC namespace, shmctl and shmat run on a thread that entered it; the attachment
    // is this process's memory, read from any thread and detached (shmdt) from any.
    int e = InIpcNamespace(ns_, [this] { Attach(); });
    if (e != 0) {
      SetCode("NONS");
      SetError(IpcNsErrorText(ns_, e));
    }
  }
  Napi::Value Result(Napi::Env env) override { return NewView(env, m_); }

 private:
  void Attach() {
    const std::string what = ns_.own() ? "sysv:" + std::to_string(shmid_) : "sysv:" + std::to_string(ns_.ino) + "/" + std::to_string(shmid_);
    struct shmid_ds ds {};
    if (shmctl(shmid_, IPC_STAT, &ds) != 0) return Refused(what, errno);
    auto m = std::make_shared<Mapping>();
    m->path = what;
    m->ino = static_cast<uint64_t>(shmid_);
    m->len = static_cast<size_t>(ds.shm_segsz);
    void* a = shmat(shmid_, nullptr, SHM_RDONLY);
    if (a == reinterpret_cast<void*>(-1)) return Refused(what, errno);
    m->shmid = shmid_;
    m->addr = static_cast<const uint8_t*>(a);
    if (m->len > 0) madvise(a, m->len, MADV_RANDOM);
    m_ = std::move(m);
  }
  void Refused(const std::string& what, int e) { Fail(SysvCode(e), SysvErrorText(what, e)); }
  int shmid_;
  IpcNs ns_;
  MappingPtr m_;
};

// shmctl(IPC_RMID): the segment is gone once its last process detaches.
class RemoveSysvWorker : public PromiseWorker {
 public:
  RemoveSysvWorker(Napi::Env env, int shmid, IpcNs ns) : PromiseWorker(env), shmid_(shmid), ns_(std::move(ns)) {}
  void Execute() override {
    int r = -1, e = 0;
    int nsErr = InIpcNamespace(ns_, [&] {
      r = shmctl(shmid_, IPC_RMID, nullptr);
      e = errno;
    });
    if (nsErr != 0) {
      SetCode("NONS");
      return SetError(IpcNsErrorText(ns_, nsErr));
    }
    if (r == 0) return;
    const std::string what = ns_.own() ? "sysv:" + std::to_string(shmid_) : "sysv:" + std::to_string(ns_.ino) + "/" + std::to_string(shmid_);
    SetCode(SysvCode(e));
    if (e == EINVAL || e == EIDRM) SetError(what + ": no such System V segment (removed?)");
    else if (e == EPERM || e == EACCES) SetError(what + ": permission denied (only its owner, creator or root may remove it)");
    else SetError(ErrnoText(what + ": IPC_RMID", e));
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  int shmid_;
  IpcNs ns_;
};

// The first and last bytes of many System V segments in one pass (the catalog's header decoding):
// each attached read-only, copied under the SIGBUS guard and detached at once. A segment that
// cannot be attached gets an error and a code instead; the others are unaffected.
class SysvEndsWorker : public PromiseWorker {
 public:
  SysvEndsWorker(Napi::Env env, std::vector<int> ids, size_t head, size_t tail, bool table = false, IpcNs ns = {})
      : PromiseWorker(env), ids_(std::move(ids)), head_(head), tail_(tail), table_(table), ns_(std::move(ns)), out_(ids_.size()) {}
  void Execute() override {
    // Another namespace's table and segments are read on a thread that entered it (/proc/sysvipc/shm
    // shows the reader's IPC namespace).
    int e = InIpcNamespace(ns_, [this] { Read(); });
    if (e != 0) {
      SetCode("NONS");
      SetError(IpcNsErrorText(ns_, e));
    }
  }
  void Read() {
    if (table_) {
      // The table and every segment's ends in one worker pass (scanSysv): the shmid is a line's 2nd field.
      int fd = open("/proc/sysvipc/shm", O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno != ENOENT) return Fail(ErrnoCode(errno), ErrnoText("/proc/sysvipc/shm", errno));
      if (fd >= 0) {
        char buf[65536];
        for (;;) {
          ssize_t n = read(fd, buf, sizeof buf);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          text_.append(buf, static_cast<size_t>(n));
        }
        close(fd);
      }
      size_t at = text_.find('\n');
      while (at != std::string::npos && at + 1 < text_.size()) {
        // key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime rss swap
        long long f[16];
        int got = 0;
        const char* c = text_.c_str() + at + 1;
        for (char* end = nullptr; got < 16; ++got, c = end) {
          errno = 0;
          f[got] = std::strtoll(c, &end, got == 2 ? 8 : 10);
          if (end == c || errno != 0 || *end == '\n' || *end == '\0') {
            got += end != c && errno == 0 ? 1 : 0;
            break;
          }
        }
        if (got >= 2 && f[1] >= 0 && f[1] <= 2147483647) {
          ids_.push_back(static_cast<int>(f[1]));
          sizes_.push_back(got >= 4 && f[3] >= 0 ? static_cast<uint64_t>(f[3]) : kUnknownSize);
          // Nothing resident and nothing swapped: the kernel has no page of it, so every byte is
          // zero; reading would allocate its first page (and set atime and lpid) for nothing.
          empty_.push_back(got >= 16 && f[14] == 0 && f[15] == 0);
        }
        at = text_.find('\n', at + 1);
      }
      // No bytes wanted: the table alone (a listing that does not decode), one thread hop.
      if (head_ == 0 && tail_ == 0) ids_.clear();
      out_.resize(ids_.size());
    }
    // Every head and tail in one anonymous mapping, populated in one call (page by page, the
    // faults cost ~6 ms per 1,000 segments in a virtual machine) and handed to JavaScript as it is.
    const size_t cap = ids_.size() * (head_ + tail_);
    if (cap > 0) {
      void* m = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (m == MAP_FAILED) return Fail(ErrnoCode(errno), ErrnoText("mapping a buffer for the segments' headers", errno));
      bytes_.reset(static_cast<uint8_t*>(m), cap);
    }
    size_t used = 0;
    for (size_t i = 0; i < ids_.size(); ++i) {
      Ends& e = out_[i];
      if (i < sizes_.size() && sizes_[i] != kUnknownSize) {
        e.size = sizes_[i];  // from the table just read: no IPC_STAT (a vanished one fails its attach)
      } else {
        struct shmid_ds ds {};
        if (shmctl(ids_[i], IPC_STAT, &ds) != 0) {
          e.err = errno;
          continue;
        }
        e.size = ds.shm_segsz;
      }
      // No bytes wanted (a listing that does not decode): no attach, which would also set atime and lpid.
      if (e.size == 0 || (head_ == 0 && tail_ == 0)) continue;
      // No page at all: nothing to read (core/sysv.ts decodes it as zeros by the same rule).
      if (i < empty_.size() && empty_[i]) continue;
      const size_t h = std::min<size_t>(head_, e.size);
      const size_t t = e.size > h ? std::min<size_t>(tail_, e.size) : 0;
      e.at = used;
      e.head = h;
      e.tail = t;
      void* a = shmat(ids_[i], nullptr, SHM_RDONLY);
      if (a == reinterpret_cast<void*>(-1)) {
        e.err = errno;
        continue;
      }
      if (CopyEnds(bytes_.p + used, static_cast<const uint8_t*>(a), e.size, h, t)) {
        // The header numpy writes, parsed here: JavaScript gets its fields (as the directory scan's).
        e.npy = ParseCanonicalNpy(bytes_.p + used, h, e.size, e.header);
        used += h + t;
      } else {
        e.err = EFAULT;
      }
      shmdt(a);
    }
    used_ = used;
  }

  // Copies the first h and last t bytes of an attached segment. Through process_vm_readv on
  // ourselves: the kernel reads the pages without a fault in this thread, which in a virtual
  // machine costs as much as the attach itself (bench/sysv.mjs: 1,000 segments 40% faster). A
  // page that is gone is EFAULT there, not SIGBUS; where the call is refused (seccomp, an old
  // kernel), a copy under the SIGBUS guard.
  bool CopyEnds(uint8_t* dst, const uint8_t* p, size_t size, size_t h, size_t t) {
    if (vmRead_) {
      struct iovec local {dst, h + t};
      struct iovec remote[2] = {{const_cast<uint8_t*>(p), h}, {const_cast<uint8_t*>(p + size - t), t}};
      const ssize_t r = process_vm_readv(getpid(), &local, 1, remote, t > 0 ? 2 : 1, 0);
      if (r == static_cast<ssize_t>(h + t)) return true;
      if (r >= 0 || errno == EFAULT) return false;
      vmRead_ = false;  // ENOSYS, EPERM...: the guarded copy from now on
    }
    return Guarded([&] {
      std::memcpy(dst, p, h);
      if (t > 0) std::memcpy(dst + h, p + size - t, t);
    });
  }

  // Columns, not 1,000 objects with 2,000 buffers (Node-API makes each slowly, on the main thread):
  // `bytes` every head and tail back to back; `cols` five numbers a segment: shmid, size, where its
  // bytes start, head length, tail length; `errors` [index, code, message] of those not read.
  // extension/native.ts makes the SysvEnds objects (views into `bytes`).
  // `npy`, `shapes`, `shapeAt` and `descrs` the NPY headers parsed here (NpyColumns, npy.h).
  Napi::Value Result(Napi::Env env) override {
    const size_t n = out_.size();
    size_t dims = 0;
    for (const Ends& e : out_) dims += e.npy ? e.header.shape.size() : 0;
    NpyColumns npy(env, n, dims);
    for (size_t i = 0; i < n; ++i) npy.Put(i, out_[i].npy && out_[i].err == 0 ? &out_[i].header : nullptr);
    Napi::Float64Array cols = Napi::Float64Array::New(env, n * 5);
    Napi::Array errors = Napi::Array::New(env);
    uint32_t ne = 0;
    for (size_t i = 0; i < n; ++i) {
      const Ends& e = out_[i];
      double* c = cols.Data() + i * 5;
      c[0] = ids_[i];
      c[1] = static_cast<double>(e.size);
      c[2] = static_cast<double>(e.at);
      c[3] = static_cast<double>(e.head);
      c[4] = static_cast<double>(e.tail);
      if (e.err != 0) {
        const std::string what = ns_.own() ? "sysv:" + std::to_string(ids_[i]) : "sysv:" + std::to_string(ns_.ino) + "/" + std::to_string(ids_[i]);
        errors.Set(ne++, Num(env, static_cast<double>(i)));
        errors.Set(ne++, Napi::String::New(env, SysvCode(e.err)));
        errors.Set(ne++, Napi::String::New(env, SysvErrorText(what, e.err)));
      }
    }
    Napi::Object r = Napi::Object::New(env);
    if (used_ > 0) {
      // The mapping itself becomes the buffer (unmapped when it is collected); where external
      // buffers are not allowed (Electron's V8 sandbox), a copy.
      const size_t cap = bytes_.cap;
      r.Set("bytes", Napi::Buffer<uint8_t>::NewOrCopy(env, bytes_.release(), used_, [cap](Napi::Env, uint8_t* d) { munmap(d, cap); }));
    } else {
      r.Set("bytes", Napi::Buffer<uint8_t>::New(env, 0));
    }
    r.Set("cols", cols);
    r.Set("errors", errors);
    npy.SetOn(r);
    if (table_) r.Set("table", Napi::String::New(env, text_));
    return r;
  }

 private:
  struct Ends {
    uint64_t size = 0;
    int err = 0;
    size_t at = 0, head = 0, tail = 0;
    bool npy = false;
    CanonicalNpy header;
  };
  std::vector<int> ids_;
  size_t head_, tail_;
  bool table_;
  IpcNs ns_;
  std::string text_;
  // An anonymous mapping, unmapped unless released to JavaScript.
  struct Region {
    uint8_t* p = nullptr;
    size_t cap = 0;
    void reset(uint8_t* q, size_t n) {
      if (p) munmap(p, cap);
      p = q;
      cap = n;
    }
    uint8_t* release() {
      uint8_t* q = p;
      p = nullptr;
      return q;
    }
    ~Region() { reset(nullptr, 0); }
  };
  static constexpr uint64_t kUnknownSize = ~uint64_t{0};
  std::vector<Ends> out_;
  Region bytes_;
  size_t used_ = 0;
  std::vector<uint64_t> sizes_;  // by index of ids_, from the table (kUnknownSize: ask IPC_STAT)
  std::vector<bool> empty_;      // by index of ids_, from the table: no page resident or swapped
  bool vmRead_ = getenv("SHM_NOVM") == nullptr;
};

int ShmidArg(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  double v = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(v >= 0) || v > 2147483647.0 || std::floor(v) != v) throw CodedError<Napi::TypeError>(env, "EINVAL", std::string(fn) + "(shmid: a non-negative integer)");
  return static_cast<int>(v);
}

// Queues a worker; its promise is the entry point's result.
Napi::Value Start(PromiseWorker* w, Napi::Promise p) {
  w->Queue();
  return p;
}

// headBytes and tailBytes at info[i], info[i + 1] (at most 1 MiB each).
void EndsArgs(const Napi::CallbackInfo& info, size_t i, size_t& head, size_t& tail) {
  head = std::min<uint32_t>(info[i].As<Napi::Number>().Uint32Value(), 1 << 20);
  tail = std::min<uint32_t>(info[i + 1].As<Napi::Number>().Uint32Value(), 1 << 20);
}

}  // namespace

Napi::Value OpenSysvView(const Napi::CallbackInfo& info) {
  auto* w = new OpenSysvWorker(info.Env(), ShmidArg(info, "openSysvView"), IpcNsArg(info, 1, "openSysvView"));
  return Start(w, w->Promise());
}

// readSysvEnds(shmids, headBytes, tailBytes): {bytes, cols, errors} (SysvEndsWorker::Result).
Napi::Value ReadSysvEnds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsNumber() || !info[2].IsNumber())
    throw CodedError<Napi::TypeError>(env, "EINVAL", "readSysvEnds(shmids: number[], headBytes, tailBytes)");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<int> ids;
  ids.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    double v = a.Get(i).IsNumber() ? a.Get(i).As<Napi::Number>().DoubleValue() : -1;
    if (!(v >= 0) || v > 2147483647.0 || std::floor(v) != v) throw CodedError<Napi::TypeError>(env, "EINVAL", "readSysvEnds: shmids are non-negative integers");
    ids.push_back(static_cast<int>(v));
  }
  size_t head, tail;
  EndsArgs(info, 1, head, tail);
  auto* w = new SysvEndsWorker(env, std::move(ids), head, tail, false, IpcNsArg(info, 3, "readSysvEnds"));
  return Start(w, w->Promise());
}

// scanSysv(headBytes, tailBytes): {table: the text of /proc/sysvipc/shm ('' without System V IPC),
// bytes, cols, errors} of every segment listed there, in one worker pass.
Napi::Value ScanSysv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) throw CodedError<Napi::TypeError>(env, "EINVAL", "scanSysv(headBytes, tailBytes)");
  size_t head, tail;
  EndsArgs(info, 0, head, tail);
  auto* w = new SysvEndsWorker(env, {}, head, tail, true, IpcNsArg(info, 2, "scanSysv"));
  return Start(w, w->Promise());
}

Napi::Value RemoveSysv(const Napi::CallbackInfo& info) {
  auto* w = new RemoveSysvWorker(info.Env(), ShmidArg(info, "removeSysv"), IpcNsArg(info, 1, "removeSysv"));
  return Start(w, w->Promise());
}

// openView(path, expect?: { dev, ino })
Napi::Value OpenView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (info.Length() < 1 || !PathArg(info[0], path)) throw CodedError<Napi::TypeError>(env, "EINVAL", "openView(path: string | Buffer, expect?)");
  bool expect = false;
  double dev = 0, ino = 0;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    if (!info[1].IsObject()) throw CodedError<Napi::TypeError>(env, "EINVAL", "openView: expect is { dev, ino }");
    Napi::Object o = info[1].As<Napi::Object>();
    Napi::Value d = o.Get("dev"), i = o.Get("ino");
    const double dv = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1;
    const double iv = i.IsNumber() ? i.As<Napi::Number>().DoubleValue() : -1;
    if (!(dv >= 0) || !(iv >= 0) || std::floor(dv) != dv || std::floor(iv) != iv || dv > 1.8e19 || iv > 1.8e19)
      throw CodedError<Napi::TypeError>(env, "EINVAL", "openView: expect.dev and expect.ino must be non-negative integers");
    expect = true;
    dev = dv;
    ino = iv;
  }
  auto* w = new OpenWorker(env, std::move(path), expect, dev, ino);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Object InitView(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function ctor = View::Define(env);
  data->viewCtor = Napi::Persistent(ctor);
  env.SetInstanceData<AddonData>(data);
  exports.Set("MappedView", ctor);
  exports.Set("openView", Napi::Function::New(env, OpenView, "openView"));
  exports.Set("openSysvView", Napi::Function::New(env, OpenSysvView, "openSysvView"));
  exports.Set("removeSysv", Napi::Function::New(env, RemoveSysv, "removeSysv"));
  exports.Set("readSysvEnds", Napi::Function::New(env, ReadSysvEnds, "readSysvEnds"));
  exports.Set("scanSysv", Napi::Function::New(env, ScanSysv, "scanSysv"));
  exports.Set("threads", Num(env, WorkerThreads()));
  exports.Set("simd", Napi::String::New(env, SimdLevel()));
  // The reduce modes, from the registry of reductions (a unit test holds them equal to contract/reduce.ts).
  const std::span<const std::string_view> modes = ReduceModeNames();
  Napi::Array modeNames = Napi::Array::New(env, modes.size());
  for (size_t i = 0; i < modes.size(); ++i) modeNames.Set(i, Napi::String::New(env, modes[i].data(), modes[i].size()));
  exports.Set("reduceModes", modeNames);
  return exports;
}

}  // namespace shm
