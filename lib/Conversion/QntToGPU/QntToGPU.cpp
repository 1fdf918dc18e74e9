// Lowering of qnt.matmul to GPU kernels that read packed weights
// (convert-qnt-to-gpu). docs/GPU.md describes the thread mapping and memory
// layout; this file emits it, either as gpu.launch kernels or (mapping=loops)
// as the same tiled nest of scf loops for execution on the CPU.
#include "qnt/Conversion/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_CONVERTQNTTOGPUPASS
#include "qnt/Conversion/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

namespace {

// Geometry shared by both kernels. A "chunk" is 32 consecutive codes of one
// weight row: exactly `bits` i32 words of the padded layout, so a chunk never
// shares a word with its neighbour and each lane's load is aligned.
constexpr int64_t kWarpSize = 32;
constexpr int64_t kChunk = 32;

// GEMV: 4 warps per block, 2 weight rows per warp; per K step each lane takes
// one chunk of each of its warp's rows, so a warp covers 1024 codes per step.
constexpr int64_t kGemvWarps = 4;
constexpr int64_t kGemvThreads = kGemvWarps * kWarpSize;
constexpr int64_t kGemvRowsPerWarp = 2;
constexpr int64_t kGemvRowsPerBlock = kGemvWarps * kGemvRowsPerWarp;
constexpr int64_t kGemvTileK = kWarpSize * kChunk;
// Shared x keeps each lane's chunk at a stride of 36 floats, not 32: with
// 128-bit shared loads the 8 lanes of a quarter warp then hit distinct banks.
constexpr int64_t kXStride = kChunk + 4;
// The GEMV kernels by rows of x they are compiled for; a runtime M picks the
// smallest that fits, M > 8 goes to the GEMM.
constexpr int64_t kGemvBuckets[] = {1, 2, 4, 8};

// GEMM: 64x64 output tile per block of 4 warps (2x2, 32x32 per warp, i.e.
// 2x4 mma tiles of 16x8), K in steps of 64 (two chunks per weight row).
constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 64;
constexpr int64_t kGemmThreads = 128;
constexpr int64_t kWarpTileM = 32, kWarpTileN = 32;
constexpr int64_t kMmaM = 16, kMmaN = 8, kMmaK = 16;
constexpr int64_t kMTiles = kWarpTileM / kMmaM, kNTiles = kWarpTileN / kMmaN;
constexpr int64_t kAccPerThread = kMTiles * kNTiles * 4;
// Shared f16 tiles keep rows 72 halves apart (36 words): the 8 row groups of
// an mma fragment load then fall into distinct banks.
constexpr int64_t kSmemStride = kTileK + 8;

enum class Mapping { GPU, Loops };

/// Everything the kernel emitters need to know about one qnt.matmul.
struct Kernel {
  Mapping mapping;
  unsigned bits;
  bool isSigned;
  Granularity granularity;
  int64_t n, k;
  int64_t groupSize; // codes along K sharing a scale (K for one group)
  int64_t subChunk;  // codes of a chunk sharing a scale (<= 32)
  int64_t rowWords;  // i32 words per padded weight row
  Type xElem;
  // Buffers (2-D x and out) and the runtime number of rows of x.
  Value x, out, words, scales, zeroPoints, bias, m;
  // The module's symbols, where the kernels' workgroup globals go.
  SymbolTable *symbols = nullptr;
};

//===----------------------------------------------------------------------===//
// Small builders.
//===----------------------------------------------------------------------===//

static Value addI(ImplicitLocOpBuilder &b, Value v, int64_t c) {
  return c ? arith::AddIOp::create(b, v, cIndex(b, c)).getResult() : v;
}
static Value mulI(ImplicitLocOpBuilder &b, Value v, int64_t c) {
  return c == 1 ? v : arith::MulIOp::create(b, v, cIndex(b, c)).getResult();
}
static Value divI(ImplicitLocOpBuilder &b, Value v, int64_t c) {
  return c == 1 ? v : arith::DivUIOp::create(b, v, cIndex(b, c)).getResult();
}
static Value remI(ImplicitLocOpBuilder &b, Value v, int64_t c) {
  return arith::RemUIOp::create(b, v, cIndex(b, c));
}
static Value ult(ImplicitLocOpBuilder &b, Value l, Value r) {
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, l, r);
}
static Value cF32(ImplicitLocOpBuilder &b, float v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}
static Value cI32(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIntOp::create(b, b.getI32Type(), v);
}
/// x * y + acc, as a multiply and an add that LLVM may contract into one fma
/// (math.fma would become a libdevice call in the NVVM lowering, which needs
/// libdevice at PTX generation).
static Value mulAdd(ImplicitLocOpBuilder &b, Value x, Value y, Value acc) {
  auto contract = arith::FastMathFlags::contract;
  Value prod = arith::MulFOp::create(b, x, y, contract);
  return arith::AddFOp::create(b, prod, acc, contract);
}

/// scf.if yielding values of `types` built by `thenFn` / `elseFn`.
static ValueRange
emitIf(ImplicitLocOpBuilder &b, Value cond, TypeRange types,
       function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> thenFn,
       function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> elseFn) {
  auto ifOp = scf::IfOp::create(b, types, cond, /*addThenBlock=*/true,
                                /*addElseBlock=*/true);
  for (auto [block, fn] : {std::pair(ifOp.thenBlock(), thenFn),
                           std::pair(ifOp.elseBlock(), elseFn)}) {
    ImplicitLocOpBuilder ib = ImplicitLocOpBuilder::atBlockEnd(b.getLoc(),
                                                               block);
    scf::YieldOp::create(ib, fn(ib));
  }
  return ifOp.getResults();
}

