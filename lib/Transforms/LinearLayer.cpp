// Recognition of linear layers among linalg contractions.
#include "qnt/Transforms/LinearLayer.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/IR/QntAttrs.h"
#include <cstring>

using namespace mlir;
using namespace mlir::qnt;

static std::optional<unsigned> dimPosition(AffineExpr expr) {
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return dim.getPosition();
  return std::nullopt;
}

/// `value` without the one element type cast (extf, truncf, sitofp, uitofp)
/// that named ops put on an input of another element type.
static Value skipInputCast(Value value) {
  Operation *def = value.getDefiningOp();
  if (isa_and_nonnull<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp,
                      arith::UIToFPOp>(def))
    return def->getOperand(0);
  return value;
}

/// True when `body` computes exactly `out + in0 * in1` (either operand order,
/// inputs possibly cast) and nothing else. isaContractionOpInterface is
/// looser: it looks through any pure unary op, so `out + x * -w` and
/// `out + x * exp(w)` pass it, and neither is a linear layer.
static bool isMulAddBody(Block &body) {
  if (body.getNumArguments() != 3)
    return false;
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().size() != 1)
    return false;
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2), product;
  if (add.getLhs() == acc)
    product = add.getRhs();
  else if (add.getRhs() == acc)
    product = add.getLhs();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = skipInputCast(mul.getLhs()), b = skipInputCast(mul.getRhs());
  Value in0 = body.getArgument(0), in1 = body.getArgument(1);
  if (!((a == in0 && b == in1) || (a == in1 && b == in0)))
    return false;
  // Nothing but yield, add, mul and the casts just looked through.
  size_t expected = 3 + (a != mul.getLhs()) + (b != mul.getRhs());
  return body.getOperations().size() == expected;
}

FailureOr<LinearLayer> mlir::qnt::matchLinearLayer(linalg::LinalgOp op,
                                                   unsigned weightIndex) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics() || weightIndex > 1)
    return failure();
  if (!linalg::isaContractionOpInterface(op) || !isMulAddBody(*op.getBlock()))
    return failure();

  OpOperand *weight = op.getDpsInputOperand(weightIndex);
  OpOperand *input = op.getDpsInputOperand(1 - weightIndex);
  OpOperand *output = op.getDpsInitOperand(0);
  auto weightType = dyn_cast<RankedTensorType>(weight->get().getType());
  if (!weightType || weightType.getRank() != 2 ||
      !weightType.hasStaticShape() ||
      !isa<FloatType>(weightType.getElementType()))
    return failure();

  AffineMap wMap = op.getMatchingIndexingMap(weight);
  AffineMap xMap = op.getMatchingIndexingMap(input);
  AffineMap outMap = op.getMatchingIndexingMap(output);
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (llvm::count(iterators, utils::IteratorType::reduction) != 1)
    return failure();

  std::optional<unsigned> kPos, nPos;
  bool weightIsKN = false;
  for (unsigned r = 0; r < 2; ++r) {
    std::optional<unsigned> d = dimPosition(wMap.getResult(r));
    if (!d)
      return failure();
    if (iterators[*d] == utils::IteratorType::reduction) {
      kPos = r;
      weightIsKN = r == 0;
      if (!xMap.isFunctionOfDim(*d) || outMap.isFunctionOfDim(*d))
        return failure();
    } else {
      nPos = r;
      if (xMap.isFunctionOfDim(*d) || !outMap.isFunctionOfDim(*d))
        return failure();
    }
  }
  if (!kPos || !nPos)
    return failure();

  LinearLayer layer;
  layer.op = op;
  layer.weightIndex = weightIndex;
  layer.inputIndex = 1 - weightIndex;
  layer.weightIsKN = weightIsKN;
  layer.n = weightType.getDimSize(*nPos);
  layer.k = weightType.getDimSize(*kPos);

  // qnt.matmul computes [..., M, K] x [N, K] -> [..., M, N].
  unsigned kDim = *dimPosition(wMap.getResult(*kPos));
  unsigned nDim = *dimPosition(wMap.getResult(*nPos));
  ArrayRef<AffineExpr> xs = xMap.getResults(), outs = outMap.getResults();
  layer.matchesQntMatmul =
      !xs.empty() && xs.size() == outs.size() &&
      dimPosition(xs.back()) == kDim && dimPosition(outs.back()) == nDim &&
      llvm::equal(xs.drop_back(), outs.drop_back());
  return layer;
}

