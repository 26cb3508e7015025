// Large temporary buffers taken straight from the kernel (mmap) and given back on release.
//
// Through malloc, an 8 MiB result buffer freed on a libuv thread raises glibc's dynamic
// mmap threshold and then stays in that thread's arena: the process's private memory
// (RssAnon) would grow with every grid computed. Pages from mmap are returned at once.
#pragma once
#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <utility>

namespace shm {

template <typename T>
class PageArray {
 public:
  PageArray() = default;
  explicit PageArray(size_t n) { Reset(n); }
  PageArray(const PageArray&) = delete;
  PageArray& operator=(const PageArray&) = delete;
  PageArray(PageArray&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  ~PageArray() { Release(); }

  // n zero-initialised elements (T must be trivially constructible from zero bytes).
  void Reset(size_t n) {
    Release();
    if (n == 0) return;
    void* a = mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) throw std::bad_alloc();
    p_ = static_cast<T*>(a);
    n_ = n;
  }
  void Release() {
    if (p_ != nullptr) munmap(p_, n_ * sizeof(T));
    p_ = nullptr;
    n_ = 0;
  }
  T* data() const { return p_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) const { return p_[i]; }
  T* begin() const { return p_; }
  T* end() const { return p_ + n_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace shm