/// A loop `for iv in [lb, ub) step s` with no results.
static void emitFor(ImplicitLocOpBuilder &b, Value lb, Value ub, int64_t step,
                    function_ref<void(ImplicitLocOpBuilder &, Value)> body) {
  scf::ForOp::create(b, lb, ub, cIndex(b, step), ValueRange{},
                     [&](OpBuilder &ob, Location loc, Value iv, ValueRange) {
                       ImplicitLocOpBuilder lb(loc, ob);
                       body(lb, iv);
                       scf::YieldOp::create(lb);
                     });
}
static void emitFor(ImplicitLocOpBuilder &b, int64_t lb, int64_t ub,
                    int64_t step,
                    function_ref<void(ImplicitLocOpBuilder &, Value)> body) {
  emitFor(b, cIndex(b, lb), cIndex(b, ub), step, body);
}

/// A loop carrying `init`; `body` returns the next values.
static ValueRange
emitForIter(ImplicitLocOpBuilder &b, Value lb, Value ub, int64_t step,
            ValueRange init,
            function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value,
                                            ValueRange)>
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

/// Scale (and zero-point) indices for weight row `row` and group `group`.
static SmallVector<Value> scaleIndices(ImplicitLocOpBuilder &b,
                                       const Kernel &kern, Value row,
                                       Value group) {
  Value zero = cIndex(b, 0);
  switch (kern.granularity) {
  case Granularity::per_tensor:
    return {zero, zero};
  case Granularity::per_channel:
    return {row, zero};
  case Granularity::per_group:
    return {row, group};
  }
  llvm_unreachable("unknown granularity");
}

