// qnt-gpu-parallel-loops: the linalg ops and copies of a bufferized function
// as scf.parallel loops, tiled so GPU blocks get `block-size` threads.
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTGPUPARALLELLOOPSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

namespace {
struct GpuParallelLoops final
    : qnt::impl::QntGpuParallelLoopsPassBase<GpuParallelLoops> {
  using Base::Base;
  LogicalResult initialize(MLIRContext *context) override {
    if (std::string error = qnt::kGpuBlockSizeRange.check(
            "qnt-gpu-parallel-loops", "block-size", blockSize);
        !error.empty())
      return emitError(UnknownLoc::get(context)) << error;
    return success();
  }
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(func.getContext());
    // Kernels already written (gpu.launch ops from qnt lowerings) are left
    // alone. (Copies are linalg.copy by now: qnt-linalg-copies.)
    auto inKernel = [](Operation *op) {
      return op->getParentOfType<gpu::LaunchOp>() != nullptr;
    };
    SmallVector<linalg::LinalgOp> linalgOps;
    func.walk([&](linalg::LinalgOp op) {
      if (!inKernel(op))
        linalgOps.push_back(op);
    });
    for (linalg::LinalgOp op : linalgOps) {
      if (!op.hasPureBufferSemantics()) {
        op->emitError("linalg op on tensors after bufferization");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op))) {
        op->emitError("cannot lower this linalg op to parallel loops");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
    // Tile the outermost parallel loops: the innermost dimension (the
    // contiguous one of row-major buffers, so neighbouring threads touch
    // neighbouring elements) in blocks of blockSize threads, or fewer for a
    // short static dimension (rounded up to a warp); the others one
    // iteration per block. Inner tiles keep a bounds check instead of min
    // bounds, so every block has the same shape.
    SmallVector<scf::ParallelOp> outermost;
    func.walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() && !inKernel(loop))
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost) {
      unsigned rank = loop.getNumLoops();
      SmallVector<int64_t> sizes(rank, 1);
      int64_t inner = blockSize;
      std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound().back());
      std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound().back());
      std::optional<int64_t> step = getConstantIntValue(loop.getStep().back());
      if (lb && ub && step && *step > 0) {
        int64_t trips = std::max<int64_t>((*ub - *lb + *step - 1) / *step, 1);
        inner = std::min<int64_t>(inner, (trips + 31) / 32 * 32);
      }
      sizes.back() = inner;
      scf::tileParallelLoop(loop, sizes, /*noMinMaxBounds=*/true);
    }
  }
};
} // namespace
