// MappedView: a read-only MAP_SHARED mapping of one segment, with async
// reductions (window -> grid), statistics and byte reads. Nothing here copies
// the segment; results are small typed arrays copied into JS memory.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "common.h"
#include "guard.h"
#include "pages.h"
#include "kernels.h"
#include "pool.h"
#include "reduce.h"
#include "scan.h"
#include "simd.h"

namespace shm {
namespace {

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

std::string CheckBounds(const Mapping& m, const Slice& s, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  unsigned __int128 end;
  if (r0 < 0 || c0 < 0 || r1 > s.rows || c1 > s.cols || !WindowEnd(s, r0, r1, c0, c1, end))
    return "window is empty or outside the array";
  if (end > m.len) return "array extends past the end of the segment (" + std::to_string(m.len) + " bytes)";
  int64_t now = m.CurrentSize();
  if (now >= 0 && static_cast<unsigned __int128>(now) < end)
    return "segment shrank to " + std::to_string(now) + " bytes while open (it was " + std::to_string(m.len) + ")";
  return "";
}

const char kCancelled[] = "cancelled: superseded by a newer request";
const char kClosed[] = "cancelled: the view was closed";
const char kFault[] =
    "the segment shrank or vanished while it was being read (SIGBUS caught); reopen it to see its current contents";

// ---- reduce -------------------------------------------------------------

class ReduceWorker : public PromiseWorker {
 public:
  ReduceWorker(Napi::Env env, MappingPtr m, Slice s, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t gh,
               int64_t gw, Mode mode, bool f32)
      : PromiseWorker(env), m_(std::move(m)), s_(s), r0_(r0), r1_(r1), c0_(c0), c1_(c1), gh_(gh), gw_(gw),
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
    if (ctl_.Poll()) return SetError(m_->closed.load() ? kClosed : kCancelled);
    std::string err = CheckBounds(*m_, s_, r0_, r1_, c0_, c1_);
    if (!err.empty()) return SetError(err);
    ReduceGrid(m_->addr, s_, r0_, r1_, c0_, c1_, gh_, gw_, mode_, ctl_, out_);
    if (ctl_.fault) return SetError(kFault);
    if (ctl_.cancelled) return SetError(m_->closed.load() ? kClosed : kCancelled);
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

class StatsWorker : public PromiseWorker {
 public:
  StatsWorker(Napi::Env env, MappingPtr m, Slice s, int bins, double lo, double hi, bool autoRange, bool cancellable)
      : PromiseWorker(env), m_(std::move(m)), s_(s), bins_(bins), lo_(lo), hi_(hi), auto_(autoRange) {
    if (cancellable) {
      ctl_.epoch = &m_->epoch;
      ctl_.expected = m_->epoch.load();
    }
    // Closing the view (its panel closed, or it shows another array) stops even an uncancellable pass.
    ctl_.closed = &m_->closed;
  }

