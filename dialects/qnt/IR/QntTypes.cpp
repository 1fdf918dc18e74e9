// Parsing, printing, verification and storage shapes of !qnt.packed.
#include "qnt/IR/QntTypes.h"
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
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/false) ||
      parser.parseComma() || parser.parseAttribute(scheme) ||
      parser.parseGreater())
    return {};
  return PackedType::getChecked([&] { return parser.emitError(loc); },
                                parser.getContext(), ArrayRef<int64_t>(shape), scheme);
}

void PackedType::print(AsmPrinter &printer) const {
  printer << "<";
  llvm::interleave(getShape(), printer.getStream(), "x");
  printer << ", " << getScheme() << ">";
}

LogicalResult PackedType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, SchemeAttr scheme) {
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
  return success();
}

SmallVector<int64_t> PackedType::getCodesShape() const {
  SmallVector<int64_t> codes(getShape());
  codes.back() = (codes.back() * getScheme().getBits() + 7) / 8;
  return codes;
}

SmallVector<int64_t> PackedType::getScalesShape() const {
  SchemeAttr scheme = getScheme();
  int64_t axis = scheme.getAxis();
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
