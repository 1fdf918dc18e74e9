// The column kernels of activations=i8 (convert-qnt-to-vector): the lanes of
// each register are output columns, so one vpdpbusd advances 16 outputs by
// 4 codes, and a group's scales cost one multiply-add per 16 columns.
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/Support/Packing.h"
#include "llvm/Support/CheckedArithmetic.h"
#include <cstring>

using namespace mlir;
using namespace mlir::qnt;

namespace {
/// How far ahead (in k-steps) the column kernels prefetch their codes.
constexpr int64_t kPrefetchSteps = 16;

/// Column tiles read together, interleaved step by step in the layout so
/// that a single row of x (a GEMV) reads one sequential stream.
constexpr int64_t kTilesPerGroup = 4;

/// Position of column tile t's step s (or scale group s), in units of one
/// tile's step: the tiles of a group of kTilesPerGroup are interleaved.
int64_t interleaved(int64_t t, int64_t s, int64_t perTile) {
  return ((t / kTilesPerGroup) * perTile + s) * kTilesPerGroup +
         t % kTilesPerGroup;
}

/// interleaved() on index values.
Value interleaved(ImplicitLocOpBuilder &b, Value t, Value s, int64_t perTile) {
  Value group = arith::DivUIOp::create(b, t, cIndex(b, kTilesPerGroup));
  Value within = arith::RemUIOp::create(b, t, cIndex(b, kTilesPerGroup));
  return arith::AddIOp::create(
      b,
      arith::MulIOp::create(
          b,
          arith::AddIOp::create(
              b, arith::MulIOp::create(b, group, cIndex(b, perTile)), s),
          cIndex(b, kTilesPerGroup)),
      within);
}

/// Codes per k-step of one column: 4 bytes, holding 8 int4 codes (low
/// nibbles k..k+3, high nibbles k+4..k+7) or 4 int8 codes.
int64_t codesPerStep(unsigned bits) { return bits == 4 ? 8 : 4; }

/// The raw bytes of a dense or resource-blob elements attribute, element
/// after element, or failure (a splat is expanded).
FailureOr<SmallVector<char>> rawBytes(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  int64_t elemBytes = type.getElementTypeBitWidth() / 8;
  SmallVector<char> out;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    ArrayRef<char> raw = dense.getRawData();
    if (dense.isSplat()) {
      for (int64_t i = 0; i < type.getNumElements(); ++i)
        out.append(raw.begin(), raw.begin() + elemBytes);
    } else {
      out.assign(raw.begin(), raw.end());
    }
    return out;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob()) {
      ArrayRef<char> data = blob->getData();
      std::optional<int64_t> size =
          llvm::checkedMul(type.getNumElements(), elemBytes);
      if (size && static_cast<int64_t>(data.size()) == *size) {
        out.assign(data.begin(), data.end());
        return out;
      }
    }
  return failure();
}