/// The `bits` i32 words of chunk `chunk` of weight row `row`, with one vector
/// load aligned to the chunk's size (4 * bits bytes, capped at 16): 4- and
/// 8-bit chunks become 128-bit loads (ld.global.v4.b32).
static SmallVector<Value> loadChunkWords(ImplicitLocOpBuilder &b,
                                         const Kernel &kern, Value row,
                                         Value chunk) {
  int64_t bytes = 4 * kern.bits;
  int64_t align = std::min<int64_t>(16, bytes & -bytes);
  auto type = VectorType::get({kern.bits}, b.getI32Type());
  Value vec =
      vector::LoadOp::create(b, type, kern.words,
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

/// Code `i` (0..31) of a chunk as the f32 `2^23 + u`, with u the code's
/// stream bits [i*bits, (i+1)*bits) of the chunk's words (docs/BIT_LAYOUT.md)
/// read as unsigned; for signed codes the sign bit is flipped, so
/// u = code + 2^(bits-1). A 3-, 5-, 6- or 7-bit code may straddle two words.
/// `code = result - codeOffset(...)`.
static Value unpackBiasedCode(ImplicitLocOpBuilder &b, const Kernel &kern,
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
  if (kern.isSigned)
    v = arith::XOrIOp::create(b, v, cI32(b, int64_t(1) << (bits - 1)));
  v = arith::OrIOp::create(b, v, cI32(b, kMagicBits));
  return arith::BitcastOp::create(b, b.getF32Type(), v);
}

/// What unpackBiasedCode's results minus give the code minus the zero point
/// `zp` (null when symmetric): 2^23, plus 2^(bits-1) for signed codes, plus zp.
static Value codeOffset(ImplicitLocOpBuilder &b, const Kernel &kern,
                        Value zp) {
  float bias = kMagic + (kern.isSigned ? float(int64_t(1) << (kern.bits - 1))
                                       : 0.0f);
  Value offset = cF32(b, bias);
  return zp ? arith::AddFOp::create(b, offset, zp).getResult() : offset;
}

/// Scale (f32) and code offset (codeOffset: the zero point folded in) of
/// `row`'s group holding code index `kc`.
static std::pair<Value, Value> scaleAndOffset(ImplicitLocOpBuilder &b,
                                              const Kernel &kern, Value row,
                                              Value kc) {
  Value group = kern.granularity == Granularity::per_group
                    ? divI(b, kc, kern.groupSize)
                    : cIndex(b, 0);
  SmallVector<Value> idx = scaleIndices(b, kern, row, group);
  Value s = toF32(b, memref::LoadOp::create(b, kern.scales, idx));
  Value zp = kern.zeroPoints
                 ? memref::LoadOp::create(b, kern.zeroPoints, idx).getResult()
                 : Value();
  return {s, codeOffset(b, kern, zp)};
}

/// Reads x[row, col] as f32, or 0 outside [M, K].
static Value loadXOrZero(ImplicitLocOpBuilder &b, const Kernel &kern,
                         Value row, Value col) {
  Value valid = arith::AndIOp::create(b, ult(b, row, kern.m),
                                      ult(b, col, cIndex(b, kern.k)));
  return emitIf(
      b, valid, b.getF32Type(),
      [&](ImplicitLocOpBuilder &ib) -> SmallVector<Value> {
        return {toF32(ib, memref::LoadOp::create(ib, kern.x,
                                                 ValueRange{row, col}))};
      },
      [&](ImplicitLocOpBuilder &ib) -> SmallVector<Value> {
        return {cF32(ib, 0.0f)};
      })[0];
}

/// out[row, col] = v (+ bias[col]), only inside [M, N].
static void storeOut(ImplicitLocOpBuilder &b, const Kernel &kern, Value row,
                     Value col, Value v) {
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
static Value clampRow(ImplicitLocOpBuilder &b, const Kernel &kern, Value row,
                      int64_t rowsPerBlock) {
  if (kern.n % rowsPerBlock == 0)
    return row;
  return arith::MinUIOp::create(b, row, cIndex(b, kern.n - 1));
}

/// A stack buffer standing in for shared memory or registers in loops mode,
/// aligned like the vector loads the kernels make from it.
static Value stackBuffer(ImplicitLocOpBuilder &b, MemRefType type) {
  return memref::AllocaOp::create(b, type, b.getI64IntegerAttr(16));
}

/// A block's shared buffer of `type` inside a kernel body: a private
/// workgroup memref.global of the module (gpu-kernel-outlining copies it into
/// the kernel's gpu.module), 16-byte aligned for the kernels' 128-bit
/// accesses. Globals rather than gpu.launch workgroup attributions, because
/// buffer deallocation rewrites the launch body's block arguments.
static Value workgroupBuffer(ImplicitLocOpBuilder &kb, SymbolTable &symbols,
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
static MemRefType sharedType(const Kernel &kern, ArrayRef<int64_t> shape,
                             Type elem) {
  if (kern.mapping == Mapping::Loops)
    return MemRefType::get(shape, elem);
  auto space = gpu::AddressSpaceAttr::get(elem.getContext(),
                                          gpu::AddressSpace::Workgroup);
  return MemRefType::get(shape, elem, MemRefLayoutAttrInterface(), space);
}

//===----------------------------------------------------------------------===//
// GEMV (M <= 8).
//===----------------------------------------------------------------------===//

struct Gemv {
  const Kernel &kern;
  int64_t rows; // rows of x the kernel is compiled for (a bucket)

  int64_t numAcc() const { return kGemvRowsPerWarp * rows; }
  int64_t numBlocks() const {
    return llvm::divideCeil(kern.n, kGemvRowsPerBlock);
  }
  int64_t numTiles() const { return llvm::divideCeil(kern.k, kGemvTileK); }
  MemRefType xsType() const {
    return sharedType(kern, {rows, kWarpSize * kXStride},
                      Float32Type::get(kern.xElem.getContext()));
  }

  /// Thread `tid` of the block stages its share of x[0:rows, tile] into xs
  /// (zeros outside [M, K]).
  void stageX(ImplicitLocOpBuilder &b, Value xs, Value tid,
              Value tileStart) const {
    emitFor(b, tid, cIndex(b, rows * kGemvTileK), kGemvThreads,
            [&](ImplicitLocOpBuilder &lb, Value e) {
              Value mm = divI(lb, e, kGemvTileK);
              Value j = remI(lb, e, kGemvTileK);
              Value v = loadXOrZero(lb, kern, mm,
                                    arith::AddIOp::create(lb, tileStart, j));
              Value slot = arith::AddIOp::create(
                  lb, mulI(lb, divI(lb, j, kChunk), kXStride),
                  remI(lb, j, kChunk));
              memref::StoreOp::create(lb, v, xs, ValueRange{mm, slot});
            });
  }

  /// One K step of lane `lane` of warp `warp`: its chunk of each of the
  /// warp's weight rows times the staged x rows. `acc[r * rows + m]` is the
  /// lane's partial sum for weight row r and x row m.
  SmallVector<Value> laneStep(ImplicitLocOpBuilder &b, Value xs, Value block,
                              Value warp, Value lane, Value tile,
                              ValueRange acc) const {
    Value chunk = arith::AddIOp::create(b, mulI(b, tile, kWarpSize), lane);
    Value kc = mulI(b, chunk, kChunk);
    Value rowBase = arith::AddIOp::create(
        b, mulI(b, block, kGemvRowsPerBlock), mulI(b, warp, kGemvRowsPerWarp));
    auto body = [&](ImplicitLocOpBuilder &ib) -> SmallVector<Value> {
      SmallVector<Value> next(acc.begin(), acc.end());
      SmallVector<Value> rowIdx;
      SmallVector<SmallVector<Value>> words;
      for (int64_t r = 0; r < kGemvRowsPerWarp; ++r) {
        rowIdx.push_back(
            clampRow(ib, kern, addI(ib, rowBase, r), kGemvRowsPerBlock));
        words.push_back(loadChunkWords(ib, kern, rowIdx[r], chunk));
      }
      Value xBase = mulI(ib, lane, kXStride);
      for (int64_t sg = 0; sg < kChunk / kern.subChunk; ++sg) {
        Value kg = addI(ib, kc, sg * kern.subChunk);
        SmallVector<std::pair<Value, Value>> sz;
        for (int64_t r = 0; r < kGemvRowsPerWarp; ++r)
          sz.push_back(scaleAndOffset(ib, kern, rowIdx[r], kg));
        SmallVector<Value> part(numAcc(), cF32(ib, 0.0f));
        // Four codes at a time: one 128-bit shared load of x per x row.
        for (int64_t i0 = sg * kern.subChunk; i0 < (sg + 1) * kern.subChunk;
             i0 += 4) {
          SmallVector<SmallVector<Value>> xq(rows);
          for (int64_t m = 0; m < rows; ++m) {
            Value v = vector::LoadOp::create(
                ib, VectorType::get({4}, ib.getF32Type()), xs,
                ValueRange{cIndex(ib, m), addI(ib, xBase, i0)},
                /*nontemporal=*/false, llvm::Align(16));
            for (int64_t j = 0; j < 4; ++j)
              xq[m].push_back(vector::ExtractOp::create(ib, v, j));
          }
          for (int64_t r = 0; r < kGemvRowsPerWarp; ++r) {
            for (int64_t j = 0; j < 4; ++j) {
              Value code = arith::SubFOp::create(
                  ib, unpackBiasedCode(ib, kern, words[r], i0 + j),
                  sz[r].second);
              for (int64_t m = 0; m < rows; ++m)
                part[r * rows + m] =
                    mulAdd(ib, code, xq[m][j], part[r * rows + m]);
            }
          }
        }
        // The group scale is applied once per group: acc += s * sum(code*x).
        for (int64_t r = 0; r < kGemvRowsPerWarp; ++r)
          for (int64_t m = 0; m < rows; ++m)
            next[r * rows + m] =
                mulAdd(ib, sz[r].first, part[r * rows + m], next[r * rows + m]);
      }
      return next;
    };
    if (kern.k % kGemvTileK == 0)
      return body(b);
    // The last K step: lanes whose chunk starts past K have nothing to read.
    SmallVector<Type> types(acc.size(), b.getF32Type());
    return llvm::to_vector(emitIf(
        b, ult(b, kc, cIndex(b, kern.k)), types, body,
        [&](ImplicitLocOpBuilder &) -> SmallVector<Value> {
          return SmallVector<Value>(acc.begin(), acc.end());
        }));
  }

  /// Stores the warp's results (`sums` are complete, not partial).
  void store(ImplicitLocOpBuilder &b, Value block, Value warp,
             ArrayRef<Value> sums) const {
    Value rowBase = arith::AddIOp::create(
        b, mulI(b, block, kGemvRowsPerBlock), mulI(b, warp, kGemvRowsPerWarp));
    for (int64_t r = 0; r < kGemvRowsPerWarp; ++r)
      for (int64_t m = 0; m < rows; ++m)
        storeOut(b, kern, cIndex(b, m), addI(b, rowBase, r),
                 sums[r * rows + m]);
  }

  void emitGPU(ImplicitLocOpBuilder &b) const {
    Value one = cIndex(b, 1);
    auto launch = gpu::LaunchOp::create(
        b, cIndex(b, numBlocks()), one, one, cIndex(b, kGemvThreads), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr);
    ImplicitLocOpBuilder kb =
        ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), &launch.getBody().front());
    Value xs = workgroupBuffer(kb, *kern.symbols, xsType());
    Value tid = launch.getThreadIds().x, block = launch.getBlockIds().x;
    Value warp = divI(kb, tid, kWarpSize), lane = remI(kb, tid, kWarpSize);
    SmallVector<Value> init(numAcc(), cF32(kb, 0.0f));
    ValueRange acc = emitForIter(
        kb, cIndex(kb, 0), cIndex(kb, numTiles()), 1, init,
        [&](ImplicitLocOpBuilder &lb, Value tile, ValueRange iter) {
          stageX(lb, xs, tid, mulI(lb, tile, kGemvTileK));
          gpu::BarrierOp::create(lb);
          SmallVector<Value> next =
              laneStep(lb, xs, block, warp, lane, tile, iter);
          // xs is overwritten by the next step.
          gpu::BarrierOp::create(lb);
          return next;
        });
    // Butterfly reduction over the warp: every lane ends with the full sum.
    SmallVector<Value> sums;
    for (Value v : acc) {
      for (int32_t off = kWarpSize / 2; off > 0; off /= 2)
        v = arith::AddFOp::create(
            kb, v,
            gpu::ShuffleOp::create(kb, v, off, kWarpSize,
                                   gpu::ShuffleMode::XOR)
                .getShuffleResult());
      sums.push_back(v);
    }
    Value isLane0 = arith::CmpIOp::create(kb, arith::CmpIPredicate::eq, lane,
                                          cIndex(kb, 0));
    scf::IfOp::create(kb, isLane0, [&](OpBuilder &ob, Location loc) {
      ImplicitLocOpBuilder ib(loc, ob);
      store(ib, block, warp, sums);
      scf::YieldOp::create(ib);
    });
    gpu::TerminatorOp::create(kb);
  }

  void emitLoops(ImplicitLocOpBuilder &b) const {
    Type f32 = b.getF32Type();
    Value xs = stackBuffer(b, xsType());
    // Per-thread registers live across the barriers, so they are memory here.
    Value regs = stackBuffer(b, MemRefType::get({kGemvThreads, numAcc()}, f32));
    emitFor(b, 0, numBlocks(), 1, [&](ImplicitLocOpBuilder &bb, Value block) {
      emitFor(bb, 0, kGemvThreads, 1, [&](ImplicitLocOpBuilder &tb, Value t) {
        for (int64_t a = 0; a < numAcc(); ++a)
          memref::StoreOp::create(tb, cF32(tb, 0.0f), regs,
                                  ValueRange{t, cIndex(tb, a)});
      });
      emitFor(bb, 0, numTiles(), 1, [&](ImplicitLocOpBuilder &lb, Value tile) {
        emitFor(lb, 0, kGemvThreads, 1, [&](ImplicitLocOpBuilder &tb,
                                            Value t) {
          stageX(tb, xs, t, mulI(tb, tile, kGemvTileK));
        });
        // -- barrier --
        emitFor(lb, 0, kGemvThreads, 1, [&](ImplicitLocOpBuilder &tb,
                                            Value t) {
          SmallVector<Value> acc;
          for (int64_t a = 0; a < numAcc(); ++a)
            acc.push_back(memref::LoadOp::create(
                tb, regs, ValueRange{t, cIndex(tb, a)}));
          SmallVector<Value> next =
              laneStep(tb, xs, block, divI(tb, t, kWarpSize),
                       remI(tb, t, kWarpSize), tile, acc);
          for (int64_t a = 0; a < numAcc(); ++a)
            memref::StoreOp::create(tb, next[a], regs,
                                    ValueRange{t, cIndex(tb, a)});
        });
      });
      // The shuffle reduction becomes a sequential sum over the lanes.
      emitFor(bb, 0, kGemvWarps, 1, [&](ImplicitLocOpBuilder &wb, Value warp) {
        SmallVector<Value> sums;
        for (int64_t a = 0; a < numAcc(); ++a) {
          Value first = mulI(wb, warp, kWarpSize);
          sums.push_back(emitForIter(
              wb, first, addI(wb, first, kWarpSize), 1,
              ValueRange{cF32(wb, 0.0f)},
              [&](ImplicitLocOpBuilder &sb, Value t,
                  ValueRange s) -> SmallVector<Value> {
                Value v = memref::LoadOp::create(
                    sb, regs, ValueRange{t, cIndex(sb, a)});
                return {arith::AddFOp::create(sb, s[0], v)};
              })[0]);
        }
        store(wb, block, warp, sums);
      });
    });
  }
};

//===----------------------------------------------------------------------===//
// GEMM (M > 8) on tensor cores.
//===----------------------------------------------------------------------===//

struct Gemm {
  const Kernel &kern;

  int64_t numBlocksN() const { return llvm::divideCeil(kern.n, kTileN); }
  int64_t numTiles() const { return llvm::divideCeil(kern.k, kTileK); }
  MemRefType tileType() const {
    return sharedType(kern, {kTileM, kSmemStride},
                      Float16Type::get(kern.xElem.getContext()));
  }

  /// Thread `tid` stages its share of K step `kt`: x[m0:m0+64, k0:k0+64]
  /// rounded to f16 into `as`, and one dequantized chunk (32 codes) of one
  /// weight row into `bs` (rows of bs are weight rows n0..n0+63).
  void stage(ImplicitLocOpBuilder &b, Value as, Value bs, Value bm, Value bn,
             Value tid, Value kt) const {
    Type f16 = b.getF16Type();
    Value m0 = mulI(b, bm, kTileM), n0 = mulI(b, bn, kTileN);
    Value k0 = mulI(b, kt, kTileK);
    emitFor(b, tid, cIndex(b, kTileM * kTileK), kGemmThreads,
            [&](ImplicitLocOpBuilder &lb, Value e) {
              Value r = divI(lb, e, kTileK), c = remI(lb, e, kTileK);
              Value v = loadXOrZero(lb, kern, arith::AddIOp::create(lb, m0, r),
                                    arith::AddIOp::create(lb, k0, c));
              memref::StoreOp::create(lb, arith::TruncFOp::create(lb, f16, v),
                                      as, ValueRange{r, c});
            });

    constexpr int64_t chunksPerRow = kTileK / kChunk;
    static_assert(kTileN * chunksPerRow == kGemmThreads,
                  "one chunk of B per thread");
    Value nl = divI(b, tid, chunksPerRow);
    Value col = mulI(b, remI(b, tid, chunksPerRow), kChunk);
    Value row = clampRow(b, kern, arith::AddIOp::create(b, n0, nl), kTileN);
    Value kc = arith::AddIOp::create(b, k0, col);
    auto vecType = VectorType::get({8}, f16);
    auto storeVals = [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> vals) {
      for (int64_t q = 0; q < kChunk / 8; ++q) {
        Value v = vector::FromElementsOp::create(ib, vecType,
                                                 vals.slice(q * 8, 8));
        vector::StoreOp::create(ib, v, bs, ValueRange{nl, addI(ib, col, q * 8)},
                                /*nontemporal=*/false, llvm::Align(16));
      }
    };
    auto dequant = [&](ImplicitLocOpBuilder &ib) {
      SmallVector<Value> words =
          loadChunkWords(ib, kern, row, divI(ib, kc, kChunk));
      SmallVector<Value> vals;
      for (int64_t sg = 0; sg < kChunk / kern.subChunk; ++sg) {
        auto [s, offset] = scaleAndOffset(ib, kern, row,
                                         addI(ib, kc, sg * kern.subChunk));
        for (int64_t i = sg * kern.subChunk; i < (sg + 1) * kern.subChunk;
             ++i) {
          Value code = arith::SubFOp::create(
              ib, unpackBiasedCode(ib, kern, words, i), offset);
          vals.push_back(arith::TruncFOp::create(
              ib, f16, arith::MulFOp::create(ib, s, code)));
        }
      }
      storeVals(ib, vals);
    };
    if (kern.k % kTileK == 0) {
      dequant(b);
      return;
    }
    scf::IfOp::create(
        b, ult(b, kc, cIndex(b, kern.k)),
        [&](OpBuilder &ob, Location loc) {
          ImplicitLocOpBuilder ib(loc, ob);
          dequant(ib);
          scf::YieldOp::create(ib);
        },
        [&](OpBuilder &ob, Location loc) {
          ImplicitLocOpBuilder ib(loc, ob);
          storeVals(ib, SmallVector<Value>(
                            kChunk, arith::ConstantOp::create(
                                        ib, ib.getFloatAttr(f16, 0.0))));
          scf::YieldOp::create(ib);
        });
  }

  /// Tile coordinates (row in the 64x64 block tile, column) of accumulator
  /// element `e` (0..3) of mma tile (mi, ni) held by `lane` of `warp`: the
  /// m16n8 f32 C fragment gives lane l rows l/4 and l/4 + 8, columns
  /// 2*(l%4) and 2*(l%4) + 1.
  std::pair<Value, Value> accCoord(ImplicitLocOpBuilder &b, Value warp,
                                   Value lane, int64_t mi, int64_t ni,
                                   int64_t e) const {
    Value g = divI(b, lane, 4), t = remI(b, lane, 4);
    Value wm = divI(b, warp, 2), wn = remI(b, warp, 2);
    Value row = addI(b, arith::AddIOp::create(b, mulI(b, wm, kWarpTileM), g),
                     mi * kMmaM + (e / 2) * 8);
    Value col = addI(b, arith::AddIOp::create(b, mulI(b, wn, kWarpTileN),
                                              mulI(b, t, 2)),
                     ni * kMmaN + e % 2);
    return {row, col};
  }

  /// The warp's mma.sync steps over one K step; `acc` holds kMTiles*kNTiles
  /// vector<2x2xf32> C fragments. Operand fragments (m16n8k16, f16): lane l
  /// with g = l/4, t = l%4 holds A rows g, g+8 at columns 2t, 2t+1, 2t+8,
  /// 2t+9 and B columns (weight rows) g at K offsets 2t, 2t+1, 2t+8, 2t+9.
  SmallVector<Value> mmaStep(ImplicitLocOpBuilder &b, Value as, Value bs,
                             Value warp, Value lane, ValueRange acc) const {
    Type f16 = b.getF16Type();
    auto pairType = VectorType::get({2}, f16);
    Value g = divI(b, lane, 4), t2 = mulI(b, remI(b, lane, 4), 2);
    Value wm = divI(b, warp, 2), wn = remI(b, warp, 2);
    Value aRow = arith::AddIOp::create(b, mulI(b, wm, kWarpTileM), g);
    Value bRow = arith::AddIOp::create(b, mulI(b, wn, kWarpTileN), g);
    auto pair = [&](Value tile, Value r, Value c) -> Value {
      return vector::LoadOp::create(b, pairType, tile, ValueRange{r, c},
                                    /*nontemporal=*/false, llvm::Align(4));
    };
    SmallVector<Value> next(acc.begin(), acc.end());
    for (int64_t ks = 0; ks < kTileK / kMmaK; ++ks) {
      Value c0 = addI(b, t2, ks * kMmaK), c8 = addI(b, c0, 8);
      SmallVector<Value> aFrag, bFrag;
      for (int64_t mi = 0; mi < kMTiles; ++mi) {
        Value r0 = addI(b, aRow, mi * kMmaM), r8 = addI(b, r0, 8);
        Value a = arith::ConstantOp::create(
            b, DenseElementsAttr::get(VectorType::get({4, 2}, f16),
                                      b.getFloatAttr(f16, 0.0)));
        int64_t slot = 0;
        for (auto [r, c] : {std::pair(r0, c0), std::pair(r8, c0),
                            std::pair(r0, c8), std::pair(r8, c8)})
          a = vector::InsertOp::create(b, pair(as, r, c), a, slot++);
        aFrag.push_back(a);
      }
      for (int64_t ni = 0; ni < kNTiles; ++ni) {
        Value r = addI(b, bRow, ni * kMmaN);
        Value bv = arith::ConstantOp::create(
            b, DenseElementsAttr::get(VectorType::get({2, 2}, f16),
                                      b.getFloatAttr(f16, 0.0)));
        bv = vector::InsertOp::create(b, pair(bs, r, c0), bv, 0);
        bv = vector::InsertOp::create(b, pair(bs, r, c8), bv, 1);
        bFrag.push_back(bv);
      }
      for (int64_t mi = 0; mi < kMTiles; ++mi)
        for (int64_t ni = 0; ni < kNTiles; ++ni)
          next[mi * kNTiles + ni] = nvgpu::MmaSyncOp::create(
              b, aFrag[mi], bFrag[ni], next[mi * kNTiles + ni],
              ArrayRef<int64_t>{kMmaM, kMmaN, kMmaK});
    }
    return next;
  }

  /// The loops-mode stand-in for mmaStep: each of the thread's accumulator
  /// elements (same ownership as the C fragments) gets the dot product of
  /// its A row and B column over the K step, from the same f16 tiles.
  SmallVector<Value> dotStep(ImplicitLocOpBuilder &b, Value as, Value bs,
                             Value warp, Value lane, ValueRange acc) const {
    SmallVector<Value> next;
    for (int64_t mi = 0; mi < kMTiles; ++mi)
      for (int64_t ni = 0; ni < kNTiles; ++ni)
        for (int64_t e = 0; e < 4; ++e) {
          std::pair<Value, Value> rc = accCoord(b, warp, lane, mi, ni, e);
          Value row = rc.first, col = rc.second;
          next.push_back(emitForIter(
              b, cIndex(b, 0), cIndex(b, kTileK), 1,
              ValueRange{acc[(mi * kNTiles + ni) * 4 + e]},
              [&](ImplicitLocOpBuilder &lb, Value kk,
                  ValueRange s) -> SmallVector<Value> {
                Value a = toF32(lb, memref::LoadOp::create(
                                        lb, as, ValueRange{row, kk}));
                Value w = toF32(lb, memref::LoadOp::create(
                                        lb, bs, ValueRange{col, kk}));
                return {mulAdd(lb, a, w, s[0])};
              })[0]);
        }
    return next;
  }

  /// Stores the thread's accumulator elements (flat, 4 per mma tile).
  void store(ImplicitLocOpBuilder &b, Value bm, Value bn, Value warp,
             Value lane, ArrayRef<Value> vals) const {
    Value m0 = mulI(b, bm, kTileM), n0 = mulI(b, bn, kTileN);
    for (int64_t mi = 0; mi < kMTiles; ++mi)
      for (int64_t ni = 0; ni < kNTiles; ++ni)
        for (int64_t e = 0; e < 4; ++e) {
          auto [row, col] = accCoord(b, warp, lane, mi, ni, e);
          storeOut(b, kern, arith::AddIOp::create(b, m0, row),
                   arith::AddIOp::create(b, n0, col),
                   vals[(mi * kNTiles + ni) * 4 + e]);
        }
  }

  Value numBlocksM(ImplicitLocOpBuilder &b) const {
    return arith::CeilDivUIOp::create(b, kern.m, cIndex(b, kTileM));
  }

  void emitGPU(ImplicitLocOpBuilder &b) const {
    Value one = cIndex(b, 1);
    auto launch = gpu::LaunchOp::create(
        b, cIndex(b, numBlocksN()), numBlocksM(b), one,
        cIndex(b, kGemmThreads), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr);
    ImplicitLocOpBuilder kb =
        ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), &launch.getBody().front());
    Value as = workgroupBuffer(kb, *kern.symbols, tileType());
    Value bs = workgroupBuffer(kb, *kern.symbols, tileType());
    Value tid = launch.getThreadIds().x;
    Value bn = launch.getBlockIds().x, bm = launch.getBlockIds().y;
    Value warp = divI(kb, tid, kWarpSize), lane = remI(kb, tid, kWarpSize);
    Value zero = arith::ConstantOp::create(
        kb, DenseElementsAttr::get(VectorType::get({2, 2}, kb.getF32Type()),
                                   kb.getF32FloatAttr(0.0f)));
    SmallVector<Value> init(kMTiles * kNTiles, zero);
    ValueRange acc = emitForIter(
        kb, cIndex(kb, 0), cIndex(kb, numTiles()), 1, init,
        [&](ImplicitLocOpBuilder &lb, Value kt, ValueRange iter) {
          stage(lb, as, bs, bm, bn, tid, kt);
          gpu::BarrierOp::create(lb);
          SmallVector<Value> next = mmaStep(lb, as, bs, warp, lane, iter);
          gpu::BarrierOp::create(lb);
          return next;
        });
    SmallVector<Value> vals;
    for (Value frag : acc)
      for (int64_t e = 0; e < 4; ++e)
        vals.push_back(vector::ExtractOp::create(
            kb, frag, ArrayRef<int64_t>{e / 2, e % 2}));
    store(kb, bm, bn, warp, lane, vals);
    gpu::TerminatorOp::create(kb);
  }

  void emitLoops(ImplicitLocOpBuilder &b) const {
    Type f32 = b.getF32Type();
    Value as = stackBuffer(b, tileType());
    Value bs = stackBuffer(b, tileType());
    Value regs = stackBuffer(b, MemRefType::get({kGemmThreads, kAccPerThread}, f32));
    auto loadRegs = [&](ImplicitLocOpBuilder &tb, Value t) {
      SmallVector<Value> acc;
      for (int64_t a = 0; a < kAccPerThread; ++a)
        acc.push_back(
            memref::LoadOp::create(tb, regs, ValueRange{t, cIndex(tb, a)}));
      return acc;
    };
    emitFor(b, cIndex(b, 0), numBlocksM(b), 1, [&](ImplicitLocOpBuilder &mb,
                                                   Value bm) {
      emitFor(mb, 0, numBlocksN(), 1, [&](ImplicitLocOpBuilder &bb, Value bn) {
        emitFor(bb, 0, kGemmThreads, 1, [&](ImplicitLocOpBuilder &tb,
                                            Value t) {
          for (int64_t a = 0; a < kAccPerThread; ++a)
            memref::StoreOp::create(tb, cF32(tb, 0.0f), regs,
                                    ValueRange{t, cIndex(tb, a)});
        });
        emitFor(bb, 0, numTiles(), 1, [&](ImplicitLocOpBuilder &lb, Value kt) {
          emitFor(lb, 0, kGemmThreads, 1,
                  [&](ImplicitLocOpBuilder &tb, Value t) {
                    stage(tb, as, bs, bm, bn, t, kt);
                  });
          // -- barrier --
          emitFor(lb, 0, kGemmThreads, 1, [&](ImplicitLocOpBuilder &tb,
                                              Value t) {
            SmallVector<Value> next =
                dotStep(tb, as, bs, divI(tb, t, kWarpSize),
                        remI(tb, t, kWarpSize), loadRegs(tb, t));
            for (int64_t a = 0; a < kAccPerThread; ++a)
              memref::StoreOp::create(tb, next[a], regs,
                                      ValueRange{t, cIndex(tb, a)});
          });
        });
        emitFor(bb, 0, kGemmThreads, 1, [&](ImplicitLocOpBuilder &tb,
                                            Value t) {
          store(tb, bm, bn, divI(tb, t, kWarpSize), remI(tb, t, kWarpSize),
                loadRegs(tb, t));
        });
      });
    });
  }
};

