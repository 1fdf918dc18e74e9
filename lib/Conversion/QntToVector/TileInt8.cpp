// activations=i8 in the row kernels of convert-qnt-to-vector: x quantized to
// int8 at run time, and the register tile of integer dot products.
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"
#include <limits>

using namespace mlir;
using namespace mlir::qnt;

namespace {
/// The code of emitQuantizeActivations: per row of x, per group and block
/// of q.block codes, max|x| in one pass and the codes in a second.
struct ActivationQuantizer {
  const MatmulKernel &kern;
  const Int8Kernel &q;
  static constexpr int64_t step = kActivationStep;
  Type f32;
  VectorType fType, iType, qType, xType;
  // The rows are quantized in units of max(group, block) codes:
  // blocksPerGroup blocks of a group, or groupsPerBlock groups of a block
  // (nvfp4's 16 in a block of 32: one step, whose halves are summed apart).
  int64_t blocksPerGroup, groupsPerBlock, numUnits;

  ActivationQuantizer(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                      const Int8Kernel &q)
      : kern(kern), q(q), f32(b.getF32Type()) {
    fType = VectorType::get({step}, f32);
    iType = VectorType::get({step}, b.getI32Type());
    qType = VectorType::get({step}, b.getI8Type());
    xType = VectorType::get({step}, kern.xElem);
    blocksPerGroup = std::max<int64_t>(1, kern.groupSize / q.block);
    groupsPerBlock = std::max<int64_t>(1, q.block / kern.groupSize);
    numUnits = kern.k / std::max(kern.groupSize, q.block);
  }

  Value fConst(ImplicitLocOpBuilder &cb, float v) {
    return arith::ConstantOp::create(cb, cb.getF32FloatAttr(v));
  }
  Value fSplat(ImplicitLocOpBuilder &cb, float v) {
    return arith::ConstantOp::create(
        cb, DenseElementsAttr::get(fType, cb.getF32FloatAttr(v)));
  }
  Value loadX(ImplicitLocOpBuilder &cb, Value m, Value k) {
    return toF32(cb,
                 vector::LoadOp::create(cb, xType, kern.x, ValueRange{m, k}));
  }

