// Declarations of the qnt transformation passes (generated from Passes.td).
#ifndef QNT_TRANSFORMS_PASSES_H
#define QNT_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "qnt/IR/QntDialect.h"

namespace mlir::qnt {
#define GEN_PASS_DECL
#include "qnt/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

#endif // QNT_TRANSFORMS_PASSES_H
