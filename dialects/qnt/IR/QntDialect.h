// The qnt dialect class and the names of its discardable attributes.
#ifndef QNT_IR_QNTDIALECT_H
#define QNT_IR_QNTDIALECT_H

#include "mlir/IR/Dialect.h"

#include "qnt/IR/QntDialect.h.inc"

namespace mlir::qnt {
/// The discardable attributes of the qnt dialect, checked by
/// QntDialect::verifyOperationAttribute (docs/DESIGN.md, "Attributes").
/// #qnt.target (a CPU) or #qnt.gpu_target (a GPU) on the module: the
/// machine the kernels are chosen for.
inline constexpr llvm::StringLiteral kTargetAttrName = "qnt.target";
/// #qnt.kernel on a qnt.matmul or qnt.attention: its CPU kernel; or
/// #qnt.gpu_kernel on a qnt.matmul: its GPU kernels.
inline constexpr llvm::StringLiteral kKernelAttrName = "qnt.kernel";
/// #qnt.scheme on a linear layer: the scheme qnt-assign-bitwidths chose,
/// which qnt-quantize-weights applies.
inline constexpr llvm::StringLiteral kSchemeAttrName = "qnt.scheme";
/// i64 on a module: the positions of its KV cache where the cache's type
/// does not show them (an i4 cache); qnt-quantize-kv-cache sets it and the
/// library exports it as qnt_context (qnt/Abi/LibraryAbi.h).
inline constexpr llvm::StringLiteral kContextAttrName = "qnt.context";
/// Unit: a linear layer that stays in float.
inline constexpr llvm::StringLiteral kKeepFloatAttrName = "qnt.keep_float";
/// Unit: a linalg op qnt-vectorize-linalg is vectorizing (inside the pass).
inline constexpr llvm::StringLiteral kVectorizeTileAttrName =
    "qnt.vectorize_tile";
} // namespace mlir::qnt

#endif // QNT_IR_QNTDIALECT_H
