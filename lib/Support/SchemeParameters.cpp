// Messages for invalid scheme options (see SchemeParameters.h).
#include "qnt/Support/SchemeParameters.h"
#include "llvm/ADT/Twine.h"

using namespace mlir::qnt;

std::string mlir::qnt::checkSchemeOptions(llvm::StringRef owner,
                                          const SchemeParameters &p,
                                          const SchemeOptionNames &names) {
  std::optional<SchemeParameter> bad = findInvalidSchemeParameter(p);
  if (!bad)
    return "";
  switch (*bad) {
  case SchemeParameter::Bits:
    return kCodeBitsRange.check(owner, names.bits, *p.bits);
  case SchemeParameter::GroupSize:
    return kGroupSizeRange.check(owner, names.groupSize, *p.groupSize);
  case SchemeParameter::ScaleType:
    break;
  }
  std::string prefix = owner.empty() ? "" : (owner + " option ").str();
  return (prefix + names.scaleType + "=" + *p.scaleType +
          " must be f32, f16 or bf16")
      .str();
}

std::optional<ElementFormat>
mlir::qnt::parseWeightFormat(llvm::StringRef name) {
  if (name == "int")
    return ElementFormat::Int;
  if (name == "fp8")
    return ElementFormat::F8E4M3FN;
  if (name == "fp8e5m2")
    return ElementFormat::F8E5M2;
  if (name == "nf4")
    return ElementFormat::NF4;
  return std::nullopt;
}

llvm::StringRef mlir::qnt::elementFormatName(ElementFormat format) {
  switch (format) {
  case ElementFormat::Int:
    return "int";
  case ElementFormat::F8E4M3FN:
    return "f8E4M3FN";
  case ElementFormat::F8E5M2:
    return "f8E5M2";
  case ElementFormat::F4E2M1FN:
    return "f4E2M1FN";
  case ElementFormat::NF4:
    return "nf4";
  }
  return "";
}

unsigned mlir::qnt::elementFormatBits(ElementFormat format) {
  switch (format) {
  case ElementFormat::F8E4M3FN:
  case ElementFormat::F8E5M2:
    return 8;
  case ElementFormat::F4E2M1FN:
  case ElementFormat::NF4:
    return 4;
  case ElementFormat::Int:
    return 0;
  }
  return 0;
}

std::string mlir::qnt::checkFormatRules(const FormatRuleInput &in) {
  if (in.format == ElementFormat::Int) {
    if (findInvalidSchemeParameter({in.bits}))
      return "bits = " + std::to_string(in.bits) +
             " is outside the supported range 1..8";
    return "";
  }
  std::string name = elementFormatName(in.format).str();
  unsigned bits = elementFormatBits(in.format);
  if (in.bits != bits)
    return "format " + name + " has " + std::to_string(bits) + " bits, not " +
           std::to_string(in.bits);
  // A codebook's values are fixed: only a scale moves them, so there is no
  // integer grid for a zero point or an offset to shift.
  std::string kind =
      in.format == ElementFormat::NF4 ? "codebook format " : "float format ";
  if (in.zeroPoints)
    return kind + name + " cannot be asymmetric (no zero points)";
  if (in.offsets)
    return kind + name + " cannot have offsets";
  if (in.format == ElementFormat::F4E2M1FN && !in.perGroup)
    return "format f4E2M1FN needs per_group block scales";
  if (in.format == ElementFormat::NF4 && in.perTensor)
    return "format nf4 needs per_group or per_channel scales (an absmax "
           "scale per block), not per_tensor";
  return "";
}
