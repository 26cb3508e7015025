// Grid reductions and statistics; see reduce.h.
//
// How to add a reduction (a grid mode such as "count above a threshold"): write one operation
// type (see "operations" below: its name, init, accumulate 1/4/8 rows, fold, finish; its inner
// loops in simd.h/simd.cc when they are new) and add it to the `Reductions` registry. The tiled
// pass (ReduceItem/RunReduce) is written once over any operation; the addon's `reduceModes`
// export and view.cc's parse of the mode name both come from the registry, and a unit test holds
// that list equal to contract/reduce.ts (add the mode there, with its label, for the UI).
//
// Loop structure of a mean/min/max pass: the window is cut into bands (the rows of one
// grid row) and each band into tiles of kTile consecutive elements along the inner
// (smallest-stride) axis. Rows of the band are read eight (or four, or one) at a time, each
// in one long contiguous run, and added element-wise into a per-column accumulator
// (simd.h: vectorised, branch-free, no horizontal reductions in the hot loop, an eighth of
// the accumulator traffic). At the end of the tile each cell folds its columns'
// accumulators into one double a cell (the only per-cell state of a clean band); a non-finite
// fold (NaN/Inf somewhere, which a sum or a min/max makes visible) sends the columns of those
// cells through a NaN-aware sweep (also vectorised) that sums/min/maxes only finite values and
// counts NaN, +Inf and -Inf into a full record for those cells only. Where a tile was mostly
// NaN/Inf, the next tiles go straight to the NaN-aware sweep until one is clean again. The
// threads note the least and greatest finite cell as they store the cells (float64, or float32
// rounded once at the end).
// Native-order f4 and f8 are read in place; every other dtype (and strided inner axes) is
// converted into small double buffers per row first.
//
// Statistics read the slice in runs of kRun elements: one fused kernel gives the shifted sum,
// sum of squares, min and max (a run with NaN/Inf, and the runs after it until a clean one, go
// through the NaN-aware kernel instead); a histogram, when asked for, bins the same run while
// it is in L1. They are not an operation of the registry: one result for the whole slice, read
// in runs along its rows rather than in per-cell tiles (Partial::Add folds runs and threads).
#include "reduce.h"

#include <algorithm>
#include <array>
#include <concepts>
#include <memory>
#include <type_traits>

#include "guard.h"
#include "pages.h"
#include "pool.h"
#include "simd.h"

