// The inner loops of full passes, on contiguous float or double runs, built for
// several instruction sets (baseline x86-64, x86-64-v3 = AVX2/FMA, x86-64-v4 =
// AVX-512) with GCC's target_clones: the loader picks the best one the CPU has
// (ifunc), so the addon still runs on any x86-64 and other architectures.
// No per-element branches: NaN/Inf are found afterwards (a non-finite sum or min/max),
// and only then are those runs re-read by the NaN-aware forms (also vectorised).
#pragma once
#include <cstdint>

namespace shm {

// acc[i] += p[i]
void AccSum(double* acc, const float* p, int64_t n);
void AccSum(double* acc, const double* p, int64_t n);
// acc[i] = p[i] < acc[i] ? p[i] : acc[i]   (NaN in p never enters acc)
void AccMin(float* acc, const float* p, int64_t n);
void AccMin(double* acc, const double* p, int64_t n);
void AccMax(float* acc, const float* p, int64_t n);
void AccMax(double* acc, const double* p, int64_t n);
// The same over four rows at once (a quarter of the accumulator traffic): acc[i] += p0[i] + ... + p3[i].
void AccSum4(double* acc, const float* p0, const float* p1, const float* p2, const float* p3, int64_t n);
void AccSum4(double* acc, const double* p0, const double* p1, const double* p2, const double* p3, int64_t n);
void AccMin4(float* acc, const float* p0, const float* p1, const float* p2, const float* p3, int64_t n);
void AccMin4(double* acc, const double* p0, const double* p1, const double* p2, const double* p3, int64_t n);
void AccMax4(float* acc, const float* p0, const float* p1, const float* p2, const float* p3, int64_t n);
void AccMax4(double* acc, const double* p0, const double* p1, const double* p2, const double* p3, int64_t n);
// Eight rows at once (rows: eight pointers). SetSum8: acc[i] = the sum (no memset before).
void SetSum8(double* acc, const float* const* rows, int64_t n);
void SetSum8(double* acc, const double* const* rows, int64_t n);
void AccSum8(double* acc, const float* const* rows, int64_t n);
void AccSum8(double* acc, const double* const* rows, int64_t n);
void AccMin8(float* acc, const float* const* rows, int64_t n);
void AccMin8(double* acc, const double* const* rows, int64_t n);
void AccMax8(float* acc, const float* const* rows, int64_t n);
void AccMax8(double* acc, const double* const* rows, int64_t n);

// Folds of column accumulators into cells: cell k covers acc[at[k], at[k + 1]); out[k] is the sum
// (the min, the max) of its columns. Vectorised within each cell.
void FoldSum(const double* acc, const int64_t* at, int64_t cells, double* out);
void FoldMin(const float* acc, const int64_t* at, int64_t cells, float* out);
void FoldMin(const double* acc, const int64_t* at, int64_t cells, double* out);
void FoldMax(const float* acc, const int64_t* at, int64_t cells, float* out);
void FoldMax(const double* acc, const int64_t* at, int64_t cells, double* out);

// Sums of d = p[i] - shift and d*d, min and max of p. Valid only when s and q come out finite
// (then no element was NaN or infinite).
struct RunMoments {
  double s, q, mn, mx;
};
RunMoments Moments(const float* p, int64_t n, double shift);
RunMoments Moments(const double* p, int64_t n, double shift);

// The NaN-aware forms, used for runs/tiles where the fast forms saw a non-finite value
// (branch-free and vectorised too): only finite values enter sums and min/max; NaN and +Inf are
// counted (-Inf is what is left).
struct RunAll {
  double s, q, mn, mx;
  uint64_t n, nan, pinf;
};
RunAll MomentsAll(const float* p, int64_t n, double shift);
RunAll MomentsAll(const double* p, int64_t n, double shift);
// Per column: sum[i] += finite p[i]; mn/mx over finite p[i]; fin/nan/pinf[i] += 1 when finite/NaN/+Inf.
void AccAll(double* sum, float* mn, float* mx, uint64_t* fin, uint64_t* nan, uint64_t* pinf, const float* p, int64_t n);
void AccAll(double* sum, double* mn, double* mx, uint64_t* fin, uint64_t* nan, uint64_t* pinf, const double* p,
            int64_t n);

// Histogram of p over [lo, hi] with `bins` equal bins (scale = bins / (hi - lo)); values outside
// [lo, hi] and NaN go to h[bins] (h has bins + 1 entries), hi to the last bin.
void Histogram(uint64_t* h, const float* p, int64_t n, double lo, double hi, double scale, int bins);
void Histogram(uint64_t* h, const double* p, int64_t n, double lo, double hi, double scale, int bins);

// Which clone the CPU runs ("x86-64-v4", "x86-64-v3", "baseline").
const char* SimdLevel();

}  // namespace shm
