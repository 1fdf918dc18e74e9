// Builders the GPU kernels of convert-qnt-to-gpu share: index arithmetic,
// structured control flow, loading and unpacking packed weights, buffers.
#include "GpuKernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "qnt/Conversion/Common.h"

using namespace mlir;
using namespace mlir::qnt;

namespace mlir::qnt::gpu_kernels {

//===----------------------------------------------------------------------===//
// Small builders.
//===----------------------------------------------------------------------===//

Value addI(ImplicitLocOpBuilder &b, Value v, int64_t c) {
  return c ? arith::AddIOp::create(b, v, cIndex(b, c)).getResult() : v;
}
Value mulI(ImplicitLocOpBuilder &b, Value v, int64_t c) {
  return c == 1 ? v : arith::MulIOp::create(b, v, cIndex(b, c)).getResult();
}
Value divI(ImplicitLocOpBuilder &b, Value v, int64_t c) {
  return c == 1 ? v : arith::DivUIOp::create(b, v, cIndex(b, c)).getResult();
}
Value remI(ImplicitLocOpBuilder &b, Value v, int64_t c) {
  return arith::RemUIOp::create(b, v, cIndex(b, c));
}
Value ult(ImplicitLocOpBuilder &b, Value l, Value r) {
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, l, r);
}
Value cF32(ImplicitLocOpBuilder &b, float v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}
Value cI32(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIntOp::create(b, b.getI32Type(), v);
}
/// x * y + acc, as a multiply and an add that LLVM may contract into one fma
/// (math.fma would become a libdevice call in the NVVM lowering, which needs
/// libdevice at PTX generation).
Value mulAdd(ImplicitLocOpBuilder &b, Value x, Value y, Value acc) {
  auto contract = arith::FastMathFlags::contract;
  Value prod = arith::MulFOp::create(b, x, y, contract);
  return arith::AddFOp::create(b, prod, acc, contract);
}

/// scf.if yielding values of `types` built by `thenFn` / `elseFn`.
ValueRange
emitIf(ImplicitLocOpBuilder &b, Value cond, TypeRange types,
       function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> thenFn,
       function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> elseFn) {
  auto ifOp = scf::IfOp::create(b, types, cond, /*addThenBlock=*/true,
                                /*addElseBlock=*/true);
  for (auto [block, fn] : {std::pair(ifOp.thenBlock(), thenFn),
                           std::pair(ifOp.elseBlock(), elseFn)}) {
    ImplicitLocOpBuilder ib =
        ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), block);
    scf::YieldOp::create(ib, fn(ib));
  }
  return ifOp.getResults();
}

/// A loop `for iv in [lb, ub) step s` with no results.
void emitFor(ImplicitLocOpBuilder &b, Value lb, Value ub, int64_t step,
             function_ref<void(ImplicitLocOpBuilder &, Value)> body) {
  scf::ForOp::create(b, lb, ub, cIndex(b, step), ValueRange{},
                     [&](OpBuilder &ob, Location loc, Value iv, ValueRange) {
                       ImplicitLocOpBuilder lb(loc, ob);
                       body(lb, iv);
                       scf::YieldOp::create(lb);
                     });
}
void emitFor(ImplicitLocOpBuilder &b, int64_t lb, int64_t ub, int64_t step,
             function_ref<void(ImplicitLocOpBuilder &, Value)> body) {
  emitFor(b, cIndex(b, lb), cIndex(b, ub), step, body);
}

/// A loop carrying `init`; `body` returns the next values.
ValueRange emitForIter(
    ImplicitLocOpBuilder &b, Value lb, Value ub, int64_t step, ValueRange init,
    function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value, ValueRange)>
        body) {
  auto loop = scf::ForOp::create(
      b, lb, ub, cIndex(b, step), init,
      [&](OpBuilder &ob, Location loc, Value iv, ValueRange iter) {
        ImplicitLocOpBuilder lb(loc, ob);
        scf::YieldOp::create(lb, body(lb, iv, iter));
      });
  return loop.getResults();
}