/// The name carried by a NameLoc, possibly inside a FusedLoc.
static std::string locationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto name = dyn_cast<NameLoc>(inner))
        return name.getName().str();
  return "";
}

SmallVector<ConstantLinearLayer>
mlir::qnt::findConstantLinearLayers(Operation *module) {
  SmallVector<ConstantLinearLayer> layers;
  module->walk([&](linalg::LinalgOp op) {
    for (unsigned w : {1u, 0u}) {
      FailureOr<LinearLayer> layer = matchLinearLayer(op, w);
      if (failed(layer))
        continue;
      Value weight = op.getDpsInputOperand(w)->get();
      auto widen = weight.getDefiningOp<arith::ExtFOp>();
      if (widen)
        weight = widen.getIn();
      auto constant = weight.getDefiningOp<arith::ConstantOp>();
      if (!constant)
        continue;
      layers.push_back({*layer, constant, widen, locationName(op.getLoc())});
      return;
    }
  });
  return layers;
}

std::string mlir::qnt::readWeightRows(const ConstantLinearLayer &c,
                                      std::vector<float> &owned,
                                      const float *&rows) {
  arith::ConstantOp weight = c.weight;
  auto attr = cast<ElementsAttr>(weight.getValue());
  auto type = cast<ShapedType>(attr.getType());
  int64_t n = c.layer.n, k = c.layer.k;
  const float *data = nullptr;
  std::vector<float> converted;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return "its resource blob '" + resource.getRawHandle().getKey().str() +
             "' is missing";
    Type elem = type.getElementType();
    if (!elem.isF32() && !elem.isF16() && !elem.isBF16())
      return "resource weights must be f32, f16 or bf16";
    int64_t width = elem.isF32() ? 4 : 2;
    ArrayRef<char> bytes = blob->getData();
    if (bytes.size() != static_cast<size_t>(n * k * width))
      return "its resource blob has " + std::to_string(bytes.size()) +
             " bytes, not the " + std::to_string(n * k * width) +
             " its type needs";
    if (elem.isF32()) {
      data = reinterpret_cast<const float *>(bytes.data());
    } else {
      converted.resize(n * k);
      for (int64_t i = 0; i < n * k; ++i) {
        uint16_t bits;
        std::memcpy(&bits, bytes.data() + 2 * i, 2);
        converted[i] =
            elem.isF16() ? floatFromHalfBits(bits) : floatFromBf16Bits(bits);
      }
      data = converted.data();
    }
  } else if (auto dense = dyn_cast<DenseFPElementsAttr>(attr)) {
    if (type.getElementType().isF32() && !dense.isSplat()) {
      data = reinterpret_cast<const float *>(dense.getRawData().data());
    } else {
      converted.reserve(n * k);
      for (APFloat v : dense.getValues<APFloat>()) {
        bool lost;
        v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
        converted.push_back(v.convertToFloat());
      }
      data = converted.data();
    }
  } else {
    return "its value is neither dense nor a resource blob";
  }
  if (!c.layer.weightIsKN) {
    if (!converted.empty()) {
      owned = std::move(converted);
      data = owned.data();
    }
    rows = data;
    return "";
  }
  // A [K, N] weight is transposed into rows of K.
  owned.assign(n * k, 0.0f);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      owned[j * k + i] = data[i * n + j];
  rows = owned.data();
  return "";
}

Type mlir::qnt::parseScaleType(MLIRContext *context, StringRef name) {
  std::optional<ScaleFormat> format = parseScaleFormat(name);
  // The fp4 formats' block scales come with the format, not by name.
  if (!format || *format == ScaleFormat::F8E8M0 ||
      *format == ScaleFormat::F8E4M3)
    return {};
  return getScaleType(context, *format);
}

ScaleFormat mlir::qnt::scaleFormatOf(Type type) {
  return getScaleFormat(type).value_or(ScaleFormat::F32);
}
