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

std::optional<WeightFormat> mlir::qnt::parseWeightFormat(llvm::StringRef name) {
  auto plain = [](ElementFormat element) {
    WeightFormat f;
    f.element = element;
    return f;
  };
  if (name == "int")
    return plain(ElementFormat::Int);
  if (name == "fp8")
    return plain(ElementFormat::F8E4M3FN);
  if (name == "fp8e5m2")
    return plain(ElementFormat::F8E5M2);
  if (name == "nf4")
    return plain(ElementFormat::NF4);
  if (name == "lut4")
    return plain(ElementFormat::Lut4);
  if (name == "mxfp4")
    return fp4BlockFormat(ScaleFormat::F8E8M0);
  if (name == "nvfp4")
    return fp4BlockFormat(ScaleFormat::F8E4M3);
  return std::nullopt;
}

std::optional<WeightFormat> mlir::qnt::fp4BlockFormat(ScaleFormat scale) {
  if (scale != ScaleFormat::F8E8M0 && scale != ScaleFormat::F8E4M3)
    return std::nullopt;
  WeightFormat f;
  f.element = ElementFormat::F4E2M1FN;
  f.blockScale = scale;
  // OCP MX v1.0: 32 elements per E8M0 scale. NVFP4: 16 per E4M3 scale,
  // whose narrow range needs the f32 scale of the whole tensor.
  f.blockSize = scale == ScaleFormat::F8E8M0 ? 32 : 16;
  f.tensorScale = scale == ScaleFormat::F8E4M3;
  return f;
}

llvm::StringRef mlir::qnt::weightFormatName(const WeightFormat &format) {
  if (format.isBlockFormat())
    return blockFormatName(format);
  switch (format.element) {
  case ElementFormat::F8E4M3FN:
    return "fp8";
  case ElementFormat::F8E5M2:
    return "fp8e5m2";
  case ElementFormat::NF4:
    return "nf4";
  case ElementFormat::Lut4:
    return "lut4";
  case ElementFormat::Int:
  case ElementFormat::F4E2M1FN:
    break;
  }
  return "int";
}

llvm::StringRef mlir::qnt::blockFormatName(const WeightFormat &format) {
  if (!format.isBlockFormat())
    return "";
  return format.blockScale == ScaleFormat::F8E8M0 ? "mxfp4" : "nvfp4";
}

llvm::StringRef mlir::qnt::scaleFormatName(ScaleFormat format) {
  switch (format) {
  case ScaleFormat::F32:
    return "f32";
  case ScaleFormat::F16:
    return "f16";
  case ScaleFormat::BF16:
    return "bf16";
  case ScaleFormat::F8E8M0:
    return "f8E8M0FNU";
  case ScaleFormat::F8E4M3:
    return "f8E4M3FN";
  }
  return "";
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
  case ElementFormat::Lut4:
    return "lut4";
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
  case ElementFormat::Lut4:
    return 4;
  case ElementFormat::Int:
    return 0;
  }
  return 0;
}

/// The scale rules of checkFormatRules, for a format `name` whose other
/// rules hold.
static std::string checkScaleRules(const FormatRuleInput &in,
                                   const std::string &name) {
  std::optional<WeightFormat> block =
      in.scale ? fp4BlockFormat(*in.scale) : std::nullopt;
  if (in.format == ElementFormat::F4E2M1FN) {
    if (!block)
      return "scale type " + in.scaleName.str() +
             " of format f4E2M1FN must be f8E8M0FNU (mxfp4) or f8E4M3FN "
             "(nvfp4)";
    std::string what =
        (blockFormatName(*block) + " (f4E2M1FN, " + in.scaleName + " scales)")
            .str();
    if (in.groupSize != block->blockSize)
      return what + " has blocks of " + std::to_string(block->blockSize) +
             ", not " + std::to_string(in.groupSize);
    if (in.tensorScale && !block->tensorScale)
      return "a tensor scale is for nvfp4 (f4E2M1FN, f8E4M3FN scales) only";
    return "";
  }
  if (block)
    return "scale type " + in.scaleName.str() + " is for f4E2M1FN blocks (" +
           blockFormatName(*block).str() + ") only; format " + name +
           " takes f32, f16 or bf16";
  if (in.tensorScale)
    return "a tensor scale is for nvfp4 (f4E2M1FN, f8E4M3FN scales) only";
  return "";
}

std::string mlir::qnt::checkFormatRules(const FormatRuleInput &in) {
  if (in.format == ElementFormat::Int) {
    if (findInvalidSchemeParameter({in.bits}))
      return "bits = " + std::to_string(in.bits) +
             " is outside the supported range 1..8";
    return checkScaleRules(in, "int");
  }
  std::string name = elementFormatName(in.format).str();
  unsigned bits = elementFormatBits(in.format);
  if (in.bits != bits)
    return "format " + name + " has " + std::to_string(bits) + " bits, not " +
           std::to_string(in.bits);
  // A codebook's values are fixed: only a scale moves them, so there is no
  // integer grid for a zero point or an offset to shift.
  bool codebook =
      in.format == ElementFormat::NF4 || in.format == ElementFormat::Lut4;
  std::string kind = codebook ? "codebook format " : "float format ";
  if (in.zeroPoints)
    return kind + name + " cannot be asymmetric (no zero points)";
  if (in.offsets)
    return kind + name + " cannot have offsets";
  if (in.format == ElementFormat::F4E2M1FN && !in.perGroup)
    return "format f4E2M1FN needs per_group block scales";
  if (codebook && in.perTensor)
    return "format " + name +
           " needs per_group or per_channel scales (an absmax scale per "
           "block), not per_tensor";
  return checkScaleRules(in, name);
}