//===----------------------------------------------------------------------===//
// The pass.
//===----------------------------------------------------------------------===//

/// The codes of a qnt.constant re-laid out for the kernels: row n becomes
/// `rowWords` little-endian i32 words holding the same bit stream, zero
/// padded, so chunk c of every row starts at word c * bits. A resource blob
/// (real weights) stays a blob.
static FailureOr<Value> materializeWords(ConstantOp op, int64_t rowWords) {
  PackedType packedType = op.getType();
  OpBuilder builder(op);
  auto wordsType = RankedTensorType::get(
      {packedType.getShape()[0], rowWords}, builder.getI32Type());
  // Splat bytes without padding are splat words (test inputs at real sizes).
  auto dense = dyn_cast<DenseIntElementsAttr>(op.getCodes());
  if (dense && dense.isSplat() &&
      packedType.getCodesShape().back() == rowWords * 4) {
    uint32_t byte = dense.getSplatValue<APInt>().getZExtValue() & 0xFF;
    return arith::ConstantOp::create(
               builder, op.getLoc(),
               DenseElementsAttr::get(wordsType,
                                      APInt(32, byte * 0x01010101u)))
        .getResult();
  }
  SmallVector<char> storage;
  FailureOr<ArrayRef<char>> bytes = readCodeBytes(op, storage);
  if (failed(bytes))
    return failure();
  PackedType type = op.getType();
  int64_t n = type.getShape()[0];
  int64_t rowBytes = type.getCodesShape().back();
  std::vector<char> padded(n * rowWords * 4, 0);
  for (int64_t r = 0; r < n; ++r)
    std::memcpy(padded.data() + r * rowWords * 4,
                bytes->data() + r * rowBytes, rowBytes);
  OpBuilder b(op);
  auto tensorType =
      RankedTensorType::get({n, rowWords}, b.getI32Type());
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      ArrayRef<char>(padded), alignof(uint64_t));
  auto attr = DenseResourceElementsAttr::get(tensorType, "qnt_gpu_codes",
                                             std::move(blob));
  return arith::ConstantOp::create(b, op.getLoc(), attr).getResult();
}

