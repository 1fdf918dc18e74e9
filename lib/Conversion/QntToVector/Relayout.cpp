// The code layouts the CPU kernels read (docs/BIT_LAYOUT.md, "Kernel
// layouts"): which #qnt.layout a #qnt.kernel reads, and the compile-time
// copy of a weight in it, which qnt-select-kernels puts in the IR.
#include "Kernels.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/Support/Packing.h"
#include <algorithm>
#include <cstring>
#include <vector>

using namespace mlir;
using namespace mlir::qnt;

CodeLayoutAttr qnt::matmulCodeLayout(const MatmulKernel &kern,
                                     KernelAttr kernel) {
  MLIRContext *ctx = kernel.getContext();
  Int8Kernel int8;
  setCodeOffset(int8, kern, /*zeroPoints=*/false);
  switch (kernel.getFamily()) {
  case KernelFamily::column_i8: {
    if (kern.bits != 4 && kern.bits != 8)
      return {};
    // The flip lowerColumnMatmul feeds the codes with: e2m1 codes go through
    // a table as they are; 8-bit codes are unsigned bytes for the VNNI dot
    // products (signed ones flipped).
    uint8_t flip = int8.flip;
    if (hasE2M1Codes(kern))
      flip = 0;
    else if (kern.bits == 8 && (kernel.getIntDot() == IntDotIsa::avx512vnni ||
                                kernel.getIntDot() == IntDotIsa::avxvnni))
      flip = kern.isSigned ? 0x80 : 0;
    return CodeLayoutAttr::get(ctx, CodeLayoutKind::column_tiles,
                               /*block=*/0, kernel.getLanes(), /*rows=*/0,
                               flip);
  }
  case KernelFamily::row_i8: {
    // The plane-major layout works in blocks of one load, within groups or
    // (small groups) across them.
    int64_t groupsPerLoad = int8GroupsPerLoad(kern, kernel.getLanes());
    if (!groupsPerLoad)
      return {};
    return CodeLayoutAttr::get(ctx, CodeLayoutKind::row_tiles,
                               kern.groupSize * groupsPerLoad,
                               kernel.getLanes(), kernel.getTileCols(),
                               int8.flip);
  }
  case KernelFamily::row_f32:
  case KernelFamily::row_lut: {
    int64_t lanes = kernel.getLanes();
    // Blocks of 8/bits groups: fields that are whole groups.
    if (fieldsAreGroups(kern, lanes))
      return CodeLayoutAttr::get(ctx, CodeLayoutKind::planes,
                                 kern.groupSize * (8 / kern.bits), lanes,
                                 /*rows=*/0, /*flip=*/0);
    // Widths that divide 8 read full blocks of each group in the plane-major
    // layout; the rest of each group keeps the row layout. fp8 codes
    // decoded as float bits too: one 4-lane-byte load gives four vectors
    // of codes with two shifts and a mask each, where the row layout takes a
    // widening load, a shift and a mask per vector.
    bool planeFp8 = kernel.getLookup() == LookupIsa::float_bits;
    if (((kern.bits < 8 && 8 % kern.bits == 0) || planeFp8) &&
        static_cast<int64_t>(planeMajorBlockCodes(kern.bits, lanes)) <=
            kern.groupSize)
      return CodeLayoutAttr::get(ctx, CodeLayoutKind::planes, kern.groupSize,
                                 lanes, /*rows=*/0, /*flip=*/0);
    return {};
  }
  case KernelFamily::attention:
    return {};
  }
  llvm_unreachable("unknown kernel family");
}

