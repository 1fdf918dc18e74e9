// The column kernels' copy of a weight (docs/BIT_LAYOUT.md, "Column
// kernels"): made at compile time from a qnt.constant, and read by the
// kernels (ColumnInt8.cpp) and by qnt.gather_rows of the same table.
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/Support/Packing.h"
#include "qnt/Support/SchemeParameters.h"
#include "llvm/Support/CheckedArithmetic.h"
#include <cstring>

using namespace mlir;
using namespace mlir::qnt;

int64_t qnt::columnTileIndex(int64_t t, int64_t s, int64_t perTile) {
  return ((t / kColumnTilesPerGroup) * perTile + s) * kColumnTilesPerGroup +
         t % kColumnTilesPerGroup;
}

Value qnt::columnTileIndex(ImplicitLocOpBuilder &b, Value t, Value s,
                           int64_t perTile) {
  Value group = arith::DivUIOp::create(b, t, cIndex(b, kColumnTilesPerGroup));
  Value within = arith::RemUIOp::create(b, t, cIndex(b, kColumnTilesPerGroup));
  return arith::AddIOp::create(
      b,
      arith::MulIOp::create(
          b,
          arith::AddIOp::create(
              b, arith::MulIOp::create(b, group, cIndex(b, perTile)), s),
          cIndex(b, kColumnTilesPerGroup)),
      within);
}

int64_t qnt::columnCodesPerStep(unsigned bits) { return bits == 4 ? 8 : 4; }

namespace {
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

} // namespace

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
  ck.table = q.table;
  ck.codeUnit = q.codeUnit;
  ck.scheme = kern.scheme;
  ck.lookup = q.lookup;
  // Whole groups of tiles; columns past N are zeros, computed and not
  // stored.
  ck.tiles = (kern.n + lanes * kColumnTilesPerGroup - 1) / (lanes * kColumnTilesPerGroup) *
             kColumnTilesPerGroup;
  int64_t cps = columnCodesPerStep(kern.bits);
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
  SmallVector<char> relaid((ck.tiles * ck.steps + kColumnPrefetchSteps) * lanes * 4,
                           0);
  auto code = [&](int64_t n, int64_t k) -> uint8_t {
    auto byte =
        static_cast<uint8_t>((*bytes)[n * rowBytes + k * kern.bits / 8]);
    return kern.bits == 8 ? byte : (k % 2 ? byte >> 4 : byte & 0x0F);
  };
  for (int64_t n = 0; n < kern.n; ++n) {
    int64_t t = n / lanes, c = n % lanes;
    for (int64_t s = 0; s < ck.steps; ++s) {
      char *out = relaid.data() + (columnTileIndex(t, s, ck.steps) * lanes + c) * 4;
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
  // The fp4 formats' 8-bit float block scales stay bytes, which the
  // kernels decode (decodeScale).
  if (getScaleFormat(scaleElem) && fp4BlockFormat(*getScaleFormat(scaleElem)))
    scaleElem = IntegerType::get(constant.getContext(), 8);
  int64_t eb = scaleElem.getIntOrFloatBitWidth() / 8;
  int64_t scaleCols =
      kern.scheme.getGranularity() == Granularity::per_group ? ck.groups : 1;
  // Byte scales end with zeros for the kernels' prefetches.
  int64_t scalePadding =
      eb == 1 ? kColumnScalePrefetchGroups * kColumnTilesPerGroup * lanes : 0;
  SmallVector<char> scales(ck.tiles * ck.groups * lanes * eb + scalePadding,
                           0);
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
      int64_t to = columnTileIndex(t, g, ck.groups) * lanes + c;
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

void qnt::emitGatherFromColumnCopy(ImplicitLocOpBuilder &b,
                                   const ColumnCopy &copy, Value ids, Value out,
                                   int64_t n, int64_t k) {
  Value codes = toBuffer(b, copy.codes), scales = toBuffer(b, copy.scales);
  Value offsets = copy.offsets ? toBuffer(b, copy.offsets) : Value();
  int64_t L = copy.lanes, cps = columnCodesPerStep(copy.bits);
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
              arith::MulIOp::create(ib, columnTileIndex(ib, tile, s, perTile),
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
              // As the kernels decode them: e2m1's code unit holds what
              // an unscaled E4M3 decode leaves out.
              Value scale = decodeScale(
                  ib, memref::LoadOp::create(ib, scales, scaleAt), copy.scheme,
                  copy.lookup, /*scaled=*/copy.table.empty());
              if (copy.codeUnit != 1.0f)
                scale = arith::MulFOp::create(
                    ib, scale,
                    arith::ConstantOp::create(
                        ib, ib.getF32FloatAttr(copy.codeUnit)));
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
                // e2m1: the table's byte for the field, as the kernels
                // see it.
                Value code = arith::AddFOp::create(
                    ib,
                    copy.table.empty()
                        ? arith::SIToFPOp::create(ib, f32, field).getResult()
                        : lookupBySelects(ib, field, copy.table),
                    shift);
                memref::StoreOp::create(
                    ib, arith::MulFOp::create(ib, scale, code), out,
                    ValueRange{t,
                               arith::AddIOp::create(ib, k0, cIndex(ib, j))});
              }
              scf::YieldOp::create(ib);
            });
      });
}
