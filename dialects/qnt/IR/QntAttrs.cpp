// Parsing, printing and verification of #qnt.scheme.
#include "qnt/IR/QntAttrs.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "qnt/Support/ElementFormats.h"
#include "qnt/Support/SchemeParameters.h"
#include "llvm/Support/MathExtras.h"
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::qnt;

#include "qnt/IR/QntEnums.cpp.inc"

int64_t mlir::qnt::getCacheRowSize(CacheFormat format, int64_t headSize) {
  switch (format) {
  case CacheFormat::i8:
    llvm_unreachable("an i8 cache holds positions, not rows");
  case CacheFormat::i4:
    llvm_unreachable("an i4 cache holds blocks and a window, not rows");
  default:
    return headSize;
  }
}

bool mlir::qnt::isValidCacheBlock(int64_t block) {
  return block >= 8 && block <= 256 && llvm::isPowerOf2_64(block);
}

bool mlir::qnt::isValidCacheWindow(int64_t window, int64_t block) {
  return block > 0 && window >= block && window <= 4096 &&
         window % block == 0;
}

Type mlir::qnt::getCacheElementType(CacheFormat format, MLIRContext *context) {
  switch (format) {
  case CacheFormat::f32:
    return Float32Type::get(context);
  case CacheFormat::f16:
    return Float16Type::get(context);
  case CacheFormat::i8:
  case CacheFormat::i4:
    return IntegerType::get(context, 8);
  }
  llvm_unreachable("unknown cache format");
}

int64_t SchemeAttr::getCodeMin() const {
  return isSigned() ? -(int64_t(1) << (getBits() - 1)) : 0;
}

int64_t SchemeAttr::getCodeMax() const {
  return isSigned() ? (int64_t(1) << (getBits() - 1)) - 1
                    : (int64_t(1) << getBits()) - 1;
}

ArrayRef<float> SchemeAttr::getCodeValues() const {
  if (getFormat() == Format::lut4)
    return getCodebook() ? getCodebook().asArrayRef() : ArrayRef<float>();
  if (const float *table = fourBitTable(getElementFormat(getFormat())))
    return ArrayRef<float>(table, 16);
  return {};
}

/// The element format is spelled as the builtin type it stands for (si4, ui8,
/// f8E4M3FN, ...), so the upstream types are reused and not re-invented.
static bool formatFromType(Type type, Format &format, unsigned &bits) {
  if (auto intType = dyn_cast<IntegerType>(type)) {
    if (intType.isSignless())
      return false;
    format = intType.isSigned() ? Format::si : Format::ui;
    bits = intType.getWidth();
    return true;
  }
  if (isa<Float8E4M3FNType>(type)) {
    format = Format::f8E4M3FN;
    bits = 8;
    return true;
  }
  if (isa<Float8E5M2Type>(type)) {
    format = Format::f8E5M2;
    bits = 8;
    return true;
  }
  if (isa<Float4E2M1FNType>(type)) {
    format = Format::f4E2M1FN;
    bits = 4;
    return true;
  }
  return false;
}

ElementFormat mlir::qnt::getElementFormat(Format format) {
  switch (format) {
  case Format::f8E4M3FN:
    return ElementFormat::F8E4M3FN;
  case Format::f8E5M2:
    return ElementFormat::F8E5M2;
  case Format::f4E2M1FN:
    return ElementFormat::F4E2M1FN;
  case Format::nf4:
    return ElementFormat::NF4;
  case Format::lut4:
    return ElementFormat::Lut4;
  case Format::si:
  case Format::ui:
    break;
  }
  return ElementFormat::Int;
}

std::optional<ScaleFormat> mlir::qnt::getScaleFormat(Type type) {
  if (!type)
    return std::nullopt;
  if (type.isF32())
    return ScaleFormat::F32;
  if (type.isF16())
    return ScaleFormat::F16;
  if (type.isBF16())
    return ScaleFormat::BF16;
  if (isa<Float8E8M0FNUType>(type))
    return ScaleFormat::F8E8M0;
  if (isa<Float8E4M3FNType>(type))
    return ScaleFormat::F8E4M3;
  return std::nullopt;
}

Type mlir::qnt::getScaleType(MLIRContext *context, ScaleFormat format) {
  switch (format) {
  case ScaleFormat::F32:
    return Float32Type::get(context);
  case ScaleFormat::F16:
    return Float16Type::get(context);
  case ScaleFormat::BF16:
    return BFloat16Type::get(context);
  case ScaleFormat::F8E8M0:
    return Float8E8M0FNUType::get(context);
  case ScaleFormat::F8E4M3:
    return Float8E4M3FNType::get(context);
  }
  return {};
}

