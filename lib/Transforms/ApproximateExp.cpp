// qnt-approximate-exp: math.exp as upstream's polynomial approximation,
// computed in registers instead of one libm call per element.
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTAPPROXIMATEEXPPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

namespace {
struct ApproximateExp final
    : qnt::impl::QntApproximateExpPassBase<ApproximateExp> {
  using Base::Base;
  LogicalResult initialize(MLIRContext *ctx) override {
    RewritePatternSet set(ctx);
    populateMathPolynomialApproximationPatterns(
        set, [](StringRef name) { return name == "exp" || name == "math.exp"; });
    patterns = FrozenRewritePatternSet(std::move(set));
    return success();
  }
  void runOnOperation() override {
    SmallVector<Operation *> exps;
    getOperation().walk([&](math::ExpOp op) { exps.push_back(op); });
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    if (failed(applyOpPatternsGreedily(exps, patterns, config)))
      return signalPassFailure();
  }
  FrozenRewritePatternSet patterns;
};
} // namespace
