// Lowering of qnt.dot4_i8, qnt.dot2_i8 and qnt.sum_pairs_i16 to VNNI or AVX2
// instructions or portable vector code, and of qnt.lookup16 to the permutes
// it names (convert-qnt-int-dot).
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "qnt/Conversion/Common.h"
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

/// vpmaddubsw: unsigned a by signed b (a signed: |a| by b with a's sign),
/// adjacent pairs summed in i16; 16 or 32 bytes.
Value avx2PairProducts(ImplicitLocOpBuilder &b, Value a, Value x,
                       bool aSigned) {
  auto type = cast<VectorType>(a.getType());
  int64_t n = type.getNumElements();
  bool wide = n == 32;
  if (aSigned) {
    // |a| * (b with a's sign) = a * b, with |a| read as unsigned.
    x = callIntrinsic(b, type,
                      wide ? "llvm.x86.avx2.psign.b" : "llvm.x86.ssse3.psign.b.128",
                      {x, a});
    a = math::AbsIOp::create(b, a);
  }
  return callIntrinsic(
      b, VectorType::get({n / 2}, b.getI16Type()),
      wide ? "llvm.x86.avx2.pmadd.ub.sw" : "llvm.x86.ssse3.pmadd.ub.sw.128",
      {a, x});
}

/// vpmaddwd against ones: adjacent i16 pairs summed in i32.
Value avx2SumPairs(ImplicitLocOpBuilder &b, Value pairs) {
  auto i16Type = cast<VectorType>(pairs.getType());
  int64_t n = i16Type.getNumElements();
  Value ones = arith::ConstantOp::create(
      b, DenseElementsAttr::get(i16Type, b.getI16IntegerAttr(1)));
  return callIntrinsic(b, VectorType::get({n / 2}, b.getI32Type()),
                       n == 16 ? "llvm.x86.avx2.pmadd.wd" : "llvm.x86.sse2.pmadd.wd",
                       {pairs, ones});
}

/// Lane j of the result: the sum of lanes j*width .. j*width+width-1 of
/// `wide` (strided shuffles).
Value sumAdjacent(ImplicitLocOpBuilder &b, Value wide, int64_t width) {
  int64_t n = cast<VectorType>(wide.getType()).getNumElements();
  Value sum;
  for (int64_t i = 0; i < width; ++i) {
    SmallVector<int64_t> lanes;
    for (int64_t j = 0; j < n / width; ++j)
      lanes.push_back(width * j + i);
    Value part = vector::ShuffleOp::create(b, wide, wide, lanes);
    sum = sum ? arith::AddIOp::create(b, sum, part).getResult() : part;
  }
  return sum;
}

/// a * b widened to i32 (a zero- or sign-extended).
Value genericProducts(ImplicitLocOpBuilder &b, Value a, Value x,
                      bool aSigned) {
  int64_t n = cast<VectorType>(a.getType()).getNumElements();
  auto wideType = VectorType::get({n}, b.getI32Type());
  Value wa = aSigned ? arith::ExtSIOp::create(b, wideType, a).getResult()
                     : arith::ExtUIOp::create(b, wideType, a).getResult();
  return arith::MulIOp::create(b, wa,
                               arith::ExtSIOp::create(b, wideType, x));
}

/// vpdpbusd (AVX-512 VNNI, or AVX-VNNI for 16 and 32 bytes): acc plus the
/// sums of 4 adjacent products of unsigned a by signed b, in one
/// instruction, without the i16 saturation of vpmaddubsw (a signed: |a| by
/// b with a's sign, as for AVX2).
Value vnniDot(ImplicitLocOpBuilder &b, Value a, Value x, Value acc,
              bool aSigned) {
  auto type = cast<VectorType>(a.getType());
  int64_t n = type.getNumElements();
  auto accType = VectorType::get({n / 4}, b.getI32Type());
  if (aSigned) {
    // AVX-512 has no vpsignb: negate b where a is negative (|b| <= 127).
    if (n == 64) {
      Value zero = arith::ConstantOp::create(
          b, DenseElementsAttr::get(type, b.getI8IntegerAttr(0)));
      Value negative =
          arith::CmpIOp::create(b, arith::CmpIPredicate::slt, a, zero);
      x = arith::SelectOp::create(b, negative,
                                  arith::SubIOp::create(b, zero, x), x);
    } else {
      x = callIntrinsic(b, type,
                        n == 32 ? "llvm.x86.avx2.psign.b"
                                : "llvm.x86.ssse3.psign.b.128",
                        {x, a});
    }
    a = math::AbsIOp::create(b, a);
  }
  if (!acc)
    acc = arith::ConstantOp::create(
        b, DenseElementsAttr::get(accType, b.getI32IntegerAttr(0)));
  return callIntrinsic(b, accType,
                       "llvm.x86.avx512.vpdpbusd." + std::to_string(n * 8),
                       {acc, a, x});
}

