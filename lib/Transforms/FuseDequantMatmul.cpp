// PLACEHOLDER: being implemented.
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTFUSEDEQUANTMATMULPASS
#include "qnt/Transforms/Passes.h.inc"

namespace {
struct FuseDequantMatmul final : impl::QntFuseDequantMatmulPassBase<FuseDequantMatmul> {
  using Base::Base;
  void runOnOperation() override {
    getOperation()->emitError("FuseDequantMatmul is not implemented yet");
    signalPassFailure();
  }
};
} // namespace
} // namespace mlir::qnt
