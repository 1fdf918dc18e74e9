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
/// `format`: the floats, or the codes and the 4 bytes of the scale.
int64_t getCacheRowSize(CacheFormat format, int64_t headSize);
/// The element type of a cache of `format` (f32 or i8).
Type getCacheElementType(CacheFormat format, MLIRContext *context);
} // namespace mlir::qnt

#endif // QNT_IR_QNTATTRS_H