/// table[idx] for one register of indices: AVX-512 one vpermps of the
/// whole table (16 lanes; it reads the low 4 bits of each index); AVX2
/// (8 lanes) vpermps of each half of the table (it reads the low 3 bits)
/// and vblendvps on bit 3, moved to the sign bit that vblendvps reads.
Value lookupByPermutes(ImplicitLocOpBuilder &b, Value idx,
                       ArrayRef<float> table) {
  auto idxType = cast<VectorType>(idx.getType());
  int64_t n = idxType.getNumElements();
  auto fType = VectorType::get({n}, b.getF32Type());
  auto values = [&](int64_t first) -> Value {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(fType, table.slice(first, n)));
  };
  if (n == 16)
    return callIntrinsic(b, fType, "llvm.x86.avx512.permvar.sf.512",
                         {values(0), idx});
  Value low = callIntrinsic(b, fType, "llvm.x86.avx2.permps", {values(0), idx});
  Value high =
      callIntrinsic(b, fType, "llvm.x86.avx2.permps", {values(8), idx});
  Value bit3 = arith::BitcastOp::create(
      b, fType, arith::ShLIOp::create(b, idx, splatI32(b, idxType, 28)));
  return callIntrinsic(b, fType, "llvm.x86.avx.blendv.ps.256",
                       {low, high, bit3});
}

/// table[idx] for bytes (indices in [0, 16)): vpshufb of the table, held in
/// every 16-byte lane of a register of 16, 32 or 64 bytes.
Value lookupByByteShuffle(ImplicitLocOpBuilder &b, Value idx,
                          ArrayRef<float> table) {
  auto type = cast<VectorType>(idx.getType());
  int64_t n = type.getNumElements();
  SmallVector<int8_t> values;
  for (int64_t i = 0; i < n; ++i)
    values.push_back(int8_t(table[i % 16]));
  Value lanes = arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, ArrayRef<int8_t>(values)));
  StringRef name = n == 64   ? "llvm.x86.avx512.pshuf.b.512"
                   : n == 32 ? "llvm.x86.avx2.pshuf.b"
                             : "llvm.x86.ssse3.pshuf.b.128";
  return callIntrinsic(b, type, name, {lanes, idx});
}

/// qnt.lookup16 with the instructions it names, one register (8 or 16
/// lanes of f32; 16 to 64 bytes) at a time.
Value lowerLookup(ImplicitLocOpBuilder &b, Lookup16Op op) {
  Value idx = op.getIndices();
  ArrayRef<float> table = op.getTable();
  if (op.getLookup() == LookupIsa::generic)
    return lookupBySelects(b, idx, table);
  int64_t n = cast<VectorType>(idx.getType()).getNumElements();
  bool bytes = op.getType().getElementType().isInteger(8);
  int64_t step = getLookupLanes(op.getLookup());
  if (bytes)
    step = op.getLookup() == LookupIsa::avx512 && n % 64 == 0 ? 64
           : n % 32 == 0                                       ? 32
                                                               : 16;
  auto one = [&](Value part) {
    return bytes ? lookupByByteShuffle(b, part, table)
                 : lookupByPermutes(b, part, table);
  };
  if (n == step)
    return one(idx);
  Value result = arith::ConstantOp::create(
      b, op.getType(), b.getZeroAttr(op.getType()));
  for (int64_t first = 0; first < n; first += step) {
    Value part = vector::ExtractStridedSliceOp::create(
        b, idx, ArrayRef<int64_t>{first}, ArrayRef<int64_t>{step},
        ArrayRef<int64_t>{1});
    result = vector::InsertStridedSliceOp::create(
        b, one(part), result,
        ArrayRef<int64_t>{first}, ArrayRef<int64_t>{1});
  }
  return result;
}