//===----------------------------------------------------------------------===//
// Packed weights: loading a chunk, unpacking a code, scales.
//===----------------------------------------------------------------------===//


/// The `bits` i32 words of chunk `chunk` of weight row `row`, with one vector
/// load aligned to the chunk's size (4 * bits bytes, capped at 16): 4- and
/// 8-bit chunks become 128-bit loads (ld.global.v4.b32).
SmallVector<Value> loadChunkWords(ImplicitLocOpBuilder &b, const Kernel &kern,
                                  Value row, Value chunk) {
  int64_t bytes = 4 * kern.bits;
  int64_t align = std::min<int64_t>(16, bytes & -bytes);
  auto type = VectorType::get({kern.bits}, b.getI32Type());
  Value vec = vector::LoadOp::create(b, type, kern.words,
                                     ValueRange{row, mulI(b, chunk, kern.bits)},
                                     /*nontemporal=*/false, llvm::Align(align));
  SmallVector<Value> words;
  for (int64_t j = 0; j < kern.bits; ++j)
    words.push_back(vector::ExtractOp::create(b, vec, j));
  return words;
}

// Codes become floats without int-to-float conversions (a quarter-rate
// instruction on sm_80/sm_90): the b-bit field u, made unsigned, is OR-ed into
// the mantissa of 2^23, giving exactly 2^23 + u as an f32 bit pattern, and one
// subtraction of 2^23 (plus the signed bias and the zero point, combined once
// per group) yields the code. All values involved are integers below 2^24, so
// every step is exact.
constexpr int64_t kMagicBits = 0x4B000000; // 2^23 as f32
constexpr float kMagic = 8388608.0f;

/// The bits of code `i` (0..31) of a chunk: its stream bits [i*bits,
/// (i+1)*bits) of the chunk's words (docs/BIT_LAYOUT.md), as an unsigned
/// i32. A 3-, 5-, 6- or 7-bit code may straddle two words.
static Value unpackField(ImplicitLocOpBuilder &b, const Kernel &kern,
                         ArrayRef<Value> words, int64_t i) {
  int64_t bits = kern.bits, bit = i * bits, w = bit / 32, s = bit % 32;
  Value v = words[w];
  if (s + bits > 32) {
    // Low part from this word, high part from the next.
    v = arith::OrIOp::create(
        b, arith::ShRUIOp::create(b, v, cI32(b, s)),
        arith::ShLIOp::create(b, words[w + 1], cI32(b, 32 - s)));
    s = 0;
  }
  if (s)
    v = arith::ShRUIOp::create(b, v, cI32(b, s));
  if (s + bits < 32)
    v = arith::AndIOp::create(b, v, cI32(b, (int64_t(1) << bits) - 1));
  return v;
}

/// Code `i` (0..31) of a chunk as the f32 `2^23 + u`, with u the code's bits
/// read as unsigned; for signed codes the sign bit is flipped, so
/// u = code + 2^(bits-1). `code = result - codeOffset(...)`.
static Value unpackBiasedCode(ImplicitLocOpBuilder &b, const Kernel &kern,
                              ArrayRef<Value> words, int64_t i) {
  Value v = unpackField(b, kern, words, i);
  if (kern.scheme.isSigned())
    v = arith::XOrIOp::create(b, v, cI32(b, int64_t(1) << (kern.bits - 1)));
  v = arith::OrIOp::create(b, v, cI32(b, kMagicBits));
  return arith::BitcastOp::create(b, b.getF32Type(), v);
}

