// Pieces shared by the qnt lowerings: payload materialization and builder
// helpers (see Common.h).
#include "qnt/Conversion/Common.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Rewrite/PatternApplicator.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace mlir::qnt;

/// Reads the values of a zero-point attribute (dense or resource blob).
static std::optional<SmallVector<float>> readZeroPoints(ElementsAttr attr,
                                                        bool isSigned) {
  SmallVector<float> values;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    for (APInt v : dense.getValues<APInt>())
      values.push_back(isSigned ? float(v.getSExtValue())
                                : float(v.getZExtValue()));
    return values;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> bytes = blob->getData();
    if (static_cast<int64_t>(bytes.size()) != attr.getNumElements())
      return std::nullopt;
    for (char c : bytes)
      values.push_back(isSigned ? float(static_cast<int8_t>(c))
                                : float(static_cast<uint8_t>(c)));
    return values;
  }
  return std::nullopt;
}

/// A dense_resource payload whose blob is not in the module cannot be
/// compiled; say which one.
static LogicalResult checkBlob(ConstantOp op, StringRef name,
                               ElementsAttr attr) {
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!resource || resource.getRawHandle().getBlob())
    return success();
  return op.emitOpError() << "'" << name << "' refers to resource blob '"
                          << resource.getRawHandle().getKey()
                          << "', which the module does not contain";
}

/// The bytes of a payload of 8-bit floats (the fp4 formats' block scales)
/// as i8 elements of the same shape: the kernels decode them from their
/// bits, which LLVM has no float type for. Null for other payloads.
static TypedAttr bytesOfFp8Payload(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  Type elem = type.getElementType();
  if (!isa<FloatType>(elem) || elem.getIntOrFloatBitWidth() != 8)
    return {};
  auto i8Type = type.clone(IntegerType::get(type.getContext(), 8));
  if (auto dense = dyn_cast<DenseElementsAttr>(attr))
    return DenseElementsAttr::getFromRawBuffer(i8Type, dense.getRawData());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    return DenseResourceElementsAttr::get(i8Type, resource.getRawHandle());
  return {};
}

/// Builds the arith.constant tensors of a qnt.constant, right after it.
FailureOr<Payload> qnt::materializePayload(ConstantOp op) {
  if (failed(checkBlob(op, "codes", op.getCodes())) ||
      failed(checkBlob(op, "scales", op.getScales())) ||
      (op.getZeroPoints() &&
       failed(checkBlob(op, "zero_points", *op.getZeroPoints()))) ||
      (op.getOffsets() && failed(checkBlob(op, "offsets", *op.getOffsets()))))
    return failure();
  OpBuilder b(op);
  Location loc = op.getLoc();
  Payload payload;
  payload.codes =
      arith::ConstantOp::create(b, loc, cast<TypedAttr>(op.getCodes()));
  TypedAttr scales = bytesOfFp8Payload(op.getScales());
  if (!scales && isa<FloatType>(op.getType().getScheme().getScaleType()) &&
      op.getType().getScheme().getScaleType().getIntOrFloatBitWidth() == 8) {
    op.emitOpError("'scales' cannot be read as bytes");
    return failure();
  }
  payload.scales = arith::ConstantOp::create(
      b, loc, scales ? scales : cast<TypedAttr>(op.getScales()));
  if (std::optional<ElementsAttr> offsets = op.getOffsets())
    payload.offsets =
        arith::ConstantOp::create(b, loc, cast<TypedAttr>(*offsets));
  if (std::optional<ElementsAttr> zps = op.getZeroPoints()) {
    std::optional<SmallVector<float>> values =
        readZeroPoints(*zps, op.getType().getScheme().isSigned());
    if (!values) {
      op.emitOpError("'zero_points' cannot be read");
      return failure();
    }
    auto type = RankedTensorType::get(
        cast<ShapedType>(zps->getType()).getShape(), b.getF32Type());
    payload.zeroPoints = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, ArrayRef<float>(*values)));
  }
  return payload;
}

