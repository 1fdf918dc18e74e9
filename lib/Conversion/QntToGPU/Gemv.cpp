// The GEMV of convert-qnt-to-gpu (a few rows of x): warps over weight rows,
// x staged in shared memory (docs/GPU.md).
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
// GEMV (the rows of x of one of the kernel's gemv).
//===----------------------------------------------------------------------===//

struct Gemv {
  const Kernel &kern;
  int64_t rows;        // rows of x the kernel is compiled for
  int64_t warps;       // warps per block
  int64_t rowsPerWarp; // weight rows per warp

  int64_t threads() const { return warps * kWarpSize; }
  int64_t rowsPerBlock() const { return warps * rowsPerWarp; }
  int64_t numAcc() const { return rowsPerWarp * rows; }
  int64_t numBlocks() const { return llvm::divideCeil(kern.n, rowsPerBlock()); }
  int64_t numTiles() const { return llvm::divideCeil(kern.k, kGemvTileK); }
  MemRefType xsType() const {
    return sharedType(kern, {rows, kWarpSize * kXStride},
                      Float32Type::get(kern.xElem.getContext()));
  }

  /// Thread `tid` of the block stages its share of x[0:rows, tile] into xs
  /// (zeros outside [M, K]).
  void stageX(ImplicitLocOpBuilder &b, Value xs, Value tid,
              Value tileStart) const {
    emitFor(b, tid, cIndex(b, rows * kGemvTileK), threads(),
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
    Value rowBase = arith::AddIOp::create(b, mulI(b, block, rowsPerBlock()),
                                          mulI(b, warp, rowsPerWarp));
    auto body = [&](ImplicitLocOpBuilder &ib) -> SmallVector<Value> {
      SmallVector<Value> next(acc.begin(), acc.end());
      SmallVector<Value> rowIdx;
      SmallVector<SmallVector<Value>> words;
      for (int64_t r = 0; r < rowsPerWarp; ++r) {
        rowIdx.push_back(
            clampRow(ib, kern, addI(ib, rowBase, r), rowsPerBlock()));
        words.push_back(loadChunkWords(ib, kern, rowIdx[r], chunk));
      }
      Value xBase = mulI(ib, lane, kXStride);
      for (int64_t sg = 0; sg < kChunk / kern.subChunk; ++sg) {
        Value kg = addI(ib, kc, sg * kern.subChunk);
        SmallVector<std::pair<Value, Value>> sz;
        for (int64_t r = 0; r < rowsPerWarp; ++r)
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
          for (int64_t r = 0; r < rowsPerWarp; ++r) {
            for (int64_t j = 0; j < 4; ++j) {
              Value code =
                  unpackCode(ib, kern, words[r], i0 + j, sz[r].second);
              for (int64_t m = 0; m < rows; ++m)
                part[r * rows + m] =
                    mulAdd(ib, code, xq[m][j], part[r * rows + m]);
            }
          }
        }
        // The group scale is applied once per group: acc += s * sum(code*x).
        for (int64_t r = 0; r < rowsPerWarp; ++r)
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
    return llvm::to_vector(
        emitIf(b, ult(b, kc, cIndex(b, kern.k)), types, body,
               [&](ImplicitLocOpBuilder &) -> SmallVector<Value> {
                 return SmallVector<Value>(acc.begin(), acc.end());
               }));
  }

  /// Stores the warp's results (`sums` are complete, not partial).
  void store(ImplicitLocOpBuilder &b, Value block, Value warp,
             ArrayRef<Value> sums) const {
    Value rowBase = arith::AddIOp::create(b, mulI(b, block, rowsPerBlock()),
                                          mulI(b, warp, rowsPerWarp));
    for (int64_t r = 0; r < rowsPerWarp; ++r)
      for (int64_t m = 0; m < rows; ++m)
        storeOut(b, kern, cIndex(b, m), addI(b, rowBase, r),
                 sums[r * rows + m]);
  }

  void emitGPU(ImplicitLocOpBuilder &b) const {
    Value one = cIndex(b, 1);
    auto launch = gpu::LaunchOp::create(
        b, cIndex(b, numBlocks()), one, one, cIndex(b, threads()), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr);
    ImplicitLocOpBuilder kb =
        ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), &launch.getBody().front());
    Value xs = workgroupBuffer(kb, *kern.symbols, xsType());
    Value tid = launch.getThreadIds().x, block = launch.getBlockIds().x;
    Value warp = divI(kb, tid, kWarpSize), lane = remI(kb, tid, kWarpSize);
    SmallVector<Value> init(numAcc(), cF32(kb, 0.0f));
    ValueRange acc =
        emitForIter(kb, cIndex(kb, 0), cIndex(kb, numTiles()), 1, init,
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
            gpu::ShuffleOp::create(kb, v, off, kWarpSize, gpu::ShuffleMode::XOR)
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
    Value regs = stackBuffer(b, MemRefType::get({threads(), numAcc()}, f32));
    emitFor(b, 0, numBlocks(), 1, [&](ImplicitLocOpBuilder &bb, Value block) {
      emitFor(bb, 0, threads(), 1, [&](ImplicitLocOpBuilder &tb, Value t) {
        for (int64_t a = 0; a < numAcc(); ++a)
          memref::StoreOp::create(tb, cF32(tb, 0.0f), regs,
                                  ValueRange{t, cIndex(tb, a)});
      });
      emitFor(bb, 0, numTiles(), 1, [&](ImplicitLocOpBuilder &lb, Value tile) {
        emitFor(lb, 0, threads(), 1, [&](ImplicitLocOpBuilder &tb, Value t) {
          stageX(tb, xs, t, mulI(tb, tile, kGemvTileK));
        });
        // -- barrier --
        emitFor(lb, 0, threads(), 1, [&](ImplicitLocOpBuilder &tb, Value t) {
          SmallVector<Value> acc;
          for (int64_t a = 0; a < numAcc(); ++a)
            acc.push_back(
                memref::LoadOp::create(tb, regs, ValueRange{t, cIndex(tb, a)}));
          SmallVector<Value> next =
              laneStep(tb, xs, block, divI(tb, t, kWarpSize),
                       remI(tb, t, kWarpSize), tile, acc);
          for (int64_t a = 0; a < numAcc(); ++a)
            memref::StoreOp::create(tb, next[a], regs,
                                    ValueRange{t, cIndex(tb, a)});
        });
      });
      // The shuffle reduction becomes a sequential sum over the lanes.
      emitFor(bb, 0, warps, 1, [&](ImplicitLocOpBuilder &wb, Value warp) {
        SmallVector<Value> sums;
        for (int64_t a = 0; a < numAcc(); ++a) {
          Value first = mulI(wb, warp, kWarpSize);
          sums.push_back(
              emitForIter(wb, first, addI(wb, first, kWarpSize), 1,
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

} // namespace

void emitGemv(ImplicitLocOpBuilder &b, const Kernel &kern,
              GpuKernelAttr choice, int64_t rows) {
  Gemv gemv{kern, rows, choice.getWarps(), choice.getRowsPerWarp()};
  kern.mapping == Mapping::Loops ? gemv.emitLoops(b) : gemv.emitGPU(b);
}

} // namespace mlir::qnt::gpu_kernels
