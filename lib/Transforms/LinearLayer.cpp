// Recognition of linear layers among linalg contractions.
#include "qnt/Transforms/LinearLayer.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace mlir::qnt;

static std::optional<unsigned> dimPosition(AffineExpr expr) {
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return dim.getPosition();
  return std::nullopt;
}

FailureOr<LinearLayer> mlir::qnt::matchLinearLayer(linalg::LinalgOp op,
                                                   unsigned weightIndex) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics() || weightIndex > 1)
    return failure();
  if (!linalg::isaContractionOpInterface(op))
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