Attribute SchemeAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  MLIRContext *ctx = parser.getContext();
  Type formatType;
  if (parser.parseLess())
    return {};
  Format format;
  unsigned bits;
  // nf4 and lut4 are no builtin types, so they are keywords, tried first.
  if (succeeded(parser.parseOptionalKeyword("nf4"))) {
    format = Format::nf4;
    bits = 4;
  } else if (succeeded(parser.parseOptionalKeyword("lut4"))) {
    format = Format::lut4;
    bits = 4;
  } else if (parser.parseType(formatType)) {
    return {};
  } else if (!formatFromType(formatType, format, bits)) {
    parser.emitError(loc) << "expected an element format: si<bits>, ui<bits>, "
                             "f8E4M3FN, f8E5M2, f4E2M1FN, nf4 or lut4, got "
                          << formatType;
    return {};
  }

  StringRef word;
  SMLoc modeLoc;
  if (parser.parseComma())
    return {};
  modeLoc = parser.getCurrentLocation();
  if (parser.parseKeyword(&word))
    return {};
  std::optional<Mode> mode = symbolizeMode(word);
  if (!mode) {
    parser.emitError(modeLoc) << "expected 'symmetric' or 'asymmetric', got '"
                              << word << "'";
    return {};
  }

  SMLoc granLoc;
  if (parser.parseComma())
    return {};
  granLoc = parser.getCurrentLocation();
  if (parser.parseKeyword(&word))
    return {};
  std::optional<Granularity> granularity = symbolizeGranularity(word);
  if (!granularity) {
    parser.emitError(granLoc)
        << "expected 'per_tensor', 'per_channel<axis>' or "
           "'per_group<axis, size>', got '"
        << word << "'";
    return {};
  }
  int64_t axis = 0, groupSize = 0;
  if (*granularity == Granularity::per_channel) {
    if (parser.parseLess() || parser.parseInteger(axis) ||
        parser.parseGreater())
      return {};
  } else if (*granularity == Granularity::per_group) {
    if (parser.parseLess() || parser.parseInteger(axis) ||
        parser.parseComma() || parser.parseInteger(groupSize) ||
        parser.parseGreater())
      return {};
  }

  Type scaleType = Float32Type::get(ctx);
  FloatAttr tensorScale;
  DenseF32ArrayAttr codebook;
  // `, scale = TYPE`, `, tensor_scale = FLOAT`, `, codebook = array<f32:
  // ...>`, each optional, in this order.
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&word) || parser.parseEqual())
      return {};
    bool later = tensorScale || codebook;
    if (word == "scale" && !later) {
      if (parser.parseType(scaleType))
        return {};
    } else if (word == "tensor_scale" && !later) {
      APFloat value(0.0f);
      if (parser.parseFloat(APFloat::IEEEsingle(), value))
        return {};
      tensorScale = FloatAttr::get(Float32Type::get(ctx), value);
    } else if (word == "codebook" && !codebook) {
      SMLoc valueLoc = parser.getCurrentLocation();
      Attribute value;
      if (parser.parseAttribute(value))
        return {};
      codebook = dyn_cast<DenseF32ArrayAttr>(value);
      if (!codebook) {
        parser.emitError(valueLoc)
            << "expected the codebook as array<f32: 16 values>, got "
            << value;
        return {};
      }
    } else {
      parser.emitError(keyLoc)
          << "expected 'scale = TYPE', 'tensor_scale = FLOAT' or 'codebook "
             "= array<f32: ...>', in this order, got '"
          << word << "'";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return SchemeAttr::getChecked([&] { return parser.emitError(loc); }, ctx,
                                format, bits, *mode, *granularity, axis,
                                groupSize, scaleType, tensorScale, codebook);
}

void SchemeAttr::print(AsmPrinter &printer) const {
  printer << "<";
  if (isInteger())
    printer << stringifyFormat(getFormat()) << getBits();
  else
    printer << stringifyFormat(getFormat());
  printer << ", " << stringifyMode(getMode()) << ", "
          << stringifyGranularity(getGranularity());
  if (getGranularity() == Granularity::per_channel)
    printer << "<" << getAxis() << ">";
  else if (getGranularity() == Granularity::per_group)
    printer << "<" << getAxis() << ", " << getGroupSize() << ">";
  if (!getScaleType().isF32())
    printer << ", scale = " << getScaleType();
  if (FloatAttr tensorScale = getTensorScale()) {
    printer << ", tensor_scale = ";
    printer.printFloat(tensorScale.getValue());
  }
  if (DenseF32ArrayAttr codebook = getCodebook()) {
    printer << ", codebook = ";
    printer.printAttribute(codebook);
  }
  printer << ">";
}

LogicalResult SchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 Format format, unsigned bits, Mode mode,
                                 Granularity granularity, int64_t axis,
                                 int64_t groupSize, Type scaleType,
                                 FloatAttr tensorScale,
                                 DenseF32ArrayAttr codebook) {
  std::string scaleName;
  llvm::raw_string_ostream(scaleName) << scaleType;
  std::optional<ScaleFormat> scaleFormat = getScaleFormat(scaleType);
  if (std::string rule = checkFormatRules(
          {getElementFormat(format), bits, mode == Mode::asymmetric,
           mode == Mode::offset, granularity == Granularity::per_tensor,
           granularity == Granularity::per_group, groupSize, scaleFormat,
           scaleName, tensorScale != nullptr});
      !rule.empty())
    return emitError() << rule;
  if (tensorScale) {
    double value = tensorScale.getValueAsDouble();
    if (!tensorScale.getType().isF32() || !std::isfinite(value) ||
        !(value >= double(std::numeric_limits<float>::min())))
      return emitError() << "tensor_scale " << value
                         << " must be a positive normal f32";
  }
  if (format == Format::lut4 && !codebook)
    return emitError() << "format lut4 needs its codebook (codebook = "
                          "array<f32: 16 values>)";
  if (codebook && format != Format::lut4)
    return emitError() << "a codebook is for format lut4 only";
  if (codebook)
    if (std::string e = checkCodebook(codebook.asArrayRef().data(),
                                      codebook.size());
        !e.empty())
      return emitError() << "codebook " << e;
  if (axis < 0)
    return emitError() << "axis " << axis << " must be non-negative";
  if (granularity == Granularity::per_tensor && (axis != 0 || groupSize != 0))
    return emitError() << "per_tensor takes no axis and no group size";
  if (granularity == Granularity::per_channel && groupSize != 0)
    return emitError() << "per_channel takes no group size";
  if (granularity == Granularity::per_group && groupSize < 1)
    return emitError() << "group size " << groupSize << " must be positive";
  if (!scaleFormat)
    return emitError() << "scale type " << scaleType
                       << " must be f32, f16 or bf16";
  return success();
}