/// Replaces each op of the three with its instructions: VNNI's vpdpbusd for
/// qnt.dot4_i8 (isa=avx512vnni: 16, 32 or 64 bytes; isa=avxvnni: 16 or 32),
/// AVX2 for 16- and 32-byte operands (isa=avx2 and the VNNI isas), portable
/// vector code otherwise. All give the same integers where the ops'
/// preconditions hold.
Value lower(ImplicitLocOpBuilder &b, Operation *op, StringRef isa) {
  if (auto lookup = dyn_cast<Lookup16Op>(op))
    return lowerLookup(b, lookup);
  auto native = [&](Value v) {
    int64_t n = cast<VectorType>(v.getType()).getNumElements();
    return isa != "generic" && (n == 16 || n == 32);
  };
  if (auto dot = dyn_cast<Dot4I8Op>(op)) {
    int64_t n = dot.getA().getType().getNumElements();
    if ((isa == "avx512vnni" && (n == 16 || n == 32 || n == 64)) ||
        (isa == "avxvnni" && (n == 16 || n == 32)))
      return vnniDot(b, dot.getA(), dot.getB(), dot.getAcc(),
                     dot.getASigned());
    Value sum =
        native(dot.getA())
            ? avx2SumPairs(b, avx2PairProducts(b, dot.getA(), dot.getB(),
                                               dot.getASigned()))
            : sumAdjacent(b,
                          genericProducts(b, dot.getA(), dot.getB(),
                                          dot.getASigned()),
                          4);
    return dot.getAcc() ? arith::AddIOp::create(b, dot.getAcc(), sum).getResult()
                        : sum;
  }
  if (auto dot = dyn_cast<Dot2I8Op>(op)) {
    if (native(dot.getA()))
      return avx2PairProducts(b, dot.getA(), dot.getB(), dot.getASigned());
    Value sums = sumAdjacent(
        b, genericProducts(b, dot.getA(), dot.getB(), dot.getASigned()), 2);
    return arith::TruncIOp::create(b, dot.getType(), sums);
  }
  auto pairs = cast<SumPairsI16Op>(op);
  if (native(pairs.getA()))
    return avx2SumPairs(b, pairs.getA());
  int64_t n = pairs.getA().getType().getNumElements();
  return sumAdjacent(
      b,
      arith::ExtSIOp::create(b, VectorType::get({n}, b.getI32Type()),
                             pairs.getA()),
      2);
}

struct ConvertQntIntDot final
    : qnt::impl::ConvertQntIntDotPassBase<ConvertQntIntDot> {
  using Base::Base;
  LogicalResult initialize(MLIRContext *context) override {
    if (isa != "auto" && !symbolizeIntDotIsa(isa))
      return emitError(UnknownLoc::get(context))
             << "convert-qnt-int-dot option isa='" << isa
             << "' must be 'avx512vnni', 'avxvnni', 'avx2', 'generic' or "
                "'auto'";
    return success();
  }
  void runOnOperation() override {
    // isa=auto: the instructions of the module's #qnt.target, which
    // qnt-select-kernels built the int8 kernels for.
    std::string resolved = isa;
    if (resolved == "auto")
      resolved = stringifyIntDotIsa(getIntDot(getTarget(getOperation())));
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isInstructionOp(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      ImplicitLocOpBuilder b(op->getLoc(), op);
      op->getResult(0).replaceAllUsesWith(lower(b, op, resolved));
      op->erase();
    }
  }
};

} // namespace

bool qnt::isInstructionOp(Operation *op) {
  return isa<Dot4I8Op, Dot2I8Op, SumPairsI16Op, Lookup16Op>(op);
}
