// LZ4 frame and ZSTD decoding of Arrow's compressed buffers into exactly their declared length
// (see decompress.h). liblz4 and libzstd are linked statically (binding.gyp), their symbols kept
// local, so the addon needs neither library on the host and never binds to another copy.
#include "decompress.h"

#include <lz4frame.h>
#include <zstd.h>
#include <zstd_errors.h>

namespace shm {

Decoder::Decoder(Codec c) : codec_(c) {
  if (c == Codec::Lz4Frame) {
    LZ4F_dctx* d = nullptr;
    if (!LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) ctx_ = d;
  } else {
    ctx_ = ZSTD_createDCtx();
  }
}

Decoder::~Decoder() {
  if (ctx_ == nullptr) return;
  if (codec_ == Codec::Lz4Frame) LZ4F_freeDecompressionContext(static_cast<LZ4F_dctx*>(ctx_));
  else ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(ctx_));
}

namespace {

// Whether src[from, n) is all zeros (padding a writer may leave after the frame).
bool Zeros(const uint8_t* src, size_t from, size_t n) {
  for (size_t i = from; i < n; ++i)
    if (src[i] != 0) return false;
  return true;
}

void RunLz4(LZ4F_dctx* d, const uint8_t* src, size_t n, uint8_t* dst, size_t cap, DecodeOutcome& out) {
  uint8_t spare = 0;  // a valid pointer for a 0-byte output
  uint8_t* base = cap ? dst : &spare;
  size_t in = 0, got = 0;
  for (;;) {
    size_t sIn = n - in, sOut = cap - got;
    const size_t r = LZ4F_decompress(d, base + got, &sOut, src + in, &sIn, nullptr);
    if (LZ4F_isError(r)) {
      out.kind = DecodeOutcome::Corrupt;
      out.reason = LZ4F_getErrorName(r);
      break;
    }
    in += sIn;
    got += sOut;
    if (r == 0) {  // the frame's end (its checksum checked when it has one)
      out.kind = got < cap ? DecodeOutcome::Less : in < n && !Zeros(src, in, n) ? DecodeOutcome::Trailing : DecodeOutcome::Ok;
      break;
    }
    if (sIn == 0 && sOut == 0) {  // no progress: the input is spent (inside the frame), or the output full
      out.kind = in == n ? DecodeOutcome::Truncated : got == cap ? DecodeOutcome::More : DecodeOutcome::Corrupt;
      break;
    }
  }
  out.consumed = in;
  out.produced = got;
}

void RunZstd(ZSTD_DCtx* d, const uint8_t* src, size_t n, uint8_t* dst, size_t cap, DecodeOutcome& out) {
  const unsigned long long stated = ZSTD_getFrameContentSize(src, n);
  if (stated != ZSTD_CONTENTSIZE_UNKNOWN && stated != ZSTD_CONTENTSIZE_ERROR) out.stated = static_cast<long long>(stated);
  // One frame: where it ends (an error for a truncated or corrupt header).
  const size_t frame = ZSTD_findFrameCompressedSize(src, n);
  if (ZSTD_isError(frame)) {
    out.kind = ZSTD_getErrorCode(frame) == ZSTD_error_srcSize_wrong ? DecodeOutcome::Truncated : DecodeOutcome::Corrupt;
    out.reason = ZSTD_getErrorName(frame);
    return;
  }
  if (out.stated >= 0 && static_cast<unsigned long long>(out.stated) != cap) {
    out.kind = static_cast<unsigned long long>(out.stated) > cap ? DecodeOutcome::More : DecodeOutcome::Less;
    return;
  }
  uint8_t spare = 0;
  const size_t r = ZSTD_decompressDCtx(d, cap ? dst : &spare, cap, src, frame);
  out.consumed = frame;
  if (ZSTD_isError(r)) {
    const ZSTD_ErrorCode e = ZSTD_getErrorCode(r);
    out.kind = e == ZSTD_error_dstSize_tooSmall ? DecodeOutcome::More : e == ZSTD_error_srcSize_wrong ? DecodeOutcome::Truncated : DecodeOutcome::Corrupt;
    out.reason = ZSTD_getErrorName(r);
    out.produced = cap;
    return;
  }
  out.produced = r;
  out.kind = r < cap ? DecodeOutcome::Less : frame < n && !Zeros(src, frame, n) ? DecodeOutcome::Trailing : DecodeOutcome::Ok;
}

}  // namespace

void Decoder::Run(const uint8_t* src, size_t n, uint8_t* dst, size_t cap, DecodeOutcome& out) {
  out = DecodeOutcome{};
  if (codec_ == Codec::Lz4Frame) RunLz4(static_cast<LZ4F_dctx*>(ctx_), src, n, dst, cap, out);
  else RunZstd(static_cast<ZSTD_DCtx*>(ctx_), src, n, dst, cap, out);
}

std::string DescribeOutcome(const DecodeOutcome& o, Codec c, size_t n, size_t cap, std::string& code) {
  const std::string name = c == Codec::Lz4Frame ? "LZ4 frame" : "ZSTD frame";
  const std::string declared = "the " + std::to_string(cap) + " bytes its buffer declares";
  code = "DECOMPRESS";
  switch (o.kind) {
    case DecodeOutcome::Ok:
      code.clear();
      return "";
    case DecodeOutcome::Corrupt:
      return "the " + name + " (" + std::to_string(n) + " bytes) is corrupt: " + (o.reason ? o.reason : "refused");
    case DecodeOutcome::Truncated:
      return "the " + name + " (" + std::to_string(n) + " bytes) ends early: it is cut short" +
             (o.produced ? " after " + std::to_string(o.produced) + " bytes of output" : "");
    case DecodeOutcome::Trailing:
      return "the " + name + " ends after " + std::to_string(o.consumed) + " of its " + std::to_string(n) + " bytes; the rest is not padding";
    case DecodeOutcome::More:
      code = "LENGTH_MISMATCH";
      return "the " + name + " decompresses to more than " + declared +
             (o.stated >= 0 ? " (its header says " + std::to_string(o.stated) + ")" : "");
    case DecodeOutcome::Less:
      code = "LENGTH_MISMATCH";
      return "the " + name + " decompresses to " + (o.stated >= 0 ? std::to_string(o.stated) : std::to_string(o.produced)) +
             " bytes, less than " + declared;
  }
  return "";
}

}  // namespace shm
