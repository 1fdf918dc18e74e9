// The kernel families of convert-qnt-to-vector that live in files of their
// own (QntToVector.cpp holds the matmul kernels and the pass).
#ifndef QNT_LIB_CONVERSION_QNTTOVECTOR_KERNELS_H
#define QNT_LIB_CONVERSION_QNTTOVECTOR_KERNELS_H

#include "qnt/IR/QntOps.h"

namespace mlir::qnt {

/// Replaces `op` (on tensors) by loops over memrefs that visit only the live
/// positions of the cache: `lanes` f32 lanes per vector (at most; the head
/// size must be a multiple of the lanes used), rows and heads as one
/// scf.parallel when `parallel`, else nested scf.for loops.
LogicalResult lowerAttentionToVector(AttentionOp op, int64_t lanes,
                                     bool parallel);

} // namespace mlir::qnt

#endif // QNT_LIB_CONVERSION_QNTTOVECTOR_KERNELS_H
