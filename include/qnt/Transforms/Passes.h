// Declarations of the qnt transformation passes (generated from Passes.td).
#ifndef QNT_TRANSFORMS_PASSES_H
#define QNT_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "qnt/IR/QntDialect.h"
#include "qnt/Support/Gptq.h"
#include "qnt/Support/SchemeParameters.h"

namespace mlir::qnt {
#define GEN_PASS_DECL
#include "qnt/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qnt/Transforms/Passes.h.inc"

/// qnt-quantize-weights with method=gptq taking each layer's Hessian from
/// `hessians` (by the layer's name) instead of the file of the `hessians`
/// option (how quant-compile hands over the Hessians of its calibration
/// without writing them out), and, when `progress` is given, reporting its
/// work to it (a line at the start, every 5 s and at the end).
std::unique_ptr<Pass>
createQntQuantizeWeightsPass(const QntQuantizeWeightsPassOptions &options,
                             HessianSource hessians,
                             std::function<void(const std::string &)> progress);

/// Ranges of integer pass options (docs/COMPILING.md, "Option ranges"):
/// rows M of qnt-assign-bitwidths' predicted latency, lanes of
/// qnt-vectorize-linalg's tiles, threads of a GPU block. Code widths and
/// group sizes are in qnt/Support/SchemeParameters.h.
inline constexpr OptionRange kCostBatchRange{1, 65536};
inline constexpr OptionRange kVectorWidthRange{1, 64};
inline constexpr OptionRange kGpuBlockSizeRange{1, 1024};

/// "" when qnt-assign-bitwidths' options parse and are in range, else the
/// error naming `owner` and the option.
std::string
checkAssignBitwidthsOptions(llvm::StringRef budget, int64_t batch,
                            llvm::ArrayRef<std::string> candidates,
                            llvm::StringRef scaleType,
                            llvm::StringRef owner = "qnt-assign-bitwidths",
                            llvm::ArrayRef<std::string> formats = {});
} // namespace mlir::qnt

#endif // QNT_TRANSFORMS_PASSES_H