Value qnt::cIndex(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

/// A memref view of a tensor, for the kernels. The tensor is only read.
Value qnt::toBuffer(ImplicitLocOpBuilder &b, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  return bufferization::ToBufferOp::create(b, memrefType, tensor,
                                           /*read_only=*/true);
}

/// Converts a scalar or vector of `type`'s element kind to f32.
Value qnt::toF32(ImplicitLocOpBuilder &b, Value v) {
  Type elem = mlir::getElementTypeOrSelf(v.getType());
  if (elem.isF32())
    return v;
  Type target = b.getF32Type();
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    target = VectorType::get(vt.getShape(), target);
  return arith::ExtFOp::create(b, target, v);
}

Value qnt::fromF32(ImplicitLocOpBuilder &b, Value v, Type elem) {
  if (elem.isF32())
    return v;
  return arith::TruncFOp::create(b, elem, v);
}

/// Reshapes a rank >= 1 memref [d0, ..., dr-1] to 2-D [d0*...*dr-2, dr-1]
/// (a rank-1 memref becomes [1, d0]).
Value qnt::to2D(ImplicitLocOpBuilder &b, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return memref;
  if (rank == 1) {
    auto outType =
        MemRefType::get({1, type.getDimSize(0)}, type.getElementType());
    return memref::ExpandShapeOp::create(
        b, outType, memref, ArrayRef<ReassociationIndices>{{0, 1}},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                               b.getIndexAttr(type.getDimSize(0))});
  }
  ReassociationIndices lead;
  for (int64_t i = 0; i < rank - 1; ++i)
    lead.push_back(i);
  return memref::CollapseShapeOp::create(
      b, memref, ArrayRef<ReassociationIndices>{lead, {rank - 1}});
}

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
  storage.clear();
  for (int64_t i = 0, e = dense.getNumElements(); i < e; ++i)
    storage.insert(storage.end(), one.begin(), one.end());
  return ArrayRef<char>(storage);
}

FailureOr<ArrayRef<char>> qnt::readPayloadBytes(ConstantOp op, StringRef name,
                                                ElementsAttr attr,
                                                std::vector<char> &storage) {
  if (failed(checkBlob(op, name, attr)))
    return failure();
  auto type = cast<ShapedType>(attr.getType());
  std::optional<int64_t> size = llvm::checkedMul(
      type.getNumElements(), int64_t(type.getElementTypeBitWidth() / 8));
  std::optional<ArrayRef<char>> bytes = getElementsBytes(attr, storage);
  if (!bytes || !size || static_cast<int64_t>(bytes->size()) != *size)
    return op.emitOpError() << "'" << name << "' cannot be read";
  return *bytes;
}

FailureOr<ArrayRef<char>> qnt::readCodeBytes(ConstantOp op,
                                             std::vector<char> &storage) {
  return readPayloadBytes(op, "codes", op.getCodes(), storage);
}

Value qnt::allocResultLike(ImplicitLocOpBuilder &b, RankedTensorType type,
                          Value source) {
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (!type.isDynamicDim(i))
      continue;
    dynSizes.push_back(isa<MemRefType>(source.getType())
                           ? memref::DimOp::create(b, source, i).getResult()
                           : tensor::DimOp::create(b, source, i).getResult());
  }
  return memref::AllocOp::create(
      b, MemRefType::get(type.getShape(), type.getElementType()), dynSizes);
}

Value qnt::allocMatmulResult(ImplicitLocOpBuilder &b, MatmulOp op) {
  return allocResultLike(b, op.getResult().getType(), op.getInput());
}

void qnt::replaceWithBuffer(ImplicitLocOpBuilder &b, Operation *op,
                            Value buffer) {
  Value result = bufferization::ToTensorOp::create(
      b, op->getResult(0).getType(), buffer, /*restrict=*/true,
      /*writable=*/true);
  op->getResult(0).replaceAllUsesWith(result);
  op->erase();
}

LogicalResult
qnt::applyInProgramOrder(Operation *root,
                         const FrozenRewritePatternSet &patterns) {
  const auto &roots = patterns.getOpSpecificNativePatterns();
  SmallVector<Operation *> ops;
  root->walk([&](Operation *op) {
    if (roots.count(op->getName()))
      ops.push_back(op);
  });
  PatternApplicator applicator(patterns);
  applicator.applyDefaultCostModel();
  PatternRewriter rewriter(root->getContext());
  for (Operation *op : ops) {
    rewriter.setInsertionPoint(op);
    if (failed(applicator.matchAndRewrite(op, rewriter)))
      return failure();
  }
  return success();
}

SmallVector<Value, 2> qnt::scaleIndices(ImplicitLocOpBuilder &b,
                                        Granularity granularity, Value row,
                                        Value group) {
  Value zero = cIndex(b, 0);
  switch (granularity) {
  case Granularity::per_tensor:
    return {zero, zero};
  case Granularity::per_channel:
    return {row, zero};
  case Granularity::per_group:
    return {row, group};
  }
  llvm_unreachable("unknown granularity");
}

