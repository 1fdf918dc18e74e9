// qnt-fold-constant-casts: arith.extf of a float constant becomes a constant
// of the wider type, converted once at compile time.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/Packing.h"
#include "qnt/Support/Quantizer.h"
#include "qnt/Transforms/ConstantBytes.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include "llvm/ADT/DenseMap.h"
#include <cstring>

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTFOLDCONSTANTCASTSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

namespace {

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
    float v = readFloatElement(data, i, from);
    std::memcpy(out.data() + 4 * i, &v, 4);
  }
  return DenseResourceElementsAttr::get(type, name, std::move(wide));
}

/// The f32 tensor `scale * (code - zero_point)` of a rank-2 qnt.constant, as
/// a heap resource named after its codes (`NAME` of `NAME.codes`); null when
/// a payload cannot be read.
static TypedAttr dequantizeConstant(ConstantOp constant) {
  std::string name = "dequantized";
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getCodes())) {
    name = resource.getRawHandle().getKey().str();
    if (StringRef(name).ends_with(".codes"))
      name.resize(name.size() - 6);
  }
  PackedType type = constant.getType();
  SchemeAttr scheme = type.getScheme();
  if (type.getRank() != 2 || !scheme.isInteger())
    return {};
  std::vector<char> codeStorage, scaleStorage, zeroStorage;
  std::optional<ArrayRef<char>> codes =
      getElementsBytes(constant.getCodes(), codeStorage);
  std::optional<ArrayRef<char>> scales =
      getElementsBytes(constant.getScales(), scaleStorage);
  std::vector<char> offsetStorage;
  std::optional<ArrayRef<char>> offsets;
  if (constant.getOffsets()) {
    offsets = getElementsBytes(*constant.getOffsets(), offsetStorage);
    if (!offsets)
      return {};
  }
  std::optional<ArrayRef<char>> zeros;
  if (constant.getZeroPoints()) {
    zeros = getElementsBytes(*constant.getZeroPoints(), zeroStorage);
    if (!zeros)
      return {};
  }
  SmallVector<int64_t> scalesShape = type.getScalesShape();
  int64_t n = type.getShape()[0], k = type.getShape()[1];
  int64_t sn = scalesShape[0], sk = scalesShape[1];
  Type scaleType = scheme.getScaleType();
  int64_t scaleBytes = scaleType.isF32() ? 4 : 2;
  unsigned bits = scheme.getBits();
  size_t rowBytes = packedRowBytes(k, bits);
  if (!codes || !scales || codes->size() != n * rowBytes ||
      scales->size() != static_cast<size_t>(sn * sk * scaleBytes) ||
      (zeros && zeros->size() != static_cast<size_t>(sn * sk)) ||
      (offsets && offsets->size() != scales->size()))
    return {};
  AsmResourceBlob out = HeapAsmResourceBlob::allocate(
      n * k * sizeof(float), alignof(float), /*dataIsMutable=*/true);
  auto *values = reinterpret_cast<float *>(out.getMutableData().data());
  std::vector<int8_t> signedRow(k);
  std::vector<uint8_t> unsignedRow(k);
  for (int64_t r = 0; r < n; ++r) {
    const auto *packed =
        reinterpret_cast<const uint8_t *>(codes->data()) + r * rowBytes;
    if (scheme.isSigned())
      unpackSigned(packed, k, bits, signedRow.data());
    else
      unpackUnsigned(packed, k, bits, unsignedRow.data());
    for (int64_t c = 0; c < k; ++c) {
      int64_t s = (r / (n / sn)) * sk + c / (k / sk);
      float code = scheme.isSigned() ? signedRow[c] : unsignedRow[c];
      if (zeros)
        code -= scheme.isSigned()
                    ? static_cast<float>(static_cast<int8_t>((*zeros)[s]))
                    : static_cast<float>(static_cast<uint8_t>((*zeros)[s]));
      values[r * k + c] = readFloatElement(scales->data(), s, scaleType) * code;
      if (offsets)
        values[r * k + c] += readFloatElement(offsets->data(), s, scaleType);
    }
  }
  return DenseResourceElementsAttr::get(
      RankedTensorType::get({n, k}, Float32Type::get(constant.getContext())),
      name, std::move(out));
}

struct FoldConstantCasts final
    : qnt::impl::QntFoldConstantCastsPassBase<FoldConstantCasts> {
  using Base::Base;
  void runOnOperation() override {
    if (dequantize) {
      // A packed table read by qnt.gather_rows (a GGUF token embedding)
      // becomes the float gather quant-import emits for a float table, over
      // its dequantized values, so that qnt-quantize-weights quantizes it
      // again like the float weights.
      // One walk finds both kinds of use of a packed constant.
      SmallVector<GatherRowsOp> gathers;
      SmallVector<DequantizeOp> ops;
      getOperation()->walk([&](Operation *op) {
        if (auto gather = dyn_cast<GatherRowsOp>(op);
            gather && gather.getTable().getDefiningOp<ConstantOp>())
          gathers.push_back(gather);
        if (auto dequant = dyn_cast<DequantizeOp>(op);
            dequant && dequant.getInput().getDefiningOp<ConstantOp>() &&
            cast<RankedTensorType>(dequant.getType()).getElementType().isF32())
          ops.push_back(dequant);
      });
      for (GatherRowsOp op : gathers) {
        auto constant = op.getTable().getDefiningOp<ConstantOp>();
        TypedAttr value = dequantizeConstant(constant);
        if (!value)
          continue;
        OpBuilder b(op);
        Value table = arith::ConstantOp::create(b, op.getLoc(), value);
        Value ids = op.getIds();
        Value rows = tensor::DimOp::create(b, op.getLoc(), ids, 0);
        op.replaceAllUsesWith(
            buildRowGather(b, op.getLoc(), table, ids, rows));
        op.erase();
        if (constant->use_empty())
          constant->erase();
      }

      for (DequantizeOp op : ops) {
        auto constant = op.getInput().getDefiningOp<ConstantOp>();
        TypedAttr value = dequantizeConstant(constant);
        if (!value)
          continue;
        OpBuilder b(op);
        op.replaceAllUsesWith(
            arith::ConstantOp::create(b, op.getLoc(), value).getResult());
        op.erase();
        if (constant->use_empty())
          constant->erase();
      }
    }

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
