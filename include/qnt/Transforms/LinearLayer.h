// Recognition of linear layers (y = x * W^T) among linalg contractions.
#ifndef QNT_TRANSFORMS_LINEARLAYER_H
#define QNT_TRANSFORMS_LINEARLAYER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "qnt/Support/Quantizer.h"
#include <string>
#include <vector>

namespace mlir::qnt {

/// A contraction of two operands in which one, the weight, is a rank-2 tensor
/// indexed by exactly one reduction loop (K) and one parallel loop that only
/// the weight and the output use (N). Named ops (matmul in any transposed
/// form, batch_matmul with a broadcast weight, matvec, vecmat) and
/// linalg.generic contractions all qualify; the body must be a multiply-add.
struct LinearLayer {
  linalg::LinalgOp op;
  /// Input operand numbers of the weight and of the activation x.
  unsigned weightIndex;
  unsigned inputIndex;
  /// True when the weight tensor is stored [K, N] rather than [N, K].
  bool weightIsKN;
  int64_t n;
  int64_t k;
  /// True when x has K as its innermost dimension and the output has N as
  /// its innermost and x's other dimensions, in order, before it: exactly the
  /// [..., M, K] x [N, K] -> [..., M, N] shape of qnt.matmul.
  bool matchesQntMatmul;
};

/// Recognizes `op` as a linear layer whose weight is input operand
/// `weightIndex`. Fails (with a reason, for debugging) otherwise.
FailureOr<LinearLayer> matchLinearLayer(linalg::LinalgOp op,
                                        unsigned weightIndex);

/// A linear layer whose weight is a float arith.constant, possibly widened
/// by one arith.extf (an f16/bf16 checkpoint tensor, read in place).
struct ConstantLinearLayer {
  LinearLayer layer;
  arith::ConstantOp weight;
  /// The arith.extf between the constant and the layer, or null.
  arith::ExtFOp widen;
  /// The layer's name: its NameLoc ("layers.3.w1") if it has one, else "".
  std::string name;
};

/// Every linear layer with a constant weight in `module`, in program order.
SmallVector<ConstantLinearLayer> findConstantLinearLayers(Operation *module);

/// The weight of `layer` as rows [N, K] of f32. f32 payloads in [N, K] are
/// read in place (resource blobs are not copied); other layouts and element
/// types (f16 and bf16 resource blobs too) are converted into `owned`.
/// Returns "" or what is wrong.
std::string readWeightRows(const ConstantLinearLayer &layer,
                           std::vector<float> &owned, const float *&rows);

/// The scale element type named by a pass option ("f32", "f16", "bf16"), or
/// null for anything else.
Type parseScaleType(MLIRContext *context, StringRef name);

/// The quantizer's storage format for scales of element type `type`.
ScaleFormat scaleFormatOf(Type type);

} // namespace mlir::qnt

#endif // QNT_TRANSFORMS_LINEARLAYER_H
