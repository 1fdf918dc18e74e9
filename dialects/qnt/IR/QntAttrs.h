// The #qnt.scheme attribute and the qnt enums.
#ifndef QNT_IR_QNTATTRS_H
#define QNT_IR_QNTATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "qnt/Support/SchemeParameters.h"
#include <algorithm>

#include "qnt/IR/QntEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "qnt/IR/QntAttrs.h.inc"

namespace mlir::qnt {
/// The Support library's name for a scheme's element format (the rules of
/// each format and the quantizer live there).
ElementFormat getElementFormat(Format format);
/// The Support library's name for a scale type: f32, f16, bf16, and the
/// fp4 block scales f8E8M0FNU and f8E4M3FN; nullopt for any other type.
std::optional<ScaleFormat> getScaleFormat(Type type);
/// The type of scales of `format` (f32, f16, bf16, f8E8M0FNU, f8E4M3FN).
Type getScaleType(MLIRContext *context, ScaleFormat format);
/// Elements of one key-value head's row of `headSize` values in a cache of
/// `format` f32 or f16: the floats. An `i8` cache holds whole positions
/// instead (I8PositionLayout), an `i4` cache blocks and a window per kv head
/// (I4CacheLayout).
int64_t getCacheRowSize(CacheFormat format, int64_t headSize);
/// The element type of a cache of `format` (f32, f16 or i8).
Type getCacheElementType(CacheFormat format, MLIRContext *context);
/// Whether `block` is a valid block of #qnt.cache_format<i4>: a power of
/// two from 8 to 256.
bool isValidCacheBlock(int64_t block);
/// Whether `window` is a valid window of an i4 cache of blocks `block`: a
/// multiple of the block from one block to 4096 positions.
bool isValidCacheWindow(int64_t window, int64_t block);

/// Where the bytes of one position lie in a #qnt.cache_format<i8> cache
/// `[positions, bytes()]` (docs/BIT_LAYOUT.md, "KV cache rows"): the kv
/// heads' signed 8-bit codes (D each, head-major), each head's unsigned
/// 8-bit multiplier m, then the position's step u as an f16. Head h's
/// values are its codes times u * m[h]: one f16 per position for all
/// heads, and a multiplier per head that is exact to 1/255 of the largest.
struct I8PositionLayout {
  int64_t kvHeads, headSize;
  int64_t codesOffset(int64_t head) const { return head * headSize; }
  int64_t multiplierOffset(int64_t head) const {
    return kvHeads * headSize + head;
  }
  int64_t stepOffset() const { return kvHeads * (headSize + 1); }
  int64_t bytes() const { return stepOffset() + 2; }
  /// The kv heads of records of `bytes` bytes and heads of `headSize`, or
  /// 0 where no count fits.
  static int64_t kvHeadsOf(int64_t bytes, int64_t headSize) {
    if (bytes < headSize + 3 || (bytes - 2) % (headSize + 1) != 0)
      return 0;
    return (bytes - 2) / (headSize + 1);
  }
};

/// Where the bytes of one kv head lie in a #qnt.cache_format<i4> cache, of
/// keys or of values alike (docs/BIT_LAYOUT.md, "KV cache rows"):
/// `positions / block` blocks, each the 4-bit codes of its `block`
/// positions (position-major, D / 2 bytes each), D f16 scales and D signed
/// 8-bit zero points, then the window: `window` slots of D signed 8-bit
/// codes and an f16 scale, slot p % window holding position p while it is
/// among the newest (windowStart). Blocks leave the window whole, encoded
/// from the window's values, so the positions a step attends to most keep
/// 8-bit precision.
struct I4CacheLayout {
  int64_t block, window, headSize;
  int64_t codeBytes() const { return block * headSize / 2; }
  int64_t scalesOffset() const { return codeBytes(); }
  int64_t zerosOffset() const { return codeBytes() + 2 * headSize; }
  int64_t blockBytes() const { return codeBytes() + 3 * headSize; }
  int64_t slotBytes() const { return headSize + 2; }
  int64_t windowOffset(int64_t positions) const {
    return positions / block * blockBytes();
  }
  int64_t windowBytes() const { return window * slotBytes(); }
  /// Bytes of one kv head for a cache of `positions`.
  int64_t bytes(int64_t positions) const {
    return windowOffset(positions) + windowBytes();
  }
  /// The positions of a cache of `bytes` per kv head, or 0 where none fit.
  int64_t positionsOf(int64_t bytes) const {
    int64_t blocks = bytes - windowBytes();
    if (blocks <= 0 || blocks % blockBytes() != 0)
      return 0;
    return blocks / blockBytes() * block;
  }
  /// The first position in the window once `live` positions are written:
  /// the last `window - block` positions of whole blocks and the open
  /// block's (docs/BIT_LAYOUT.md). The positions before it are in blocks.
  int64_t windowStart(int64_t live) const {
    return std::max<int64_t>(0, live / block * block - (window - block));
  }
};
} // namespace mlir::qnt

#endif // QNT_IR_QNTATTRS_H
