// The column kernels of activations=i8 (convert-qnt-to-vector): the lanes of
// each register are output columns, so one vpdpbusd advances 16 outputs by
// 4 codes, and a group's scales cost one multiply-add per 16 columns. 4- and
// 8-bit integer codes, and fp4 (e2m1) codes through a byte table.
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "qnt/Support/ElementFormats.h"

using namespace mlir;
using namespace mlir::qnt;

namespace {
/// What the column kernel of one matmul reads.
struct ColumnKernel {
  int64_t lanes;  // columns per tile (NC)
  int64_t tiles;  // ceil(N / NC)
  int64_t steps;  // k-steps per column: K / codesPerStep
  int64_t groups; // scale groups along K
  Value codes;    // memref<tiles * steps * NC * 4 x i8>
  Value scales;   // memref<tiles * groups * NC x scale type>
  Value offsets;  // memref<tiles * groups * NC x f32>: o - z, asymmetric only
};

/// One register tile of the column kernel: rows m0 .. m0 + rows - 1 of x
/// against the column tiles t0 .. t0 + cols - 1, over all of K, then stored.
struct ColumnTile {
  const MatmulKernel &kern;
  const Int8Kernel &q;
  const ColumnKernel &ck;
  int64_t rows, cols;
  bool signedCodes;
  int64_t L, cps;
  Type f32, i32, i8;
  VectorType accType, sumType, bytesType, scaleType;
  Type scaleElem;
  bool int4;
  // The group loop steps through units of max(group, x block) codes:
  // blocksPerGroup x blocks of a group, or groupsPerBlock groups of an x
  // block (nvfp4's groups of 16 in blocks of 32), each with integer sums
  // of its own. One of the two is 1.
  int64_t parts, stepsPerBlock, blocksPerGroup, groupsPerBlock, numAcc;
  SmallVector<Value> rowIdx, tile;
  Value zeroAcc, zeroSum, nibble, four;