  void Execute() override {
    if (ctl_.Poll()) return SetError(m_->closed.load() ? kClosed : kCancelled);
    if (s_.rows > 0 && s_.cols > 0) {
      std::string err = CheckBounds(*m_, s_, 0, s_.rows, 0, s_.cols);
      if (!err.empty()) return SetError(err);
    }
    ComputeStats(m_->addr, s_, bins_, lo_, hi_, auto_, ctl_, st_);
    if (ctl_.fault) return SetError(kFault);
    if (ctl_.cancelled) return SetError(m_->closed.load() ? kClosed : kCancelled);
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

class ReadWorker : public PromiseWorker {
 public:
  ReadWorker(Napi::Env env, MappingPtr m, uint64_t off, uint64_t len)
      : PromiseWorker(env), m_(std::move(m)), off_(off), len_(len) {}
  void Execute() override {
    if (off_ > m_->len) return SetError("offset past the end of the segment");
    len_ = std::min<uint64_t>(len_, m_->len - off_);
    int64_t now = m_->CurrentSize();
    if (now >= 0 && static_cast<uint64_t>(now) < off_ + len_)
      return SetError("segment shrank to " + std::to_string(now) + " bytes while open");
    buf_.resize(static_cast<size_t>(len_));
    bool fault = false;
    uint8_t* dst = buf_.data();
    const uint8_t* src = m_->addr + off_;
    size_t n = buf_.size();
    if (!Guarded([&] { std::memcpy(dst, src, n); })) fault = true;
    if (fault) SetError(kFault);
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Buffer<uint8_t>::Copy(env, buf_.data(), buf_.size()); }

 private:
  MappingPtr m_;
  uint64_t off_, len_;
  std::vector<uint8_t> buf_;
};

// Elements of a 2-D window at any strides, in C order (row by row), exactly as stored.
class GatherWorker : public PromiseWorker {
 public:
  GatherWorker(Napi::Env env, MappingPtr m, uint64_t off, int64_t rows, int64_t cols, int64_t sr, int64_t sc, int64_t item)
      : PromiseWorker(env), m_(std::move(m)), off_(off), rows_(rows), cols_(cols), sr_(sr), sc_(sc), item_(item) {}
  void Execute() override {
    // Strides are non-negative (resolveSlice's), so the window's last byte is its farthest.
    const unsigned __int128 end = static_cast<unsigned __int128>(off_) + static_cast<unsigned __int128>(rows_ - 1) * sr_ +
                                  static_cast<unsigned __int128>(cols_ - 1) * sc_ + item_;
    if (end > m_->len) return SetError("the window extends past the end of the segment");
    int64_t now = m_->CurrentSize();
    if (now >= 0 && static_cast<unsigned __int128>(now) < end)
      return SetError("segment shrank to " + std::to_string(now) + " bytes while open");
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
    if (!ok) SetError(kFault);
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Buffer<uint8_t>::Copy(env, buf_.data(), buf_.size()); }

 private:
  MappingPtr m_;
  uint64_t off_;
  int64_t rows_, cols_, sr_, sc_, item_;
  std::vector<uint8_t> buf_;
};

// ---- the JS class -------------------------------------------------------

class View : public Napi::ObjectWrap<View> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MappedView",
                       {InstanceAccessor<&View::Size>("size"), InstanceAccessor<&View::Path>("path"),
                        InstanceAccessor<&View::Dev>("dev"), InstanceAccessor<&View::Ino>("ino"),
                        InstanceAccessor<&View::Closed>("closed"), InstanceMethod<&View::Reduce>("reduce"),
                        InstanceMethod<&View::Stats>("stats"), InstanceMethod<&View::Read>("read"),
                        InstanceMethod<&View::Gather>("gather"),
                        InstanceMethod<&View::Cancel>("cancelPending"), InstanceMethod<&View::Close>("close")});
  }

  explicit View(const Napi::CallbackInfo& info) : Napi::ObjectWrap<View>(info) {
    if (info.Length() < 1 || !info[0].IsExternal())
      throw Napi::TypeError::New(info.Env(), "MappedView is created by openView(path)");
    m_ = *info[0].As<Napi::External<MappingPtr>>().Data();
  }

