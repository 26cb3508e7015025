// Arrow's compressed buffers (issue #16): one LZ4 frame or one ZSTD frame, decoded into exactly
// the bytes the buffer declares. The caller owns the output (allocated once, of the declared
// length: nothing here allocates more output than that) and runs Decoder::Run inside Guarded over
// the mapping, so Run keeps no owning object of its own (siglongjmp would skip its destructor):
// the library's context is made before and freed after, the outcome is plain data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace shm {

enum class Codec { Lz4Frame, Zstd };

struct DecodeOutcome {
  // Ok: exactly `cap` bytes; Corrupt: the library refused the frame (`reason`); Truncated: the
  // input ends inside the frame; More: the frame holds more than `cap` bytes; Less: it ends before
  // `cap`; Trailing: bytes that are not zeros follow the frame.
  enum Kind { Ok, Corrupt, Truncated, More, Less, Trailing } kind = Ok;
  size_t produced = 0;
  size_t consumed = 0;
  // Static text from the library (LZ4F_getErrorName, ZSTD_getErrorName), or null.
  const char* reason = nullptr;
  // The size a ZSTD frame header states, when it states one (else -1).
  long long stated = -1;
};

class Decoder {
 public:
  explicit Decoder(Codec c);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  // False when the library could not make its context (no memory).
  bool ready() const { return ctx_ != nullptr; }
  // Decodes src[0, n) into dst[0, cap); safe inside Guarded (allocates only inside the context).
  void Run(const uint8_t* src, size_t n, uint8_t* dst, size_t cap, DecodeOutcome& out);

 private:
  Codec codec_;
  void* ctx_ = nullptr;
};

// The outcome as one line, with `code` set to DECOMPRESS or LENGTH_MISMATCH ("" when Ok).
std::string DescribeOutcome(const DecodeOutcome& o, Codec c, size_t n, size_t cap, std::string& code);

}  // namespace shm
