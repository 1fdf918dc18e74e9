// The row gather of convert-qnt-to-gpu (qnt.gather_rows: a token embedding
// read from packed codes): each row decoded from the words the matmul
// kernels read, so a classifier tied to the embedding shares them
// (docs/GPU.md).
#include "GpuKernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "qnt/Conversion/Common.h"

using namespace mlir;
using namespace mlir::qnt;
namespace mlir::qnt::gpu_kernels {

// Threads of a gather block: one per 32-code chunk of a row, at most this
// many (a 4096-wide row has 128 chunks).
constexpr int64_t kGatherThreads = 128;

/// Table row `ids[t]`, clamped into [0, N): the row output row t reads.
static Value tableRow(ImplicitLocOpBuilder &b, const Kernel &kern, Value ids,
                      Value t) {
  Value id = arith::IndexCastOp::create(
      b, b.getIndexType(), memref::LoadOp::create(b, ids, ValueRange{t}));
  id = arith::MaxSIOp::create(b, id, cIndex(b, 0));
  return arith::MinSIOp::create(b, id, cIndex(b, kern.n - 1));
}

/// Chunk `chunk` of table row `id` (tableRow's for output row t): 32 codes
/// decoded and scaled into out[t, ...], the columns past K left out.
static void gatherChunk(ImplicitLocOpBuilder &b, const Kernel &kern, Value id,
                        Value t, Value chunk) {
  SmallVector<Value> words = loadChunkWords(b, kern, id, chunk);
  Value kc = mulI(b, chunk, kChunk);
  for (int64_t sg = 0; sg < kChunk / kern.subChunk; ++sg) {
    Value kg = addI(b, kc, sg * kern.subChunk);
    auto [scale, offset] = scaleAndOffset(b, kern, id, kg);
    Value shift; // the group's offset (offset schemes)
    if (kern.offsets)
      shift = toF32(b, memref::LoadOp::create(b, kern.offsets,
                                              groupIndices(b, kern, id, kg)));
    for (int64_t j = 0; j < kern.subChunk; ++j) {
      int64_t i = sg * kern.subChunk + j;
      Value v = arith::MulFOp::create(
          b, scale, unpackCode(b, kern, words, i, offset));
      if (shift)
        v = arith::AddFOp::create(b, v, shift);
      Value col = addI(b, kc, i);
      if (kern.k % kChunk == 0) {
        memref::StoreOp::create(b, v, kern.out, ValueRange{t, col});
        continue;
      }
      scf::IfOp::create(b, ult(b, col, cIndex(b, kern.k)),
                        [&](OpBuilder &ob, Location loc) {
                          ImplicitLocOpBuilder ib(loc, ob);
                          memref::StoreOp::create(ib, v, kern.out,
                                                  ValueRange{t, col});
                          scf::YieldOp::create(ib);
                        });
    }
  }
}

void emitGather(ImplicitLocOpBuilder &b, const Kernel &kern, Value ids) {
  int64_t chunks = llvm::divideCeil(kern.k, kChunk);
  if (kern.mapping == Mapping::Loops) {
    emitFor(b, cIndex(b, 0), kern.m, 1,
            [&](ImplicitLocOpBuilder &tb, Value t) {
              Value id = tableRow(tb, kern, ids, t);
              emitFor(tb, 0, chunks, 1, [&](ImplicitLocOpBuilder &cb, Value c) {
                gatherChunk(cb, kern, id, t, c);
              });
            });
    return;
  }
  int64_t threads =
      std::min<int64_t>(kGatherThreads, llvm::alignTo(chunks, kWarpSize));
  // A grid of T blocks; none for no rows (an empty grid is a launch error).
  Value any = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, kern.m,
                                    cIndex(b, 0));
  scf::IfOp::create(b, any, [&](OpBuilder &ob, Location loc) {
    ImplicitLocOpBuilder ib(loc, ob);
    Value one = cIndex(ib, 1);
    auto launch = gpu::LaunchOp::create(
        ib, kern.m, one, one, cIndex(ib, threads), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr);
    ImplicitLocOpBuilder kb =
        ImplicitLocOpBuilder::atBlockEnd(loc, &launch.getBody().front());
    Value t = launch.getBlockIds().x;
    Value id = tableRow(kb, kern, ids, t);
    emitFor(kb, launch.getThreadIds().x, cIndex(kb, chunks), threads,
            [&](ImplicitLocOpBuilder &cb, Value c) {
              gatherChunk(cb, kern, id, t, c);
            });
    gpu::TerminatorOp::create(kb);
    scf::YieldOp::create(ib);
  });
}

} // namespace mlir::qnt::gpu_kernels
