#include "simd.h"

#include <cmath>
#include <cstring>

// Each kernel starts on a 64-byte boundary: where its loops fall against the CPU's fetch and
// op-cache windows then no longer depends on the size of the code linked before it (a change in
// reduce.cc moved Histogram by 16 bytes and made it a quarter slower; bench/reduce-ab.mjs).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define SHM_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4"), aligned(64)))
#else
#define SHM_CLONES __attribute__((aligned(64)))
#endif

namespace shm {
namespace {

template <typename E>
__attribute__((always_inline)) inline void AccSumT(double* __restrict acc, const E* __restrict p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += static_cast<double>(p[i]);
}
// min(v, a) (kMax: max) that skips a NaN in either (the accumulator is never NaN).
template <bool kMax, typename E>
__attribute__((always_inline)) inline E Pick(E v, E a) {
  if constexpr (kMax) return v > a ? v : a;
  else return v < a ? v : a;
}
template <bool kMax, typename E>
__attribute__((always_inline)) inline void AccPickT(E* __restrict acc, const E* __restrict p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    E v = p[i], a = acc[i];
    acc[i] = Pick<kMax>(v, a);
  }
}

template <typename E>
__attribute__((always_inline)) inline void AccSum4T(double* __restrict acc, const E* __restrict p0,
                                                    const E* __restrict p1, const E* __restrict p2,
                                                    const E* __restrict p3, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    acc[i] += (static_cast<double>(p0[i]) + static_cast<double>(p1[i])) +
              (static_cast<double>(p2[i]) + static_cast<double>(p3[i]));
}
template <bool kMax, typename E>
__attribute__((always_inline)) inline void AccPick4T(E* __restrict acc, const E* __restrict p0, const E* __restrict p1,
                                                     const E* __restrict p2, const E* __restrict p3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] = Pick<kMax>(p3[i], Pick<kMax>(p2[i], Pick<kMax>(p1[i], Pick<kMax>(p0[i], acc[i]))));
}

template <typename E, bool kSet = false>
__attribute__((always_inline)) inline void AccSum8T(double* __restrict acc, const E* const* r, int64_t n) {
  const E* __restrict p0 = r[0];
  const E* __restrict p1 = r[1];
  const E* __restrict p2 = r[2];
  const E* __restrict p3 = r[3];
  const E* __restrict p4 = r[4];
  const E* __restrict p5 = r[5];
  const E* __restrict p6 = r[6];
  const E* __restrict p7 = r[7];
  for (int64_t i = 0; i < n; ++i) {
    double t = ((static_cast<double>(p0[i]) + static_cast<double>(p1[i])) +
                (static_cast<double>(p2[i]) + static_cast<double>(p3[i]))) +
               ((static_cast<double>(p4[i]) + static_cast<double>(p5[i])) +
                (static_cast<double>(p6[i]) + static_cast<double>(p7[i])));
    acc[i] = kSet ? t : acc[i] + t;
  }
}
template <bool kMax, typename E>
__attribute__((always_inline)) inline void AccPick8T(E* __restrict acc, const E* const* r, int64_t n) {
  const E* __restrict p0 = r[0];
  const E* __restrict p1 = r[1];
  const E* __restrict p2 = r[2];
  const E* __restrict p3 = r[3];
  const E* __restrict p4 = r[4];
  const E* __restrict p5 = r[5];
  const E* __restrict p6 = r[6];
  const E* __restrict p7 = r[7];
  for (int64_t i = 0; i < n; ++i)
    acc[i] = Pick<kMax>(
        p7[i],
        Pick<kMax>(p6[i],
                   Pick<kMax>(p5[i], Pick<kMax>(p4[i], Pick<kMax>(p3[i], Pick<kMax>(p2[i], Pick<kMax>(p1[i], Pick<kMax>(p0[i], acc[i]))))))));
}

template <typename E>
__attribute__((always_inline)) inline RunMoments MomentsT(const E* __restrict p, int64_t n, double shift) {
  double s = 0, q = 0;
  E mn = INFINITY, mx = -INFINITY;
#pragma omp simd reduction(+ : s, q) reduction(min : mn) reduction(max : mx)
  for (int64_t i = 0; i < n; ++i) {
    E v = p[i];
    double d = static_cast<double>(v) - shift;
    s += d;
    q += d * d;
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  return {s, q, static_cast<double>(mn), static_cast<double>(mx)};
}

__attribute__((always_inline)) inline void FoldSumT(const double* __restrict acc, const int64_t* __restrict at,
                                                    int64_t cells, double* __restrict out) {
  for (int64_t k = 0; k < cells; ++k) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = at[k]; j < at[k + 1]; ++j) s += acc[j];
    out[k] = s;
  }
}
template <bool kMin, typename E>
__attribute__((always_inline)) inline void FoldExtT(const E* __restrict acc, const int64_t* __restrict at,
                                                    int64_t cells, E* __restrict out) {
  for (int64_t k = 0; k < cells; ++k) {
    E m = kMin ? static_cast<E>(INFINITY) : static_cast<E>(-INFINITY);
    if constexpr (kMin) {
#pragma omp simd reduction(min : m)
      for (int64_t j = at[k]; j < at[k + 1]; ++j) m = acc[j] < m ? acc[j] : m;
    } else {
#pragma omp simd reduction(max : m)
      for (int64_t j = at[k]; j < at[k + 1]; ++j) m = acc[j] > m ? acc[j] : m;
    }
    out[k] = m;
  }
}

