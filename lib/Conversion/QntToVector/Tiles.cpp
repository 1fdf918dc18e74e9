// Register tiles of the row kernels of convert-qnt-to-vector (f32 and int8
// activations): the loops over tiles, and what both kinds of tile share.
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"

using namespace mlir;
using namespace mlir::qnt;

/// Steps of a group's inner loop up to which it is emitted straight-line.
constexpr int64_t kMaxUnrolledSteps = 8;

/// base, base + 1, ..., base + count - 1: the rows of x or of the weight
/// in a register tile.
SmallVector<Value> qnt::consecutiveIndices(ImplicitLocOpBuilder &b, Value base,
                                           int64_t count) {
  SmallVector<Value> indices{base};
  for (int64_t i = 1; i < count; ++i)
    indices.push_back(arith::AddIOp::create(b, base, cIndex(b, i)));
  return indices;
}

/// Emits `count` steps of `width` codes from `groupStart + start`,
/// straight-line when short (a group of int4-g128 is a few steps, and a loop
/// around them costs more than their bodies' slack), else as an scf.for.
/// `prefetchAt(offset)` says whether the step at that static offset in the
/// group prefetches (nullopt: the steps of a loop). Returns the accumulators.
SmallVector<Value>
qnt::emitGroupSteps(ImplicitLocOpBuilder &gb, Value groupStart, int64_t count,
                    int64_t start, int64_t width, SmallVector<Value> acc,
                    llvm::function_ref<bool(std::optional<int64_t>)> prefetchAt,
                    GroupStep step) {
  if (count <= 0)
    return acc;
  if (count <= kMaxUnrolledSteps) {
    for (int64_t i = 0; i < count; ++i) {
      int64_t offset = start + i * width;
      Value k0 = arith::AddIOp::create(gb, groupStart, cIndex(gb, offset));
      acc = step(gb, k0, acc, prefetchAt(offset));
    }
    return acc;
  }
  auto loop = scf::ForOp::create(
      gb, cIndex(gb, 0), cIndex(gb, count), cIndex(gb, 1), acc,
      [&](OpBuilder &ib, Location iloc, Value i, ValueRange g) {
        ImplicitLocOpBuilder cb(iloc, ib);
        Value k0 = arith::AddIOp::create(
            cb, groupStart,
            arith::AddIOp::create(
                cb, cIndex(cb, start),
                arith::MulIOp::create(cb, i, cIndex(cb, width))));
        scf::YieldOp::create(cb, step(cb, k0, g, prefetchAt(std::nullopt)));
      });
  return SmallVector<Value>(loop.getResults());
}

/// Stores a finished register tile: each accumulator vector reduced, minus
/// its correction (if `corrections` is not empty), plus the bias.
void qnt::storeTile(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                    ArrayRef<Value> rowIdx, ArrayRef<Value> colIdx,
                    ValueRange sums, ValueRange corrections) {
  int64_t cols = colIdx.size();
  for (size_t r = 0; r < rowIdx.size(); ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      // Reassociation lets LLVM reduce the lanes as a tree (log2(lanes)
      // shuffles and adds) instead of one scalar add per lane; the order is
      // fixed by the lowering, so results stay deterministic.
      Value sum = vector::ReductionOp::create(
          b, b.getF32Type(), vector::CombiningKind::ADD, sums[r * cols + c],
          Value(), arith::FastMathFlags::reassoc);
      if (!corrections.empty())
        sum = arith::SubFOp::create(b, sum, corrections[r * cols + c]);
      // nvfp4's tensor scale, once per output.
      if (FloatAttr tensorScale = kern.scheme.getTensorScale())
        sum = arith::MulFOp::create(
            b, sum, arith::ConstantOp::create(b, b.getF32Type(), tensorScale));
      if (kern.bias)
        sum = arith::AddFOp::create(
            b, sum, toF32(b, memref::LoadOp::create(b, kern.bias, colIdx[c])));
      memref::StoreOp::create(b,
                              fromF32(b, sum,
                                      cast<MemRefType>(kern.out.getType())
                                          .getElementType()),
                              kern.out,
                              ValueRange{rowIdx[r], colIdx[c]});
    }
  }
}