 private:
  MappingPtr Live(Napi::Env env) {
    if (!m_) throw Napi::Error::New(env, "view is closed");
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

  Napi::Value Reduce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    MappingPtr m = Live(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "reduce(request)");
    Napi::Object o = info[0].As<Napi::Object>();
    Slice s;
    std::string err = ParseSlice(o, s);
    if (!err.empty()) throw Napi::TypeError::New(env, err);
    auto get = [&](const char* k, double dflt) {
      Napi::Value v = o.Get(k);
      return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
    };
    double r0 = get("r0", 0), r1 = get("r1", static_cast<double>(s.rows));
    double c0 = get("c0", 0), c1 = get("c1", static_cast<double>(s.cols));
    double gh = get("gridHeight", 0), gw = get("gridWidth", 0);
    for (double v : {r0, r1, c0, c1, gh, gw})
      if (!std::isfinite(v) || v < 0 || std::floor(v) != v) throw Napi::RangeError::New(env, "window and grid must be non-negative integers");
    if (r1 <= r0 || c1 <= c0 || r1 > s.rows || c1 > s.cols) throw Napi::RangeError::New(env, "window is empty or outside the array");
    // Never more cells than the window has elements.
    gh = std::min(gh, r1 - r0);
    gw = std::min(gw, c1 - c0);
    if (gh < 1 || gw < 1 || gh * gw > 64.0 * 1024 * 1024) throw Napi::RangeError::New(env, "grid must have 1 to 64Mi cells");
    std::string mode = o.Get("mode").IsString() ? o.Get("mode").As<Napi::String>().Utf8Value() : "strided";
    Mode md = mode == "mean" ? Mode::Mean : mode == "min" ? Mode::Min : mode == "max" ? Mode::Max : Mode::Strided;
    if (mode != "strided" && mode != "mean" && mode != "min" && mode != "max")
      throw Napi::TypeError::New(env, "mode must be strided, mean, min or max");
    Napi::Value output = o.Get("output");
    if (!output.IsUndefined() && !(output.IsString() && (output.As<Napi::String>().Utf8Value() == "f64" ||
                                                          output.As<Napi::String>().Utf8Value() == "f32")))
      throw Napi::TypeError::New(env, "output must be f64 or f32");
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
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "stats(slice)");
    Napi::Object o = info[0].As<Napi::Object>();
    Slice s;
    std::string err = ParseSlice(o, s);
    if (!err.empty()) throw Napi::TypeError::New(env, err);
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
    if (!(off >= 0) || !(len >= 0) || len > 64.0 * 1024 * 1024) throw Napi::RangeError::New(env, "read(offset, length <= 64 MiB)");
    auto* w = new ReadWorker(env, m, static_cast<uint64_t>(off), static_cast<uint64_t>(len));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // gather({ offset, rows, cols, strideR, strideC, itemSize }): at most 256 MiB.
  Napi::Value Gather(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    MappingPtr m = Live(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "gather(request)");
    Napi::Object o = info[0].As<Napi::Object>();
    double v[6];
    const char* keys[6] = {"offset", "rows", "cols", "strideR", "strideC", "itemSize"};
    for (int k = 0; k < 6; ++k) {
      Napi::Value x = o.Get(keys[k]);
      v[k] = x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : -1;
      if (!(v[k] >= 0) || std::floor(v[k]) != v[k] || v[k] > 9007199254740991.0)
        throw Napi::RangeError::New(env, std::string("gather: ") + keys[k] + " must be a non-negative integer");
    }
    const double item = v[5];
    if (v[1] < 1 || v[2] < 1 || !(item == 1 || item == 2 || item == 4 || item == 8 || item == 16))
      throw Napi::RangeError::New(env, "gather: an empty window or a bad item size");
    if (v[1] * v[2] * item > 256.0 * 1024 * 1024) throw Napi::RangeError::New(env, "gather: at most 256 MiB");
    auto* w = new GatherWorker(env, m, static_cast<uint64_t>(v[0]), static_cast<int64_t>(v[1]), static_cast<int64_t>(v[2]),
                               static_cast<int64_t>(v[3]), static_cast<int64_t>(v[4]), static_cast<int64_t>(item));
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

class OpenWorker : public PromiseWorker {
 public:
  OpenWorker(Napi::Env env, std::string path) : PromiseWorker(env), path_(std::move(path)) {}
  void Execute() override {
    auto m = std::make_shared<Mapping>();
    m->path = path_;
    m->fd = open(path_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (m->fd < 0) {
      int e = errno;
      return SetError(e == ELOOP ? path_ + ": is a symbolic link (not followed)" : ErrnoText(path_, e));
    }
    struct stat st;
    if (fstat(m->fd, &st) != 0) return SetError(ErrnoText(path_, errno));
    if (!S_ISREG(st.st_mode)) return SetError(path_ + ": not a regular file");
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->len = static_cast<size_t>(st.st_size);
    if (m->len > 0) {
      void* a = mmap(nullptr, m->len, PROT_READ, MAP_SHARED, m->fd, 0);
      if (a == MAP_FAILED) return SetError(ErrnoText("mmap " + path_, errno));
      madvise(a, m->len, MADV_RANDOM);
      m->addr = static_cast<const uint8_t*>(a);
    }
    m_ = std::move(m);
  }
  Napi::Value Result(Napi::Env env) override { return NewView(env, m_); }

 private:
  std::string path_;
  MappingPtr m_;
};

// The errno name a System V call failed with: the `code` of the rejection.
const char* ErrnoCode(int e) {
  switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EIDRM: return "EIDRM";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    default: return "EIO";
  }
}

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
  OpenSysvWorker(Napi::Env env, int shmid) : PromiseWorker(env), shmid_(shmid) {}
  void Execute() override {
    const std::string what = "sysv:" + std::to_string(shmid_);
    struct shmid_ds ds {};
    if (shmctl(shmid_, IPC_STAT, &ds) != 0) return Fail(what, errno, "IPC_STAT");
    auto m = std::make_shared<Mapping>();
    m->path = what;
    m->ino = static_cast<uint64_t>(shmid_);
    m->len = static_cast<size_t>(ds.shm_segsz);
    void* a = shmat(shmid_, nullptr, SHM_RDONLY);
    if (a == reinterpret_cast<void*>(-1)) return Fail(what, errno, "shmat");
    m->shmid = shmid_;
    m->addr = static_cast<const uint8_t*>(a);
    if (m->len > 0) madvise(a, m->len, MADV_RANDOM);
    m_ = std::move(m);
  }
  Napi::Value Result(Napi::Env env) override { return NewView(env, m_); }

 private:
  void Fail(const std::string& what, int e, const char* call) {
    SetCode(e == EIDRM ? "EINVAL" : ErrnoCode(e));
    SetError(SysvErrorText(what, e));
  }
  int shmid_;
  MappingPtr m_;
};

// shmctl(IPC_RMID): the segment is gone once its last process detaches.
class RemoveSysvWorker : public PromiseWorker {
 public:
  RemoveSysvWorker(Napi::Env env, int shmid) : PromiseWorker(env), shmid_(shmid) {}
  void Execute() override {
    if (shmctl(shmid_, IPC_RMID, nullptr) == 0) return;
    int e = errno;
    const std::string what = "sysv:" + std::to_string(shmid_);
    SetCode(e == EIDRM ? "EINVAL" : ErrnoCode(e));
    if (e == EINVAL || e == EIDRM) SetError(what + ": no such System V segment (removed?)");
    else if (e == EPERM || e == EACCES) SetError(what + ": permission denied (only its owner, creator or root may remove it)");
    else SetError(ErrnoText(what + ": IPC_RMID", e));
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  int shmid_;
};

// The first and last bytes of many System V segments in one pass (the catalog's header decoding):
// each attached read-only, copied under the SIGBUS guard and detached at once. A segment that
// cannot be attached gets an error and a code instead; the others are unaffected.
class SysvEndsWorker : public PromiseWorker {
 public:
  SysvEndsWorker(Napi::Env env, std::vector<int> ids, size_t head, size_t tail, bool table = false)
      : PromiseWorker(env), ids_(std::move(ids)), head_(head), tail_(tail), table_(table), out_(ids_.size()) {}
  void Execute() override {
    if (table_) {
      // The table and every segment's ends in one worker pass (scanSysv): the shmid is a line's 2nd field.
      int fd = open("/proc/sysvipc/shm", O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno != ENOENT) return SetError(ErrnoText("/proc/sysvipc/shm", errno));
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
        long long key, id;
        if (std::sscanf(text_.c_str() + at + 1, "%lld %lld", &key, &id) == 2 && id >= 0 && id <= 2147483647) ids_.push_back(static_cast<int>(id));
        at = text_.find('\n', at + 1);
      }
      out_.resize(ids_.size());
    }
    for (size_t i = 0; i < ids_.size(); ++i) {
      Ends& e = out_[i];
      struct shmid_ds ds {};
      if (shmctl(ids_[i], IPC_STAT, &ds) != 0) {
        e.err = errno;
        continue;
      }
      e.size = ds.shm_segsz;
      if (e.size == 0) continue;
      void* a = shmat(ids_[i], nullptr, SHM_RDONLY);
      if (a == reinterpret_cast<void*>(-1)) {
        e.err = errno;
        continue;
      }
      const uint8_t* p = static_cast<const uint8_t*>(a);
      const size_t h = std::min<size_t>(head_, e.size);
      const size_t t = e.size > h ? std::min<size_t>(tail_, e.size) : 0;
      e.head.resize(h);
      e.tail.resize(t);
      uint8_t* hd = e.head.data();
      uint8_t* tl = e.tail.data();
      const size_t size = e.size;
      if (!Guarded([&] {
            std::memcpy(hd, p, h);
            if (t > 0) std::memcpy(tl, p + size - t, t);
          }))
        e.err = EFAULT;
      shmdt(a);
    }
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, out_.size());
    for (size_t i = 0; i < out_.size(); ++i) {
      const Ends& e = out_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("size", Num(env, static_cast<double>(e.size)));
      if (e.err != 0) {
        const std::string what = "sysv:" + std::to_string(ids_[i]);
        o.Set("code", Napi::String::New(env, e.err == EIDRM ? "EINVAL" : e.err == EFAULT ? "EFAULT" : ErrnoCode(e.err)));
        o.Set("error", Napi::String::New(env, SysvErrorText(what, e.err)));
      } else {
        o.Set("head", Napi::Buffer<uint8_t>::Copy(env, e.head.data(), e.head.size()));
        if (!e.tail.empty()) {
          o.Set("tail", Napi::Buffer<uint8_t>::Copy(env, e.tail.data(), e.tail.size()));
          o.Set("tailOffset", Num(env, static_cast<double>(e.size - e.tail.size())));
        }
      }
      if (table_) o.Set("shmid", Num(env, ids_[i]));
      arr.Set(i, o);
    }
    if (!table_) return arr;
    Napi::Object r = Napi::Object::New(env);
    r.Set("table", Napi::String::New(env, text_));
    r.Set("ends", arr);
    return r;
  }

