// qnt-gpu-check-lowered: no qnt op may reach the generic GPU lowering.
#include "qnt/IR/QntDialect.h"
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTGPUCHECKLOWEREDPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

namespace {
struct GpuCheckLowered final
    : qnt::impl::QntGpuCheckLoweredPassBase<GpuCheckLowered> {
  using Base::Base;
  void runOnOperation() override {
    bool failed = false;
    getOperation().walk([&](Operation *op) {
      if (!isa<qnt::QntDialect>(op->getDialect()))
        return;
      // One error per op: each names its own location.
      op->emitError() << "'" << op->getName()
                      << "' cannot be lowered to the GPU: convert-qnt-to-gpu "
                         "lowers qnt.matmul and its qnt.constant only";
      failed = true;
    });
    if (failed)
      signalPassFailure();
  }
};
} // namespace