/// The weight rows of a register tile: `tileCols` consecutive rows from each
/// of `tileStarts`, in that order.
SmallVector<Value> qnt::tileColumns(ImplicitLocOpBuilder &b,
                                    ArrayRef<Value> tileStarts,
                                    int64_t tileCols) {
  SmallVector<Value> cols;
  for (Value start : tileStarts)
    llvm::append_range(cols, consecutiveIndices(b, start, tileCols));
  return cols;
}

/// Emits the loops over weight rows (N) and x rows (M) of one matmul, with
/// full register tiles first and single-row/column tiles for the remainders.
///
/// With `streams` > 1 the tiles of weight rows are split into that many equal,
/// contiguous parts, and the single-row tiles of x (all of a GEMV) read one
/// tile of each part at once. One sequential stream keeps too few DRAM
/// requests in flight to reach a core's read bandwidth, several far-apart
/// ones do (docs/PERFORMANCE.md, "Streams"). Full tiles of x keep one weight
/// tile each: their accumulators already fill the registers.
void qnt::emitMatmulLoops(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                          int64_t rows, int64_t cols, int64_t streams,
                          bool parallel) {
  auto xRowLoop = [&](ImplicitLocOpBuilder &nb, Value lb, Value ub,
                      int64_t step, ArrayRef<Value> starts, int64_t tileCols) {
    scf::ForOp::create(nb, lb, ub, cIndex(nb, step), ValueRange{},
                       [&](OpBuilder &ob, Location loc, Value m0, ValueRange) {
                         ImplicitLocOpBuilder mb(loc, ob);
                         emitTile(mb, kern, m0, starts, step, tileCols);
                         scf::YieldOp::create(mb);
                       });
  };
  auto emitRows = [&](ImplicitLocOpBuilder &nb, ArrayRef<Value> starts,
                      int64_t tileCols) {
    if (rows == 1)
      return xRowLoop(nb, cIndex(nb, 0), kern.m, 1, starts, tileCols);
    Value mMain = arith::SubIOp::create(
        nb, kern.m, arith::RemUIOp::create(nb, kern.m, cIndex(nb, rows)));
    for (Value n0 : starts)
      xRowLoop(nb, cIndex(nb, 0), mMain, rows, n0, tileCols);
    xRowLoop(nb, mMain, kern.m, 1, starts, tileCols);
  };
  // Tiles of `tileCols` weight rows from `begin` on, `parts` of `span` rows
  // each read together.
  auto emitCols = [&](int64_t begin, int64_t span, int64_t tileCols,
                      int64_t parts) {
    if (span <= 0)
      return;
    auto body = [&](ImplicitLocOpBuilder &nb, Value n0) {
      SmallVector<Value> starts{n0};
      for (int64_t p = 1; p < parts; ++p)
        starts.push_back(arith::AddIOp::create(nb, n0, cIndex(nb, p * span)));
      emitRows(nb, starts, tileCols);
    };
    Value lb = cIndex(b, begin), ub = cIndex(b, begin + span),
          step = cIndex(b, tileCols);
    if (parallel) {
      scf::ParallelOp::create(b, ValueRange{lb}, ValueRange{ub},
                              ValueRange{step},
                              [&](OpBuilder &ob, Location loc, ValueRange ivs) {
                                ImplicitLocOpBuilder nb(loc, ob);
                                body(nb, ivs[0]);
                              });
      return;
    }
    scf::ForOp::create(b, lb, ub, step, ValueRange{},
                       [&](OpBuilder &ob, Location loc, Value n0, ValueRange) {
                         ImplicitLocOpBuilder nb(loc, ob);
                         body(nb, n0);
                         scf::YieldOp::create(nb);
                       });
  };
  int64_t nMain = kern.n - kern.n % cols;
  int64_t span = nMain / cols / streams * cols;
  if (streams > 1 && span > 0) {
    emitCols(0, span, cols, streams);
    emitCols(streams * span, nMain - streams * span, cols, 1);
  } else {
    emitCols(0, nMain, cols, 1);
  }
  emitCols(nMain, kern.n - nMain, 1, 1);
}
