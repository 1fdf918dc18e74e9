// Float elements of constant payloads (their bytes: getElementsBytes).
#include "qnt/Transforms/ConstantBytes.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/Support/Quantizer.h"
#include <cstring>

using namespace mlir;

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
