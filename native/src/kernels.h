// Element loaders: one per numpy dtype and byte order, converting to double.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace shm {

enum class DType { B1, I1, U1, I2, U2, I4, U4, I8, U8, F2, BF16, F4, F8, C8, C16, Invalid };
enum class Part { Magnitude, Phase, Real, Imag };

inline DType ParseDType(const std::string& s) {
  static const struct { const char* n; DType t; } table[] = {
      {"b1", DType::B1}, {"i1", DType::I1}, {"u1", DType::U1},   {"i2", DType::I2},
      {"u2", DType::U2}, {"i4", DType::I4}, {"u4", DType::U4},   {"i8", DType::I8},
      {"u8", DType::U8}, {"f2", DType::F2}, {"bf16", DType::BF16}, {"f4", DType::F4},
      {"f8", DType::F8}, {"c8", DType::C8}, {"c16", DType::C16}};
  for (const auto& e : table)
    if (s == e.n) return e.t;
  return DType::Invalid;
}

inline size_t ItemSize(DType t) {
  switch (t) {
    case DType::B1: case DType::I1: case DType::U1: return 1;
    case DType::I2: case DType::U2: case DType::F2: case DType::BF16: return 2;
    case DType::I4: case DType::U4: case DType::F4: return 4;
    case DType::I8: case DType::U8: case DType::F8: case DType::C8: return 8;
    case DType::C16: return 16;
    default: return 0;
  }
}

template <typename U>
inline U Swap(U v);
template <> inline uint8_t Swap(uint8_t v) { return v; }
template <> inline uint16_t Swap(uint16_t v) { return __builtin_bswap16(v); }
template <> inline uint32_t Swap(uint32_t v) { return __builtin_bswap32(v); }
template <> inline uint64_t Swap(uint64_t v) { return __builtin_bswap64(v); }

template <typename U, bool kSwap>
inline U LoadBits(const uint8_t* p) {
  U v;
  std::memcpy(&v, p, sizeof v);
  return kSwap ? Swap(v) : v;
}

inline float HalfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t f;
  if (exp == 0) {
    if (mant == 0) {
      f = sign;
    } else {
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      f = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    f = sign | 0x7f800000u | (mant << 13);
  } else {
    f = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float r;
  std::memcpy(&r, &f, 4);
  return r;
}

template <typename F, typename U>
inline F BitsTo(U bits) {
  F f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

template <DType T, bool kSwap>
struct Loader {
  Part part = Part::Magnitude;
  inline double operator()(const uint8_t* p) const;
};

#define SHM_INT_LOADER(DT, U, S)                                                    \
  template <bool kSwap>                                                            \
  struct Loader<DT, kSwap> {                                                       \
    static constexpr size_t kSize = sizeof(U);                                     \
    Part part = Part::Magnitude;                                                   \
    inline double operator()(const uint8_t* p) const {                             \
      return static_cast<double>(static_cast<S>(LoadBits<U, kSwap>(p)));           \
    }                                                                              \
  };
SHM_INT_LOADER(DType::I1, uint8_t, int8_t)
SHM_INT_LOADER(DType::U1, uint8_t, uint8_t)
SHM_INT_LOADER(DType::I2, uint16_t, int16_t)
SHM_INT_LOADER(DType::U2, uint16_t, uint16_t)
SHM_INT_LOADER(DType::I4, uint32_t, int32_t)
SHM_INT_LOADER(DType::U4, uint32_t, uint32_t)
SHM_INT_LOADER(DType::I8, uint64_t, int64_t)
SHM_INT_LOADER(DType::U8, uint64_t, uint64_t)
#undef SHM_INT_LOADER

template <bool kSwap>
struct Loader<DType::B1, kSwap> {
  static constexpr size_t kSize = 1;
  Part part = Part::Magnitude;
  inline double operator()(const uint8_t* p) const { return *p != 0 ? 1.0 : 0.0; }
};
template <bool kSwap>
struct Loader<DType::F2, kSwap> {
  static constexpr size_t kSize = 2;
  Part part = Part::Magnitude;
  inline double operator()(const uint8_t* p) const { return HalfToFloat(LoadBits<uint16_t, kSwap>(p)); }
};
template <bool kSwap>
struct Loader<DType::BF16, kSwap> {
  static constexpr size_t kSize = 2;
  Part part = Part::Magnitude;
  inline double operator()(const uint8_t* p) const {
    return BitsTo<float>(static_cast<uint32_t>(LoadBits<uint16_t, kSwap>(p)) << 16);
  }
};
template <bool kSwap>
struct Loader<DType::F4, kSwap> {
  static constexpr size_t kSize = 4;
  Part part = Part::Magnitude;
  inline double operator()(const uint8_t* p) const { return BitsTo<float>(LoadBits<uint32_t, kSwap>(p)); }
};
template <bool kSwap>
struct Loader<DType::F8, kSwap> {
  static constexpr size_t kSize = 8;
  Part part = Part::Magnitude;
  inline double operator()(const uint8_t* p) const { return BitsTo<double>(LoadBits<uint64_t, kSwap>(p)); }
};

inline double ComplexPart(double re, double im, Part part) {
  switch (part) {
    case Part::Real: return re;
    case Part::Imag: return im;
    case Part::Phase: return std::atan2(im, re);
    default: return std::hypot(re, im);
  }
}
template <bool kSwap>
struct Loader<DType::C8, kSwap> {
  static constexpr size_t kSize = 8;
  Part part = Part::Magnitude;
  inline double operator()(const uint8_t* p) const {
    double re = BitsTo<float>(LoadBits<uint32_t, kSwap>(p)), im = BitsTo<float>(LoadBits<uint32_t, kSwap>(p + 4));
    // Squares of floats cannot overflow a double: no need for hypot's care (and its cost).
    if (part == Part::Magnitude) return std::isinf(re) || std::isinf(im) ? INFINITY : std::sqrt(re * re + im * im);
    return ComplexPart(re, im, part);
  }
};
template <bool kSwap>
struct Loader<DType::C16, kSwap> {
  static constexpr size_t kSize = 16;
  Part part = Part::Magnitude;
  inline double operator()(const uint8_t* p) const {
    return ComplexPart(BitsTo<double>(LoadBits<uint64_t, kSwap>(p)),
                       BitsTo<double>(LoadBits<uint64_t, kSwap>(p + 8)), part);
  }
};

// Calls fn(loader) with the loader for (dtype, byte order).
template <typename Fn>
inline bool WithLoader(DType t, bool swap, Part part, Fn&& fn) {
#define SHM_CASE(DT)                          \
  case DT:                                    \
    if (swap) {                               \
      Loader<DT, true> l;                     \
      l.part = part;                          \
      fn(l);                                  \
    } else {                                  \
      Loader<DT, false> l;                    \
      l.part = part;                          \
      fn(l);                                  \
    }                                         \
    return true;
  switch (t) {
    SHM_CASE(DType::B1) SHM_CASE(DType::I1) SHM_CASE(DType::U1) SHM_CASE(DType::I2) SHM_CASE(DType::U2)
    SHM_CASE(DType::I4) SHM_CASE(DType::U4) SHM_CASE(DType::I8) SHM_CASE(DType::U8) SHM_CASE(DType::F2)
    SHM_CASE(DType::BF16) SHM_CASE(DType::F4) SHM_CASE(DType::F8) SHM_CASE(DType::C8) SHM_CASE(DType::C16)
    default: return false;
  }
#undef SHM_CASE
}

}  // namespace shm
