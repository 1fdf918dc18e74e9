// The GEMM of convert-qnt-to-gpu (the rows above the GEMVs): 64x64 tiles on
// tensor cores, x and dequantized weights staged in shared memory as f16
// (docs/GPU.md).
#include "GpuKernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "qnt/Conversion/Common.h"

using namespace mlir;
using namespace mlir::qnt;
namespace mlir::qnt::gpu_kernels {
namespace {
//===----------------------------------------------------------------------===//
// GEMM (the rows above the GEMVs) on tensor cores.
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
        Value v =
            vector::FromElementsOp::create(ib, vecType, vals.slice(q * 8, 8));
        vector::StoreOp::create(ib, v, bs, ValueRange{nl, addI(ib, col, q * 8)},
                                /*nontemporal=*/false, llvm::Align(16));
      }
    };
    auto dequant = [&](ImplicitLocOpBuilder &ib) {
      SmallVector<Value> words =
          loadChunkWords(ib, kern, row, divI(ib, kc, kChunk));
      SmallVector<Value> vals;
      for (int64_t sg = 0; sg < kChunk / kern.subChunk; ++sg) {
        auto [s, offset] =
            scaleAndOffset(ib, kern, row, addI(ib, kc, sg * kern.subChunk));
        for (int64_t i = sg * kern.subChunk; i < (sg + 1) * kern.subChunk;
             ++i) {
          Value code = unpackCode(ib, kern, words, i, offset);
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
          storeVals(ib, SmallVector<Value>(kChunk,
                                           arith::ConstantOp::create(
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
    Value col = addI(
        b, arith::AddIOp::create(b, mulI(b, wn, kWarpTileN), mulI(b, t, 2)),
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
                Value a = toF32(
                    lb, memref::LoadOp::create(lb, as, ValueRange{row, kk}));
                Value w = toF32(
                    lb, memref::LoadOp::create(lb, bs, ValueRange{col, kk}));
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
        b, cIndex(b, numBlocksN()), numBlocksM(b), one, cIndex(b, kGemmThreads),
        one, one,
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
    ValueRange acc =
        emitForIter(kb, cIndex(kb, 0), cIndex(kb, numTiles()), 1, init,
                    [&](ImplicitLocOpBuilder &lb, Value kt, ValueRange iter) {
                      stage(lb, as, bs, bm, bn, tid, kt);
                      gpu::BarrierOp::create(lb);
                      SmallVector<Value> next =
                          mmaStep(lb, as, bs, warp, lane, iter);
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
    Value regs =
        stackBuffer(b, MemRefType::get({kGemmThreads, kAccPerThread}, f32));
    auto loadRegs = [&](ImplicitLocOpBuilder &tb, Value t) {
      SmallVector<Value> acc;
      for (int64_t a = 0; a < kAccPerThread; ++a)
        acc.push_back(
            memref::LoadOp::create(tb, regs, ValueRange{t, cIndex(tb, a)}));
      return acc;
    };
    emitFor(
        b, cIndex(b, 0), numBlocksM(b), 1,
        [&](ImplicitLocOpBuilder &mb, Value bm) {
          emitFor(
              mb, 0, numBlocksN(), 1, [&](ImplicitLocOpBuilder &bb, Value bn) {
                emitFor(bb, 0, kGemmThreads, 1,
                        [&](ImplicitLocOpBuilder &tb, Value t) {
                          for (int64_t a = 0; a < kAccPerThread; ++a)
                            memref::StoreOp::create(
                                tb, cF32(tb, 0.0f), regs,
                                ValueRange{t, cIndex(tb, a)});
                        });
                emitFor(bb, 0, numTiles(), 1,
                        [&](ImplicitLocOpBuilder &lb, Value kt) {
                          emitFor(lb, 0, kGemmThreads, 1,
                                  [&](ImplicitLocOpBuilder &tb, Value t) {
                                    stage(tb, as, bs, bm, bn, t, kt);
                                  });
                          // -- barrier --
                          emitFor(lb, 0, kGemmThreads, 1,
                                  [&](ImplicitLocOpBuilder &tb, Value t) {
                                    SmallVector<Value> next = dotStep(
                                        tb, as, bs, divI(tb, t, kWarpSize),
                                        remI(tb, t, kWarpSize),
                                        loadRegs(tb, t));
                                    for (int64_t a = 0; a < kAccPerThread; ++a)
                                      memref::StoreOp::create(
                                          tb, next[a], regs,
                                          ValueRange{t, cIndex(tb, a)});
                                  });
                        });
                emitFor(bb, 0, kGemmThreads, 1,
                        [&](ImplicitLocOpBuilder &tb, Value t) {
                          store(tb, bm, bn, divI(tb, t, kWarpSize),
                                remI(tb, t, kWarpSize), loadRegs(tb, t));
                        });
              });
        });
  }
};

} // namespace

void emitGemm(ImplicitLocOpBuilder &b, const Kernel &kern) {
  Gemm gemm{kern};
  kern.mapping == Mapping::Loops ? gemm.emitLoops(b) : gemm.emitGPU(b);
}

} // namespace mlir::qnt::gpu_kernels
