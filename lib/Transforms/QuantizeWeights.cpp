// PLACEHOLDER: being implemented.
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTQUANTIZEWEIGHTSPASS
#include "qnt/Transforms/Passes.h.inc"

namespace {
struct QuantizeWeights final : impl::QntQuantizeWeightsPassBase<QuantizeWeights> {
  using Base::Base;
  void runOnOperation() override {
    getOperation()->emitError("QuantizeWeights is not implemented yet");
    signalPassFailure();
  }
};
} // namespace
} // namespace mlir::qnt
