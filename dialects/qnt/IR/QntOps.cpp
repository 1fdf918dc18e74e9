// Verifiers and canonicalizations of the qnt operations.
#include "qnt/IR/QntOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"
#include <cmath>

using namespace mlir;
using namespace mlir::qnt;

/// Formats a shape as [a, b, c] (dynamic dimensions as ?) for diagnostics.
static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "[";
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return out;
}

/// Checks one payload attribute of qnt.constant: its element type and shape.
static LogicalResult verifyPayload(Operation *op, StringRef name,
                                   ElementsAttr attr, Type elementType,
                                   ArrayRef<int64_t> shape,
                                   StringRef shapeReason) {
  auto type = cast<ShapedType>(attr.getType());
  if (type.getElementType() != elementType)
    return op->emitOpError() << "'" << name << "' element type "
                             << type.getElementType() << " does not match "
                             << elementType << " required by the scheme";
  if (type.getShape() != shape)
    return op->emitOpError()
           << "'" << name << "' shape " << shapeStr(type.getShape())
           << " does not match " << shapeStr(shape) << " " << shapeReason;
  return success();
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::verify() {
  PackedType type = getType();
  SchemeAttr scheme = type.getScheme();
  Operation *op = getOperation();
  std::string codesReason;
  if (type.getLayout())
    llvm::raw_string_ostream(codesReason)
        << "(bytes of " << scheme.getBits() << "-bit codes in "
        << type.getLayout() << ")";
  else
    llvm::raw_string_ostream(codesReason)
        << "(bytes of " << scheme.getBits()
        << "-bit codes, rows packed along the last dimension)";
  if (failed(verifyPayload(op, "codes", getCodes(),
                           IntegerType::get(getContext(), 8),
                           type.getCodesShape(), codesReason)))
    return failure();
  if (failed(verifyPayload(op, "scales", getScales(), scheme.getScaleType(),
                           type.getScalesShape(),
                           type.getLayout()
                               ? "(one scale per channel or group, in tiles)"
                               : "(one scale per tensor, channel or group)")))
    return failure();
  if (auto scales = dyn_cast<DenseFPElementsAttr>(getScales())) {
    for (auto [i, value] : llvm::enumerate(scales.getValues<APFloat>()))
      if (!value.isFinite())
        return emitOpError() << "scale at flat index " << i
                             << " is not finite";
  }

  std::optional<ElementsAttr> offsets = getOffsets();
  if (scheme.hasOffsets() != offsets.has_value())
    return emitOpError() << (offsets ? "only an offset scheme has 'offsets'"
                                     : "offset scheme requires 'offsets'");
  if (offsets) {
    if (failed(verifyPayload(op, "offsets", *offsets, scheme.getScaleType(),
                             type.getScalesShape(), "(one offset per scale)")))
      return failure();
    if (auto dense = dyn_cast<DenseFPElementsAttr>(*offsets))
      for (auto [i, value] : llvm::enumerate(dense.getValues<APFloat>()))
        if (!value.isFinite())
          return emitOpError() << "offset at flat index " << i
                               << " is not finite";
  }

  std::optional<ElementsAttr> zeroPoints = getZeroPoints();
  if (!scheme.hasZeroPoints()) {
    if (zeroPoints)
      return emitOpError() << stringifyMode(scheme.getMode())
                           << " scheme must not have 'zero_points'";
    return success();
  }
  if (!zeroPoints)
    return emitOpError() << "asymmetric scheme requires 'zero_points'";
  if (failed(verifyPayload(op, "zero_points", *zeroPoints,
                           type.getZeroPointType(), type.getScalesShape(),
                           "(one zero point per scale)")))
    return failure();
  if (auto dense = dyn_cast<DenseIntElementsAttr>(*zeroPoints)) {
    int64_t lo = scheme.getCodeMin(), hi = scheme.getCodeMax();
    for (auto [i, value] : llvm::enumerate(dense.getValues<APInt>())) {
      int64_t zp = scheme.isSigned() ? value.getSExtValue()
                                     : static_cast<int64_t>(value.getZExtValue());
      if (zp < lo || zp > hi)
        return emitOpError() << "zero point " << zp << " at flat index " << i
                             << " is outside the code range [" << lo << ", "
                             << hi << "]";
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizeOp / DequantizeOp
//===----------------------------------------------------------------------===//

/// Float tensor and packed tensor must describe the same logical shape.
static LogicalResult verifySameShape(Operation *op, StringRef what,
                                     RankedTensorType tensor,
                                     PackedType packed) {
  if (tensor.getShape() != packed.getShape())
    return op->emitOpError()
           << what << " shape " << shapeStr(tensor.getShape())
           << " does not match the packed shape "
           << shapeStr(packed.getShape());
  return success();
}

/// Only a matmul (and a gather, column_tiles) reads codes in a kernel
/// layout; everything else reads the row layout of docs/BIT_LAYOUT.md.
static LogicalResult verifyRowLayout(Operation *op, StringRef what,
                                     PackedType type) {
  if (type.getLayout())
    return op->emitOpError()
           << what << " must have the row layout, not " << type.getLayout()
           << " (a kernel layout is read only by the kernel it was made for)";
  return success();
}

LogicalResult QuantizeOp::verify() {
  if (failed(verifyRowLayout(*this, "result", getType())))
    return failure();
  if (!getType().getScheme().isInteger())
    return emitOpError() << "only integer formats can be quantized, not "
                         << stringifyFormat(getType().getScheme().getFormat());
  return verifySameShape(*this, "input", getInput().getType(), getType());
}

LogicalResult DequantizeOp::verify() {
  if (failed(verifyRowLayout(*this, "input", getInput().getType())))
    return failure();
  return verifySameShape(*this, "result", getResult().getType(),
                         getInput().getType());
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType result = getResult().getType();
  PackedType weight = getWeight().getType();
  SchemeAttr scheme = weight.getScheme();

  if (weight.getRank() != 2)
    return emitOpError() << "weight must be a rank-2 packed tensor [N, K], "
                            "got rank "
                         << weight.getRank();
  int64_t n = weight.getShape()[0], k = weight.getShape()[1];
  if (scheme.hasOffsets())
    return emitOpError() << "weight scheme with offsets is not supported: "
                            "qnt-fuse-dequant-matmul adds the offsets apart";
  if (scheme.getGranularity() == Granularity::per_group &&
      scheme.getAxis() != 1)
    return emitOpError() << "per_group scales of the weight must run along K "
                            "(axis 1), not axis "
                         << scheme.getAxis();
  if (scheme.getGranularity() == Granularity::per_channel &&
      scheme.getAxis() != 0)
    return emitOpError() << "per_channel scales of the weight must be per "
                            "output channel (axis 0), not axis "
                         << scheme.getAxis();
  if (input.getRank() < 1)
    return emitOpError() << "input must have rank >= 1";
  if (result.getRank() != input.getRank())
    return emitOpError() << "result rank " << result.getRank()
                         << " does not match input rank " << input.getRank();
  int64_t inputK = input.getShape().back();
  if (ShapedType::isDynamic(inputK))
    return emitOpError() << "input reduction dimension K must be static";
  if (inputK != k)
    return emitOpError() << "input K = " << inputK
                         << " does not match weight K = " << k;
  if (result.getShape().back() != n)
    return emitOpError() << "result has " << shapeStr(result.getShape())
                         << " but the weight has N = " << n
                         << " rows; the last result dimension must be N";
  for (int64_t i = 0, e = input.getRank() - 1; i < e; ++i)
    if (input.getDimSize(i) != result.getDimSize(i))
      return emitOpError() << "result shape " << shapeStr(result.getShape())
                           << " does not match input shape "
                           << shapeStr(input.getShape()) << " in dimension "
                           << i;
  if (result.getElementType() != input.getElementType())
    return emitOpError() << "result element type " << result.getElementType()
                         << " differs from input element type "
                         << input.getElementType();
  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || biasType.getDimSize(0) != n)
      return emitOpError() << "bias shape " << shapeStr(biasType.getShape())
                           << " must be [" << n << "] (N)";
    if (biasType.getElementType() != result.getElementType())
      return emitOpError() << "bias element type "
                           << biasType.getElementType()
                           << " differs from result element type "
                           << result.getElementType();
  }
  return success();
}

namespace {
/// Adding a bias of +0.0 everywhere changes no result bit: x + 0.0 == x for
/// every x but -0.0, and the accumulation is defined to start from +0.0, so a
/// result is never -0.0. The operand is dropped.
struct DropZeroBias final : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getBias() || !matchPattern(op.getBias(), m_PosZeroFloat()))
      return rewriter.notifyMatchFailure(op, "bias is not a +0.0 splat");
    rewriter.replaceOpWithNewOp<MatmulOp>(op, op.getType(), op.getInput(),
                                          op.getWeight(), Value());
    return success();
  }
};
} // namespace

void MatmulOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<DropZeroBias>(context);
}

#define GET_OP_CLASSES
#include "qnt/IR/QntOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Dot4I8Op, Dot2I8Op, SumPairsI16Op, Lookup16Op
//===----------------------------------------------------------------------===//

/// Checks that the operands of a dot product op have one length n, a multiple
/// of `width`, and that `result` has n / width lanes.
static LogicalResult verifyLaneSums(Operation *op, VectorType a, VectorType b,
                                    VectorType result, int64_t width) {
  int64_t n = a.getNumElements();
  if (b.getNumElements() != n)
    return op->emitOpError() << "operands have " << n << " and "
                             << b.getNumElements()
                             << " elements; they must match";
  if (n % width != 0)
    return op->emitOpError() << "operands have " << n
                             << " elements, not a multiple of " << width;
  if (result.getNumElements() != n / width)
    return op->emitOpError() << "result has " << result.getNumElements()
                             << " elements; " << n << " operand elements give "
                             << n / width;
  return success();
}

LogicalResult Dot4I8Op::verify() {
  if (Value acc = getAcc(); acc && acc.getType() != getResult().getType())
    return emitOpError() << "accumulator type " << acc.getType()
                         << " must equal the result type "
                         << getResult().getType();
  return verifyLaneSums(*this, getA().getType(), getB().getType(),
                        getResult().getType(), 4);
}