Value qnt::sumLanesOfEach(ImplicitLocOpBuilder &b, ArrayRef<Value> vectors) {
  int64_t n = vectors.size();
  SmallVector<Value> level(vectors);
  // owner[v][l]: the vector whose partial sum lane l of level[v] holds.
  SmallVector<SmallVector<int64_t>> owner;
  for (int64_t v = 0; v < n; ++v)
    owner.push_back(SmallVector<int64_t>(n, v));
  for (int64_t width = n / 2; width >= 1; width /= 2) {
    SmallVector<Value> next;
    SmallVector<SmallVector<int64_t>> nextOwner;
    for (size_t v = 0; v + 1 < level.size(); v += 2) {
      // In blocks of 2 * width lanes, the lower halves of x then y, and the
      // upper halves of x then y: adding them halves each row's partials.
      SmallVector<int64_t> lo, hi, own;
      for (int64_t blk = 0; blk < n; blk += 2 * width) {
        for (int64_t i = 0; i < width; ++i) {
          lo.push_back(blk + i);
          hi.push_back(blk + width + i);
          own.push_back(owner[v][blk + i]);
        }
        for (int64_t i = 0; i < width; ++i) {
          lo.push_back(n + blk + i);
          hi.push_back(n + blk + width + i);
          own.push_back(owner[v + 1][blk + i]);
        }
      }
      Value a = vector::ShuffleOp::create(b, level[v], level[v + 1], lo);
      Value c = vector::ShuffleOp::create(b, level[v], level[v + 1], hi);
      next.push_back(arith::AddFOp::create(b, a, c));
      // The combined vector has n lanes: lo took width lanes from each of
      // the n / (2 * width) blocks of x and of y.
      nextOwner.push_back(own);
    }
    level = next;
    owner = nextOwner;
  }
  // Lane l of the last vector holds the sum of vector owner[0][l].
  SmallVector<int64_t> order(n);
  for (int64_t l = 0; l < n; ++l)
    order[owner[0][l]] = l;
  return vector::ShuffleOp::create(b, level[0], level[0], order);
}

Value qnt::emitI4WindowStart(ImplicitLocOpBuilder &b, Value live,
                             const I4CacheLayout &layout) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  Value whole = arith::MulIOp::create(
      b, arith::DivUIOp::create(b, live, c(layout.block)), c(layout.block));
  int64_t lag = layout.window - layout.block;
  if (lag == 0)
    return whole;
  Value past =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, whole, c(lag));
  return arith::SelectOp::create(
      b, past, arith::SubIOp::create(b, whole, c(lag)), c(0));
}

std::pair<Value, Value>
qnt::emitI4LeavingBlocks(ImplicitLocOpBuilder &b, Value position,
                         Value written, const I4CacheLayout &layout) {
  Value block = arith::ConstantIndexOp::create(b, layout.block);
  Value first = arith::DivUIOp::create(
      b, emitI4WindowStart(b, position, layout), block);
  Value end = arith::AddIOp::create(b, position, written);
  Value last =
      arith::DivUIOp::create(b, emitI4WindowStart(b, end, layout), block);
  return {first, arith::SubIOp::create(b, last, first)};
}

/// An f32 constant of `type` (f32, or a vector of f32: a splat).
static Value f32Like(ImplicitLocOpBuilder &b, Type type, float v) {
  if (auto vector = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(
        b, cast<TypedAttr>(DenseElementsAttr::get(vector, v)));
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

Value qnt::emitI4SlotScale(ImplicitLocOpBuilder &b, Value amax) {
  Value step = arith::MinimumFOp::create(
      b, arith::DivFOp::create(b, amax, f32Like(b, amax.getType(), 127.0f)),
      f32Like(b, amax.getType(), 65504.0f));
  return arith::TruncFOp::create(b, b.getF16Type(), step);
}

Value qnt::emitI4SlotCodes(ImplicitLocOpBuilder &b, Value x, Value scale) {
  Type f32 = b.getF32Type(), type = x.getType();
  Value s = arith::ExtFOp::create(b, f32, scale);
  Value zero = f32Like(b, f32, 0.0f);
  Value nonzero = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, s, zero);
  Value inverse = arith::SelectOp::create(
      b, nonzero, arith::DivFOp::create(b, f32Like(b, f32, 1.0f), s), zero);
  if (isa<VectorType>(type))
    inverse = vector::BroadcastOp::create(b, type, inverse);
  Value c = math::RoundEvenOp::create(b, arith::MulFOp::create(b, x, inverse));
  return arith::MinimumFOp::create(
      b, arith::MaximumFOp::create(b, c, f32Like(b, type, -127.0f)),
      f32Like(b, type, 127.0f));
}

I4BlockQuantizer::I4BlockQuantizer(ImplicitLocOpBuilder &b, Value lo,
                                   Value hi) {
  Type type = lo.getType();
  Value range = arith::DivFOp::create(b, arith::SubFOp::create(b, hi, lo),
                                      f32Like(b, type, 15.0f));
  Type halfType = b.getF16Type();
  if (auto vector = dyn_cast<VectorType>(type))
    halfType = vector.clone(halfType);
  Value half = arith::TruncFOp::create(b, halfType, range);
  scale = arith::ExtFOp::create(b, type, half);
  Value zeros = f32Like(b, type, 0.0f);
  nonzero = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, scale, zeros);
  Value z = math::RoundEvenOp::create(
      b, arith::DivFOp::create(b, arith::NegFOp::create(b, lo), scale));
  z = arith::MinimumFOp::create(
      b, arith::MaximumFOp::create(b, z, f32Like(b, type, -128.0f)),
      f32Like(b, type, 127.0f));
  zero = arith::SelectOp::create(b, nonzero, z, zeros);
}

