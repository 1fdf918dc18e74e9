// The GPU kernels of every qnt.matmul, as a #qnt.gpu_kernel attribute, from
// qnt-select-kernels' GPU options and the module's #qnt.gpu_target; and the
// GPU target a pipeline compiles for.
#include "GpuKernels.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::qnt;

std::optional<int64_t> gpu_kernels::staticRowsOfX(MatmulOp op) {
  auto type = cast<RankedTensorType>(op.getInput().getType());
  int64_t rows = 1;
  for (int64_t size : type.getShape().drop_back()) {
    if (ShapedType::isDynamic(size))
      return std::nullopt;
    rows *= size;
  }
  return rows;
}

std::string
qnt::checkGpuKernelOptions(StringRef owner,
                           const QntSelectKernelsPassOptions &options) {
  OptionRange rows{1, GpuKernelAttr::kMaxGemvRows};
  for (auto [i, value] : llvm::enumerate(options.gpuGemvRows)) {
    if (std::string error = rows.check(owner, "gpu-gemv-rows", value);
        !error.empty())
      return error;
    if (i && value <= options.gpuGemvRows[i - 1])
      return (owner + " option gpu-gemv-rows must be increasing").str();
  }
  // 0 (from the target) is in range; the others are checked.
  for (auto [name, value, range] :
       {std::make_tuple("gpu-warps", options.gpuWarps,
                        OptionRange{1, GpuKernelAttr::kMaxWarps}),
        std::make_tuple("gpu-rows-per-warp", options.gpuRowsPerWarp,
                        OptionRange{1, GpuKernelAttr::kMaxRowsPerWarp})})
    if (value != 0)
      if (std::string error = range.check(owner, name, value); !error.empty())
        return error + " (or 0: from the target)";
  return "";
}

namespace {
/// The GEMVs a matmul may get: their rows of x and block shape.
struct GemvChoice {
  SmallVector<int64_t> rows;
  int64_t warps, rowsPerWarp;
};
} // namespace

/// The options with what `target` implies where they are left open. sm_80
/// and sm_90 get the same GEMVs: 1, 2, 4 and 8 rows of x, blocks of 4 warps
/// of 2 weight rows each (docs/GPU.md; no GPU has measured another choice).
static GemvChoice resolveGemvChoice(const QntSelectKernelsPassOptions &options,
                                    GpuTargetAttr) {
  GemvChoice choice{SmallVector<int64_t>(options.gpuGemvRows.begin(),
                                         options.gpuGemvRows.end()),
                    options.gpuWarps, options.gpuRowsPerWarp};
  if (choice.rows.empty())
    choice.rows = {1, 2, 4, 8};
  if (!choice.warps)
    choice.warps = 4;
  if (!choice.rowsPerWarp)
    choice.rowsPerWarp = 2;
  return choice;
}

/// The kernels of `op`: for a static M, the first GEMV that holds M, else
/// the GEMM alone; for a dynamic M, every GEMV and the GEMM for the rest.
static GpuKernelAttr selectGpuKernel(MatmulOp op, const GemvChoice &gemv) {
  MLIRContext *ctx = op.getContext();
  constexpr int64_t tile = GpuKernelAttr::kGemmTile;
  std::optional<int64_t> m = gpu_kernels::staticRowsOfX(op);
  if (!m)
    return GpuKernelAttr::get(ctx, ArrayRef<int64_t>(gemv.rows), gemv.warps,
                              gemv.rowsPerWarp,
                              tile, tile, tile);
  for (int64_t rows : gemv.rows)
    if (*m <= rows)
      return GpuKernelAttr::get(ctx, {rows}, gemv.warps, gemv.rowsPerWarp, 0,
                                0, 0);
  return GpuKernelAttr::get(ctx, {}, 0, 0, tile, tile, tile);
}

void qnt::selectGpuKernels(ModuleOp module, GpuTargetAttr target,
                           const QntSelectKernelsPassOptions &options) {
  GemvChoice gemv = resolveGemvChoice(options, target);
  module.walk([&](MatmulOp op) {
    if (!op->hasAttr(kKernelAttrName))
      op->setAttr(kKernelAttrName, selectGpuKernel(op, gemv));
  });
}

LogicalResult qnt::setGpuTarget(ModuleOp module, StringRef chip) {
  auto target = GpuTargetAttr::get(module.getContext(), chip);
  Attribute present = module->getAttr(kTargetAttrName);
  if (!present) {
    module->setAttr(kTargetAttrName, target);
    return success();
  }
  if (present != target)
    return module.emitError()
           << "the module's target " << present << " is not the pipeline's "
           << target;
  return success();
}