  /// for (k = k0; k < k0 + q.block; k += step) carried = body(k, carried).
  SmallVector<Value>
  overSteps(ImplicitLocOpBuilder &cb, Value k0, ValueRange init,
            function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value,
                                            ValueRange)>
                body) {
    auto loop = scf::ForOp::create(
        cb, cIndex(cb, 0), cIndex(cb, q.block), cIndex(cb, step), init,
        [&](OpBuilder &sob, Location sloc, Value i, ValueRange carried) {
          ImplicitLocOpBuilder sb(sloc, sob);
          scf::YieldOp::create(
              sb, body(sb, arith::AddIOp::create(sb, k0, i), carried));
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// Block i of unit u of row m: its codes and scale sx stored; returns
  /// `sums` (one per group of the block) plus sx * (sum of the group's
  /// codes in the block) when the kernel needs the sums.
  SmallVector<Value> quantizeBlock(ImplicitLocOpBuilder &cb, Value m, Value u,
                                   Value i, ValueRange sums) {
    Value block = arith::AddIOp::create(
        cb, arith::MulIOp::create(cb, u, cIndex(cb, blocksPerGroup)), i);
    Value k0 = arith::MulIOp::create(cb, block, cIndex(cb, q.block));
    // max |x| over the block, on the bit patterns: with the sign cleared,
    // unsigned integer order is float order, and a NaN's pattern is above
    // every number's. So a NaN in x makes the block's scale NaN, and so the
    // outputs of its row, as with f32 activations (it would otherwise be
    // clamped to a silent -127); and the lanes' maxima are carried to the
    // block's end and reduced once, without the NaN checks of a float
    // maximum.
    Value zeroBits = arith::ConstantOp::create(
        cb, DenseElementsAttr::get(iType, cb.getI32IntegerAttr(0)));
    Value maxBits =
        overSteps(cb, k0, ValueRange{zeroBits},
                  [&](ImplicitLocOpBuilder &sb, Value k,
                      ValueRange carried) -> SmallVector<Value> {
                    Value bits = arith::BitcastOp::create(
                        sb, iType, math::AbsFOp::create(sb, loadX(sb, m, k)));
                    return {arith::MaxUIOp::create(sb, carried[0], bits)};
                  })[0];
    Value amax = arith::BitcastOp::create(
        cb, f32,
        vector::ReductionOp::create(cb, vector::CombiningKind::MAXUI,
                                    maxBits));
    // 127 / max|x|, or 0 for an all-zero block (no inf).
    Value positive = arith::CmpFOp::create(cb, arith::CmpFPredicate::OGT, amax,
                                           fConst(cb, 0));
    Value inv = arith::SelectOp::create(
        cb, positive, arith::DivFOp::create(cb, fConst(cb, 127.0f), amax),
        fConst(cb, 0.0f));
    Value invV = vector::BroadcastOp::create(cb, fType, inv);
    SmallVector<Value> zeros(
        groupsPerBlock,
        arith::ConstantOp::create(cb, cb.getI32IntegerAttr(0)));
    SmallVector<Value> totals = overSteps(
        cb, k0, zeros,
        [&](ImplicitLocOpBuilder &sb, Value k,
            ValueRange carried) -> SmallVector<Value> {
          Value scaled = arith::MulFOp::create(sb, loadX(sb, m, k), invV);
          // The clamp only guards against rounding at the top end
          // (x * (127 / amax) may exceed 127 by an ulp).
          scaled = arith::MinNumFOp::create(
              sb, arith::MaxNumFOp::create(sb, scaled, fSplat(sb, -127.0f)),
              fSplat(sb, 127.0f));
          Value ints = arith::FPToSIOp::create(
              sb, iType, math::RoundEvenOp::create(sb, scaled));
          vector::StoreOp::create(sb, arith::TruncIOp::create(sb, qType, ints),
                                  q.xq, ValueRange{m, k});
          if (!q.needsSums)
            return SmallVector<Value>(carried);
          // Groups of a block share its single step: each sums its part.
          SmallVector<Value> next;
          int64_t width = step / groupsPerBlock;
          for (int64_t j = 0; j < groupsPerBlock; ++j) {
            Value part = groupsPerBlock == 1
                             ? ints
                             : vector::ExtractStridedSliceOp::create(
                                   sb, ints, ArrayRef<int64_t>{j * width},
                                   ArrayRef<int64_t>{width},
                                   ArrayRef<int64_t>{1})
                                   .getResult();
            next.push_back(arith::AddIOp::create(
                sb, carried[j],
                vector::ReductionOp::create(sb, vector::CombiningKind::ADD,
                                            part)));
          }
          return next;
        });
    Value sx = arith::DivFOp::create(cb, amax, fConst(cb, 127.0f));
    memref::StoreOp::create(cb, sx, q.xScales, ValueRange{m, block});
    if (!q.needsSums)
      return SmallVector<Value>(sums);
    SmallVector<Value> next;
    for (int64_t j = 0; j < groupsPerBlock; ++j)
      next.push_back(arith::AddFOp::create(
          cb, sums[j],
          arith::MulFOp::create(cb, sx,
                                arith::SIToFPOp::create(cb, f32, totals[j]))));
    return next;
  }

  /// One row of x; the rows of a prompt are split across threads.
  void quantizeRow(OpBuilder &ob, Location loc, Value m) {
    ImplicitLocOpBuilder mb(loc, ob);
    scf::ForOp::create(
        mb, cIndex(mb, 0), cIndex(mb, numUnits), cIndex(mb, 1), ValueRange{},
        [&](OpBuilder &gob, Location gloc, Value u, ValueRange) {
          ImplicitLocOpBuilder gb(gloc, gob);
          auto blocks = scf::ForOp::create(
              gb, cIndex(gb, 0), cIndex(gb, blocksPerGroup), cIndex(gb, 1),
              SmallVector<Value>(groupsPerBlock, fConst(gb, 0.0f)),
              [&](OpBuilder &bob, Location bloc, Value i, ValueRange sums) {
                ImplicitLocOpBuilder cb(bloc, bob);
                scf::YieldOp::create(cb, quantizeBlock(cb, m, u, i, sums));
              });
          for (int64_t j = 0; q.needsSums && j < groupsPerBlock; ++j)
            memref::StoreOp::create(
                gb, blocks.getResult(j), q.xSums,
                ValueRange{m, arith::AddIOp::create(
                                  gb,
                                  arith::MulIOp::create(
                                      gb, u, cIndex(gb, groupsPerBlock)),
                                  cIndex(gb, j))});
          scf::YieldOp::create(gb);
        });
  }

  void emit(ImplicitLocOpBuilder &b) {
    if (!kern.parallel) {
      scf::ForOp::create(
          b, cIndex(b, 0), kern.m, cIndex(b, 1), ValueRange{},
          [&](OpBuilder &fb, Location floc, Value m, ValueRange) {
            quantizeRow(fb, floc, m);
            scf::YieldOp::create(fb, floc);
          });
      return;
    }
    // The rows split across threads. A single row (a decoding step) is one
    // thread's: the loop shares the parallel region of the matmuls around
    // it (qnt-parallel-to-openmp), so it costs a barrier, not a fork.
    scf::ParallelOp::create(
        b, ValueRange{cIndex(b, 0)}, ValueRange{kern.m}, ValueRange{cIndex(b, 1)},
        [&](OpBuilder &pb, Location ploc, ValueRange ivs) {
          quantizeRow(pb, ploc, ivs[0]);
        });
  }
};
} // namespace

void qnt::emitQuantizeActivations(ImplicitLocOpBuilder &b,
                                  const MatmulKernel &kern,
                                  const Int8Kernel &q) {
  ActivationQuantizer(b, kern, q).emit(b);
}

namespace {
/// The register tile of emitTile for activations=i8: the codes of each x
/// block multiplied by xq in integers and scaled by sx once per block and by
/// the weight scale once per group.
struct Int8Tile {
  const MatmulKernel &kern;
  const Int8Kernel &q;
  int64_t rows, tileCols;
  ArrayRef<Value> tileStarts;
  int64_t L, perByte, loadCodes, stepCodes, loopCodes, stepsPerGroup, numGroups;
  VectorType accType, bytesType;
  Value zeroAcc, zeroScalar;
  SmallVector<Value> rowIdx, colIdx;
  int64_t cols, numAcc;
  bool signedCodes;

  Int8Tile(ImplicitLocOpBuilder &b, const MatmulKernel &kern, Value m0,
           ArrayRef<Value> tileStarts, int64_t rows, int64_t tileCols)
      : kern(kern), q(*kern.int8), rows(rows), tileCols(tileCols),
        tileStarts(tileStarts) {
    Type f32 = b.getF32Type();
    L = q.fieldBytes;
    perByte = 8 / kern.bits;
    loadCodes = L * perByte; // codes of one load of L bytes
    // A step of a group covers whole loads and whole x blocks (both powers
    // of two dividing the group), so where x blocks end is known at compile
    // time.
    stepCodes = std::max(loadCodes, q.block);
    // One iteration of the group loop: a weight group, or the groups of one
    // load when they are smaller (q.groupsPerLoad).
    loopCodes = kern.groupSize * q.groupsPerLoad;
    stepsPerGroup = loopCodes / stepCodes;
    numGroups = kern.k / loopCodes;
    accType = VectorType::get({L / 4}, f32);
    bytesType = VectorType::get({L}, b.getI8Type());
    zeroAcc = arith::ConstantOp::create(
        b, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
    zeroScalar = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    rowIdx = consecutiveIndices(b, m0, rows);
    colIdx = tileColumns(b, tileStarts, tileCols);
    cols = colIdx.size();
    numAcc = rows * cols;
    signedCodes = kern.bits == 8;
  }

  /// One load of L bytes per weight row, `perByte` fields of L codes each,
  /// at code k0, `inStep` codes into its step: adds the integer dot products
  /// to `isum`, and at the end of each x block adds isum * sx to `next`.
  void emitLoad(ImplicitLocOpBuilder &cb, Value k0, int64_t inStep,
                SmallVector<Value> &isum, SmallVector<Value> &next,
                bool prefetch) {
    Value byteOff = arith::DivUIOp::create(
        cb, arith::MulIOp::create(cb, k0, cIndex(cb, kern.bits)),
        cIndex(cb, 8));
    // Each tile's rows are interleaved in L-byte blocks (rows of a
    // single-row tile are plain): row c of the tile starting at n0 has its
    // bytes at byteOff at n0 * rowBytes + byteOff * tileCols + c * L of the
    // 1-D codes.
    Value tileOff = arith::MulIOp::create(cb, byteOff, cIndex(cb, tileCols));
    SmallVector<Value> bytes;
    for (Value n0 : tileStarts) {
      Value stream = arith::AddIOp::create(
          cb, arith::MulIOp::create(cb, n0, cIndex(cb, q.rowBytes)), tileOff);
      for (int64_t c = 0; c < tileCols; ++c) {
        Value at =
            c ? arith::AddIOp::create(cb, stream, cIndex(cb, c * L)).getResult()
              : stream;
        bytes.push_back(vector::LoadOp::create(cb, bytesType, kern.codes, at));
      }
      // The same bytes of the stream's next tile: one tile ahead (within
      // the tile of zeros that ends the codes, for the last tile).
      if (!prefetch)
        continue;
      for (int64_t line = 0;
           line < std::max<int64_t>(1, tileCols * L / kCacheLineBytes); ++line)
        memref::PrefetchOp::create(
            cb, kern.codes,
            ValueRange{arith::AddIOp::create(
                cb, stream,
                cIndex(cb, tileCols * q.rowBytes + line * kCacheLineBytes))},
            /*isWrite=*/false, /*localityHint=*/kPrefetchLocality,
            /*isDataCache=*/true);
    }
    for (int64_t p = 0; p < perByte; ++p) {
      SmallVector<Value> d;
      for (int64_t c = 0; c < cols; ++c)
        d.push_back(kern.bits == 8 ? bytes[c]
                                   : extractPlane(cb, bytes[c], p, kern.bits,
                                                  /*isSigned=*/false));
      Value kp = arith::AddIOp::create(cb, k0, cIndex(cb, p * L));
      for (int64_t r = 0; r < rows; ++r) {
        Value xv = vector::LoadOp::create(cb, bytesType, q.xq,
                                          ValueRange{rowIdx[r], kp});
        for (int64_t c = 0; c < cols; ++c) {
          Value &s = isum[r * cols + c];
          if (q.sumsInI16) {
            Value part = Dot2I8Op::create(
                cb, VectorType::get({L / 2}, cb.getI16Type()), d[c], xv,
                /*a_signed=*/signedCodes);
            s = s ? arith::AddIOp::create(cb, s, part).getResult() : part;
          } else {
            // Accumulated by the op itself (vpdpbusd where the CPU has it).
            s = Dot4I8Op::create(cb, VectorType::get({L / 4}, cb.getI32Type()),
                                 d[c], xv, /*acc=*/s,
                                 /*a_signed=*/signedCodes);
          }
        }
      }
      // The field ends an x block: scale its integer sums by sx.
      if ((inStep + (p + 1) * L) % q.block == 0)
        scaleBlockSums(cb, kp, isum, next);
    }
  }

  /// The end of an x block (the field at kp): its integer sums `isum`, times
  /// sx (and, for small groups, the weight scales), added to `next`.
  void scaleBlockSums(ImplicitLocOpBuilder &cb, Value kp,
                      SmallVector<Value> &isum, SmallVector<Value> &next) {
    Value xBlock = arith::DivUIOp::create(
        cb, arith::AddIOp::create(cb, kp, cIndex(cb, L - 1)),
        cIndex(cb, q.block));
    // Small groups: this block is also a weight group, whose scales
    // multiply the block's sums here.
    SmallVector<Value> sw;
    if (q.groupsPerLoad > 1)
      for (int64_t c = 0; c < cols; ++c)
        sw.push_back(vector::BroadcastOp::create(
            cb, accType,
            toF32(cb, memref::LoadOp::create(
                          cb, kern.scales,
                          kern.scaleIndices(cb, colIdx[c], xBlock)))));
    for (int64_t r = 0; r < rows; ++r) {
      Value sx = vector::BroadcastOp::create(
          cb, accType,
          memref::LoadOp::create(cb, q.xScales, ValueRange{rowIdx[r], xBlock}));
      for (int64_t c = 0; c < cols; ++c) {
        Value &s = isum[r * cols + c];
        if (q.sumsInI16)
          s = SumPairsI16Op::create(
              cb, VectorType::get({L / 4}, cb.getI32Type()), s);
        Value sums = arith::SIToFPOp::create(cb, accType, s);
        next[r * cols + c] =
            sw.empty()
                ? vector::FMAOp::create(cb, sums, sx, next[r * cols + c])
                      .getResult()
                : vector::FMAOp::create(cb, arith::MulFOp::create(cb, sums, sx),
                                        sw[c], next[r * cols + c])
                      .getResult();
        s = Value();
      }
    }
  }

  SmallVector<Value> emitStep(ImplicitLocOpBuilder &cb, Value k0,
                              ValueRange gacc, bool prefetch) {
    SmallVector<Value> next(gacc.begin(), gacc.end());
    SmallVector<Value> isum(numAcc);
    for (int64_t inStep = 0; inStep < stepCodes; inStep += loadCodes)
      emitLoad(
          cb,
          inStep ? arith::AddIOp::create(cb, k0, cIndex(cb, inStep)).getResult()
                 : k0,
          inStep, isum, next, prefetch);
    return next;
  }

  /// s * (z - o) per weight row and group, times each row's xsum of the
  /// group, added to the row's correction.
  SmallVector<Value> emitCorrections(ImplicitLocOpBuilder &gb, Value group,
                                     ValueRange corrections) {
    SmallVector<Value> corr(corrections);
    Value minusO =
        arith::ConstantOp::create(gb, gb.getF32FloatAttr(float(-q.offset)));
    for (int64_t i = 0; i < q.groupsPerLoad; ++i) {
      Value g = arith::AddIOp::create(
          gb, arith::MulIOp::create(gb, group, cIndex(gb, q.groupsPerLoad)),
          cIndex(gb, i));
      SmallVector<Value> scaledZ;
      for (int64_t c = 0; c < cols; ++c) {
        Value scale = toF32(
            gb, memref::LoadOp::create(gb, kern.scales,
                                       kern.scaleIndices(gb, colIdx[c], g)));
        Value z = minusO;
        if (kern.zeroPoints)
          z = arith::AddFOp::create(
              gb,
              memref::LoadOp::create(gb, kern.zeroPoints,
                                     kern.scaleIndices(gb, colIdx[c], g)),
              z);
        scaledZ.push_back(arith::MulFOp::create(gb, scale, z));
      }
      for (int64_t r = 0; r < rows; ++r) {
        Value xsum =
            memref::LoadOp::create(gb, q.xSums, ValueRange{rowIdx[r], g});
        for (int64_t c = 0; c < cols; ++c)
          corr[r * cols + c] = arith::AddFOp::create(
              gb, corr[r * cols + c],
              arith::MulFOp::create(gb, scaledZ[c], xsum));
      }
    }
    return corr;
  }

  /// One iteration of the group loop. Iteration values: numAcc vector
  /// accumulators, then (with sums) numAcc scalar corrections
  /// sum_g s * (z - o) * xsum.
  SmallVector<Value> emitGroup(ImplicitLocOpBuilder &gb, Value group,
                               ValueRange acc) {
    Value groupStart = arith::MulIOp::create(gb, group, cIndex(gb, loopCodes));
    bool smallGroups = q.groupsPerLoad > 1;
    // Large groups: their blocks' sums in gacc, times the group's scale
    // at the end; small groups are scaled block by block (emitLoad).
    SmallVector<Value> gacc = smallGroups
                                  ? SmallVector<Value>(acc.take_front(numAcc))
                                  : SmallVector<Value>(numAcc, zeroAcc);
    // Every load prefetches (with the prefetch option).
    gacc = emitGroupSteps(
        gb, groupStart, stepsPerGroup, 0, stepCodes, gacc,
        [&](std::optional<int64_t>) { return kern.prefetch; },
        [&](ImplicitLocOpBuilder &cb, Value k0, ValueRange g, bool prefetch) {
          return emitStep(cb, k0, g, prefetch);
        });
    SmallVector<Value> next;
    if (smallGroups) {
      next = gacc;
    } else {
      SmallVector<Value> scales;
      for (int64_t c = 0; c < cols; ++c)
        scales.push_back(toF32(
            gb, memref::LoadOp::create(
                    gb, kern.scales, kern.scaleIndices(gb, colIdx[c], group))));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          next.push_back(vector::FMAOp::create(
              gb, vector::BroadcastOp::create(gb, accType, scales[c]),
              gacc[r * cols + c], acc[r * cols + c]));
    }
    if (q.needsSums)
      llvm::append_range(next,
                         emitCorrections(gb, group, acc.drop_front(numAcc)));
    return next;
  }

  void emit(ImplicitLocOpBuilder &b) {
    SmallVector<Value> init(numAcc, zeroAcc);
    if (q.needsSums)
      init.append(numAcc, zeroScalar);
    auto groupLoop = scf::ForOp::create(
        b, cIndex(b, 0), cIndex(b, numGroups), cIndex(b, 1), init,
        [&](OpBuilder &ob, Location loc, Value group, ValueRange acc) {
          ImplicitLocOpBuilder gb(loc, ob);
          scf::YieldOp::create(gb, emitGroup(gb, group, acc));
        });
    ValueRange results = groupLoop.getResults();
    storeTile(b, kern, rowIdx, colIdx, results.take_front(numAcc),
              q.needsSums ? results.drop_front(numAcc) : ValueRange());
  }
};
} // namespace

void qnt::emitTileInt8(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                       Value m0, ArrayRef<Value> tileStarts, int64_t rows,
                       int64_t tileCols) {
  Int8Tile(b, kern, m0, tileStarts, rows, tileCols).emit(b);
}

/// The buffers of x quantized to int8 (q.xq, q.xScales and, when needed,
/// q.xSums, sized by kern.m rows), and the code that fills them.
void qnt::quantizeActivations(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                              Int8Kernel &q) {
  auto alloc = [&](int64_t cols, Type elem) -> Value {
    return memref::AllocOp::create(
        b, MemRefType::get({ShapedType::kDynamic, cols}, elem),
        ValueRange{kern.m}, b.getI64IntegerAttr(kCacheLineBytes));
  };
  q.xq = alloc(kern.k, b.getI8Type());
  q.xScales = alloc(kern.k / q.block, b.getF32Type());
  if (q.needsSums)
    q.xSums = alloc(kern.k / kern.groupSize, b.getF32Type());
  emitQuantizeActivations(b, kern, q);
}

/// The code offset of the integer kernels (Int8Kernel::flip and offset):
/// signed 1/2/4-bit codes get their sign bits flipped (d = c + 2^(bits-1),
/// so o = -2^(bits-1)), unsigned 8-bit codes their top bit (d = c - 128,
/// o = 128); the rest are fed as they are. The x sums are needed where
/// o - z can be nonzero.
void qnt::setCodeOffset(Int8Kernel &q, const MatmulKernel &kern,
                        bool zeroPoints) {
  q.flip = 0;
  q.offset = 0;
  if (kern.bits < 8 && kern.isSigned) {
    for (unsigned p = 0; p < 8 / kern.bits; ++p)
      q.flip |= uint8_t(1u << (p * kern.bits + kern.bits - 1));
    q.offset = -(int64_t(1) << (kern.bits - 1));
  }
  if (kern.bits == 8 && !kern.isSigned) {
    q.flip = 0x80;
    q.offset = 128;
  }
  q.needsSums = zeroPoints || q.offset != 0;
}