I4BlockQuantizer I4BlockQuantizer::clipped(ImplicitLocOpBuilder &b, Value lo,
                                           Value hi, Value factor) {
  Type type = lo.getType();
  Value two = f32Like(b, type, 2.0f);
  Value mid =
      arith::DivFOp::create(b, arith::AddFOp::create(b, lo, hi), two);
  Value half = arith::MulFOp::create(
      b, arith::DivFOp::create(b, arith::SubFOp::create(b, hi, lo), two),
      factor);
  return I4BlockQuantizer(b, arith::SubFOp::create(b, mid, half),
                          arith::AddFOp::create(b, mid, half));
}

Value I4BlockQuantizer::codeValues(ImplicitLocOpBuilder &b, Value x) const {
  Type type = x.getType();
  Value c = arith::AddFOp::create(
      b, math::RoundEvenOp::create(b, arith::DivFOp::create(b, x, scale)),
      zero);
  c = arith::MinimumFOp::create(
      b, arith::MaximumFOp::create(b, c, f32Like(b, type, 0.0f)),
      f32Like(b, type, 15.0f));
  return arith::SelectOp::create(b, nonzero, c, f32Like(b, type, 0.0f));
}

Value I4BlockQuantizer::squaredError(ImplicitLocOpBuilder &b, Value x) const {
  Value read = arith::MulFOp::create(
      b, arith::SubFOp::create(b, codeValues(b, x), zero), scale);
  Value d = arith::SubFOp::create(b, read, x);
  return arith::MulFOp::create(b, d, d);
}

Value qnt::emitI8CacheStep(ImplicitLocOpBuilder &b, Value largest) {
  auto f32c = [&](float v) -> Value {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  };
  Value exact = arith::MinimumFOp::create(
      b, arith::DivFOp::create(b, largest, f32c(127.0f * 255.0f)),
      f32c(65504.0f));
  // Rounded to nearest, then one f16 up where that fell below: every
  // head's step * m then covers its amax.
  Value half = arith::TruncFOp::create(b, b.getF16Type(), exact);
  Value below = arith::CmpFOp::create(
      b, arith::CmpFPredicate::OLT,
      arith::ExtFOp::create(b, b.getF32Type(), half), exact);
  Value bits = arith::BitcastOp::create(b, b.getI16Type(), half);
  Value up = arith::AddIOp::create(
      b, bits, arith::ConstantOp::create(b, b.getI16IntegerAttr(1)));
  return arith::BitcastOp::create(
      b, b.getF16Type(), arith::SelectOp::create(b, below, up, bits));
}

Value qnt::emitI8CacheMultiplier(ImplicitLocOpBuilder &b, Value amax,
                                 Value step) {
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
  Value perCode = arith::MulFOp::create(
      b, step, arith::ConstantOp::create(b, b.getF32FloatAttr(127.0f)));
  Value m = arith::MinimumFOp::create(
      b, math::CeilOp::create(b, arith::DivFOp::create(b, amax, perCode)),
      arith::ConstantOp::create(b, b.getF32FloatAttr(255.0f)));
  return arith::SelectOp::create(
      b, arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, step, zero), m,
      zero);
}

Value qnt::emitI8CacheInverse(ImplicitLocOpBuilder &b, Value step,
                              Value multiplier) {
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
  Value scale = arith::MulFOp::create(b, step, multiplier);
  return arith::SelectOp::create(
      b, arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, scale, zero),
      arith::DivFOp::create(
          b, arith::ConstantOp::create(b, b.getF32FloatAttr(1.0f)), scale),
      zero);
}

Value qnt::emitI8CacheScale(ImplicitLocOpBuilder &b, Value halfStep,
                            Value multiplier) {
  return arith::MulFOp::create(
      b, arith::ExtFOp::create(b, b.getF32Type(), halfStep),
      arith::UIToFPOp::create(b, b.getF32Type(), multiplier));
}