namespace {
/// A resource blob of `type` (zero-filled) that `fill` writes.
ElementsAttr blobOf(ShapedType type, StringRef name,
                    llvm::function_ref<void(uint8_t *)> fill) {
  size_t size = type.getNumElements() * (type.getElementTypeBitWidth() / 8);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(size, alignof(uint64_t));
  uint8_t *out = reinterpret_cast<uint8_t *>(blob.getMutableData().data());
  std::memset(out, 0, size);
  fill(out);
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

/// The row_tiles codes: each row in the plane-major layout with
/// `lanes`-byte blocks (widths below 8), every byte XORed with `flip`, then
/// the rows interleaved in tiles of `tileRows` rows at `lanes`-byte
/// granularity (interleaveRowTiles), so that a register tile streams through
/// one contiguous range. The type's size holds `tileRows` more rows of
/// zeros: prefetching one tile ahead never leaves the buffer.
void rowTiles(const uint8_t *in, int64_t rows, int64_t rowBytes, int64_t count,
              unsigned bits, CodeLayoutAttr layout, uint8_t *out) {
  int64_t tileRows = layout.getRows(), lanes = layout.getLanes();
  auto flip = static_cast<uint8_t>(layout.getFlip());
  // One tile at a time through a small buffer: no second full copy.
  std::vector<uint8_t> tile(tileRows * rowBytes);
  for (int64_t r0 = 0; r0 < rows; r0 += tileRows) {
    int64_t n = std::min(tileRows, rows - r0);
    for (int64_t r = 0; r < n; ++r) {
      const uint8_t *src = in + (r0 + r) * rowBytes;
      uint8_t *dst = tile.data() + r * rowBytes;
      if (bits < 8)
        toPlaneMajorRow(src, count, bits, layout.getBlock(), lanes, dst);
      else
        std::memcpy(dst, src, rowBytes);
      if (flip)
        for (int64_t j = 0; j < rowBytes; ++j)
          dst[j] ^= flip;
    }
    interleaveRowTiles(tile.data(), n, rowBytes, n == tileRows ? tileRows : 1,
                       lanes, out + r0 * rowBytes);
  }
}

/// The column_tiles codes: tile t, step s, column c of the tile, 4 bytes
/// (docs/BIT_LAYOUT.md, "Column kernels"); columns past N and the steps
/// after the last tile (what its prefetches read) are zeros.
void columnTiles(const uint8_t *in, PackedType type, uint8_t *out) {
  int64_t n = type.getShape()[0], k = type.getShape()[1];
  unsigned bits = type.getScheme().getBits();
  int64_t lanes = type.getLayout().getLanes();
  auto flip = static_cast<uint8_t>(type.getLayout().getFlip());
  int64_t rowBytes = (k * bits + 7) / 8;
  int64_t steps = k / columnCodesPerStep(bits);
  auto code = [&](int64_t row, int64_t col) -> uint8_t {
    uint8_t byte = in[row * rowBytes + col * bits / 8];
    return bits == 8 ? byte : (col % 2 ? byte >> 4 : byte & 0x0F);
  };
  for (int64_t row = 0; row < n; ++row) {
    int64_t t = row / lanes, c = row % lanes;
    for (int64_t s = 0; s < steps; ++s) {
      uint8_t *dst = out + (columnTileIndex(t, s, steps) * lanes + c) * 4;
      for (int64_t j = 0; j < 4; ++j)
        dst[j] = bits == 4 ? ((code(row, s * 8 + j) ^ flip) & 0x0F) |
                                 (((code(row, s * 8 + 4 + j) ^ flip) & 0x0F)
                                  << 4)
                           : code(row, s * 4 + j) ^ flip;
    }
  }
}

/// Scales or zero points (`elemBytes` bytes each, one per row, or per row
/// and group) in the column_tiles order: tile t, group g, column c.
void columnTileScales(ArrayRef<char> in, PackedType type, int64_t elemBytes,
                      uint8_t *out) {
  SchemeAttr scheme = type.getScheme();
  int64_t n = type.getShape()[0], k = type.getShape()[1];
  int64_t lanes = type.getLayout().getLanes();
  int64_t groups = scheme.getGranularity() == Granularity::per_group
                       ? k / scheme.getGroupSize()
                       : 1;
  for (int64_t row = 0; row < n; ++row) {
    int64_t t = row / lanes, c = row % lanes;
    for (int64_t g = 0; g < groups; ++g) {
      int64_t from = row * groups + g;
      int64_t to = columnTileIndex(t, g, groups) * lanes + c;
      std::memcpy(out + to * elemBytes, in.data() + from * elemBytes,
                  elemBytes);
    }
  }
}
} // namespace

FailureOr<ConstantOp> qnt::relayWeight(ConstantOp op, CodeLayoutAttr layout) {
  PackedType from = op.getType();
  auto type = PackedType::getChecked(
      [&] { return op.emitOpError(); }, op.getContext(), from.getShape(),
      from.getScheme(), layout);
  if (!type)
    return failure();
  std::vector<char> storage;
  FailureOr<ArrayRef<char>> bytes = readCodeBytes(op, storage);
  if (failed(bytes))
    return failure();
  auto in = reinterpret_cast<const uint8_t *>(bytes->data());
  int64_t rowBytes = from.getCodesShape().back();
  int64_t rows = rowBytes ? static_cast<int64_t>(bytes->size()) / rowBytes : 0;
  int64_t count = from.getShape().back();
  unsigned bits = from.getScheme().getBits();
  auto i8 = IntegerType::get(op.getContext(), 8);
  auto codesType = RankedTensorType::get(type.getCodesShape(), i8);
  ElementsAttr scales = op.getScales();
  ElementsAttr zeroPoints = op.getZeroPoints().value_or(ElementsAttr());
  ElementsAttr codes;
  switch (layout.getKind()) {
  case CodeLayoutKind::planes:
    codes = blobOf(codesType, "qnt_kernel_codes", [&](uint8_t *out) {
      for (int64_t r = 0; r < rows; ++r)
        toPlaneMajorRow(in + r * rowBytes, count, bits, layout.getBlock(),
                        layout.getLanes(), out + r * rowBytes);
    });
    break;
  case CodeLayoutKind::row_tiles:
    codes = blobOf(codesType, "qnt_kernel_codes", [&](uint8_t *out) {
      rowTiles(in, rows, rowBytes, count, bits, layout, out);
    });
    break;
  case CodeLayoutKind::column_tiles: {
    codes = blobOf(codesType, "qnt_column_codes",
                   [&](uint8_t *out) { columnTiles(in, type, out); });
    // Scales and zero points in the order of the tiles too.
    auto reorder = [&](ElementsAttr attr, Type elem,
                       StringRef name) -> FailureOr<ElementsAttr> {
      std::vector<char> storage;
      FailureOr<ArrayRef<char>> raw =
          readPayloadBytes(op, name, attr, storage);
      if (failed(raw))
        return failure();
      auto shape = RankedTensorType::get(type.getScalesShape(), elem);
      return blobOf(shape, ("qnt_column_" + name).str(), [&](uint8_t *out) {
        columnTileScales(*raw, type, elem.getIntOrFloatBitWidth() / 8, out);
      });
    };
    FailureOr<ElementsAttr> s =
        reorder(scales, from.getScheme().getScaleType(), "scales");
    if (failed(s))
      return failure();
    scales = *s;
    if (zeroPoints) {
      // Zero points have no byte-scale padding: only integer codes have
      // them, and their scales are 16 or 32 bits wide.
      FailureOr<ElementsAttr> z =
          reorder(zeroPoints, from.getZeroPointType(), "zero_points");
      if (failed(z))
        return failure();
      zeroPoints = *z;
    }
    break;
  }
  }
  OpBuilder b(op);
  b.setInsertionPointAfter(op);
  return ConstantOp::create(b, op.getLoc(), type, codes, scales, zeroPoints,
                            op.getOffsets().value_or(ElementsAttr()));
}