  ColumnTile(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
             const Int8Kernel &q, const ColumnKernel &ck, Value m0,
             int64_t rows, Value t0, int64_t cols, bool signedCodes)
      : kern(kern), q(q), ck(ck), rows(rows), cols(cols),
        signedCodes(signedCodes), L(ck.lanes), cps(columnCodesPerStep(kern.bits)) {
    f32 = b.getF32Type();
    i32 = b.getI32Type();
    i8 = b.getI8Type();
    accType = VectorType::get({L}, f32);
    sumType = VectorType::get({L}, i32);
    bytesType = VectorType::get({4 * L}, i8);
    scaleElem = cast<MemRefType>(ck.scales.getType()).getElementType();
    scaleType = VectorType::get({L}, scaleElem);
    int4 = kern.bits == 4;
    // Two integer accumulators per output vector (the low and high nibbles, or
    // even and odd steps) where the tile alone has too few to hide the
    // latency of the dot products.
    parts = rows * cols < 8 ? 2 : 1;
    stepsPerBlock = q.block / cps;
    blocksPerGroup = std::max<int64_t>(1, kern.groupSize / q.block);
    groupsPerBlock = std::max<int64_t>(1, q.block / kern.groupSize);
    for (int64_t r = 0; r < rows; ++r)
      rowIdx.push_back(
          r ? arith::AddIOp::create(b, m0, cIndex(b, r)).getResult() : m0);
    for (int64_t c = 0; c < cols; ++c)
      tile.push_back(c ? arith::AddIOp::create(b, t0, cIndex(b, c)).getResult()
                       : t0);
    zeroAcc = arith::ConstantOp::create(
        b, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
    zeroSum = arith::ConstantOp::create(
        b, DenseElementsAttr::get(sumType, b.getI32IntegerAttr(0)));
    nibble = arith::ConstantOp::create(
        b, DenseElementsAttr::get(bytesType, b.getI8IntegerAttr(0x0F)));
    four = arith::ConstantOp::create(
        b, DenseElementsAttr::get(bytesType, b.getI8IntegerAttr(4)));
    numAcc = rows * cols;
  }

  /// e2m1 codes: the bytes d of `fields` (codes in [0, 16)), through the
  /// table (one vpshufb per register on x86); other codes as they are.
  Value lookup(ImplicitLocOpBuilder &cb, Value fields) {
    if (q.table.empty())
      return fields;
    return Lookup16Op::create(cb, bytesType,
                              LookupIsaAttr::get(cb.getContext(), q.lookup),
                              fields, cb.getDenseF32ArrayAttr(q.table));
  }

  /// x[r, k .. k+3] in every lane.
  Value broadcastX(ImplicitLocOpBuilder &cb, Value r, Value k) {
    Value quad = vector::LoadOp::create(cb, VectorType::get({4}, i8), q.xq,
                                        ValueRange{r, k});
    Value word = vector::ExtractOp::create(
        cb, vector::BitCastOp::create(cb, VectorType::get({1}, i32), quad),
        int64_t(0));
    return vector::BitCastOp::create(
        cb, bytesType, vector::BroadcastOp::create(cb, sumType, word));
  }

  /// One k-step (code k of the group loop): the integer sums.
  void emitStep(ImplicitLocOpBuilder &cb, Value k, int64_t s,
                MutableArrayRef<Value> isum) {
    Value step = arith::DivUIOp::create(cb, k, cIndex(cb, cps));
    SmallVector<Value> lo, hi;
    for (int64_t c = 0; c < cols; ++c) {
      Value at = arith::MulIOp::create(
          cb, columnTileIndex(cb, tile[c], step, ck.steps), cIndex(cb, 4 * L));
      Value w = vector::LoadOp::create(cb, bytesType, ck.codes, at);
      // The hardware prefetchers start late on each run of a few KiB; the
      // loads ask a few steps ahead (into the padding after the last tiles
      // at the end).
      if (kern.prefetch)
        for (int64_t line = 0; line < 4 * L; line += kCacheLineBytes)
          memref::PrefetchOp::create(
              cb, ck.codes,
              ValueRange{arith::AddIOp::create(
                  cb, at, cIndex(cb, kColumnPrefetchSteps * 4 * L + line))},
              /*isWrite=*/false, /*localityHint=*/kPrefetchLocality,
              /*isDataCache=*/true);
      if (int4) {
        lo.push_back(lookup(cb, arith::AndIOp::create(cb, w, nibble)));
        hi.push_back(lookup(cb, arith::AndIOp::create(
                                    cb, arith::ShRUIOp::create(cb, w, four),
                                    nibble)));
      } else {
        lo.push_back(w);
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      Value xa = broadcastX(cb, rowIdx[r], k);
      Value xb;
      if (int4)
        xb = broadcastX(cb, rowIdx[r],
                        arith::AddIOp::create(cb, k, cIndex(cb, 4)));
      for (int64_t c = 0; c < cols; ++c) {
        int64_t base = (r * cols + c) * parts;
        Value &first = isum[base + (parts == 2 && !int4 ? s % 2 : 0)];
        first = Dot4I8Op::create(cb, sumType, lo[c], xa, first,
                                 /*a_signed=*/signedCodes);
        if (int4) {
          Value &second = isum[base + (parts == 2 ? 1 : 0)];
          second = Dot4I8Op::create(cb, sumType, hi[c], xb, second,
                                    /*a_signed=*/false);
        }
      }
    }
  }

  /// One x block of unit u: its integer sums (one set per group of the
  /// block) times sx and their group's scales (group j of the unit:
  /// sv[j * cols + c]), added to `acc`.
  SmallVector<Value> emitBlock(ImplicitLocOpBuilder &cb, Value u, Value blk,
                               ArrayRef<Value> sv, ValueRange acc) {
    Value block = arith::AddIOp::create(
        cb, arith::MulIOp::create(cb, u, cIndex(cb, blocksPerGroup)), blk);
    Value k0 = arith::MulIOp::create(cb, block, cIndex(cb, q.block));
    int64_t perGroup = numAcc * parts;
    SmallVector<Value> isum(groupsPerBlock * perGroup, zeroSum);
    if (stepsPerBlock <= 8) {
      for (int64_t s = 0; s < stepsPerBlock; ++s)
        emitStep(cb, arith::AddIOp::create(cb, k0, cIndex(cb, s * cps)), s,
                 MutableArrayRef<Value>(isum).slice(
                     s * cps / std::min(kern.groupSize, q.block) * perGroup,
                     perGroup));
    } else {
      // Two steps per iteration keep the even/odd accumulators (groups of
      // whole blocks here: columnKernelApplies).
      int64_t unroll = 2;
      auto steps = scf::ForOp::create(
          cb, cIndex(cb, 0), cIndex(cb, stepsPerBlock / unroll), cIndex(cb, 1),
          isum,
          [&](OpBuilder &sob, Location sloc, Value i, ValueRange carried) {
            ImplicitLocOpBuilder sb(sloc, sob);
            SmallVector<Value> sums(carried);
            Value k = arith::AddIOp::create(
                sb, k0, arith::MulIOp::create(sb, i, cIndex(sb, unroll * cps)));
            for (int64_t u = 0; u < unroll; ++u)
              emitStep(sb, arith::AddIOp::create(sb, k, cIndex(sb, u * cps)), u,
                       sums);
            scf::YieldOp::create(sb, sums);
          });
      isum.assign(steps.getResults().begin(), steps.getResults().end());
    }
    SmallVector<Value> next(acc.begin(), acc.end());
    for (int64_t r = 0; r < rows; ++r) {
      Value sx = vector::BroadcastOp::create(
          cb, accType,
          memref::LoadOp::create(cb, q.xScales, ValueRange{rowIdx[r], block}));
      for (int64_t c = 0; c < cols; ++c) {
        // Several groups in the block (nvfp4): their sums times their
        // scales, then times sx once.
        Value scaled;
        for (int64_t j = 0; j < groupsPerBlock; ++j) {
          int64_t base = j * perGroup + (r * cols + c) * parts;
          Value sum = isum[base];
          if (parts == 2)
            sum = arith::AddIOp::create(cb, sum, isum[base + 1]);
          Value f = arith::SIToFPOp::create(cb, accType, sum);
          scaled = !j ? (groupsPerBlock == 1 ? f
                                             : arith::MulFOp::create(
                                                   cb, f, sv[c]).getResult())
                      : vector::FMAOp::create(cb, f, sv[j * cols + c], scaled)
                            .getResult();
        }
        next[r * cols + c] =
            groupsPerBlock == 1
                ? vector::FMAOp::create(
                      cb, scaled, arith::MulFOp::create(cb, sx, sv[c]),
                      next[r * cols + c])
                      .getResult()
                : vector::FMAOp::create(cb, scaled, sx, next[r * cols + c])
                      .getResult();
      }
    }
    return next;
  }

  /// s * (o - z) * xsum per group: the codes' offset and zero point.
  void addCorrections(ImplicitLocOpBuilder &gb, Value g, ArrayRef<Value> sv,
                      SmallVector<Value> &next) {
    SmallVector<Value> corr;
    for (int64_t c = 0; c < cols; ++c) {
      Value oz;
      if (ck.offsets) {
        Value at = arith::MulIOp::create(
            gb, columnTileIndex(gb, tile[c], g, ck.groups), cIndex(gb, L));
        oz = vector::LoadOp::create(gb, accType, ck.offsets, at);
      } else {
        oz = arith::ConstantOp::create(
            gb, DenseElementsAttr::get(accType,
                                       gb.getF32FloatAttr(float(q.offset))));
      }
      corr.push_back(arith::MulFOp::create(gb, sv[c], oz));
    }
    for (int64_t r = 0; r < rows; ++r) {
      Value xsum = vector::BroadcastOp::create(
          gb, accType,
          memref::LoadOp::create(gb, q.xSums, ValueRange{rowIdx[r], g}));
      for (int64_t c = 0; c < cols; ++c)
        next[r * cols + c] =
            vector::FMAOp::create(gb, corr[c], xsum, next[r * cols + c]);
    }
  }

  /// The scales of group g of the tile's columns, as f32 vectors: the
  /// stored ones converted, fp4 block scales decoded (the value of one
  /// unit of the codes, Int8Kernel::codeUnit, multiplies the outputs once).
  SmallVector<Value> groupScales(ImplicitLocOpBuilder &gb, Value g) {
    SmallVector<Value> sv;
    for (int64_t c = 0; c < cols; ++c) {
      Value at = arith::MulIOp::create(
          gb, columnTileIndex(gb, tile[c], g, ck.groups), cIndex(gb, L));
      // Byte scales (fp4) are a stream of their own, an eighth of the codes
      // with nvfp4: fetched kColumnScalePrefetchGroups groups ahead, as the
      // codes are (into the copy's padding at the end).
      if (kern.prefetch && scaleElem.isInteger(8))
        memref::PrefetchOp::create(
            gb, ck.scales,
            ValueRange{arith::AddIOp::create(
                gb, at,
                cIndex(gb, kColumnScalePrefetchGroups * kColumnTilesPerGroup *
                               L))},
            /*isWrite=*/false, /*localityHint=*/kPrefetchLocality,
            /*isDataCache=*/true);
      sv.push_back(decodeScale(
          gb, vector::LoadOp::create(gb, scaleType, ck.scales, at),
          kern.scheme, q.lookup, /*scaled=*/q.table.empty()));
    }
    return sv;
  }

  /// One unit u of the group loop: its x blocks, then each group's
  /// corrections.
  SmallVector<Value> emitUnit(ImplicitLocOpBuilder &gb, Value u,
                              ValueRange facc) {
    SmallVector<Value> groups, sv;
    for (int64_t j = 0; j < groupsPerBlock; ++j) {
      groups.push_back(arith::AddIOp::create(
          gb, arith::MulIOp::create(gb, u, cIndex(gb, groupsPerBlock)),
          cIndex(gb, j)));
      llvm::append_range(sv, groupScales(gb, groups.back()));
    }
    auto blockLoop = scf::ForOp::create(
        gb, cIndex(gb, 0), cIndex(gb, blocksPerGroup), cIndex(gb, 1), facc,
        [&](OpBuilder &bob, Location bloc, Value blk, ValueRange acc) {
          ImplicitLocOpBuilder cb(bloc, bob);
          scf::YieldOp::create(cb, emitBlock(cb, u, blk, sv, acc));
        });
    SmallVector<Value> next(blockLoop.getResults());
    if (q.needsSums)
      for (int64_t j = 0; j < groupsPerBlock; ++j)
        addCorrections(gb, groups[j], ArrayRef<Value>(sv).slice(j * cols, cols),
                       next);
    return next;
  }

  void emit(ImplicitLocOpBuilder &b) {
    auto groupLoop = scf::ForOp::create(
        b, cIndex(b, 0), cIndex(b, ck.groups / groupsPerBlock), cIndex(b, 1),
        SmallVector<Value>(numAcc, zeroAcc),
        [&](OpBuilder &ob, Location loc, Value u, ValueRange facc) {
          ImplicitLocOpBuilder gb(loc, ob);
          scf::YieldOp::create(gb, emitUnit(gb, u, facc));
        });

    // Store, plus the bias; the last tile may be partial (masked).
    for (int64_t c = 0; c < cols; ++c) {
      Value n0 = arith::MulIOp::create(b, tile[c], cIndex(b, L));
      Value valid = arith::MinSIOp::create(
          b, arith::SubIOp::create(b, cIndex(b, kern.n), n0), cIndex(b, L));
      Value mask = vector::CreateMaskOp::create(
          b, VectorType::get({L}, b.getI1Type()), ValueRange{valid});
      Value bias;
      if (kern.bias)
        bias = vector::MaskedLoadOp::create(b, accType, kern.bias,
                                            ValueRange{n0}, mask, zeroAcc);
      for (int64_t r = 0; r < rows; ++r) {
        Value v = groupLoop.getResult(r * cols + c);
        if (q.codeUnit != 1.0f)
          v = arith::MulFOp::create(b, v, splatF32(b, accType, q.codeUnit));
        if (bias)
          v = arith::AddFOp::create(b, v, bias);
        vector::MaskedStoreOp::create(b, kern.out, ValueRange{rowIdx[r], n0},
                                      mask, v);
      }
    }
  }
};

/// Emits one register tile: rows m0 .. m0 + rows - 1 of x against the
/// column tiles t0 .. t0 + cols - 1, over all of K, then stores it.
void emitColumnTile(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                    const Int8Kernel &q, const ColumnKernel &ck, Value m0,
                    int64_t rows, Value t0, int64_t cols, bool signedCodes) {
  ColumnTile(b, kern, q, ck, m0, rows, t0, cols, signedCodes).emit(b);
}
} // namespace

bool qnt::hasE2M1Codes(const MatmulKernel &kern) {
  return kern.scheme.getFormat() == Format::f4E2M1FN;
}

void qnt::setE2M1Table(Int8Kernel &q, const MatmulKernel &kern,
                       LookupIsa isa) {
  // Twice the e2m1 values are the integers 0, +-1, +-2, +-3, +-4, +-6, +-8,
  // +-12; 12 more makes them unsigned bytes for vpdpbusd's first operand.
  q.table.clear();
  for (float v : kE2M1Values)
    q.table.push_back(2.0f * v + 12.0f);
  q.lookup = isa;
  q.flip = 0;
  q.offset = -12;
  q.needsSums = true;
  q.codeUnit = 0.5f;
  // nvfp4: its tensor scale, and the 2^8 its E4M3 scales leave out when
  // decoded through half floats (the kernels decode them unscaled).
  if (FloatAttr tensorScale = kern.scheme.getTensorScale())
    q.codeUnit *= float(tensorScale.getValueAsDouble()) *
                  unscaledLutFactor(Format::f8E4M3FN, isa);
}

bool qnt::columnKernelApplies(const MatmulKernel &kern, int64_t block,
                              Type resultElem) {
  if (!kern.xElem.isF32() || !resultElem.isF32() ||
      kern.k % kern.groupSize != 0 || block % 32 != 0)
    return false;
  if (hasE2M1Codes(kern))
    // mxfp4's groups of 32 hold whole x blocks; nvfp4's of 16 are halves
    // of x blocks of 32 (the smallest), whose sums the quantizer keeps per
    // group.
    return kern.groupSize % block == 0 ||
           (block == kActivationStep && block % kern.groupSize == 0 &&
            kern.k % block == 0);
  if (!kern.scheme.isInteger() || (kern.bits != 4 && kern.bits != 8))
    return false;
  if (kern.scheme.getGranularity() == Granularity::per_tensor)
    return false;
  // Groups of whole x blocks, blocks of whole k-steps.
  return kern.groupSize % block == 0;
}

void qnt::emitColumnKernel(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                           const Int8Kernel &q, const ColumnCopy &copy,
                           int64_t rowsPerTile, bool parallel) {
  ColumnKernel kernel{copy.lanes,
                      copy.tiles,
                      copy.steps,
                      copy.groups,
                      toBuffer(b, copy.codes),
                      toBuffer(b, copy.scales),
                      copy.offsets ? toBuffer(b, copy.offsets) : Value()};
  bool signedCodes = copy.signedBytes;

  // Tiles of `cols` column tiles (one GEMV row keeps 4 in flight, a GEMM
  // tile of several rows 2), split across threads; the rows of x in tiles
  // of rowsPerTile, then one by one.
  auto emitTiles = [&](ImplicitLocOpBuilder &tb, Value t0, int64_t cols) {
    Value mMain = arith::SubIOp::create(
        tb, kern.m,
        arith::RemUIOp::create(tb, kern.m, cIndex(tb, rowsPerTile)));
    // Register tiles of `rows` rows and up to `width` column tiles.
    auto rowLoop = [&](Value lb, Value ub, int64_t rows, int64_t width) {
      scf::ForOp::create(
          tb, lb, ub, cIndex(tb, rows), ValueRange{},
          [&](OpBuilder &ob, Location loc, Value m0, ValueRange) {
            ImplicitLocOpBuilder mb(loc, ob);
            for (int64_t c0 = 0; c0 < cols; c0 += width)
              emitColumnTile(
                  mb, kern, q, kernel, m0, rows,
                  c0 ? arith::AddIOp::create(mb, t0, cIndex(mb, c0)).getResult()
                     : t0,
                  std::min(width, cols - c0), signedCodes);
            scf::YieldOp::create(mb);
          });
    };
    if (rowsPerTile > 1)
      rowLoop(cIndex(tb, 0), mMain, rowsPerTile, 2);
    rowLoop(rowsPerTile > 1 ? mMain : cIndex(tb, 0), kern.m, 1, cols);
  };
  int64_t cols = kColumnTilesPerGroup;
  auto overTiles = [&](int64_t begin, int64_t end, int64_t step) {
    if (begin >= end)
      return;
    Value lb = cIndex(b, begin), ub = cIndex(b, end), st = cIndex(b, step);
    if (parallel) {
      scf::ParallelOp::create(b, ValueRange{lb}, ValueRange{ub}, ValueRange{st},
                              [&](OpBuilder &ob, Location loc, ValueRange ivs) {
                                ImplicitLocOpBuilder tb(loc, ob);
                                emitTiles(tb, ivs[0], step);
                              });
      return;
    }
    scf::ForOp::create(b, lb, ub, st, ValueRange{},
                       [&](OpBuilder &ob, Location loc, Value t0, ValueRange) {
                         ImplicitLocOpBuilder tb(loc, ob);
                         emitTiles(tb, t0, step);
                         scf::YieldOp::create(tb);
                       });
  };
  overTiles(0, copy.tiles, cols);
}