// Finite / NaN / +Inf from the bits (integer compares vectorise everywhere).
template <typename E>
struct FloatBits;
template <>
struct FloatBits<float> {
  using U = uint32_t;
  static constexpr U kAbs = 0x7fffffffu, kInf = 0x7f800000u;
};
template <>
struct FloatBits<double> {
  using U = uint64_t;
  static constexpr U kAbs = 0x7fffffffffffffffull, kInf = 0x7ff0000000000000ull;
};

template <typename E>
__attribute__((always_inline)) inline RunAll MomentsAllT(const E* __restrict p, int64_t n, double shift) {
  using B = FloatBits<E>;
  using U = typename B::U;
  double s = 0, q = 0;
  E mn = INFINITY, mx = -INFINITY;
  U fin = 0, nan = 0, pinf = 0;
#pragma omp simd reduction(+ : s, q, fin, nan, pinf) reduction(min : mn) reduction(max : mx)
  for (int64_t i = 0; i < n; ++i) {
    E v = p[i];
    U b;
    std::memcpy(&b, &p[i], sizeof b);
    U a = b & B::kAbs;
    U f = a < B::kInf;
    double d = f ? static_cast<double>(v) - shift : 0.0;
    s += d;
    q += d * d;
    E lo = f ? v : static_cast<E>(INFINITY), hi = f ? v : static_cast<E>(-INFINITY);
    mn = lo < mn ? lo : mn;
    mx = hi > mx ? hi : mx;
    fin += f;
    nan += a > B::kInf;
    pinf += b == B::kInf;
  }
  return {s, q, static_cast<double>(mn), static_cast<double>(mx), fin, nan, pinf};
}

template <typename E>
__attribute__((always_inline)) inline void AccAllT(double* __restrict sum, E* __restrict mn, E* __restrict mx,
                                                   uint64_t* __restrict fin, uint64_t* __restrict nan,
                                                   uint64_t* __restrict pinf, const E* __restrict p, int64_t n) {
  using B = FloatBits<E>;
  using U = typename B::U;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    E v = p[i];
    U b;
    std::memcpy(&b, &p[i], sizeof b);
    U a = b & B::kAbs;
    U f = a < B::kInf;
    sum[i] += f ? static_cast<double>(v) : 0.0;
    E lo = f ? v : static_cast<E>(INFINITY), hi = f ? v : static_cast<E>(-INFINITY);
    mn[i] = lo < mn[i] ? lo : mn[i];
    mx[i] = hi > mx[i] ? hi : mx[i];
    fin[i] += f;
    nan[i] += a > B::kInf;
    pinf[i] += b == B::kInf;
  }
}

template <typename E>
__attribute__((always_inline)) inline void HistogramT(uint64_t* __restrict h, const E* __restrict p, int64_t n, double lo,
                                                      double hi, double scale, int bins) {
  // Bin numbers for a block first (a vectorised loop: compare, scale, clamp, truncate; no
  // branches), then the scattered increments. Out of range or NaN: bin `bins`.
  constexpr int64_t kBlock = 512;
  int32_t idx[kBlock];
  const double last = bins - 1, out = bins;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t m = n - i0 < kBlock ? n - i0 : kBlock;
    const E* __restrict q = p + i0;
    for (int64_t i = 0; i < m; ++i) {
      double v = static_cast<double>(q[i]);
      double t = (v - lo) * scale;
      t = t < last ? t : last;
      idx[i] = static_cast<int32_t>(v >= lo && v <= hi ? t : out);
    }
    for (int64_t i = 0; i < m; ++i) h[idx[i]]++;
  }
}

}  // namespace

