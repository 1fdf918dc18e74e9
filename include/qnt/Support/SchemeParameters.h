// The rules of a quantization scheme's parameters (element format, code
// width, group size, scale type), in one place for the #qnt.scheme verifier,
// the quantizer, the passes' options and the tools' flags. No MLIR.
#ifndef QNT_SUPPORT_SCHEMEPARAMETERS_H
#define QNT_SUPPORT_SCHEMEPARAMETERS_H

#include "qnt/Support/OptionRange.h"
#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <optional>
#include <string>

namespace mlir::qnt {

/// The number format scales are stored in. Every scale the quantizer returns
/// is exactly representable in this format.
enum class ScaleFormat { F32, F16, BF16 };

/// Widths of integer codes: 1 to 8 bits.
inline constexpr OptionRange kCodeBitsRange{1, 8};
/// Elements sharing one scale along K, as options and candidate schemes give
/// them; 0 means one scale per output channel.
inline constexpr OptionRange kGroupSizeRange{0, 1 << 20};

/// The element format of codes: integers (signed or unsigned, 1 to 8 bits),
/// the float formats fp8 E4M3FN and E5M2 and fp4 E2M1FN (the codes are the
/// formats' bit patterns), and NF4, a 4-bit index into the 16 normal-float
/// values of QLoRA (docs/BIT_LAYOUT.md, "Float and codebook codes").
enum class ElementFormat { Int, F8E4M3FN, F8E5M2, F4E2M1FN, NF4 };

/// The formats as `--format=` and `format=` name them: "int", "fp8" (E4M3FN),
/// "fp8e5m2" and "nf4"; nullopt for any other name (fp4 has no kernels and
/// no quantizer yet, so no option makes it).
std::optional<ElementFormat> parseWeightFormat(llvm::StringRef name);

/// The name of `format` as #qnt.scheme spells it: "int", "f8E4M3FN",
/// "f8E5M2", "f4E2M1FN", "nf4".
llvm::StringRef elementFormatName(ElementFormat format);

/// The code width a non-integer format fixes (8, 8, 4, 4); 0 for Int.
unsigned elementFormatBits(ElementFormat format);

/// What the format rules look at in a scheme.
struct FormatRuleInput {
  ElementFormat format;
  unsigned bits;
  bool zeroPoints; // asymmetric
  bool offsets;    // offset mode
  bool perTensor;
  bool perGroup;
};

/// "" when the scheme keeps its format's rules, else the first broken one:
///   integers: bits in kCodeBitsRange
///     "bits = 9 is outside the supported range 1..8"
///   every other format: its own width, symmetric, no offsets
///     "format nf4 has 4 bits, not 8"
///     "float format f8E4M3FN cannot be asymmetric (no zero points)"
///     "codebook format nf4 cannot have offsets"
///   fp4: "format f4E2M1FN needs per_group block scales"
///   nf4: "format nf4 needs per_group or per_channel scales (an absmax
///        scale per block), not per_tensor"
std::string checkFormatRules(const FormatRuleInput &in);

/// The scale format named "f32", "f16" or "bf16"; nullopt for any other name.
inline std::optional<ScaleFormat> parseScaleFormat(llvm::StringRef name) {
  if (name == "f32")
    return ScaleFormat::F32;
  if (name == "f16")
    return ScaleFormat::F16;
  if (name == "bf16")
    return ScaleFormat::BF16;
  return std::nullopt;
}

/// The parameters of an integer scheme as an option, a flag, a candidate
/// spec or an attribute gives them; a parameter left unset is not checked.
struct SchemeParameters {
  std::optional<int64_t> bits = std::nullopt;
  std::optional<int64_t> groupSize = std::nullopt;
  std::optional<llvm::StringRef> scaleType = std::nullopt;
};

enum class SchemeParameter { Bits, GroupSize, ScaleType };

/// The first set parameter that breaks its rule: bits in kCodeBitsRange,
/// group size in kGroupSizeRange, scale type one that parseScaleFormat
/// knows. nullopt when every set parameter is valid. Every check of a
/// scheme's bits, group size or scale type name comes here.
inline std::optional<SchemeParameter>
findInvalidSchemeParameter(const SchemeParameters &p) {
  if (p.bits && !kCodeBitsRange.contains(*p.bits))
    return SchemeParameter::Bits;
  if (p.groupSize && !kGroupSizeRange.contains(*p.groupSize))
    return SchemeParameter::GroupSize;
  if (p.scaleType && !parseScaleFormat(*p.scaleType))
    return SchemeParameter::ScaleType;
  return std::nullopt;
}

/// How a pass or tool spells its scheme options.
struct SchemeOptionNames {
  llvm::StringRef bits = "bits";
  llvm::StringRef groupSize = "group-size";
  llvm::StringRef scaleType = "scale-type";
};

/// "" when the set parameters are valid, else the message of the first
/// invalid one (findInvalidSchemeParameter), naming `owner` and the option:
///   "OWNER option bits=9 is out of range [1, 8]"
///   "OWNER option group-size=-2 is out of range [0, 1048576]"
///   "OWNER option scale-type=f64 must be f32, f16 or bf16"
/// Without an owner (a tool's flag): "NAME=VALUE ..." (OptionRange::check).
std::string checkSchemeOptions(llvm::StringRef owner, const SchemeParameters &p,
                               const SchemeOptionNames &names = {});

} // namespace mlir::qnt

#endif // QNT_SUPPORT_SCHEMEPARAMETERS_H