/// fp8 code `i` (0..31) of a chunk through the hardware's conversion of a
/// pair of codes (cvt.rn.f16x2.e4m3x2 or .e5m2x2): the 16 bits of codes i
/// and i ^ 1 as two bytes, the one of `i` taken from the f16 pair (byte j
/// becomes element j). Both codes of a pair ask for the same conversion,
/// which LLVM's CSE makes one.
static Value convertFp8Pair(ImplicitLocOpBuilder &b, const Kernel &kern,
                            ArrayRef<Value> words, int64_t i) {
  Value word = words[i / 4];
  if (int64_t shift = (i % 4) / 2 * 16)
    word = arith::ShRUIOp::create(b, word, cI32(b, shift));
  Value pair = vector::BitCastOp::create(
      b, VectorType::get({2}, b.getI8Type()),
      vector::BroadcastOp::create(
          b, VectorType::get({1}, b.getI16Type()),
          arith::TruncIOp::create(b, b.getI16Type(), word)));
  Type srcType = kern.scheme.getFormat() == Format::f8E5M2
                     ? Type(b.getType<Float8E5M2Type>())
                     : Type(b.getType<Float8E4M3FNType>());
  Value halves = NVVM::ConvertF8x2ToF16x2Op::create(
      b, VectorType::get({2}, b.getF16Type()), pair, b.getBoolAttr(false),
      TypeAttr::get(srcType));
  Value half = vector::ExtractOp::create(b, halves, ArrayRef<int64_t>{i % 2});
  return arith::ExtFOp::create(b, b.getF32Type(), half);
}

Value unpackCode(ImplicitLocOpBuilder &b, const Kernel &kern,
                 ArrayRef<Value> words, int64_t i, Value offset) {
  if (kern.scheme.isInteger())
    return arith::SubFOp::create(b, unpackBiasedCode(b, kern, words, i),
                                 offset);
  if (kern.hardwareFp8)
    return convertFp8Pair(b, kern, words, i);
  // Portable code (no x86 permutes on the GPU): fp8 and e2m1 bits moved
  // into a float's, NF4 and lut4 by selects among their 16 values.
  Format format = kern.scheme.getFormat();
  Value field = unpackField(b, kern, words, i);
  if (format == Format::nf4 || format == Format::lut4)
    return decodeLutCodes(b, field, kern.scheme, LookupIsa::generic);
  return decodeMiniFloatBits(b, field, format, /*signExtended=*/false);
}

/// What to subtract from unpackCode's biased integer codes to get the code
/// minus the zero point `zp` (null when symmetric): 2^23, plus 2^(bits-1)
/// for signed codes, plus zp.
Value codeOffset(ImplicitLocOpBuilder &b, const Kernel &kern, Value zp) {
  float bias =
      kMagic +
      (kern.scheme.isSigned() ? float(int64_t(1) << (kern.bits - 1)) : 0.0f);
  Value offset = cF32(b, bias);
  return zp ? arith::AddFOp::create(b, offset, zp).getResult() : offset;
}

/// Scale (f32) and code offset (codeOffset: the zero point folded in) of
/// `row`'s group holding code index `kc`.
SmallVector<Value, 2> groupIndices(ImplicitLocOpBuilder &b, const Kernel &kern,
                                   Value row, Value kc) {
  Granularity granularity = kern.scheme.getGranularity();
  Value group = granularity == Granularity::per_group
                    ? divI(b, kc, kern.groupSize)
                    : cIndex(b, 0);
  return scaleIndices(b, granularity, row, group);
}

std::pair<Value, Value> scaleAndOffset(ImplicitLocOpBuilder &b,
                                       const Kernel &kern, Value row,
                                       Value kc) {
  SmallVector<Value, 2> idx = groupIndices(b, kern, row, kc);
  Value s = decodeScale(b, memref::LoadOp::create(b, kern.scales, idx),
                        kern.scheme);
  if (FloatAttr tensorScale = kern.scheme.getTensorScale())
    s = arith::MulFOp::create(
        b, s, cF32(b, float(tensorScale.getValueAsDouble())));
  Value zp = kern.zeroPoints
                 ? memref::LoadOp::create(b, kern.zeroPoints, idx).getResult()
                 : Value();
  return {s, codeOffset(b, kern, zp)};
}