LogicalResult Dot2I8Op::verify() {
  return verifyLaneSums(*this, getA().getType(), getB().getType(),
                        getResult().getType(), 2);
}

LogicalResult SumPairsI16Op::verify() {
  return verifyLaneSums(*this, getA().getType(), getA().getType(),
                        getResult().getType(), 2);
}

int64_t mlir::qnt::getLookupLanes(LookupIsa lookup) {
  return lookup == LookupIsa::avx512 ? 16 : lookup == LookupIsa::avx2 ? 8 : 1;
}

LogicalResult Lookup16Op::verify() {
  if (getLookup() == LookupIsa::float_bits)
    return emitOpError() << "lookup float_bits decodes fp8 codes; a table "
                            "lookup takes generic, avx2 or avx512";
  if (getTable().size() != 16)
    return emitOpError() << "table has " << getTable().size()
                         << " values; it must have 16";
  int64_t n = getIndices().getType().getNumElements();
  if (getResult().getType().getNumElements() != n)
    return emitOpError() << "result has "
                         << getResult().getType().getNumElements()
                         << " lanes; the indices have " << n;
  bool bytes = getIndices().getType().getElementType().isInteger(8);
  if (bytes != getResult().getType().getElementType().isInteger(8))
    return emitOpError() << "takes i32 indices to f32 values or i8 indices "
                            "to i8 values";
  if (bytes) {
    for (float v : getTable())
      if (v != std::nearbyint(v) || v < -128 || v > 127)
        return emitOpError() << "table value " << v
                             << " of an i8 lookup is not an integer in "
                                "[-128, 127]";
    if (getLookup() != LookupIsa::generic && n % 16 != 0)
      return emitOpError() << "lookup " << stringifyLookupIsa(getLookup())
                           << " of bytes takes a multiple of 16 lanes, not "
                           << n;
    return success();
  }
  int64_t step = getLookupLanes(getLookup());
  if (n % step != 0)
    return emitOpError() << "lookup " << stringifyLookupIsa(getLookup())
                         << " takes a multiple of " << step
                         << " lanes, not " << n;
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

/// Checks that a cache operand or result `type` [., kv heads, row] holds
/// rows of `headSize` values in `format` (f32, f16).
static LogicalResult verifyCacheRows(Operation *op, StringRef name,
                                     RankedTensorType type, CacheFormat format,
                                     int64_t headSize) {
  Type element = getCacheElementType(format, op->getContext());
  int64_t row = getCacheRowSize(format, headSize);
  if (type.getElementType() != element || type.getDimSize(2) != row)
    return op->emitOpError()
           << name << " " << type << " must hold rows of " << row << " x "
           << element << " (head size " << headSize << " in the "
           << stringifyCacheFormat(format) << " cache format)";
  return success();
}

/// Checks the block and window of an i4 cache and the head size it splits
/// into nibbles.
static LogicalResult verifyCacheBlock(Operation *op, int64_t block,
                                      int64_t window, int64_t headSize) {
  if (!isValidCacheBlock(block))
    return op->emitOpError() << "cache block " << block
                             << " must be a power of two from 8 to 256";
  if (!isValidCacheWindow(window, block))
    return op->emitOpError() << "cache window " << window
                             << " must be a multiple of the block " << block
                             << " from " << block << " to 4096";
  if (headSize < 2 || headSize % 2 != 0)
    return op->emitOpError() << "head size " << headSize
                             << " must be even and positive for 4-bit cache "
                                "codes";
  return success();
}

/// Checks that `type` is a kv head's window-form rows [KvH, T * (D + 2)]
/// (qnt.pack_window_rows) for `tokens` tokens (dynamic: any).
static LogicalResult verifyWindowRows(Operation *op, StringRef name,
                                      Type type, int64_t kvHeads,
                                      int64_t headSize, int64_t tokens) {
  auto rows = dyn_cast_if_present<RankedTensorType>(type);
  int64_t slot = headSize + 2;
  bool fits = rows && rows.getRank() == 2 &&
              rows.getDimSize(0) == kvHeads &&
              rows.getElementType().isInteger(8);
  if (fits && !rows.isDynamicDim(1))
    fits = rows.getDimSize(1) % slot == 0 &&
           (ShapedType::isDynamic(tokens) ||
            rows.getDimSize(1) == tokens * slot);
  if (!fits)
    return op->emitOpError()
           << name << " must be [" << kvHeads << ", tokens * " << slot
           << "] x i8 (the rows in window form, qnt.pack_window_rows)";
  return success();
}

/// The i4 parts of an attention: the block, the window, the caches' bytes,
/// the recent rows.
static LogicalResult verifyKiviOperands(AttentionOp op, RankedTensorType query,
                                        RankedTensorType keys,
                                        RankedTensorType values) {
  std::optional<int64_t> block = op.getCacheBlock();
  std::optional<int64_t> window = op.getCacheWindow();
  if (!block || !window)
    return op.emitOpError() << "an i4 cache needs a cache_block and a "
                               "cache_window";
  int64_t headSize = query.getDimSize(2);
  if (failed(verifyCacheBlock(op, *block, *window, headSize)))
    return failure();
  I4CacheLayout layout{*block, *window, headSize};
  if (keys != values || keys.getRank() != 2 || !keys.hasStaticShape() ||
      !keys.getElementType().isInteger(8) ||
      !layout.positionsOf(keys.getDimSize(1)))
    return op.emitOpError()
           << "keys " << keys << " and values " << values
           << " must both be [kv heads, blocks * "
           << layout.blockBytes() << " + " << layout.windowBytes()
           << "] x i8 (blocks of " << *block << " positions and a window of "
           << *window << ", head size " << headSize << ")";
  if (!op.getRecentKeys() || !op.getRecentValues())
    return op.emitOpError() << "an i4 cache needs recent_keys and "
                               "recent_values (the rows in window form)";
  int64_t kvHeads = keys.getDimSize(0);
  if (failed(verifyWindowRows(op, "recent keys",
                              op.getRecentKeys().getType(), kvHeads,
                              headSize, query.getDimSize(0))) ||
      failed(verifyWindowRows(op, "recent values",
                              op.getRecentValues().getType(), kvHeads,
                              headSize, query.getDimSize(0))))
    return failure();
  return success();
}

int64_t AttentionOp::getKvHeads() {
  auto values = cast<RankedTensorType>(getValues().getType());
  if (getCache() == CacheFormat::i8)
    return I8PositionLayout::kvHeadsOf(
        values.getDimSize(1),
        cast<RankedTensorType>(getQuery().getType()).getDimSize(2));
  if (getCache() == CacheFormat::i4)
    return values.getDimSize(0);
  return values.getDimSize(1);
}

int64_t AttentionOp::getCachePositions() {
  auto values = cast<RankedTensorType>(getValues().getType());
  if (getCache() != CacheFormat::i4)
    return values.getDimSize(0);
  int64_t headSize =
      cast<RankedTensorType>(getQuery().getType()).getDimSize(2);
  return I4CacheLayout{static_cast<int64_t>(*getCacheBlock()),
                       static_cast<int64_t>(*getCacheWindow()), headSize}
      .positionsOf(values.getDimSize(1));
}

LogicalResult AttentionOp::verify() {
  auto query = cast<RankedTensorType>(getQuery().getType());
  auto keys = cast<RankedTensorType>(getKeys().getType());
  auto values = cast<RankedTensorType>(getValues().getType());
  bool kivi = getCache() == CacheFormat::i4;
  bool positions = getCache() == CacheFormat::i8;
  auto check = [&](StringRef name, RankedTensorType type,
                   StringRef what) -> LogicalResult {
    if (type.getRank() != 3)
      return emitOpError() << name << " must be " << what << ", got rank "
                           << type.getRank();
    if (ShapedType::isDynamic(type.getDimSize(1)) ||
        ShapedType::isDynamic(type.getDimSize(2)))
      return emitOpError() << name << " " << shapeStr(type.getShape())
                           << " must have static head counts and head size";
    return success();
  };
  if (failed(check("query", query, "[T, heads, head size]")) ||
      (!kivi && !positions &&
       (failed(check("keys", keys, "[positions, kv heads, row]")) ||
        failed(check("values", values, "[positions, kv heads, row]")))))
    return failure();
  int64_t heads = query.getDimSize(1), headSize = query.getDimSize(2);
  if (!kivi && (getCacheBlock() || getCacheWindow() || getRecentKeys() ||
                getRecentValues()))
    return emitOpError() << "cache_block, cache_window and the recent rows "
                            "belong to an i4 cache only";
  int64_t kvHeads = 0;
  if (kivi) {
    // [kv heads, bytes] per cache.
    if (failed(verifyKiviOperands(*this, query, keys, values)))
      return failure();
    kvHeads = getKvHeads();
  } else if (positions) {
    // An i8 cache's records [positions, kv heads * (D + 1) + 2].
    if (values.getRank() == 2 && !ShapedType::isDynamic(values.getDimSize(1)))
      kvHeads = getKvHeads();
    if (!kvHeads || !values.getElementType().isInteger(8))
      return emitOpError() << "keys " << values << " must be [positions, kv "
                           << "heads * " << headSize + 1
                           << " + 2] x i8 (head size " << headSize
                           << " in the i8 cache format)";
  }
  if (!kivi && keys != values)
    return emitOpError() << "keys " << keys << " and values " << values
                         << " must have the same type";
  if (!kivi && ShapedType::isDynamic(values.getDimSize(0)))
    return emitOpError() << "the cache must have a static number of positions";
  if (!kivi && !positions) {
    kvHeads = values.getDimSize(1);
    if (failed(verifyCacheRows(*this, "keys", values, getCache(), headSize)))
      return failure();
  }
  if (kvHeads < 1 || headSize < 1)
    return emitOpError() << "needs at least one kv head and a head size of "
                            "at least 1, not "
                         << kvHeads << " kv heads of " << headSize;
  if (heads % kvHeads != 0)
    return emitOpError() << heads << " query heads are not a multiple of "
                         << kvHeads << " kv heads";
  if (getResult().getType() != query)
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal the query type " << query;
  if (!std::isfinite(getScale().convertToFloat()))
    return emitOpError() << "scale must be finite";
  auto kernel = (*this)->getAttrOfType<KernelAttr>(kKernelAttrName);
  if (!kernel)
    return success();
  // A decoding step's kernel takes tile = RxH's H query heads of one
  // key-value head together.
  if ((heads / kvHeads) % kernel.getTileCols() != 0)
    return emitOpError() << "kernel tile = " << kernel.getTileRows() << "x"
                         << kernel.getTileCols() << " takes "
                         << kernel.getTileCols()
                         << " query heads of a kv head together, which "
                            "does not divide the "
                         << heads / kvHeads << " it has";
  // An i4 cache's rows each read the positions before their own window
  // start from 4-bit blocks: they go as separate chains, not in lanes.
  if (getCache() == CacheFormat::i4 && kernel.attentionRowsInLanes())
    return emitOpError() << "kernel tile = " << kernel.getTileRows() << "x"
                         << kernel.getTileCols()
                         << " puts the query rows in the lanes, which an i4 "
                            "cache does not take (at most 8 rows, fewer "
                            "than the lanes)";
  return success();
}

//===----------------------------------------------------------------------===//
// GatherRowsOp
//===----------------------------------------------------------------------===//

LogicalResult GatherRowsOp::verify() {
  PackedType table = getTable().getType();
  // A tied classifier's table is read in its column kernel's layout.
  if (!table.getLayout() ||
      table.getLayout().getKind() != CodeLayoutKind::column_tiles)
    if (failed(verifyRowLayout(*this, "table", table)))
      return failure();
  auto ids = cast<RankedTensorType>(getIds().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (table.getRank() != 2)
    return emitOpError() << "table must be a packed matrix [rows, K], got rank "
                         << table.getRank();
  if (result.getRank() != 2 || result.getDimSize(0) != ids.getDimSize(0) ||
      result.getDimSize(1) != table.getShape()[1])
    return emitOpError() << "result " << shapeStr(result.getShape())
                         << " must be [ids, K] = ["
                         << (ids.isDynamicDim(0)
                                 ? std::string("?")
                                 : std::to_string(ids.getDimSize(0)))
                         << ", " << table.getShape()[1] << "]";
  return success();
}

//===----------------------------------------------------------------------===//
// PackCacheRowsOp
//===----------------------------------------------------------------------===//

LogicalResult PackCacheRowsOp::verify() {
  auto rows = cast<RankedTensorType>(getRows().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  bool positions = getFormat() == CacheFormat::i8;
  if (getFormat() == CacheFormat::i4)
    return emitOpError() << "an i4 cache is written by qnt.pack_window_rows "
                            "and qnt.pack_cache_blocks, not in rows";
  if (rows.getRank() != 3)
    return emitOpError() << "rows must be [tokens, kv heads, head size], got "
                            "rank "
                         << rows.getRank();
  if (ShapedType::isDynamic(rows.getDimSize(1)) ||
      ShapedType::isDynamic(rows.getDimSize(2)))
    return emitOpError() << "rows must have static kv heads and head size";
  if (!positions && result.getRank() != 3)
    return emitOpError() << "result must be [tokens, kv heads, row], got "
                            "rank "
                         << result.getRank();
  if (result.getRank() < 2 || rows.getDimSize(0) != result.getDimSize(0) ||
      (!positions && rows.getDimSize(1) != result.getDimSize(1)))
    return emitOpError() << "result " << shapeStr(result.getShape())
                         << " must have the tokens"
                         << (positions ? "" : " and heads") << " of the rows "
                         << shapeStr(rows.getShape());
  if (positions) {
    int64_t bytes =
        I8PositionLayout{rows.getDimSize(1), rows.getDimSize(2)}.bytes();
    if (result.getRank() != 2 || !result.getElementType().isInteger(8) ||
        result.getDimSize(1) != bytes)
      return emitOpError()
             << "result " << result << " must be [tokens, " << bytes
             << "] x i8 (" << rows.getDimSize(1) << " kv heads of "
             << rows.getDimSize(2)
             << " in the i8 cache format: codes, multipliers, f16 step)";
    return success();
  }
  return verifyCacheRows(*this, "result", result, getFormat(),
                         rows.getDimSize(2));
}

//===----------------------------------------------------------------------===//
// PackWindowRowsOp, PackCacheBlocksOp
//===----------------------------------------------------------------------===//

LogicalResult PackWindowRowsOp::verify() {
  auto rows = cast<RankedTensorType>(getRows().getType());
  if (rows.getRank() != 3 || rows.isDynamicDim(1) || rows.isDynamicDim(2) ||
      rows.getDimSize(2) < 1)
    return emitOpError()
           << "rows " << rows
           << " must be [tokens, kv heads, head size] with static heads";
  return verifyWindowRows(*this, "result", getResult().getType(),
                          rows.getDimSize(1), rows.getDimSize(2),
                          rows.getDimSize(0));
}

int64_t PackCacheBlocksOp::getHeadSize() {
  auto window = cast<RankedTensorType>(getOldWindow().getType());
  return window.getDimSize(1) / getWindow() - 2;
}

LogicalResult PackCacheBlocksOp::verify() {
  auto window = cast<RankedTensorType>(getOldWindow().getType());
  int64_t block = getBlock(), slots = getWindow();
  if (!isValidCacheBlock(block) || !isValidCacheWindow(slots, block))
    return emitOpError() << "block " << block << " and window " << slots
                         << " must be a power of two from 8 to 256 and a "
                            "multiple of it from one block to 4096";
  if (window.getRank() != 2 || !window.hasStaticShape() ||
      window.getDimSize(1) % slots != 0 || window.getDimSize(1) / slots < 4)
    return emitOpError() << "window " << window << " must be [kv heads, "
                         << slots << " * (head size + 2)] x i8";
  int64_t headSize = getHeadSize();
  if (failed(verifyCacheBlock(*this, block, slots, headSize)) ||
      failed(verifyWindowRows(*this, "recent", getRecent().getType(),
                              window.getDimSize(0), headSize,
                              ShapedType::kDynamic)))
    return failure();
  auto result = cast<RankedTensorType>(getResult().getType());
  I4CacheLayout layout{block, slots, headSize};
  if (result.getRank() != 2 || result.getDimSize(0) != window.getDimSize(0) ||
      (!result.isDynamicDim(1) &&
       result.getDimSize(1) % layout.blockBytes() != 0))
    return emitOpError() << "result " << result << " must be ["
                         << window.getDimSize(0) << ", blocks * "
                         << layout.blockBytes() << "] x i8";
  return success();
}