/// What the kernels read of one qnt.constant: its scales and zero points and
/// the re-laid-out codes.
struct GpuPayload {
  Payload payload;
  Value words;
};

struct ConvertQntToGPU final
    : qnt::impl::ConvertQntToGPUPassBase<ConvertQntToGPU> {
  using Base::Base;
  LogicalResult initialize(MLIRContext *context) override {
    if (mapping != "gpu" && mapping != "loops")
      return emitError(UnknownLoc::get(context))
             << "convert-qnt-to-gpu option mapping='" << mapping
             << "' must be 'gpu' or 'loops'";
    return success();
  }
  void runOnOperation() override;
  LogicalResult lowerMatmul(MatmulOp op, Mapping mapping);

  /// One set of constants per qnt.constant, however many matmuls use it.
  llvm::DenseMap<Operation *, GpuPayload> payloads;
  /// The module's symbol table, built once per run (workgroup globals).
  std::optional<SymbolTable> symbols;
};

LogicalResult ConvertQntToGPU::lowerMatmul(MatmulOp op, Mapping mapping) {
  PackedType wType = op.getWeight().getType();
  SchemeAttr scheme = wType.getScheme();
  if (!scheme.isInteger())
    return op.emitOpError() << "GPU lowering supports integer formats only, not "
                            << stringifyFormat(scheme.getFormat());
  auto constant = op.getWeight().getDefiningOp<ConstantOp>();
  if (!constant)
    return op.emitOpError()
           << "packed operand must come from qnt.constant to be lowered for "
              "the GPU";
  Kernel kern;
  kern.mapping = mapping;
  kern.symbols = &*symbols;
  kern.bits = scheme.getBits();
  kern.isSigned = scheme.isSigned();
  kern.granularity = scheme.getGranularity();
  kern.n = wType.getShape()[0];
  kern.k = wType.getShape()[1];
  kern.groupSize = kern.granularity == Granularity::per_group
                       ? scheme.getGroupSize()
                       : kern.k;
  // A chunk of 32 codes must lie in one group or be a whole number of groups.
  if (kern.groupSize >= kern.k)
    kern.subChunk = kChunk;
  else if (kern.groupSize % kChunk == 0)
    kern.subChunk = kChunk;
  else if (kChunk % kern.groupSize == 0)
    kern.subChunk = kern.groupSize;
  else
    return op.emitOpError()
           << "group size " << kern.groupSize
           << " is not supported by the GPU lowering: it needs groups of a "
              "multiple of 32 codes or a divisor of 32";
  kern.rowWords = llvm::divideCeil(kern.k, kChunk) * kern.bits;
  kern.xElem = op.getInput().getType().getElementType();
  if (!isa<Float32Type, Float16Type, BFloat16Type>(kern.xElem))
    return op.emitOpError() << "GPU lowering supports f32, f16 and bf16 "
                               "activations, not "
                            << kern.xElem;

  auto it = payloads.find(constant);
  if (it == payloads.end()) {
    FailureOr<Payload> payload = materializePayload(constant);
    if (failed(payload))
      return failure();
    FailureOr<Value> words = materializeWords(constant, kern.rowWords);
    if (failed(words))
      return failure();
    // The kernels read words, not the byte codes.
    payload->codes.getDefiningOp()->erase();
    it = payloads.insert({constant, GpuPayload{*payload, *words}}).first;
  }
  const Payload *payload = &it->second.payload;
  Value *words = &it->second.words;

  ImplicitLocOpBuilder b(op.getLoc(), op);
  kern.x = to2D(b, toBuffer(b, op.getInput()));
  kern.words = toBuffer(b, *words);
  kern.scales = toBuffer(b, payload->scales);
  if (payload->zeroPoints)
    kern.zeroPoints = toBuffer(b, payload->zeroPoints);
  if (op.getBias())
    kern.bias = toBuffer(b, op.getBias());
  Value outBuf = allocMatmulResult(b, op);
  kern.out = to2D(b, outBuf);
  kern.m = memref::DimOp::create(b, kern.x, 0);

  // Emits the GEMV for `rows` rows of x, or the GEMM for rows == 0.
  auto emitBucket = [&](ImplicitLocOpBuilder &eb, int64_t rows) {
    bool loops = mapping == Mapping::Loops;
    if (rows == 0) {
      Gemm gemm{kern};
      loops ? gemm.emitLoops(eb) : gemm.emitGPU(eb);
      return;
    }
    Gemv gemv{kern, rows};
    loops ? gemv.emitLoops(eb) : gemv.emitGPU(eb);
  };
  // Strategy by M: the smallest GEMV bucket that holds M, else the GEMM
  // (bucket 0). A static M picks one kernel; a dynamic M tests at runtime.
  int64_t staticM = cast<MemRefType>(kern.x.getType()).getDimSize(0);
  if (!ShapedType::isDynamic(staticM)) {
    int64_t bucket = 0;
    for (int64_t rows : kGemvBuckets)
      if (!bucket && staticM <= rows)
        bucket = rows;
    emitBucket(b, bucket);
  } else {
    std::function<void(ImplicitLocOpBuilder &, size_t)> chain =
        [&](ImplicitLocOpBuilder &cb, size_t i) {
          if (i == std::size(kGemvBuckets)) {
            emitBucket(cb, 0);
            return;
          }
          Value fits = arith::CmpIOp::create(cb, arith::CmpIPredicate::ule,
                                             kern.m,
                                             cIndex(cb, kGemvBuckets[i]));
          scf::IfOp::create(
              cb, fits,
              [&](OpBuilder &ob, Location loc) {
                ImplicitLocOpBuilder ib(loc, ob);
                emitBucket(ib, kGemvBuckets[i]);
                scf::YieldOp::create(ib);
              },
              [&](OpBuilder &ob, Location loc) {
                ImplicitLocOpBuilder ib(loc, ob);
                chain(ib, i + 1);
                scf::YieldOp::create(ib);
              });
        };
    chain(b, 0);
  }

  replaceWithBuffer(b, op, outBuf);
  return success();
}

