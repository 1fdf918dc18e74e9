// The !qnt.packed type.
#ifndef QNT_IR_QNTTYPES_H
#define QNT_IR_QNTTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"
#include "qnt/IR/QntAttrs.h"

namespace mlir::qnt {
// The column_tiles code layout (docs/BIT_LAYOUT.md, "Column kernels"), fixed
// by the column kernels that read it.

/// How far ahead (in k-steps) the column kernels prefetch their codes; the
/// codes end with that many steps of zeros.
constexpr int64_t kColumnPrefetchSteps = 16;

/// How far ahead (in scale groups) the column kernels prefetch byte scales
/// (fp4); byte scales end with that many groups of zeros.
constexpr int64_t kColumnScalePrefetchGroups = 8;

/// Column tiles read together, interleaved step by step in the layout so
/// that a single row of x (a GEMV) reads one sequential stream.
constexpr int64_t kColumnTilesPerGroup = 4;

/// Codes per k-step of one column: 4 bytes, holding 8 4-bit codes (low
/// nibbles k..k+3, high nibbles k+4..k+7) or 4 8-bit codes.
inline int64_t columnCodesPerStep(unsigned bits) { return bits == 4 ? 8 : 4; }
} // namespace mlir::qnt

#define GET_TYPEDEF_CLASSES
#include "qnt/IR/QntTypes.h.inc"

#endif // QNT_IR_QNTTYPES_H
