// The raw bytes of constant payloads (dense attributes and resource blobs),
// for passes that compute new constants from old ones at compile time.
#ifndef QNT_TRANSFORMS_CONSTANTBYTES_H
#define QNT_TRANSFORMS_CONSTANTBYTES_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Types.h"
#include <optional>
#include <vector>

namespace mlir::qnt {

/// The bytes of a resource blob or of a dense attribute (a splat expanded
/// into `storage`), or none (a missing blob, an i1 attribute).
std::optional<ArrayRef<char>> getElementsBytes(ElementsAttr attr,
                                               std::vector<char> &storage);

/// The f32 value of element `i` of a little-endian f32/f16/bf16 buffer.
float readFloatElement(const char *data, int64_t i, Type type);

} // namespace mlir::qnt

#endif // QNT_TRANSFORMS_CONSTANTBYTES_H