 private:
  struct Ends {
    uint64_t size = 0;
    int err = 0;
    std::vector<uint8_t> head, tail;
  };
  std::vector<int> ids_;
  size_t head_, tail_;
  bool table_;
  std::string text_;
  std::vector<Ends> out_;
};

int ShmidArg(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  double v = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(v >= 0) || v > 2147483647.0 || std::floor(v) != v) throw Napi::TypeError::New(env, std::string(fn) + "(shmid: a non-negative integer)");
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
  auto* w = new OpenSysvWorker(info.Env(), ShmidArg(info, "openSysvView"));
  return Start(w, w->Promise());
}

// readSysvEnds(shmids, headBytes, tailBytes): [{size, head, tail?, tailOffset?} | {size, error, code}].
Napi::Value ReadSysvEnds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "readSysvEnds(shmids: number[], headBytes, tailBytes)");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<int> ids;
  ids.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    double v = a.Get(i).IsNumber() ? a.Get(i).As<Napi::Number>().DoubleValue() : -1;
    if (!(v >= 0) || v > 2147483647.0 || std::floor(v) != v) throw Napi::TypeError::New(env, "readSysvEnds: shmids are non-negative integers");
    ids.push_back(static_cast<int>(v));
  }
  size_t head, tail;
  EndsArgs(info, 1, head, tail);
  auto* w = new SysvEndsWorker(env, std::move(ids), head, tail);
  return Start(w, w->Promise());
}

// scanSysv(headBytes, tailBytes): {table: the text of /proc/sysvipc/shm ('' without System V IPC),
// ends: [{shmid, size, head...} | {shmid, size, error, code}]}, in one worker pass.
Napi::Value ScanSysv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "scanSysv(headBytes, tailBytes)");
  size_t head, tail;
  EndsArgs(info, 0, head, tail);
  auto* w = new SysvEndsWorker(env, {}, head, tail, true);
  return Start(w, w->Promise());
}

Napi::Value RemoveSysv(const Napi::CallbackInfo& info) {
  auto* w = new RemoveSysvWorker(info.Env(), ShmidArg(info, "removeSysv"));
  return Start(w, w->Promise());
}

Napi::Value OpenView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (info.Length() < 1 || !PathArg(info[0], path)) throw Napi::TypeError::New(env, "openView(path: string | Buffer)");
  auto* w = new OpenWorker(env, std::move(path));
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
  return exports;
}

}  // namespace shm
