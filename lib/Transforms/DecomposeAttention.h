// Pieces shared by qnt-decompose-attention's files: DecomposeAttention.cpp
// (the attention, the f16 and i8 caches) and DecomposeI4Cache.cpp (the i4
// cache's writes and how the attention reads it).
#ifndef QNT_LIB_TRANSFORMS_DECOMPOSEATTENTION_H
#define QNT_LIB_TRANSFORMS_DECOMPOSEATTENTION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "qnt/IR/QntAttrs.h"

namespace mlir::qnt::decompose {
using BodyFn = function_ref<Value(ImplicitLocOpBuilder &, ValueRange)>;

/// A linalg.generic of one result of `type` into `init`, whose body yields
/// `body(block arguments)`.
Value generic(ImplicitLocOpBuilder &b, RankedTensorType type, Value init,
              ValueRange inputs, ArrayRef<AffineMap> maps,
              ArrayRef<utils::IteratorType> iterators, BodyFn body);

Value f32Const(ImplicitLocOpBuilder &b, float v);

/// The f16 stored in bytes `byte` and `byte + 1` of row `row` of an i8
/// tensor (little-endian).
Value halfAt(ImplicitLocOpBuilder &b, Value bytes, Value row, Value byte);

/// Channel `i` of kv head `g` at position `t` of an i4 cache (`cache` [KvH,
/// N] bytes of `positions` positions, `recent` the rows written at
/// `position` in window form), as query row `r` of qnt.attention reads it:
/// from t's 4-bit block before the row's window start, else from its 8-bit
/// window slot (t < position) or written row (t >= position). All index
/// scalars; every byte read is inside its tensor for t below min(position +
/// rows, positions), whichever of the three is chosen.
Value readI4Cache(ImplicitLocOpBuilder &b, const I4CacheLayout &layout,
                  int64_t positions, Value cache, Value recent,
                  Value position, Value r, Value t, Value g, Value i);
} // namespace mlir::qnt::decompose

#endif // QNT_LIB_TRANSFORMS_DECOMPOSEATTENTION_H