SHM_CLONES void AccSum(double* acc, const float* p, int64_t n) { AccSumT(acc, p, n); }
SHM_CLONES void AccSum(double* acc, const double* p, int64_t n) { AccSumT(acc, p, n); }
SHM_CLONES void AccMin(float* acc, const float* p, int64_t n) { AccPickT<false>(acc, p, n); }
SHM_CLONES void AccMin(double* acc, const double* p, int64_t n) { AccPickT<false>(acc, p, n); }
SHM_CLONES void AccMax(float* acc, const float* p, int64_t n) { AccPickT<true>(acc, p, n); }
SHM_CLONES void AccMax(double* acc, const double* p, int64_t n) { AccPickT<true>(acc, p, n); }
SHM_CLONES void AccSum4(double* acc, const float* p0, const float* p1, const float* p2, const float* p3, int64_t n) {
  AccSum4T(acc, p0, p1, p2, p3, n);
}
SHM_CLONES void AccSum4(double* acc, const double* p0, const double* p1, const double* p2, const double* p3,
                        int64_t n) {
  AccSum4T(acc, p0, p1, p2, p3, n);
}
SHM_CLONES void AccMin4(float* acc, const float* p0, const float* p1, const float* p2, const float* p3, int64_t n) {
  AccPick4T<false>(acc, p0, p1, p2, p3, n);
}
SHM_CLONES void AccMin4(double* acc, const double* p0, const double* p1, const double* p2, const double* p3,
                        int64_t n) {
  AccPick4T<false>(acc, p0, p1, p2, p3, n);
}
SHM_CLONES void AccMax4(float* acc, const float* p0, const float* p1, const float* p2, const float* p3, int64_t n) {
  AccPick4T<true>(acc, p0, p1, p2, p3, n);
}
SHM_CLONES void AccMax4(double* acc, const double* p0, const double* p1, const double* p2, const double* p3,
                        int64_t n) {
  AccPick4T<true>(acc, p0, p1, p2, p3, n);
}
SHM_CLONES void SetSum8(double* acc, const float* const* rows, int64_t n) { AccSum8T<float, true>(acc, rows, n); }
SHM_CLONES void SetSum8(double* acc, const double* const* rows, int64_t n) { AccSum8T<double, true>(acc, rows, n); }
SHM_CLONES void AccSum8(double* acc, const float* const* rows, int64_t n) { AccSum8T(acc, rows, n); }
SHM_CLONES void AccSum8(double* acc, const double* const* rows, int64_t n) { AccSum8T(acc, rows, n); }
SHM_CLONES void AccMin8(float* acc, const float* const* rows, int64_t n) { AccPick8T<false>(acc, rows, n); }
SHM_CLONES void AccMin8(double* acc, const double* const* rows, int64_t n) { AccPick8T<false>(acc, rows, n); }
SHM_CLONES void AccMax8(float* acc, const float* const* rows, int64_t n) { AccPick8T<true>(acc, rows, n); }
SHM_CLONES void AccMax8(double* acc, const double* const* rows, int64_t n) { AccPick8T<true>(acc, rows, n); }
SHM_CLONES void FoldSum(const double* acc, const int64_t* at, int64_t cells, double* out) {
  FoldSumT(acc, at, cells, out);
}
SHM_CLONES void FoldMin(const float* acc, const int64_t* at, int64_t cells, float* out) {
  FoldExtT<true>(acc, at, cells, out);
}
SHM_CLONES void FoldMin(const double* acc, const int64_t* at, int64_t cells, double* out) {
  FoldExtT<true>(acc, at, cells, out);
}
SHM_CLONES void FoldMax(const float* acc, const int64_t* at, int64_t cells, float* out) {
  FoldExtT<false>(acc, at, cells, out);
}
SHM_CLONES void FoldMax(const double* acc, const int64_t* at, int64_t cells, double* out) {
  FoldExtT<false>(acc, at, cells, out);
}
SHM_CLONES RunMoments Moments(const float* p, int64_t n, double shift) { return MomentsT(p, n, shift); }
SHM_CLONES RunMoments Moments(const double* p, int64_t n, double shift) { return MomentsT(p, n, shift); }
SHM_CLONES RunAll MomentsAll(const float* p, int64_t n, double shift) { return MomentsAllT(p, n, shift); }
SHM_CLONES RunAll MomentsAll(const double* p, int64_t n, double shift) { return MomentsAllT(p, n, shift); }
SHM_CLONES void AccAll(double* sum, float* mn, float* mx, uint64_t* fin, uint64_t* nan, uint64_t* pinf, const float* p,
                       int64_t n) {
  AccAllT(sum, mn, mx, fin, nan, pinf, p, n);
}
SHM_CLONES void AccAll(double* sum, double* mn, double* mx, uint64_t* fin, uint64_t* nan, uint64_t* pinf,
                       const double* p, int64_t n) {
  AccAllT(sum, mn, mx, fin, nan, pinf, p, n);
}
SHM_CLONES void Histogram(uint64_t* h, const float* p, int64_t n, double lo, double hi, double scale, int bins) {
  HistogramT(h, p, n, lo, hi, scale, bins);
}
SHM_CLONES void Histogram(uint64_t* h, const double* p, int64_t n, double lo, double hi, double scale, int bins) {
  HistogramT(h, p, n, lo, hi, scale, bins);
}

const char* SimdLevel() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
  return "baseline";
#else
  return "baseline";
#endif
}

}  // namespace shm
