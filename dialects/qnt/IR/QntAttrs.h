// The #qnt.scheme attribute and the qnt enums.
#ifndef QNT_IR_QNTATTRS_H
#define QNT_IR_QNTATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "qnt/Support/SchemeParameters.h"

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
/// `format`: the floats, or the codes and the bytes of the scale (and zero
/// point); for `i4` the row of a value (keys: KeyBlockLayout).
int64_t getCacheRowSize(CacheFormat format, int64_t headSize);
/// The element type of a cache of `format` (f32, f16 or i8).
Type getCacheElementType(CacheFormat format, MLIRContext *context);
/// Whether `block` is a valid key block of #qnt.cache_format<i4>: a power of
/// two from 8 to 256.
bool isValidCacheBlock(int64_t block);

/// Where the bytes of one kv head's keys lie in a #qnt.cache_format<i4> key
/// cache (docs/BIT_LAYOUT.md, "KV cache rows"): `positions / block` blocks,
/// each the 4-bit codes of its `block` positions (position-major, D / 2
/// bytes each), D f16 scales and D signed 8-bit zero points, then the
/// window: `block` slots of D f16 keys, slot p % block holding position p
/// while its block is open.
struct KeyBlockLayout {
  int64_t block, headSize;
  int64_t codeBytes() const { return block * headSize / 2; }
  int64_t scalesOffset() const { return codeBytes(); }
  int64_t zerosOffset() const { return codeBytes() + 2 * headSize; }
  int64_t blockBytes() const { return codeBytes() + 3 * headSize; }
  int64_t windowOffset(int64_t positions) const {
    return positions / block * blockBytes();
  }
  int64_t windowBytes() const { return 2 * block * headSize; }
  /// Bytes of one kv head's keys for a cache of `positions`.
  int64_t bytes(int64_t positions) const {
    return windowOffset(positions) + windowBytes();
  }
};
} // namespace mlir::qnt

#endif // QNT_IR_QNTATTRS_H