void ConvertQntToGPU::runOnOperation() {
  ModuleOp module = getOperation();
  payloads.clear();
  symbols.emplace(module);
  Mapping kind;
  if (mapping == "gpu") {
    kind = Mapping::GPU;
  } else if (mapping == "loops") {
    kind = Mapping::Loops;
  } else {
    return signalPassFailure(); // initialize() reported it
  }
  SmallVector<MatmulOp> matmuls;
  module.walk([&](MatmulOp op) { matmuls.push_back(op); });
  for (MatmulOp op : matmuls)
    if (failed(lowerMatmul(op, kind)))
      return signalPassFailure();

  bool failedAny = false;
  module.walk([&](Operation *op) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      // A constant still in use feeds an op reported below.
      if (constant->use_empty())
        constant.erase();
      return WalkResult::skip();
    }
    if (isa<QntDialect>(op->getDialect())) {
      op->emitOpError("cannot be lowered for the GPU yet (only qnt.matmul "
                      "is; run qnt-fuse-dequant-matmul first)");
      failedAny = true;
    }
    return WalkResult::advance();
  });
  if (failedAny)
    signalPassFailure();
}


/// gpu.barrier orders the block's accesses to workgroup memory: to analyses
/// it reads and writes memory. Without this model it has no effects
/// interface at all, which buffer deallocation rejects as unknown effects.
struct BarrierMemoryEffects
    : MemoryEffectOpInterface::ExternalModel<BarrierMemoryEffects,
                                             gpu::BarrierOp> {
  void getEffects(Operation *,
                  SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                      &effects) const {
    effects.emplace_back(MemoryEffects::Read::get());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};
} // namespace

void qnt::registerGpuBarrierMemoryEffects(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, gpu::GPUDialect *) {
    gpu::BarrierOp::attachInterface<BarrierMemoryEffects>(*ctx);
  });
}
