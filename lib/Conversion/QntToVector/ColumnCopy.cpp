// The column kernels' view of a column_tiles weight (docs/BIT_LAYOUT.md,
// "Column kernels"), which qnt-select-kernels lays out (Relayout.cpp): read
// by the kernels (ColumnInt8.cpp) and by qnt.gather_rows of the same table.
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

bool qnt::setColumnCodeOffset(Int8Kernel &q, const MatmulKernel &kern,
                              CodeLayoutAttr layout, LookupIsa lookup) {
  if (hasE2M1Codes(kern)) {
    setE2M1Table(q, kern, lookup);
    return false;
  }
  q.flip = static_cast<uint8_t>(layout.getFlip());
  q.offset = 0;
  bool signedBytes = false;
  if (kern.bits == 8) {
    // Flipped signed codes are unsigned bytes (vpdpbusd's, c = d - 128);
    // flipped unsigned ones signed bytes (c = d + 128). Unflipped bytes are
    // read as the codes are.
    signedBytes = kern.isSigned == (q.flip == 0);
    if (q.flip)
      q.offset = kern.isSigned ? -128 : 128;
  } else if (q.flip) {
    // Signed 4-bit codes with their sign bits flipped: d = c + 8.
    q.offset = -8;
  }
  q.needsSums = q.offset != 0;
  return signedBytes;
}

ColumnCopy qnt::makeColumnCopy(const MatmulKernel &kern, const Int8Kernel &q,
                               ConstantOp constant, const Payload &payload,
                               bool signedBytes) {
  PackedType type = constant.getType();
  ColumnCopy ck;
  ck.lanes = type.getLayout().getLanes();
  ck.bits = kern.bits;
  ck.signedBytes = signedBytes;
  ck.codeOffset = q.offset;
  ck.table = q.table;
  ck.codeUnit = q.codeUnit;
  ck.scheme = kern.scheme;
  ck.lookup = q.lookup;
  ck.tiles = type.getColumnTiles();
  ck.steps = kern.k / columnCodesPerStep(kern.bits);
  ck.groups = kern.k / kern.groupSize;
  ck.codes = payload.codes;
  ck.scales = payload.scales;
  if (!payload.zeroPoints)
    return ck;
  // o - z per column and group, in the tiles' order (the zero points are
  // already in it); columns past N stay 0.
  auto zeroPoints = cast<DenseElementsAttr>(
      payload.zeroPoints.getDefiningOp<arith::ConstantOp>().getValue());
  auto z = zeroPoints.getValues<float>();
  SmallVector<float> offsets(ck.tiles * ck.groups * ck.lanes, 0.0f);
  for (int64_t n = 0; n < kern.n; ++n)
    for (int64_t g = 0; g < ck.groups; ++g) {
      int64_t at = columnTileIndex(n / ck.lanes, g, ck.groups) * ck.lanes +
                   n % ck.lanes;
      offsets[at] = float(q.offset) - z[at];
    }
  auto offsetsType = RankedTensorType::get(
      {static_cast<int64_t>(offsets.size())}, Float32Type::get(
                                                  constant.getContext()));
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(
      ArrayRef<float>(offsets));
  OpBuilder b(constant);
  b.setInsertionPointAfter(constant);
  ck.offsets = arith::ConstantOp::create(
      b, constant.getLoc(),
      DenseResourceElementsAttr::get(offsetsType, "qnt_column_offsets",
                                     std::move(blob)));
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
