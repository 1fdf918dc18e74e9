// The raw bytes of constant payloads.
#include "qnt/Transforms/ConstantBytes.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/Support/Quantizer.h"
#include <cstring>

using namespace mlir;

std::optional<ArrayRef<char>>
qnt::getElementsBytes(ElementsAttr attr, std::vector<char> &storage) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
    return std::nullopt;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense || dense.getElementType().isInteger(1))
    return std::nullopt;
  if (!dense.isSplat())
    return dense.getRawData();
  ArrayRef<char> one = dense.getRawData();
  for (int64_t i = 0, e = dense.getNumElements(); i < e; ++i)
    storage.insert(storage.end(), one.begin(), one.end());
  return ArrayRef<char>(storage);
}

float qnt::readFloatElement(const char *data, int64_t i, Type type) {
  if (type.isF32()) {
    float v;
    std::memcpy(&v, data + 4 * i, 4);
    return v;
  }
  uint16_t bits;
  std::memcpy(&bits, data + 2 * i, 2);
  return type.isF16() ? floatFromHalfBits(bits) : floatFromBf16Bits(bits);
}
