// The register tile of the row kernels with f32 activations (row_f32, and
// row_lut for fp8, fp4 and NF4 codes): codes unpacked or looked up to f32 in
// vector registers and multiplied with x (convert-qnt-to-vector).
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/Packing.h"

using namespace mlir;
using namespace mlir::qnt;

namespace {
/// One register tile with f32 x: `rows` rows of x times `cols` weight rows,
/// over all of K, one weight group at a time. Each group: plane-major blocks
/// first, then standard-layout chunks, then a masked tail.
struct F32Tile {
  const MatmulKernel &kern;
  int64_t rows, tileCols, chunk;
  VectorType accType;
  Value zeroAcc;
  SmallVector<Value> rowIdx, colIdx;
  int64_t cols, numAcc, numGroups, perByte, planeCodes, fullChunks, tail,
      chunkBytes;

  F32Tile(ImplicitLocOpBuilder &b, const MatmulKernel &kern, Value m0,
          ArrayRef<Value> tileStarts, int64_t rows, int64_t tileCols)
      : kern(kern), rows(rows), tileCols(tileCols), chunk(kern.chunk) {
    accType = VectorType::get({chunk}, b.getF32Type());
    zeroAcc = arith::ConstantOp::create(
        b, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
    rowIdx = consecutiveIndices(b, m0, rows);
    colIdx = tileColumns(b, tileStarts, tileCols);
    cols = colIdx.size();
    numAcc = rows * cols;
    numGroups = kern.k / kern.groupSize;
    perByte = kern.planeBlocks || kern.fieldGroups
                  ? static_cast<int64_t>(planeCodesPerUnit(kern.bits))
                  : 0;
    planeCodes = kern.planeBlocks * chunk * perByte;
    fullChunks = (kern.groupSize - planeCodes) / chunk;
    tail = (kern.groupSize - planeCodes) % chunk;
    chunkBytes = chunk * kern.bits / 8;
  }

  /// Weight rows are contiguous, so the rows of the next tile are the next
  /// bytes the kernel will stream: touching them one tile ahead hides the
  /// DRAM latency that the hardware prefetcher, trained on short rows, does
  /// not.
  /// `group` given: also the scales of that group of the next tile's rows
  /// (fieldGroups, whose byte scales are a stream of their own).
  void prefetchNextTile(ImplicitLocOpBuilder &cb, Value byteOff,
                        Value group = {}) {
    Value last = cIndex(cb, kern.n - 1);
    for (int64_t c = 0; c < cols; ++c) {
      Value row = arith::MinUIOp::create(
          cb, arith::AddIOp::create(cb, colIdx[c], cIndex(cb, tileCols)), last);
      memref::PrefetchOp::create(
          cb, kern.codes, ValueRange{row, byteOff}, /*isWrite=*/false,
          /*localityHint=*/kPrefetchLocality, /*isDataCache=*/true);
      if (group)
        memref::PrefetchOp::create(
            cb, kern.scales, kern.scaleIndices(cb, row, group),
            /*isWrite=*/false, /*localityHint=*/kPrefetchLocality,
            /*isDataCache=*/true);
    }
  }

  /// Field p of each of `chunk` bytes, widened to i32 (where x86 has
  /// native shifts): sign-extended for signed codes, else zero-extended.
  Value extractField(ImplicitLocOpBuilder &cb, Value bytes, int64_t p) {
    auto wordsType = VectorType::get({chunk}, cb.getI32Type());
    auto splat32 = [&](int64_t v) { return splatI32(cb, wordsType, v); };
    Value field;
    if (kern.isSigned) {
      field = arith::ExtSIOp::create(cb, wordsType, bytes);
      int64_t up = 32 - kern.bits * (p + 1);
      field = arith::ShLIOp::create(cb, field, splat32(up));
      return arith::ShRSIOp::create(cb, field, splat32(32 - kern.bits));
    }
    field = arith::ExtUIOp::create(cb, wordsType, bytes);
    if (p)
      field = arith::ShRUIOp::create(cb, field, splat32(p * kern.bits));
    if (p != perByte - 1)
      field = arith::AndIOp::create(cb, field, splat32((1 << kern.bits) - 1));
    return field;
  }

  /// The factor the fp8 decodes leave out of the codes, for the scales.
  float lutFactor() const {
    return kern.scheme.isInteger()
               ? 1.0f
               : unscaledLutFactor(kern.scheme.getFormat(), kern.lookup);
  }

  /// The scale of weight row colIdx[c] in `group`, with lutFactor.
  Value groupScale(ImplicitLocOpBuilder &b, int64_t c, Value group) {
    Value s = decodeScale(
        b,
        memref::LoadOp::create(b, kern.scales,
                               kern.scaleIndices(b, colIdx[c], group)),
        kern.scheme, kern.lookup);
    if (float factor = lutFactor(); factor != 1.0f)
      s = arith::MulFOp::create(
          b, s, arith::ConstantOp::create(b, b.getF32FloatAttr(factor)));
    return s;
  }

  /// Groups whose scales fieldGroups decodes at once: the most of 16, 8, 4
  /// that divides the groups of a row, else a block's 8/bits.
  int64_t scaleRun() const {
    for (int64_t run : {16, 8, 4})
      if (run % perByte == 0 && numGroups % run == 0)
        return run;
    return perByte;
  }

  /// Accumulates `scaleRun()` groups from group `first` on, in plane-major
  /// blocks whose fields are whole groups (kern.fieldGroups): each row's
  /// scales of the run are loaded and decoded as one vector (one
  /// conversion for 16 E4M3 scales instead of 16 scalar ones); each
  /// field's codes are decoded, multiplied by their group's scale (a lane
  /// of that vector) and multiplied with x into the accumulators. A group
  /// of one register keeps no sum of its own, and a 16-lane lookup decodes
  /// it where 8-lane blocks within a group would need two.
  SmallVector<Value> emitFieldGroups(ImplicitLocOpBuilder &cb, Value first,
                                     ValueRange acc) {
    int64_t run = scaleRun();
    auto bytesType = VectorType::get({chunk}, cb.getI8Type());
    auto xType = VectorType::get({chunk}, kern.xElem);
    auto scaleType = cast<MemRefType>(kern.scales.getType()).getElementType();
    auto runType = VectorType::get({run}, scaleType);
    SmallVector<Value> scales;
    for (int64_t c = 0; c < cols; ++c) {
      Value s = decodeScale(
          cb,
          vector::LoadOp::create(cb, runType, kern.scales,
                                 kern.scaleIndices(cb, colIdx[c], first)),
          kern.scheme, kern.lookup);
      if (float factor = lutFactor(); factor != 1.0f)
        s = arith::MulFOp::create(
            cb, s,
            splatF32(cb, cast<VectorType>(s.getType()), factor));
      scales.push_back(s);
    }
    SmallVector<Value> next(acc.begin(), acc.end());
    Value k0 = arith::MulIOp::create(cb, first, cIndex(cb, kern.groupSize));
    for (int64_t blk = 0; blk < run / perByte; ++blk) {
      Value kb = arith::AddIOp::create(cb, k0, cIndex(cb, blk * chunk * perByte));
      Value byteOff = arith::DivUIOp::create(
          cb, arith::MulIOp::create(cb, kb, cIndex(cb, kern.bits)),
          cIndex(cb, 8));
      // One prefetch per cache line of the row.
      if (kern.prefetch && (blk * chunk) % kCacheLineBytes == 0)
        prefetchNextTile(cb, byteOff, blk == 0 ? first : Value());
      SmallVector<Value> bytes;
      for (int64_t c = 0; c < cols; ++c)
        bytes.push_back(vector::LoadOp::create(
            cb, bytesType, kern.codes, ValueRange{colIdx[c], byteOff}));
      for (int64_t p = 0; p < perByte; ++p) {
        SmallVector<Value> weights;
        for (int64_t c = 0; c < cols; ++c) {
          Value f = decodeLutCodes(cb, extractField(cb, bytes[c], p),
                                   kern.scheme, kern.lookup,
                                   /*scaled=*/false);
          Value s = vector::ExtractOp::create(
              cb, scales[c], ArrayRef<int64_t>{blk * perByte + p});
          weights.push_back(arith::MulFOp::create(
              cb, f, vector::BroadcastOp::create(cb, accType, s)));
        }
        Value kp = arith::AddIOp::create(cb, kb, cIndex(cb, p * chunk));
        for (int64_t r = 0; r < rows; ++r) {
          Value xv = toF32(cb, vector::LoadOp::create(
                                   cb, xType, kern.x,
                                   ValueRange{rowIdx[r], kp}));
          for (int64_t c = 0; c < cols; ++c)
            next[r * cols + c] =
                vector::FMAOp::create(cb, weights[c], xv, next[r * cols + c]);
        }
      }
    }
    return next;
  }

  /// Accumulates one plane-major block starting at code k0: `chunk` units
  /// (bytes; 32-bit words of fp8 codes) whose field p holds codes
  /// k0 + p*chunk + [0, chunk). Each field becomes one f32 vector with a
  /// widening load, two shifts and a conversion (fp8: two shifts and a mask
  /// of one load of the block), so the codes never need a cross-lane shuffle
  /// to line up with x.
  SmallVector<Value> emitBlock(ImplicitLocOpBuilder &cb, Value k0, Value group,
                               ValueRange gacc, bool prefetch) {
    Value byteOff = arith::DivUIOp::create(
        cb, arith::MulIOp::create(cb, k0, cIndex(cb, kern.bits)),
        cIndex(cb, 8));
    if (prefetch)
      prefetchNextTile(cb, byteOff);
    auto bytesType = VectorType::get({chunk}, cb.getI8Type());
    auto xType = VectorType::get({chunk}, kern.xElem);
    SmallVector<Value> zps;
    for (int64_t c = 0; c < cols && kern.zeroPoints; ++c)
      zps.push_back(vector::BroadcastOp::create(
          cb, accType,
          memref::LoadOp::create(cb, kern.zeroPoints,
                                 kern.scaleIndices(cb, colIdx[c], group))));
    SmallVector<Value> next(gacc.begin(), gacc.end());
    // fp8 codes (float_bits): one load of 4 * chunk bytes, a code per byte
    // of each 32-bit word.
    SmallVector<Value> words;
    for (int64_t c = 0; c < cols && kern.bits == 8; ++c)
      words.push_back(vector::BitCastOp::create(
          cb, VectorType::get({chunk}, cb.getI32Type()),
          vector::LoadOp::create(
              cb, VectorType::get({4 * chunk}, cb.getI8Type()), kern.codes,
              ValueRange{colIdx[c], byteOff})));
    for (int64_t p = 0; p < perByte; ++p) {
      SmallVector<Value> codes;
      for (int64_t c = 0; c < cols; ++c) {
        Value f;
        if (kern.bits == 8) {
          f = miniFloatBitsAsFloat(cb, words[c], kern.scheme.getFormat(),
                                   /*signExtended=*/false, /*lowBit=*/8 * p);
        } else {
          Value bytes = vector::LoadOp::create(cb, bytesType, kern.codes,
                                               ValueRange{colIdx[c], byteOff});
          Value field = extractField(cb, bytes, p);
          f = kern.scheme.isInteger()
                  ? Value(arith::SIToFPOp::create(cb, accType, field))
                  : decodeLutCodes(cb, field, kern.scheme, kern.lookup,
                                   /*scaled=*/false);
        }
        if (kern.zeroPoints)
          f = arith::SubFOp::create(cb, f, zps[c]);
        codes.push_back(f);
      }
      Value kp = arith::AddIOp::create(cb, k0, cIndex(cb, p * chunk));
      for (int64_t r = 0; r < rows; ++r) {
        Value xv = toF32(cb, vector::LoadOp::create(cb, xType, kern.x,
                                                    ValueRange{rowIdx[r], kp}));
        for (int64_t c = 0; c < cols; ++c)
          next[r * cols + c] =
              vector::FMAOp::create(cb, codes[c], xv, next[r * cols + c]);
      }
    }
    return next;
  }

  /// Accumulates code * x for one chunk of `valid` codes starting at k0.
  SmallVector<Value> emitChunk(ImplicitLocOpBuilder &cb, Value k0, Value group,
                               ValueRange gacc, int64_t valid, bool prefetch) {
    Value byteOff = arith::DivUIOp::create(
        cb, arith::MulIOp::create(cb, k0, cIndex(cb, kern.bits)),
        cIndex(cb, 8));
    if (prefetch)
      prefetchNextTile(cb, byteOff);
    auto bytesType = VectorType::get({chunkBytes}, cb.getI8Type());
    auto xType = VectorType::get({chunk}, kern.xElem);
    Value bytesMask, xMask;
    if (valid != chunk) {
      int64_t validBytes = (valid * kern.bits + 7) / 8;
      bytesMask = vector::ConstantMaskOp::create(
          cb, VectorType::get({chunkBytes}, cb.getI1Type()),
          ArrayRef<int64_t>{validBytes});
      xMask = vector::ConstantMaskOp::create(
          cb, VectorType::get({chunk}, cb.getI1Type()),
          ArrayRef<int64_t>{valid});
    }
    SmallVector<Value> codes;
    for (int64_t c = 0; c < cols; ++c) {
      Value bytes;
      if (bytesMask) {
        Value pass = arith::ConstantOp::create(
            cb, DenseElementsAttr::get(bytesType, cb.getI8IntegerAttr(0)));
        bytes = vector::MaskedLoadOp::create(cb, bytesType, kern.codes,
                                             ValueRange{colIdx[c], byteOff},
                                             bytesMask, pass);
      } else {
        bytes = vector::LoadOp::create(cb, bytesType, kern.codes,
                                       ValueRange{colIdx[c], byteOff});
      }
      Value f =
          kern.scheme.isInteger()
              ? unpackCodes(cb, bytes, chunk, kern.bits, kern.isSigned)
              : decodeLutCodes(
                    cb, unpackCodeInts(cb, bytes, chunk, kern.bits, false),
                    kern.scheme, kern.lookup, /*scaled=*/false);
      if (kern.zeroPoints) {
        Value zp = memref::LoadOp::create(
            cb, kern.zeroPoints, kern.scaleIndices(cb, colIdx[c], group));
        f = arith::SubFOp::create(cb, f,
                                  vector::BroadcastOp::create(cb, accType, zp));
      }
      codes.push_back(f);
    }
    SmallVector<Value> next(gacc.begin(), gacc.end());
    for (int64_t r = 0; r < rows; ++r) {
      Value xv;
      if (xMask) {
        Value pass = arith::ConstantOp::create(
            cb, DenseElementsAttr::get(xType, cb.getFloatAttr(kern.xElem, 0)));
        xv = vector::MaskedLoadOp::create(
            cb, xType, kern.x, ValueRange{rowIdx[r], k0}, xMask, pass);
      } else {
        xv = vector::LoadOp::create(cb, xType, kern.x,
                                    ValueRange{rowIdx[r], k0});
      }
      xv = toF32(cb, xv);
      for (int64_t c = 0; c < cols; ++c)
        next[r * cols + c] =
            vector::FMAOp::create(cb, codes[c], xv, next[r * cols + c]);
    }
    return next;
  }

  /// One weight group: its codes times x, then acc += s * that.
  SmallVector<Value> emitGroup(ImplicitLocOpBuilder &gb, Value group,
                               ValueRange acc) {
    Value groupStart =
        arith::MulIOp::create(gb, group, cIndex(gb, kern.groupSize));
    SmallVector<Value> gacc(numAcc, zeroAcc);
    // One prefetch per cache line of the group (at least one per
    // group); every step of a loop prefetches.
    auto prefetchAt = [&](std::optional<int64_t> offset) {
      return kern.prefetch &&
             (!offset || (*offset * kern.bits / 8) % kCacheLineBytes == 0);
    };
    gacc = emitGroupSteps(
        gb, groupStart, kern.planeBlocks, 0, chunk * perByte, gacc, prefetchAt,
        [&](ImplicitLocOpBuilder &cb, Value k0, ValueRange g, bool prefetch) {
          return emitBlock(cb, k0, group, g, prefetch);
        });
    gacc = emitGroupSteps(
        gb, groupStart, fullChunks, planeCodes, chunk, gacc, prefetchAt,
        [&](ImplicitLocOpBuilder &cb, Value k0, ValueRange g, bool prefetch) {
          return emitChunk(cb, k0, group, g, chunk, prefetch);
        });
    if (tail > 0) {
      Value k0 = arith::AddIOp::create(
          gb, groupStart, cIndex(gb, planeCodes + fullChunks * chunk));
      gacc = emitChunk(gb, k0, group, gacc, tail, /*prefetch=*/false);
    }
    // The group scale is applied once per group: acc += s * sum(code*x).
    SmallVector<Value> next;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        Value sv =
            vector::BroadcastOp::create(gb, accType, groupScale(gb, c, group));
        next.push_back(vector::FMAOp::create(gb, sv, gacc[r * cols + c],
                                             acc[r * cols + c]));
      }
    }
    return next;
  }

  void emit(ImplicitLocOpBuilder &b) {
    SmallVector<Value> init(numAcc, zeroAcc);
    // One step per group, or per run of groups (fieldGroups).
    int64_t step = kern.fieldGroups ? scaleRun() : 1;
    auto groupLoop = scf::ForOp::create(
        b, cIndex(b, 0), cIndex(b, numGroups), cIndex(b, step), init,
        [&](OpBuilder &ob, Location loc, Value group, ValueRange acc) {
          ImplicitLocOpBuilder gb(loc, ob);
          scf::YieldOp::create(gb, kern.fieldGroups
                                       ? emitFieldGroups(gb, group, acc)
                                       : emitGroup(gb, group, acc));
        });
    storeTile(b, kern, rowIdx, colIdx, groupLoop.getResults(), ValueRange());
  }
};
} // namespace

void qnt::emitTile(ImplicitLocOpBuilder &b, const MatmulKernel &kern, Value m0,
                   ArrayRef<Value> tileStarts, int64_t rows, int64_t tileCols) {
  if (kern.int8)
    return emitTileInt8(b, kern, m0, tileStarts, rows, tileCols);
  F32Tile(b, kern, m0, tileStarts, rows, tileCols).emit(b);
}
