// The #qnt.scheme attribute and the qnt enums.
#ifndef QNT_IR_QNTATTRS_H
#define QNT_IR_QNTATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "qnt/Support/SchemeParameters.h"

#include "qnt/IR/QntEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "qnt/IR/QntAttrs.h.inc"

namespace mlir::qnt {
/// The Support library's name for a scheme's element format (the rules of
/// each format and the quantizer live there).
ElementFormat getElementFormat(Format format);
/// Elements of one key-value head's row of `headSize` values in a cache of
/// `format`: the floats, or the codes and the 4 bytes of the scale.
int64_t getCacheRowSize(CacheFormat format, int64_t headSize);
/// The element type of a cache of `format` (f32 or i8).
Type getCacheElementType(CacheFormat format, MLIRContext *context);
} // namespace mlir::qnt

#endif // QNT_IR_QNTATTRS_H