/// Reads x[row, col] as f32, or 0 outside [M, K].
Value loadXOrZero(ImplicitLocOpBuilder &b, const Kernel &kern, Value row,
                  Value col) {
  Value valid = arith::AndIOp::create(b, ult(b, row, kern.m),
                                      ult(b, col, cIndex(b, kern.k)));
  return emitIf(
      b, valid, b.getF32Type(),
      [&](ImplicitLocOpBuilder &ib) -> SmallVector<Value> {
        return {toF32(
            ib, memref::LoadOp::create(ib, kern.x, ValueRange{row, col}))};
      },
      [&](ImplicitLocOpBuilder &ib) -> SmallVector<Value> {
        return {cF32(ib, 0.0f)};
      })[0];
}

/// out[row, col] = v (+ bias[col]), only inside [M, N].
void storeOut(ImplicitLocOpBuilder &b, const Kernel &kern, Value row, Value col,
              Value v) {
  Value valid = arith::AndIOp::create(b, ult(b, row, kern.m),
                                      ult(b, col, cIndex(b, kern.n)));
  scf::IfOp::create(b, valid, [&](OpBuilder &ob, Location loc) {
    ImplicitLocOpBuilder ib(loc, ob);
    Value sum = v;
    if (kern.bias)
      sum = arith::AddFOp::create(
          ib, sum, toF32(ib, memref::LoadOp::create(ib, kern.bias, col)));
    memref::StoreOp::create(ib, fromF32(ib, sum, kern.xElem), kern.out,
                            ValueRange{row, col});
    scf::YieldOp::create(ib);
  });
}

/// Weight row `row`, clamped into [0, N) when the grid overhangs N (the
/// overhanging rows compute a duplicate that is never stored).
Value clampRow(ImplicitLocOpBuilder &b, const Kernel &kern, Value row,
               int64_t rowsPerBlock) {
  if (kern.n % rowsPerBlock == 0)
    return row;
  return arith::MinUIOp::create(b, row, cIndex(b, kern.n - 1));
}

/// A stack buffer standing in for shared memory or registers in loops mode,
/// aligned like the vector loads the kernels make from it.
Value stackBuffer(ImplicitLocOpBuilder &b, MemRefType type) {
  return memref::AllocaOp::create(b, type, b.getI64IntegerAttr(16));
}

/// A block's shared buffer of `type` inside a kernel body: a private
/// workgroup memref.global of the module (gpu-kernel-outlining copies it into
/// the kernel's gpu.module), 16-byte aligned for the kernels' 128-bit
/// accesses. Globals rather than gpu.launch workgroup attributions, because
/// buffer deallocation rewrites the launch body's block arguments.
Value workgroupBuffer(ImplicitLocOpBuilder &kb, SymbolTable &symbols,
                      MemRefType type) {
  auto module = cast<ModuleOp>(symbols.getOp());
  OpBuilder mb(module.getContext()); // detached; the symbol table inserts it
  auto global = memref::GlobalOp::create(
      mb, kb.getLoc(), "qnt_shared", mb.getStringAttr("private"), type,
      /*initial_value=*/Attribute(), /*constant=*/false,
      mb.getI64IntegerAttr(16));
  symbols.insert(global, module.getBody()->begin()); // makes the name unique
  return memref::GetGlobalOp::create(kb, type, global.getSymName());
}

/// Memory for a block's shared tile: workgroup memory in a kernel, a stack
/// buffer (shared by all blocks, which run one after another) for loops.
MemRefType sharedType(const Kernel &kern, ArrayRef<int64_t> shape, Type elem) {
  if (kern.mapping == Mapping::Loops)
    return MemRefType::get(shape, elem);
  auto space = gpu::AddressSpaceAttr::get(elem.getContext(),
                                          gpu::AddressSpace::Workgroup);
  return MemRefType::get(shape, elem, MemRefLayoutAttrInterface(), space);
}

} // namespace mlir::qnt::gpu_kernels