/// A 1-D constant of `bytes` reinterpreted as `elem`, right after `op`.
Value constantBlob(ConstantOp op, ArrayRef<char> bytes, Type elem,
                   StringRef name) {
  int64_t elemBytes = elem.getIntOrFloatBitWidth() / 8;
  auto type = RankedTensorType::get(
      {static_cast<int64_t>(bytes.size()) / elemBytes}, elem);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(bytes);
  OpBuilder b(op);
  b.setInsertionPointAfter(op);
  return arith::ConstantOp::create(
      b, op.getLoc(),
      DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

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
  int64_t parts, stepsPerBlock, blocksPerGroup, numAcc;
  SmallVector<Value> rowIdx, tile;
  Value zeroAcc, zeroSum, nibble, four;

  ColumnTile(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
             const Int8Kernel &q, const ColumnKernel &ck, Value m0,
             int64_t rows, Value t0, int64_t cols, bool signedCodes)
      : kern(kern), q(q), ck(ck), rows(rows), cols(cols),
        signedCodes(signedCodes), L(ck.lanes), cps(codesPerStep(kern.bits)) {
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
    blocksPerGroup = kern.groupSize / q.block;
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
                SmallVector<Value> &isum) {
    Value step = arith::DivUIOp::create(cb, k, cIndex(cb, cps));
    SmallVector<Value> lo, hi;
    for (int64_t c = 0; c < cols; ++c) {
      Value at = arith::MulIOp::create(
          cb, interleaved(cb, tile[c], step, ck.steps), cIndex(cb, 4 * L));
      Value w = vector::LoadOp::create(cb, bytesType, ck.codes, at);
      // The hardware prefetchers start late on each run of a few KiB; the
      // loads ask a few steps ahead (into the padding after the last tiles
      // at the end).
      if (kern.prefetch)
        for (int64_t line = 0; line < 4 * L; line += kCacheLineBytes)
          memref::PrefetchOp::create(
              cb, ck.codes,
              ValueRange{arith::AddIOp::create(
                  cb, at, cIndex(cb, kPrefetchSteps * 4 * L + line))},
              /*isWrite=*/false, /*localityHint=*/3, /*isDataCache=*/true);
      if (int4) {
        lo.push_back(arith::AndIOp::create(cb, w, nibble));
        hi.push_back(arith::AndIOp::create(
            cb, arith::ShRUIOp::create(cb, w, four), nibble));
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

  /// One x block of group g: its integer sums times sx and the group's
  /// scales `sv`, added to `acc`.
  SmallVector<Value> emitBlock(ImplicitLocOpBuilder &cb, Value g, Value blk,
                               ArrayRef<Value> sv, ValueRange acc) {
    Value block = arith::AddIOp::create(
        cb, arith::MulIOp::create(cb, g, cIndex(cb, blocksPerGroup)), blk);
    Value k0 = arith::MulIOp::create(cb, block, cIndex(cb, q.block));
    SmallVector<Value> isum(numAcc * parts, zeroSum);
    if (stepsPerBlock <= 8) {
      for (int64_t s = 0; s < stepsPerBlock; ++s)
        emitStep(cb, arith::AddIOp::create(cb, k0, cIndex(cb, s * cps)), s,
                 isum);
    } else {
      // Two steps per iteration keep the even/odd accumulators.
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
    SmallVector<Value> next;
    for (int64_t r = 0; r < rows; ++r) {
      Value sx = vector::BroadcastOp::create(
          cb, accType,
          memref::LoadOp::create(cb, q.xScales, ValueRange{rowIdx[r], block}));
      for (int64_t c = 0; c < cols; ++c) {
        int64_t base = (r * cols + c) * parts;
        Value sum = isum[base];
        if (parts == 2)
          sum = arith::AddIOp::create(cb, sum, isum[base + 1]);
        next.push_back(vector::FMAOp::create(
            cb, arith::SIToFPOp::create(cb, accType, sum),
            arith::MulFOp::create(cb, sx, sv[c]), acc[r * cols + c]));
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
            gb, interleaved(gb, tile[c], g, ck.groups), cIndex(gb, L));
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

  SmallVector<Value> emitGroup(ImplicitLocOpBuilder &gb, Value g,
                               ValueRange facc) {
    SmallVector<Value> sv;
    for (int64_t c = 0; c < cols; ++c) {
      Value at = arith::MulIOp::create(
          gb, interleaved(gb, tile[c], g, ck.groups), cIndex(gb, L));
      Value v = vector::LoadOp::create(gb, scaleType, ck.scales, at);
      sv.push_back(scaleElem.isF32()
                       ? v
                       : arith::ExtFOp::create(gb, accType, v).getResult());
    }
    auto blockLoop = scf::ForOp::create(
        gb, cIndex(gb, 0), cIndex(gb, blocksPerGroup), cIndex(gb, 1), facc,
        [&](OpBuilder &bob, Location bloc, Value blk, ValueRange acc) {
          ImplicitLocOpBuilder cb(bloc, bob);
          scf::YieldOp::create(cb, emitBlock(cb, g, blk, sv, acc));
        });
    SmallVector<Value> next(blockLoop.getResults());
    if (q.needsSums)
      addCorrections(gb, g, sv, next);
    return next;
  }

  void emit(ImplicitLocOpBuilder &b) {
    auto groupLoop = scf::ForOp::create(
        b, cIndex(b, 0), cIndex(b, ck.groups), cIndex(b, 1),
        SmallVector<Value>(numAcc, zeroAcc),
        [&](OpBuilder &ob, Location loc, Value g, ValueRange facc) {
          ImplicitLocOpBuilder gb(loc, ob);
          scf::YieldOp::create(gb, emitGroup(gb, g, facc));
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

bool qnt::columnKernelApplies(const MatmulKernel &kern, int64_t block,
                              Type resultElem) {
  if (kern.bits != 4 && kern.bits != 8)
    return false;
  if (kern.scheme.getGranularity() == Granularity::per_tensor)
    return false;
  // Groups of whole x blocks, blocks of whole k-steps.
  return kern.xElem.isF32() && resultElem.isF32() &&
         kern.groupSize % block == 0 && block % 32 == 0 &&
         kern.k % kern.groupSize == 0;
}

FailureOr<ColumnCopy> qnt::makeColumnCopy(const MatmulKernel &kern,
                                          const Int8Kernel &q,
                                          ConstantOp constant,
                                          const Payload &payload, int64_t lanes,
                                          bool signedBytes) {
  ColumnCopy ck;
  ck.lanes = lanes;
  ck.bits = kern.bits;
  ck.signedBytes = signedBytes;
  ck.codeOffset = q.offset;
  // Whole groups of tiles; columns past N are zeros, computed and not
  // stored.
  ck.tiles = (kern.n + lanes * kTilesPerGroup - 1) / (lanes * kTilesPerGroup) *
             kTilesPerGroup;
  int64_t cps = codesPerStep(kern.bits);
  ck.steps = kern.k / cps;
  ck.groups = kern.k / kern.groupSize;

  // The codes, column-interleaved: tile t, step s, column c of the tile,
  // 4 bytes (docs/BIT_LAYOUT.md, "Column kernels").
  SmallVector<char> storage;
  FailureOr<ArrayRef<char>> bytes = readCodeBytes(constant, storage);
  if (failed(bytes))
    return failure();
  int64_t rowBytes = constant.getType().getCodesShape().back();
  // Zeros after the last tile: what its prefetches ask for.
  SmallVector<char> relaid((ck.tiles * ck.steps + kPrefetchSteps) * lanes * 4,
                           0);
  auto code = [&](int64_t n, int64_t k) -> uint8_t {
    auto byte =
        static_cast<uint8_t>((*bytes)[n * rowBytes + k * kern.bits / 8]);
    return kern.bits == 8 ? byte : (k % 2 ? byte >> 4 : byte & 0x0F);
  };
  for (int64_t n = 0; n < kern.n; ++n) {
    int64_t t = n / lanes, c = n % lanes;
    for (int64_t s = 0; s < ck.steps; ++s) {
      char *out = relaid.data() + (interleaved(t, s, ck.steps) * lanes + c) * 4;
      for (int64_t j = 0; j < 4; ++j) {
        uint8_t v;
        if (kern.bits == 4)
          v = ((code(n, s * 8 + j) ^ q.flip) & 0x0F) |
              (((code(n, s * 8 + 4 + j) ^ q.flip) & 0x0F) << 4);
        else
          v = code(n, s * 4 + j) ^ q.flip;
        out[j] = static_cast<char>(v);
      }
    }
  }
  MLIRContext *ctx = constant.getContext();
  ck.codes = constantBlob(constant, relaid, IntegerType::get(ctx, 8),
                          "qnt_column_codes");

  // Scales (and o - z): tile t, group g, column c, in the scale type.
  FailureOr<SmallVector<char>> scaleBytes = rawBytes(constant.getScales());
  if (failed(scaleBytes))
    return constant.emitOpError("'scales' cannot be read");
  Type scaleElem = constant.getType().getScheme().getScaleType();
  int64_t eb = scaleElem.getIntOrFloatBitWidth() / 8;
  int64_t scaleCols =
      kern.scheme.getGranularity() == Granularity::per_group ? ck.groups : 1;
  SmallVector<char> scales(ck.tiles * ck.groups * lanes * eb, 0);
  SmallVector<float> offsets;
  SmallVector<float> zeroPoints;
  if (payload.zeroPoints) {
    auto attr = cast<DenseElementsAttr>(
        payload.zeroPoints.getDefiningOp<arith::ConstantOp>().getValue());
    zeroPoints.assign(attr.getValues<float>().begin(),
                      attr.getValues<float>().end());
    offsets.assign(ck.tiles * ck.groups * lanes, 0.0f);
  }
  for (int64_t n = 0; n < kern.n; ++n) {
    int64_t t = n / lanes, c = n % lanes;
    for (int64_t g = 0; g < ck.groups; ++g) {
      int64_t from = n * scaleCols + (scaleCols == 1 ? 0 : g);
      int64_t to = interleaved(t, g, ck.groups) * lanes + c;
      std::memcpy(scales.data() + to * eb, scaleBytes->data() + from * eb, eb);
      if (!zeroPoints.empty())
        offsets[to] = float(q.offset) - zeroPoints[from];
    }
  }
  ck.scales = constantBlob(constant, scales, scaleElem, "qnt_column_scales");
  if (!offsets.empty())
    ck.offsets =
        constantBlob(constant,
                     ArrayRef<char>(reinterpret_cast<char *>(offsets.data()),
                                    offsets.size() * sizeof(float)),
                     Float32Type::get(ctx), "qnt_column_offsets");
  return ck;
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
  int64_t cols = kTilesPerGroup;
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

void qnt::emitGatherFromColumnCopy(ImplicitLocOpBuilder &b,
                                   const ColumnCopy &copy, Value ids, Value out,
                                   int64_t n, int64_t k) {
  Value codes = toBuffer(b, copy.codes), scales = toBuffer(b, copy.scales);
  Value offsets = copy.offsets ? toBuffer(b, copy.offsets) : Value();
  int64_t L = copy.lanes, cps = codesPerStep(copy.bits);
  int64_t groupSize = k / copy.groups;
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
  // Row t: column id = ids[t] of the copy, one k-step (4 bytes) at a time
  // (one row per decoding step; a prompt's rows in a prefill).
  scf::buildLoopNest(
      b, b.getLoc(), ValueRange{cIndex(b, 0)},
      ValueRange{memref::DimOp::create(b, ids, 0)}, ValueRange{cIndex(b, 1)},
      [&](OpBuilder &ob, Location loc, ValueRange ivs) {
        ImplicitLocOpBuilder rb(loc, ob);
        Value t = ivs[0];
        Value id = arith::IndexCastOp::create(
            rb, rb.getIndexType(), memref::LoadOp::create(rb, ids, t));
        id = arith::MaxSIOp::create(rb, id, cIndex(rb, 0));
        id = arith::MinSIOp::create(rb, id, cIndex(rb, n - 1));
        Value tile = arith::DivUIOp::create(rb, id, cIndex(rb, L));
        Value column = arith::RemUIOp::create(rb, id, cIndex(rb, L));
        auto at = [&](ImplicitLocOpBuilder &ib, Value s, int64_t perTile) {
          return arith::AddIOp::create(
              ib,
              arith::MulIOp::create(ib, interleaved(ib, tile, s, perTile),
                                    cIndex(ib, L)),
              column);
        };
        scf::ForOp::create(
            rb, cIndex(rb, 0), cIndex(rb, copy.steps), cIndex(rb, 1),
            ValueRange{},
            [&](OpBuilder &sb, Location sloc, Value s, ValueRange) {
              ImplicitLocOpBuilder ib(sloc, sb);
              Value step = arith::MulIOp::create(ib, at(ib, s, copy.steps),
                                                 cIndex(ib, 4));
              Value bytes = vector::LoadOp::create(ib, VectorType::get({4}, i8),
                                                   codes, ValueRange{step});
              // The step's codes share a scale group (groups hold whole
              // x blocks of 32 codes).
              Value k0 = arith::MulIOp::create(ib, s, cIndex(ib, cps));
              Value g = arith::DivUIOp::create(ib, k0, cIndex(ib, groupSize));
              Value scaleAt = at(ib, g, copy.groups);
              Value scale =
                  toF32(ib, memref::LoadOp::create(ib, scales, scaleAt));
              Value shift =
                  offsets
                      ? memref::LoadOp::create(ib, offsets, scaleAt).getResult()
                      : arith::ConstantOp::create(
                            ib, ib.getF32FloatAttr(float(copy.codeOffset)))
                            .getResult();
              for (int64_t j = 0; j < cps; ++j) {
                Value byte = vector::ExtractOp::create(ib, bytes, j % 4);
                Value field;
                if (copy.bits == 4) {
                  Value wide = arith::ExtUIOp::create(ib, i32, byte);
                  if (j >= 4)
                    wide = arith::ShRUIOp::create(
                        ib, wide,
                        arith::ConstantOp::create(ib, ib.getI32IntegerAttr(4)));
                  field = arith::AndIOp::create(
                      ib, wide,
                      arith::ConstantOp::create(ib, ib.getI32IntegerAttr(15)));
                } else {
                  field =
                      copy.signedBytes
                          ? arith::ExtSIOp::create(ib, i32, byte).getResult()
                          : arith::ExtUIOp::create(ib, i32, byte).getResult();
                }
                Value code = arith::AddFOp::create(
                    ib, arith::SIToFPOp::create(ib, f32, field), shift);
                memref::StoreOp::create(
                    ib, arith::MulFOp::create(ib, scale, code), out,
                    ValueRange{t,
                               arith::AddIOp::create(ib, k0, cIndex(ib, j))});
              }
              scf::YieldOp::create(ib);
            });
      });
}