namespace shm {
namespace {

// Elements per tile: in place, 8192 (a 64 KiB double accumulator in L2, 32 KiB runs of each row for
// the prefetchers; measured against 2048..16384); converted, 2048 (eight 16 KiB row buffers).
constexpr int64_t kTile = 8192;
constexpr int64_t kStageTile = 2048;
constexpr int64_t kParallelMin = 1 << 18;  // fewer elements than this: one thread
constexpr int64_t kPollElems = 1 << 17;   // elements read between cancellation polls (~50 us)

struct Cell {
  double sum = 0, mn = INFINITY, mx = -INFINITY;
  uint64_t n = 0, nan = 0, pinf = 0, ninf = 0;
};

// The value of a cell without any finite value: the one infinity it saw (when `nanWins`, only if
// it saw no NaN either), `both` when it saw both infinities and no NaN, else NaN.
constexpr double NonFinite(const Cell& c, bool nanWins, double both) {
  if (c.pinf > 0 && c.ninf == 0 && (!nanWins || c.nan == 0)) return INFINITY;
  if (c.ninf > 0 && c.pinf == 0 && (!nanWins || c.nan == 0)) return -INFINITY;
  if (c.nan == 0 && c.pinf > 0 && c.ninf > 0) return both;
  return NAN;
}

// ---- operations -------------------------------------------------------------
//
// One type per reduce mode; all members static. E is the element type the pass reads (float or
// double), Acc<E> the type of its per-column accumulator and of its column folds.
//   kName                       the mode's name (the registry's only list of names);
//   kSample                     true: not a reduction but each cell's first element (RunStrided);
//   kNone                       a cell's partial result before any tile (the identity);
//   Init(acc, w)                a tile's empty accumulators, unless kSet8: then Set8 sets them from
//                               the first eight rows (no memset pass);
//   Acc1 / Acc4 / Acc8          add one / four / eight rows into the accumulators (simd.h: vectorised,
//                               branch-free; four or eight rows a quarter or an eighth of the traffic);
//   FoldColumns(acc, at, k, o)  each cell's columns into one value per cell (vectorised);
//   Fold(part, v)               one tile's value of a cell into the cell's partial; false when v is not
//                               finite (NaN/Inf somewhere): those columns then go through the shared
//                               NaN-aware sweep into the cell's Cell record instead;
//   Finish(part, n)             the value of a cell whose n elements all folded cleanly;
//   Absorb(cell, part)          the clean columns' partial into a Cell record (its n is counted by the
//                               pass), and Value(cell) that record's value.
struct TiledOp {
  static constexpr bool kSample = false, kSet8 = false;
};

// Mean of the finite values, summed in doubles.
struct MeanOp : TiledOp {
  static constexpr std::string_view kName = "mean";
  template <typename E>
  using Acc = double;
  static constexpr double kNone = 0.0;
  static constexpr bool kSet8 = true;
  template <typename E>
  static void Init(double* acc, int64_t w) { std::fill(acc, acc + w, 0.0); }
  template <typename E>
  static void Set8(double* acc, const E* const* r, int64_t w) { SetSum8(acc, r, w); }
  template <typename E>
  static void Acc8(double* acc, const E* const* r, int64_t w) { AccSum8(acc, r, w); }
  template <typename E>
  static void Acc4(double* acc, const E* p0, const E* p1, const E* p2, const E* p3, int64_t w) {
    AccSum4(acc, p0, p1, p2, p3, w);
  }
  template <typename E>
  static void Acc1(double* acc, const E* p, int64_t w) { AccSum(acc, p, w); }
  static void FoldColumns(const double* acc, const int64_t* at, int64_t cells, double* out) {
    FoldSum(acc, at, cells, out);
  }
  static bool Fold(double& part, double v) {
    if (!std::isfinite(v)) return false;
    part += v;
    return true;
  }
  static double Finish(double part, uint64_t n) { return part / static_cast<double>(n); }
  static void Absorb(Cell& c, double part) { c.sum += part; }
  static double Value(const Cell& c) { return c.n > 0 ? c.sum / static_cast<double>(c.n) : NonFinite(c, true, NAN); }
};

// Least (kMin) or greatest finite value. NaN never enters the accumulator (simd.h), so a finite
// fold means no -Inf (min) / +Inf (max) and at least one finite value: exactly the extreme of the
// finite values. Without any finite value: the infinity seen, even beside NaN.
template <bool kMin>
struct ExtremeOp : TiledOp {
  static constexpr std::string_view kName = kMin ? "min" : "max";
  template <typename E>
  using Acc = E;
  static constexpr double kNone = kMin ? INFINITY : -INFINITY;
  template <typename E>
  static void Init(E* acc, int64_t w) { std::fill(acc, acc + w, static_cast<E>(kNone)); }
  template <typename E>
  static void Acc8(E* acc, const E* const* r, int64_t w) {
    if constexpr (kMin) AccMin8(acc, r, w);
    else AccMax8(acc, r, w);
  }
  template <typename E>
  static void Acc4(E* acc, const E* p0, const E* p1, const E* p2, const E* p3, int64_t w) {
    if constexpr (kMin) AccMin4(acc, p0, p1, p2, p3, w);
    else AccMax4(acc, p0, p1, p2, p3, w);
  }
  template <typename E>
  static void Acc1(E* acc, const E* p, int64_t w) {
    if constexpr (kMin) AccMin(acc, p, w);
    else AccMax(acc, p, w);
  }
  template <typename E>
  static void FoldColumns(const E* acc, const int64_t* at, int64_t cells, E* out) {
    if constexpr (kMin) FoldMin(acc, at, cells, out);
    else FoldMax(acc, at, cells, out);
  }
  template <typename E>
  static bool Fold(double& part, E v) {
    if (!std::isfinite(v)) return false;
    part = Better(part, static_cast<double>(v));
    return true;
  }
  static double Finish(double part, uint64_t) { return part; }
  static void Absorb(Cell& c, double part) {
    if constexpr (kMin) c.mn = Better(c.mn, part);
    else c.mx = Better(c.mx, part);
  }
  static double Value(const Cell& c) {
    return c.n > 0 ? (kMin ? c.mn : c.mx) : NonFinite(c, false, kMin ? -INFINITY : INFINITY);
  }
  static double Better(double a, double b) { return kMin ? std::min(a, b) : std::max(a, b); }
};
using MinOp = ExtremeOp<true>;
using MaxOp = ExtremeOp<false>;

// A sample, not a reduction: each cell shows its first element (no tiled pass; see RunStrided).
struct StridedOp {
  static constexpr std::string_view kName = "strided";
  static constexpr bool kSample = true;
};

// What the tiled pass asks of an operation, for elements of type E (a clear compile error for a new
// operation that lacks a part).
template <typename Op, typename E>
concept TiledFor = requires(typename Op::template Acc<E>* acc, const E* p, const E* const* rows, const int64_t* at,
                            int64_t w, uint64_t n, double& part, Cell& cell) {
  Op::template Init<E>(acc, w);
  Op::Acc1(acc, p, w);
  Op::Acc4(acc, p, p, p, p, w);
  Op::Acc8(acc, rows, w);
  Op::FoldColumns(acc, at, w, acc);
  { Op::Fold(part, *acc) } -> std::same_as<bool>;
  { Op::Finish(part, n) } -> std::same_as<double>;
  Op::Absorb(cell, part);
  { Op::Value(cell) } -> std::same_as<double>;
};
// An operation: a name, and either a sample (kSample) or all the tiled pass asks for.
template <typename Op>
concept Operation = requires {
  { Op::kName } -> std::convertible_to<std::string_view>;
} && (Op::kSample || (TiledFor<Op, float> && TiledFor<Op, double>));

// A list of operations: their names, and a call of fn.template operator()<Op>() by mode number.
template <Operation... Ops>
struct Registry {
  static constexpr std::array<std::string_view, sizeof...(Ops)> kNames{Ops::kName...};
  static constexpr bool Unique() {
    for (size_t i = 0; i < kNames.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (kNames[i] == kNames[j]) return false;
    return true;
  }
  template <typename Fn>
  static void With(Mode mode, Fn&& fn) {
    Mode i = 0;
    (void)((i++ == mode && (fn.template operator()<Ops>(), true)) || ...);
  }
};

// THE REGISTRY of reduce modes, in contract/reduce.ts's order (REDUCE_MODES). A new reduction: its
// operation above, and its name here.
using Reductions = Registry<MeanOp, MaxOp, MinOp, StridedOp>;
static_assert(Reductions::Unique(), "two reductions with one name");

// The window in "a" (outer, larger stride) and "b" (inner, contiguous when possible) terms.
struct Geo {
  const uint8_t* base = nullptr;
  bool transposed = false;
  int64_t a0 = 0, na = 0, ga = 1, b0 = 0, nb = 0, gb = 1, sa = 0, sb = 0, gw = 1;
  std::vector<int64_t> bStart;  // gb + 1 absolute b indices
  size_t Out(int64_t ia, int64_t ib) const {
    return static_cast<size_t>(transposed ? ib * gw + ia : ia * gw + ib);
  }
  int64_t ABegin(int64_t ia) const { return a0 + static_cast<int64_t>((static_cast<__int128>(ia) * na) / ga); }
};

// The inner axis is the one with the smaller stride, unless the window is one element wide along it.
bool Transposed(const Slice& s, int64_t nr, int64_t nc) {
  if (nr > 1 && nc > 1) return s.strideR < s.strideC;
  return nc == 1 && nr > 1;
}

Geo MakeGeo(const uint8_t* addr, const Slice& s, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t gh,
            int64_t gw) {
  Geo g;
  g.base = addr + s.base;
  g.transposed = Transposed(s, r1 - r0, c1 - c0);
  g.gw = gw;
  if (g.transposed) {
    g.a0 = c0, g.na = c1 - c0, g.ga = gw, g.sa = s.strideC;
    g.b0 = r0, g.nb = r1 - r0, g.gb = gh, g.sb = s.strideR;
  } else {
    g.a0 = r0, g.na = r1 - r0, g.ga = gh, g.sa = s.strideR;
    g.b0 = c0, g.nb = c1 - c0, g.gb = gw, g.sb = s.strideC;
  }
  g.bStart.resize(static_cast<size_t>(g.gb + 1));
  for (int64_t j = 0; j <= g.gb; ++j)
    g.bStart[j] = g.b0 + static_cast<int64_t>((static_cast<__int128>(j) * g.nb) / g.gb);
  return g;
}

struct Scratch {
  alignas(64) double accD[kTile];
  alignas(64) float accF[kTile];
  alignas(64) double stage[8][kStageTile];
  // The NaN-aware sweep of a tile where some cell saw NaN or Inf (pages touched only then).
  struct {
    alignas(64) double sum[kTile];
    alignas(64) double mnD[kTile];
    alignas(64) double mxD[kTile];
    alignas(64) float mnF[kTile];
    alignas(64) float mxF[kTile];
    alignas(64) uint64_t fin[kTile];
    alignas(64) uint64_t nan[kTile];
    alignas(64) uint64_t pinf[kTile];
  } all;
  int64_t failed[kTile];  // cells of the tile that need the NaN-aware sweep
  int64_t at[kTile + 1];   // cell bounds within the tile
  alignas(64) double foldD[kTile];
  alignas(64) float foldF[kTile];
  bool dirty;  // the last tile was mostly NaN/Inf
};

// The float or the double one of two scratch buffers.
template <typename A>
A* OfType(double* d, float* f) {
  if constexpr (std::is_same_v<A, float>) return f;
  else return d;
}

// Per-slot scratch of one pass (page-backed: see pages.h); each slot's thread sets up its own,
// outside guarded code.
// The cells [cb, ce) of one band. fast[k - cb]: what the fast sweeps found over the columns they
// covered (mean: the sum; min/max: the extreme, +-Inf while none); one double a cell, the only
// per-cell state of a band without NaN/Inf. A cell some columns of which went through the
// NaN-aware sweep also has a full Cell (set up on first use, marked in hasSlow).
struct BandCells {
  double* fast;
  Cell* slow;
  uint8_t* hasSlow;
};

class ScratchSet {
 public:
  explicit ScratchSet(unsigned slots) : s_(slots), fast_(slots), slow_(slots), has_(slots) {}
  Scratch& Get(unsigned slot) {
    if (s_[slot].size() == 0) s_[slot].Reset(1);
    return s_[slot][0];
  }
  BandCells Cells(unsigned slot, size_t n) {
    if (fast_[slot].size() < n) {
      fast_[slot].Reset(n);
      slow_[slot].Reset(n);
      has_[slot].Reset(n);
    }
    return {fast_[slot].data(), slow_[slot].data(), has_[slot].data()};
  }

