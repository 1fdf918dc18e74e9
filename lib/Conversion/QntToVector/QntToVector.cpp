// Lowering of qnt ops to CPU loop nests that unpack packed codes in vector
// registers (convert-qnt-to-vector).
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Rewrite/PatternApplicator.h"
#include "qnt/Conversion/Common.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/Packing.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/CheckedArithmetic.h"
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

namespace mlir::qnt {
#define GEN_PASS_DEF_CONVERTQNTTOVECTORPASS
#include "qnt/Conversion/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

FailureOr<Payload> CpuLowering::payloadFor(Operation *user, Value packed) {
  auto constant = packed.getDefiningOp<ConstantOp>();
  if (!constant)
    return user->emitOpError()
           << "packed operand must come from qnt.constant to be lowered "
              "for the CPU (function arguments and qnt.quantize results are "
              "not supported yet)";
  auto it = payloads.find(constant);
  if (it != payloads.end())
    return it->second;
  FailureOr<Payload> payload = materializePayload(constant);
  if (succeeded(payload))
    payloads[constant] = *payload;
  return payload;
}

FailureOr<const ColumnCopy *>
CpuLowering::columnCopyOf(Operation *user, Value packed,
                          const MatmulKernel &kern, const Int8Kernel &q,
                          bool signedBytes) {
  auto constant = packed.getDefiningOp<ConstantOp>();
  FailureOr<Payload> payload = payloadFor(user, packed);
  if (failed(payload))
    return failure();
  auto it = columnCopies.find(constant);
  if (it == columnCopies.end())
    it = columnCopies
             .try_emplace(constant, makeColumnCopy(kern, q, constant,
                                                   *payload, signedBytes))
             .first;
  return &it->second;
}

namespace {
struct ConvertQntToVector final
    : qnt::impl::ConvertQntToVectorPassBase<ConvertQntToVector> {
  using Base::Base;
  void runOnOperation() override;
};

void ConvertQntToVector::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  CpuLowering lowering;
  // The kernels first, then the tables: a gather reads the column copy of
  // its table when a matmul of the same constant made one.
  RewritePatternSet kernels(ctx), tables(ctx);
  populateQntMatmulToVectorPatterns(kernels, lowering);
  populateQntAttentionToVectorPatterns(kernels);
  populateQntTableToVectorPatterns(tables, lowering);
  if (failed(applyInProgramOrder(
          module, FrozenRewritePatternSet(std::move(kernels)))) ||
      failed(applyInProgramOrder(module,
                                 FrozenRewritePatternSet(std::move(tables)))))
    return signalPassFailure();

  bool failedAny = false;
  module.walk([&](Operation *op) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      if (constant->use_empty()) {
        constant.erase();
        return WalkResult::skip();
      }
    }
    if (isa<QntDialect>(op->getDialect()) && !isInstructionOp(op)) {
      op->emitOpError("cannot be lowered for the CPU yet");
      failedAny = true;
    }
    return WalkResult::advance();
  });
  if (failedAny)
    signalPassFailure();
}

} // namespace

bool qnt::isValidActivationBlock(int64_t codes) {
  // 0 picks per matmul (activationBlockFor). Otherwise powers of two, so x
  // blocks and code loads nest; at most 256, because a kernel step emits one
  // block's loads straight-line (8 for 8-bit codes).
  return codes == 0 || (codes >= kActivationStep && codes <= 256 &&
                        llvm::isPowerOf2_64(codes));
}

int64_t qnt::activationBlockFor(int64_t requested, unsigned bits,
                                int64_t groupSize) {
  if (requested == 0) {
    // Weights of 4 bits or fewer round ~16x more coarsely than int8 x, so
    // an x block as long as their group (up to 128) adds little error (+0.2
    // to +2.6% of the output error even with outlier channels, against +25
    // to +190% for 8-bit weights: docs/QUANTIZER.md) and saves one conversion
    // and multiply-add per block and weight row. Wider weights keep 32.
    if (bits <= 4)
      for (int64_t block : {int64_t(128), int64_t(64)})
        if (groupSize % block == 0)
          return block;
    return kActivationStep;
  }
  // Groups that the requested block does not divide keep the smallest.
  return groupSize % requested == 0 ? requested : kActivationStep;
}
