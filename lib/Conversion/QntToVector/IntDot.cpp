// Lowering of qnt.dot4_i8 to AVX2 instructions or portable vector code
// (convert-qnt-int-dot).
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntOps.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_CONVERTQNTINTDOTPASS
#include "qnt/Conversion/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

namespace {

Value callIntrinsic(ImplicitLocOpBuilder &b, Type type, StringRef name,
                    ValueRange args) {
  return LLVM::CallIntrinsicOp::create(b, type, b.getStringAttr(name), args)
      .getResult(0);
}

/// vpmaddubsw (unsigned a by signed b, adjacent pairs summed in i16) then
/// vpmaddwd against ones (adjacent i16 pairs summed in i32), 16 or 32 bytes.
Value lowerAvx2(ImplicitLocOpBuilder &b, Dot4I8Op op) {
  Value a = op.getA(), x = op.getB();
  auto type = cast<VectorType>(a.getType());
  int64_t n = type.getNumElements();
  bool wide = n == 32;
  if (op.getASigned()) {
    // |a| * (b with a's sign) = a * b, with |a| read as unsigned.
    x = callIntrinsic(b, type,
                      wide ? "llvm.x86.avx2.psign.b" : "llvm.x86.ssse3.psign.b.128",
                      {x, a});
    a = math::AbsIOp::create(b, a);
  }
  auto i16Type = VectorType::get({n / 2}, b.getI16Type());
  Value pairs = callIntrinsic(
      b, i16Type,
      wide ? "llvm.x86.avx2.pmadd.ub.sw" : "llvm.x86.ssse3.pmadd.ub.sw.128",
      {a, x});
  Value ones = arith::ConstantOp::create(
      b, DenseElementsAttr::get(i16Type, b.getI16IntegerAttr(1)));
  return callIntrinsic(b, op.getType(),
                       wide ? "llvm.x86.avx2.pmadd.wd" : "llvm.x86.sse2.pmadd.wd",
                       {pairs, ones});
}

/// Widen to i32, multiply, sum each 4 lanes.
Value lowerGeneric(ImplicitLocOpBuilder &b, Dot4I8Op op) {
  int64_t n = op.getA().getType().getNumElements();
  auto wideType = VectorType::get({n}, b.getI32Type());
  Value a = op.getASigned()
                ? arith::ExtSIOp::create(b, wideType, op.getA()).getResult()
                : arith::ExtUIOp::create(b, wideType, op.getA()).getResult();
  Value prod =
      arith::MulIOp::create(b, a, arith::ExtSIOp::create(b, wideType, op.getB()));
  // Lane j of the result sums products 4j .. 4j+3: four strided shuffles.
  Value sum;
  for (int64_t i = 0; i < 4; ++i) {
    SmallVector<int64_t> lanes;
    for (int64_t j = 0; j < n / 4; ++j)
      lanes.push_back(4 * j + i);
    Value part = vector::ShuffleOp::create(b, prod, prod, lanes);
    sum = sum ? arith::AddIOp::create(b, sum, part).getResult() : part;
  }
  return sum;
}

struct ConvertQntIntDot final
    : qnt::impl::ConvertQntIntDotPassBase<ConvertQntIntDot> {
  using Base::Base;
  void runOnOperation() override {
    if (isa != "generic" && isa != "avx2") {
      emitError(getOperation()->getLoc())
          << "convert-qnt-int-dot: isa='" << isa
          << "' must be 'avx2' or 'generic'";
      return signalPassFailure();
    }
    SmallVector<Dot4I8Op> dots;
    getOperation()->walk([&](Dot4I8Op op) { dots.push_back(op); });
    for (Dot4I8Op op : dots) {
      ImplicitLocOpBuilder b(op.getLoc(), op);
      int64_t n = op.getA().getType().getNumElements();
      bool native = isa == "avx2" && (n == 16 || n == 32);
      Value result = native ? lowerAvx2(b, op) : lowerGeneric(b, op);
      op.replaceAllUsesWith(result);
      op.erase();
    }
  }
};

} // namespace
