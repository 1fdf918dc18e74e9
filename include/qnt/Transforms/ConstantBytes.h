// Constant payloads for passes that compute new constants from old ones at
// compile time: their bytes (getElementsBytes, shared with the lowerings)
// and their float elements.
#ifndef QNT_TRANSFORMS_CONSTANTBYTES_H
#define QNT_TRANSFORMS_CONSTANTBYTES_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Types.h"
#include "qnt/Conversion/Common.h"
#include <optional>
#include <vector>

namespace mlir::qnt {

// getElementsBytes, the bytes of a payload: qnt/Conversion/Common.h.

/// The f32 value of element `i` of a little-endian f32/f16/bf16 buffer.
float readFloatElement(const char *data, int64_t i, Type type);

} // namespace mlir::qnt

#endif // QNT_TRANSFORMS_CONSTANTBYTES_H
