// qnt-fold-constant-casts: arith.extf of a float constant becomes a constant
// of the wider type, converted once at compile time.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/Support/Quantizer.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/ADT/DenseMap.h"
#include <cstring>

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTFOLDCONSTANTCASTSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

namespace {

/// The f32 value of element `i` of a little-endian f16/bf16/f32 buffer.
static float readElement(const char *data, int64_t i, Type type) {
  if (type.isF32()) {
    float v;
    std::memcpy(&v, data + 4 * i, 4);
    return v;
  }
  uint16_t bits;
  std::memcpy(&bits, data + 2 * i, 2);
  return type.isF16() ? floatFromHalfBits(bits) : floatFromBf16Bits(bits);
}

/// `attr` (of a narrower float type) converted to `type`, or null when it
/// is neither dense nor a present f16/bf16/f32 resource blob, or `type` is
/// not f32 for a blob.
static TypedAttr widen(ElementsAttr attr, RankedTensorType type,
                       StringRef name) {
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr)) {
    const llvm::fltSemantics &sem =
        cast<FloatType>(type.getElementType()).getFloatSemantics();
    return cast<TypedAttr>(dense.mapValues(
        type.getElementType(), [&](const APFloat &v) {
          APFloat w = v;
          bool lost;
          w.convert(sem, APFloat::rmNearestTiesToEven, &lost);
          return w.bitcastToAPInt();
        }));
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!resource || !type.getElementType().isF32())
    return {};
  Type from = cast<ShapedType>(attr.getType()).getElementType();
  if (!from.isF16() && !from.isBF16() && !from.isF32())
    return {};
  AsmResourceBlob *blob = resource.getRawHandle().getBlob();
  int64_t n = type.getNumElements();
  if (!blob ||
      blob->getData().size() != static_cast<size_t>(n * (from.isF32() ? 4 : 2)))
    return {};
  const char *data = blob->getData().data();
  AsmResourceBlob wide = HeapAsmResourceBlob::allocate(
      n * sizeof(float), alignof(float), /*dataIsMutable=*/true);
  MutableArrayRef<char> out = wide.getMutableData();
  for (int64_t i = 0; i < n; ++i) {
    float v = readElement(data, i, from);
    std::memcpy(out.data() + 4 * i, &v, 4);
  }
  return DenseResourceElementsAttr::get(type, name, std::move(wide));
}

struct FoldConstantCasts final
    : qnt::impl::QntFoldConstantCastsPassBase<FoldConstantCasts> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<arith::ExtFOp> casts;
    getOperation()->walk([&](arith::ExtFOp op) {
      if (op.getIn().getDefiningOp<arith::ConstantOp>() &&
          isa<RankedTensorType>(op.getType()))
        casts.push_back(op);
    });
    // One wide constant per (narrow constant, wide type).
    llvm::DenseMap<std::pair<Operation *, Type>, Value> done;
    for (arith::ExtFOp op : casts) {
      auto constant = op.getIn().getDefiningOp<arith::ConstantOp>();
      auto type = cast<RankedTensorType>(op.getType());
      Value &wide = done[{constant.getOperation(), type}];
      if (!wide) {
        auto attr = dyn_cast<ElementsAttr>(constant.getValue());
        std::string name = "widened";
        if (auto resource =
                dyn_cast_or_null<DenseResourceElementsAttr>(attr))
          name = resource.getRawHandle().getKey().str();
        TypedAttr value = attr ? widen(attr, type, name) : TypedAttr();
        if (!value)
          continue;
        OpBuilder b(constant);
        wide = arith::ConstantOp::create(b, op.getLoc(), value);
      }
      op.replaceAllUsesWith(wide);
      op.erase();
      if (constant->use_empty())
        constant->erase();
    }
  }
};

} // namespace