 private:
  std::vector<PageArray<Scratch>> s_;
  std::vector<PageArray<double>> fast_;
  std::vector<PageArray<Cell>> slow_;  // pages touched only where NaN/Inf are
  std::vector<PageArray<uint8_t>> has_;
};

// The elements [x, x + w) of one row as E values: in place (kDirect) or converted into `stage`.
template <typename E, bool kDirect, typename L>
inline const E* RowRun(const L& load, const uint8_t* src, int64_t w, int64_t sb, double* stage) {
  if constexpr (kDirect) {
    return reinterpret_cast<const E*>(src);
  } else {
    static_assert(std::is_same_v<E, double>, "converted runs are doubles");
    if (sb == static_cast<int64_t>(L::kSize)) {
      for (int64_t i = 0; i < w; ++i) stage[i] = load(src + i * static_cast<int64_t>(L::kSize));
    } else {
      for (int64_t i = 0; i < w; ++i) stage[i] = load(src + i * sb);
    }
    return stage;
  }
}

// The NaN-aware sweep of columns [x0, x1) of band rows [aS, aE), into sc.all (vectorised
// like the fast sweep; used only where that one saw NaN or Inf).
template <typename E, bool kDirect, typename L>
bool AllSweep(const Geo& g, const L& load, int64_t aS, int64_t aE, int64_t x0, int64_t x1, Scratch& sc, Control& ctl) {
  const int64_t w = x1 - x0;
  E* mn;
  E* mx;
  if constexpr (std::is_same_v<E, float>) mn = sc.all.mnF, mx = sc.all.mxF;
  else mn = sc.all.mnD, mx = sc.all.mxD;
  std::fill(sc.all.sum, sc.all.sum + w, 0.0);
  std::fill(mn, mn + w, static_cast<E>(INFINITY));
  std::fill(mx, mx + w, static_cast<E>(-INFINITY));
  std::fill(sc.all.fin, sc.all.fin + w, 0);
  std::fill(sc.all.nan, sc.all.nan + w, 0);
  std::fill(sc.all.pinf, sc.all.pinf + w, 0);
  const uint8_t* src = g.base + aS * g.sa + x0 * g.sb;
  int64_t sincePoll = 0;
  for (int64_t a = aS; a < aE; ++a, src += g.sa) {
    if ((sincePoll += w) >= kPollElems) {
      sincePoll = 0;
      if (ctl.Poll()) return false;
    }
    const E* p = RowRun<E, kDirect>(load, src, w, g.sb, sc.stage[0]);
    AccAll(sc.all.sum, mn, mx, sc.all.fin, sc.all.nan, sc.all.pinf, p, w);
  }
  return true;
}

// The least and greatest finite cell one thread of a pass stored (a cache line each).
struct alignas(64) Extent {
  double lo = INFINITY, hi = -INFINITY;
};

// Stores cell i (rounded to O) and notes it in the thread's extent.
template <typename O>
inline void Put(O* out, size_t i, double v, Extent& e) {
  // A double beyond float's range would be undefined as a float: it is stored as the infinity of its sign.
  const O s = std::is_same_v<O, float> && std::fabs(v) > 3.4028234663852886e38 && std::isfinite(v)
                  ? static_cast<O>(std::copysign(INFINITY, v))
                  : static_cast<O>(v);
  out[i] = s;
  if (std::isfinite(s)) {
    e.lo = std::min(e.lo, static_cast<double>(s));
    e.hi = std::max(e.hi, static_cast<double>(s));
  }
}

inline void MergeExtents(const std::vector<Extent>& ext, GridOut& out) {
  for (const Extent& e : ext) {
    out.lo = std::min(out.lo, e.lo);
    out.hi = std::max(out.hi, e.hi);
  }
}

inline void Merge(Cell& c, const Cell& p) {
  c.sum += p.sum;
  c.n += p.n;
  c.mn = std::min(c.mn, p.mn);
  c.mx = std::max(c.mx, p.mx);
  c.nan += p.nan;
  c.pinf += p.pinf;
  c.ninf += p.ninf;
}

// One band (grid row ia of the a axis), cells [cb, ce) of it, reduced by operation Op. Returns false when stopped.
template <typename Op, typename E, bool kDirect, typename L, typename O>
bool ReduceItem(const Geo& g, const L& load, int64_t ia, int64_t cb, int64_t ce, Scratch& sc, BandCells bc,
                Control& ctl, O* out, Extent& ext) {
  using A = typename Op::template Acc<E>;
  const int64_t aS = g.ABegin(ia), aE = g.ABegin(ia + 1), rowsN = aE - aS;
  std::fill(bc.fast, bc.fast + (ce - cb), Op::kNone);
  std::fill(bc.hasSlow, bc.hasSlow + (ce - cb), 0);
  auto slowCell = [&](int64_t k) -> Cell& {
    Cell& cell = bc.slow[k - cb];
    if (!bc.hasSlow[k - cb]) {
      bc.hasSlow[k - cb] = 1;
      cell = Cell();
    }
    return cell;
  };
  A* acc = OfType<A>(sc.accD, sc.accF);
  A* fold = OfType<A>(sc.foldD, sc.foldF);
  const int64_t xs = g.bStart[cb], xe = g.bStart[ce];
  int64_t c = cb;
  constexpr int64_t tile = kDirect ? kTile : kStageTile;
  // The NaN-aware sums of cell k's columns [cs, cend) from sc.all (filled from column ax0 on).
  auto foldAll = [&](int64_t k, int64_t cs, int64_t cend, int64_t ax0) {
    Cell part;
    const E* mn;
    const E* mx;
    if constexpr (std::is_same_v<E, float>) mn = sc.all.mnF, mx = sc.all.mxF;
    else mn = sc.all.mnD, mx = sc.all.mxD;
    for (int64_t j = cs - ax0; j < cend - ax0; ++j) {
      part.sum += sc.all.sum[j];
      part.n += sc.all.fin[j];
      part.nan += sc.all.nan[j];
      part.pinf += sc.all.pinf[j];
      part.mn = std::min(part.mn, static_cast<double>(mn[j]));
      part.mx = std::max(part.mx, static_cast<double>(mx[j]));
    }
    const uint64_t all = static_cast<uint64_t>(rowsN * (cend - cs));
    part.ninf = all - part.n - part.nan - part.pinf;
    Merge(slowCell(k), part);
    return part.n == all;
  };
  for (int64_t x0 = xs; x0 < xe; x0 += tile) {
    const int64_t x1 = std::min(xe, x0 + tile), w = x1 - x0;
    if (sc.dirty) {
      // The last tile was mostly NaN/Inf: only the NaN-aware sweep, until a tile is clean again.
      if (!AllSweep<E, kDirect>(g, load, aS, aE, x0, x1, sc, ctl)) return false;
      bool clean = true;
      for (; c < ce; ++c) {
        clean &= foldAll(c, std::max(g.bStart[c], x0), std::min(g.bStart[c + 1], x1), x0);
        if (g.bStart[c + 1] > x1) break;
      }
      sc.dirty = !clean;
      continue;
    }
    // The first eight rows may set the accumulator (Op::kSet8: no memset); otherwise it starts empty.
    bool fresh = Op::kSet8 && aE - aS >= 8;
    if (!fresh) Op::template Init<E>(acc, w);
    const uint8_t* src = g.base + aS * g.sa + x0 * g.sb;
    int64_t sincePoll = 0;
    for (int64_t a = aS; a < aE;) {
      if ((sincePoll += w) >= kPollElems) {
        sincePoll = 0;
        if (ctl.Poll()) return false;
      }
      if (aE - a >= 8) {
        const E* r[8];
        for (int k = 0; k < 8; ++k) r[k] = RowRun<E, kDirect>(load, src + k * g.sa, w, g.sb, sc.stage[k]);
        if constexpr (Op::kSet8) {
          if (fresh) Op::Set8(acc, r, w);
          else Op::Acc8(acc, r, w);
          fresh = false;
        } else {
          Op::Acc8(acc, r, w);
        }
        a += 8, src += 8 * g.sa;
      } else if (aE - a >= 4) {
        // Four rows at once: four sequential streams, a quarter of the accumulator traffic.
        const E* p0 = RowRun<E, kDirect>(load, src, w, g.sb, sc.stage[0]);
        const E* p1 = RowRun<E, kDirect>(load, src + g.sa, w, g.sb, sc.stage[1]);
        const E* p2 = RowRun<E, kDirect>(load, src + 2 * g.sa, w, g.sb, sc.stage[2]);
        const E* p3 = RowRun<E, kDirect>(load, src + 3 * g.sa, w, g.sb, sc.stage[3]);
        Op::Acc4(acc, p0, p1, p2, p3, w);
        a += 4, src += 4 * g.sa;
      } else {
        const E* p = RowRun<E, kDirect>(load, src, w, g.sb, sc.stage[0]);
        Op::Acc1(acc, p, w);
        a += 1, src += g.sa;
      }
    }
    // Fold the columns of each cell that meets this tile (cells c .. c + nc - 1); cells whose fold
    // is not finite (NaN or Inf somewhere) are noted for the NaN-aware sweep below.
    int64_t nc = 0;
    sc.at[0] = std::max(g.bStart[c], x0) - x0;
    while (c + nc < ce) {
      const int64_t end = std::min(g.bStart[c + nc + 1], x1);
      sc.at[++nc] = end - x0;
      if (end == x1) break;
    }
    Op::FoldColumns(acc, sc.at, nc, fold);
    int64_t nFailed = 0, fx0 = x1, fx1 = x0;
    for (int64_t i = 0; i < nc; ++i) {
      const int64_t k = c + i, cs = x0 + sc.at[i], cend = x0 + sc.at[i + 1];
      if (!Op::Fold(bc.fast[k - cb], fold[i])) {
        sc.failed[nFailed++] = k;
        fx0 = std::min(fx0, cs);
        fx1 = std::max(fx1, cend);
      }
    }
    // The last cell goes on in the next tile unless it ends here.
    c += nc;
    if (c > cb && g.bStart[c] > x1) --c;
    if (nFailed > 0) {
      if (!AllSweep<E, kDirect>(g, load, aS, aE, fx0, fx1, sc, ctl)) return false;
      for (int64_t f = 0; f < nFailed; ++f) {
        const int64_t k = sc.failed[f];
        foldAll(k, std::max(g.bStart[k], x0), std::min(g.bStart[k + 1], x1), fx0);
      }
      // Mostly NaN/Inf here: skip the fast sweep on the next tiles.
      sc.dirty = 2 * (fx1 - fx0) >= w;
    }
  }
  Extent e = ext;  // in registers for the loop (the out stores could alias ext)
  for (int64_t k = cb; k < ce; ++k) {
    const double fast = bc.fast[k - cb];
    const int64_t width = g.bStart[k + 1] - g.bStart[k];
    double v;
    if (!bc.hasSlow[k - cb]) {
      // Every column of the cell went through the fast sweep: no NaN/Inf in it.
      v = Op::Finish(fast, static_cast<uint64_t>(rowsN * width));
    } else {
      // Part fast, part NaN-aware: the fast columns are those the slow cell did not count.
      Cell cell = bc.slow[k - cb];
      const uint64_t slowN = cell.n + cell.nan + cell.pinf + cell.ninf;
      const uint64_t fastN = static_cast<uint64_t>(rowsN * width) - slowN;
      if (fastN > 0) {
        Op::Absorb(cell, fast);
        cell.n += fastN;
      }
      v = Op::Value(cell);
    }
    Put(out, g.Out(ia, k), v, e);
  }
  ext = e;
  return true;
}

// The tiled pass of operation Op over the window, on the pool.
template <typename Op, typename E, bool kDirect, typename L, typename O>
void RunReduce(const Geo& g, const L& load, Control& ctl, O* out, GridOut& res) {
  const uint64_t total = static_cast<uint64_t>(g.na) * static_cast<uint64_t>(g.nb);
  const unsigned threads = total >= static_cast<uint64_t>(kParallelMin) ? WorkerThreads() : 1;
  // Enough items for dynamic balancing: split bands into cell ranges when there are few bands.
  const int64_t want = static_cast<int64_t>(threads) * 8;
  const int64_t chunks = g.ga >= want || threads == 1 ? 1 : std::min<int64_t>(g.gb, (want + g.ga - 1) / g.ga);
  ScratchSet scratch(threads);
  std::vector<Extent> ext(threads);
  PoolRun(static_cast<size_t>(g.ga * chunks), threads, [&](size_t item, unsigned slot) {
    if (ctl.Poll()) return;
    const int64_t ia = static_cast<int64_t>(item) / chunks, k = static_cast<int64_t>(item) % chunks;
    const int64_t cb = k * g.gb / chunks, ce = (k + 1) * g.gb / chunks;
    Scratch& sc = scratch.Get(slot);
    const BandCells bc = scratch.Cells(slot, static_cast<size_t>(ce - cb));
    if (!Guarded([&] { ReduceItem<Op, E, kDirect>(g, load, ia, cb, ce, sc, bc, ctl, out, ext[slot]); }))
      ctl.Fault(LastFaultAddress());
  });
  MergeExtents(ext, res);
}

template <typename L, typename O>
void RunStrided(const Geo& g, const L& load, Control& ctl, O* out, GridOut& res) {
  const uint64_t cells = static_cast<uint64_t>(g.ga) * static_cast<uint64_t>(g.gb);
  const unsigned threads = cells >= 65536 ? WorkerThreads() : 1;
  // Bands in groups of ~16K cells per item.
  const int64_t per = std::max<int64_t>(1, 16384 / g.gb);
  const int64_t items = (g.ga + per - 1) / per;
  std::vector<Extent> ext(threads);
  PoolRun(static_cast<size_t>(items), threads, [&](size_t item, unsigned slot) {
    if (ctl.Poll()) return;
    const int64_t i0 = static_cast<int64_t>(item) * per, i1 = std::min(g.ga, i0 + per);
    if (!Guarded([&] {
          Extent e = ext[slot];  // in registers for the loop
          for (int64_t ia = i0; ia < i1; ++ia) {
            const uint8_t* row = g.base + g.ABegin(ia) * g.sa;
            for (int64_t ib = 0; ib < g.gb; ++ib) Put(out, g.Out(ia, ib), load(row + g.bStart[ib] * g.sb), e);
          }
          ext[slot] = e;
        }))
      ctl.Fault(LastFaultAddress());
  });
  MergeExtents(ext, res);
}

// Calls fn.template operator()<E, kDirect>() with the element type the pass reads.
template <typename L, typename Fn>
void WithRunType(const L&, const uint8_t* base, int64_t sa, int64_t sb, int64_t na, Fn&& fn) {
  auto aligned = [&](size_t size) {
    return reinterpret_cast<uintptr_t>(base) % size == 0 && sb == static_cast<int64_t>(size) &&
           (na <= 1 || sa % static_cast<int64_t>(size) == 0);
  };
  if constexpr (std::is_same_v<L, Loader<DType::F4, false>>) {
    if (aligned(4)) return fn.template operator()<float, true>();
  } else if constexpr (std::is_same_v<L, Loader<DType::F8, false>>) {
    if (aligned(8)) return fn.template operator()<double, true>();
  }
  fn.template operator()<double, false>();
}

}  // namespace

void ReduceGrid(const uint8_t* addr, const Slice& s, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t gh,
                int64_t gw, Mode mode, Control& ctl, GridOut& out) {
  const Geo g = MakeGeo(addr, s, r0, r1, c0, c1, gh, gw);
  auto run = [&](auto* cells) {
    WithLoader(s.dtype, s.swap, s.part, [&](auto load) {
      using L = decltype(load);
      Reductions::With(mode, [&]<typename Op>() {
        if constexpr (Op::kSample) {
          RunStrided(g, load, ctl, cells, out);
        } else {
          WithRunType(load, g.base, g.sa, g.sb, g.na,
                      [&]<typename E, bool kDirect>() { RunReduce<Op, E, kDirect, L>(g, load, ctl, cells, out); });
        }
      });
    });
  };
  if (out.f != nullptr) run(out.f);
  else run(out.d);
}

std::span<const std::string_view> ReduceModeNames() { return Reductions::kNames; }

Mode ParseReduceMode(std::string_view name) {
  for (size_t i = 0; i < Reductions::kNames.size(); ++i)
    if (Reductions::kNames[i] == name) return static_cast<Mode>(i);
  return -1;
}

// ---- statistics -----------------------------------------------------------

namespace {

constexpr int64_t kItemElems = 1 << 16;  // elements per stats item
constexpr int64_t kRun = 2048;           // elements per kernel call (converted runs fit L1)

struct Partial {
  uint64_t n = 0, nan = 0, pinf = 0, ninf = 0;
  double s = 0, q = 0, mn = INFINITY, mx = -INFINITY;
  void Add(const Partial& o) {
    n += o.n, nan += o.nan, pinf += o.pinf, ninf += o.ninf;
    s += o.s, q += o.q;
    mn = std::min(mn, o.mn), mx = std::max(mx, o.mx);
  }
};

struct StatsSlot {
  Partial total;
  bool dirty;      // the last run had NaN or Inf
  uint64_t* hist;  // bins + 1 counters, after the slot in the same pages
  alignas(64) double stage[kRun];
};

struct StatsPlan {
  const uint8_t* base;
  int64_t na, nb, sa, sb;
  int64_t rowsPerItem, colChunks, items;
  bool moments, hist;
  double shift, lo, hi, scale;
  int bins;
};

template <typename E, bool kDirect, typename L>
bool StatsItem(const StatsPlan& p, const L& load, size_t item, StatsSlot& slot, Control& ctl) {
  const int64_t rowItem = static_cast<int64_t>(item) / p.colChunks, chunk = static_cast<int64_t>(item) % p.colChunks;
  const int64_t a0 = rowItem * p.rowsPerItem, a1 = std::min(p.na, a0 + p.rowsPerItem);
  const int64_t x0 = chunk * p.nb / p.colChunks, x1 = (chunk + 1) * p.nb / p.colChunks;
  Partial part;
  uint64_t* hist = slot.hist;
  int64_t done = 0;
  for (int64_t a = a0; a < a1; ++a) {
    const uint8_t* row = p.base + a * p.sa;
    for (int64_t x = x0; x < x1; x += kRun) {
      const int64_t w = std::min(kRun, x1 - x);
      if ((done += w) >= 16 * kRun) {
        done = 0;
        if (ctl.Poll()) return false;
      }
      const E* run = RowRun<E, kDirect>(load, row + x * p.sb, w, p.sb, slot.stage);
      if (p.moments) {
        // The fast kernel, unless the last run had NaN/Inf: then straight to the NaN-aware one
        // (NaN comes in regions), until a run is clean again.
        RunMoments m{};
        bool fast = !slot.dirty;
        if (fast) {
          m = Moments(run, w, p.shift);
          fast = std::isfinite(m.s) && std::isfinite(m.q);
        }
        if (fast) {
          part.n += static_cast<uint64_t>(w);
          part.s += m.s;
          part.q += m.q;
          part.mn = std::min(part.mn, m.mn);
          part.mx = std::max(part.mx, m.mx);
        } else {
          RunAll m2 = MomentsAll(run, w, p.shift);
          slot.dirty = m2.n != static_cast<uint64_t>(w);
          part.n += m2.n;
          part.nan += m2.nan;
          part.pinf += m2.pinf;
          part.ninf += static_cast<uint64_t>(w) - m2.n - m2.nan - m2.pinf;
          if (m2.n > 0) {
            part.s += m2.s;
            part.q += m2.q;
            part.mn = std::min(part.mn, m2.mn);
            part.mx = std::max(part.mx, m2.mx);
          }
        }
      }
      if (p.hist) Histogram(hist, run, w, p.lo, p.hi, p.scale, p.bins);
    }
  }
  slot.total.Add(part);
  return true;
}

// Mean of the finite values of a few thousand evenly spread elements: the shift that keeps
// the one-pass sum of squares accurate (it only has to be near the mean).
template <typename L>
double PilotShift(const L& load, const uint8_t* base, int64_t na, int64_t nb, int64_t sa, int64_t sb, Control& ctl) {
  double sum = 0;
  uint64_t n = 0;
  const int64_t ka = std::min<int64_t>(na, 64), kb = std::min<int64_t>(nb, 64);
  if (!Guarded([&] {
        for (int64_t i = 0; i < ka; ++i) {
          const uint8_t* row = base + (i * na / ka) * sa;
          for (int64_t j = 0; j < kb; ++j) {
            double v = load(row + (j * nb / kb) * sb);
            if (std::isfinite(v)) sum += v, ++n;
          }
        }
      }))
    ctl.Fault(LastFaultAddress());
  double m = n > 0 ? sum / static_cast<double>(n) : 0.0;
  return std::isfinite(m) ? m : 0.0;
}

template <typename E, bool kDirect, typename L>
void RunStats(StatsPlan& plan, const L& load, Control& ctl, Partial& total, std::vector<uint64_t>& hist) {
  const uint64_t elems = static_cast<uint64_t>(plan.na) * static_cast<uint64_t>(plan.nb);
  const unsigned threads = elems >= static_cast<uint64_t>(kParallelMin) ? WorkerThreads() : 1;
  // One page-backed block per slot: the slot, then its histogram counters.
  const size_t words = (sizeof(StatsSlot) + 63) / 64 + (plan.hist ? (static_cast<size_t>(plan.bins) + 8) / 8 : 0);
  struct alignas(64) Line {
    uint64_t w[8];
  };
  std::vector<PageArray<Line>> mem(threads);
  std::vector<StatsSlot*> slots(threads, nullptr);
  PoolRun(static_cast<size_t>(plan.items), threads, [&](size_t item, unsigned s) {
    if (ctl.Poll()) return;
    if (slots[s] == nullptr) {
      mem[s].Reset(words);  // zeroed pages
      slots[s] = new (mem[s].data()) StatsSlot();
      slots[s]->hist = reinterpret_cast<uint64_t*>(mem[s].data() + (sizeof(StatsSlot) + 63) / 64);
    }
    StatsSlot& slot = *slots[s];
    if (!Guarded([&] { StatsItem<E, kDirect>(plan, load, item, slot, ctl); }))
      ctl.Fault(LastFaultAddress());
  });
  for (const StatsSlot* slot : slots) {
    if (slot == nullptr) continue;
    total.Add(slot->total);
    if (plan.hist)
      for (int i = 0; i < plan.bins; ++i) hist[i] += slot->hist[i];
  }
}

}  // namespace

void ComputeStats(const uint8_t* addr, const Slice& s, int bins, double lo, double hi, bool autoRange, Control& ctl,
                  SliceStats& out) {
  if (bins > 0) out.hist.assign(static_cast<size_t>(bins), 0);
  if (s.rows == 0 || s.cols == 0) return;
  const bool tr = Transposed(s, s.rows, s.cols);
  StatsPlan plan;
  plan.base = addr + s.base;
  plan.na = tr ? s.cols : s.rows;
  plan.nb = tr ? s.rows : s.cols;
  plan.sa = tr ? s.strideC : s.strideR;
  plan.sb = tr ? s.strideR : s.strideC;
  if (plan.nb >= kItemElems) {
    plan.rowsPerItem = 1;
    plan.colChunks = (plan.nb + kItemElems - 1) / kItemElems;
  } else {
    plan.rowsPerItem = std::max<int64_t>(1, kItemElems / plan.nb);
    plan.colChunks = 1;
  }
  plan.items = (plan.na + plan.rowsPerItem - 1) / plan.rowsPerItem * plan.colChunks;
  plan.bins = bins;
  WithLoader(s.dtype, s.swap, s.part, [&](auto load) {
    plan.shift = PilotShift(load, plan.base, plan.na, plan.nb, plan.sa, plan.sb, ctl);
    if (ctl.Stopped()) return;
    WithRunType(load, plan.base, plan.sa, plan.sb, plan.na, [&]<typename E, bool kDirect>() {
      Partial total;
      // Pass 1: moments, and the histogram too when its range is given.
      plan.moments = true;
      plan.hist = bins > 0 && !autoRange && std::isfinite(lo) && std::isfinite(hi) && hi > lo;
      plan.lo = lo, plan.hi = hi;
      plan.scale = plan.hist ? bins / (hi - lo) : 0;
      RunStats<E, kDirect>(plan, load, ctl, total, out.hist);
      if (ctl.Stopped()) return;
      out.n = total.n, out.nan = total.nan, out.pinf = total.pinf, out.ninf = total.ninf;
      if (total.n > 0) {
        const double n = static_cast<double>(total.n);
        out.mean = plan.shift + total.s / n;
        out.m2 = std::max(0.0, total.q - total.s * total.s / n);
        out.mn = total.mn;
        out.mx = total.mx;
      }
      if (plan.hist || bins <= 0) {
        out.histLo = lo, out.histHi = hi;
        return;
      }
      if (!autoRange) return;  // a range that cannot be binned: empty histogram
      // Pass 2: the histogram over [min, max] of the finite values.
      out.histLo = out.mn, out.histHi = out.mx;
      if (total.n == 0) return;
      if (!(out.mx > out.mn)) {
        out.hist[0] = total.n;
        return;
      }
      Partial ignored;
      plan.moments = false;
      plan.hist = true;
      plan.lo = out.mn, plan.hi = out.mx;
      plan.scale = bins / (out.mx - out.mn);
      RunStats<E, kDirect>(plan, load, ctl, ignored, out.hist);
    });
  });
}

}  // namespace shm
