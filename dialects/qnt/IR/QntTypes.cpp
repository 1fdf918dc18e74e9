// Parsing, printing, verification and storage shapes of !qnt.packed.
#include "qnt/IR/QntTypes.h"
#include "qnt/Support/Packing.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include <optional>

using namespace mlir;
using namespace mlir::qnt;

Type PackedType::parse(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t> shape;
  SchemeAttr scheme;
  CodeLayoutAttr layout;
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/false) ||
      parser.parseComma() || parser.parseAttribute(scheme))
    return {};
  if (succeeded(parser.parseOptionalComma()) && parser.parseAttribute(layout))
    return {};
  if (parser.parseGreater())
    return {};
  return PackedType::getChecked([&] { return parser.emitError(loc); },
                                parser.getContext(), ArrayRef<int64_t>(shape),
                                scheme, layout);
}

void PackedType::print(AsmPrinter &printer) const {
  printer << "<";
  llvm::interleave(getShape(), printer.getStream(), "x");
  printer << ", " << getScheme();
  if (getLayout())
    printer << ", " << getLayout();
  printer << ">";
}

/// The layout's requirements on the weight it lays out (the kernels that
/// read each layout take only these).
static LogicalResult verifyLayout(function_ref<InFlightDiagnostic()> emitError,
                                  ArrayRef<int64_t> shape, SchemeAttr scheme,
                                  CodeLayoutAttr layout) {
  StringRef kind = stringifyCodeLayoutKind(layout.getKind());
  unsigned bits = scheme.getBits();
  if (shape.size() != 2)
    return emitError() << "a " << kind
                       << " layout lays out a 2-D weight, not rank "
                       << shape.size();
  int64_t k = shape[1];
  if (scheme.hasOffsets())
    return emitError() << "a " << kind
                       << " layout does not take an offset scheme";
  if (layout.getKind() == CodeLayoutKind::column_tiles) {
    if (bits != 4 && bits != 8)
      return emitError() << "a column_tiles layout takes 4- or 8-bit codes, "
                            "not "
                         << bits << "-bit";
    if (scheme.getGranularity() == Granularity::per_tensor)
      return emitError() << "a column_tiles layout needs scales per channel "
                            "or per group";
    if (k % columnCodesPerStep(bits) != 0)
      return emitError() << "a column_tiles layout of " << bits
                         << "-bit codes needs K a multiple of "
                         << columnCodesPerStep(bits) << ", not " << k;
    return success();
  }
  if (8 % bits != 0)
    return emitError() << "a " << kind << " layout takes codes of 1, 2, 4 "
                       << "or 8 bits, not " << bits;
  bool planes = layout.getKind() == CodeLayoutKind::planes;
  if (planes && bits == 8 && scheme.isInteger())
    return emitError() << "a planes layout of 8-bit codes takes fp8 codes "
                          "(four to a 32-bit word), not integers";
  int64_t blockCodes = planeMajorBlockCodes(bits, layout.getLanes());
  if ((bits < 8 || planes) &&
      (k % layout.getBlock() != 0 || layout.getBlock() < blockCodes))
    return emitError() << "block = " << layout.getBlock()
                       << " must divide K (" << k
                       << ") and hold at least one plane block of "
                       << blockCodes << " codes";
  return success();
}
LogicalResult PackedType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, SchemeAttr scheme,
                                 CodeLayoutAttr layout) {
  if (shape.empty())
    return emitError() << "packed tensor must have rank >= 1";
  for (auto [i, dim] : llvm::enumerate(shape))
    if (dim <= 0)
      return emitError() << "dimension " << i << " of the packed shape is "
                         << dim << "; dimensions must be static and positive";
  if (!scheme)
    return emitError() << "missing #qnt.scheme";
  // Sizes derived from the shape (code bytes, scales, re-laid copies) are
  // computed in int64 by every lowering.
  std::optional<int64_t> bits = int64_t(scheme.getBits());
  for (int64_t dim : shape)
    if (bits)
      bits = llvm::checkedMul(*bits, dim);
  if (!bits)
    return emitError() << "the codes of the packed shape need more than "
                          "2^63 bits";
  int64_t axis = scheme.getAxis();
  if (axis >= static_cast<int64_t>(shape.size()))
    return emitError() << "scheme axis " << axis
                       << " is out of range for a rank-" << shape.size()
                       << " packed tensor";
  if (scheme.getGranularity() == Granularity::per_group &&
      shape[axis] % scheme.getGroupSize() != 0)
    return emitError() << "group size " << scheme.getGroupSize()
                       << " does not divide dimension " << axis << " (size "
                       << shape[axis] << ")";
  if (layout)
    return verifyLayout(emitError, shape, scheme, layout);
  return success();
}

int64_t PackedType::getColumnTiles() const {
  int64_t perGroup = getLayout().getLanes() * kColumnTilesPerGroup;
  return (getShape()[0] + perGroup - 1) / perGroup * kColumnTilesPerGroup;
}

SmallVector<int64_t> PackedType::getCodesShape() const {
  SmallVector<int64_t> codes(getShape());
  int64_t rowBytes = (codes.back() * getScheme().getBits() + 7) / 8;
  codes.back() = rowBytes;
  CodeLayoutAttr layout = getLayout();
  if (!layout || layout.getKind() == CodeLayoutKind::planes)
    return codes;
  if (layout.getKind() == CodeLayoutKind::row_tiles)
    // The rows, then one tile of zero rows (what prefetching one tile
    // ahead reads).
    return {(getShape()[0] + layout.getRows()) * rowBytes};
  // 4 bytes per column and k-step, then kColumnPrefetchSteps steps of
  // zeros.
  int64_t steps = getShape()[1] / columnCodesPerStep(getScheme().getBits());
  return {(getColumnTiles() * steps + kColumnPrefetchSteps) *
          layout.getLanes() * 4};
}

SmallVector<int64_t> PackedType::getScalesShape() const {
  SchemeAttr scheme = getScheme();
  int64_t axis = scheme.getAxis();
  CodeLayoutAttr layout = getLayout();
  if (layout && layout.getKind() == CodeLayoutKind::column_tiles) {
    // Tile, group, column; byte scales (fp4) end with zeros for the
    // kernels' prefetches.
    int64_t groups = scheme.getGranularity() == Granularity::per_group
                         ? getShape()[1] / scheme.getGroupSize()
                         : 1;
    int64_t padding = scheme.getScaleType().getIntOrFloatBitWidth() == 8
                          ? kColumnScalePrefetchGroups *
                                kColumnTilesPerGroup * layout.getLanes()
                          : 0;
    return {getColumnTiles() * groups * layout.getLanes() + padding};
  }
  switch (scheme.getGranularity()) {
  case Granularity::per_tensor:
    return SmallVector<int64_t>(getRank(), 1);
  case Granularity::per_channel: {
    SmallVector<int64_t> scales(getRank(), 1);
    scales[axis] = getShape()[axis];
    return scales;
  }
  case Granularity::per_group: {
    SmallVector<int64_t> scales(getShape());
    scales[axis] /= scheme.getGroupSize();
    return scales;
  }
  }
  llvm_unreachable("unknown granularity");
}

IntegerType PackedType::getZeroPointType() const {
  return IntegerType::get(getContext(), 8,
                          getScheme().isSigned() ? IntegerType::Signless
                                                 : IntegerType::Unsigned);
}
