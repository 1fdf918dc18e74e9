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
/// is exactly representable in this format. F8E8M0 (a power of two, one
/// byte: OCP MX's E8M0) and F8E4M3 (fp8 E4M3FN) are the block scales of the
/// fp4 formats mxfp4 and nvfp4 only (FormatRuleInput); the others are the
/// `scale-type` choices of every other scheme.
enum class ScaleFormat { F32, F16, BF16, F8E8M0, F8E4M3 };

/// Widths of integer codes: 1 to 8 bits.
inline constexpr OptionRange kCodeBitsRange{1, 8};
/// Elements sharing one scale along K, as options and candidate schemes give
/// them; 0 means one scale per output channel.
inline constexpr OptionRange kGroupSizeRange{0, 1 << 20};

/// The element format of codes: integers (signed or unsigned, 1 to 8 bits),
/// the float formats fp8 E4M3FN and E5M2 and fp4 E2M1FN (the codes are the
/// formats' bit patterns), NF4, a 4-bit index into the 16 normal-float
/// values of QLoRA, and Lut4, a 4-bit index into 16 values the scheme
/// itself holds, learned per tensor by the quantizer (docs/BIT_LAYOUT.md,
/// "Float and codebook codes").
enum class ElementFormat { Int, F8E4M3FN, F8E5M2, F4E2M1FN, NF4, Lut4 };

/// A weight format as `--format=` and `format=` name it: its element format
/// and, for the fp4 block formats, what the format fixes besides (the block
/// of elements sharing a scale, the scale format, a per-tensor f32 scale).
///   "int", "fp8" (E4M3FN), "fp8e5m2", "nf4", "lut4": blockSize 0 (options
///   choose)
///   "mxfp4": e2m1 codes, blocks of 32, E8M0 scales (OCP MX)
///   "nvfp4": e2m1 codes, blocks of 16, E4M3 scales, one f32 tensor scale
struct WeightFormat {
  ElementFormat element = ElementFormat::Int;
  int64_t blockSize = 0;
  ScaleFormat blockScale = ScaleFormat::F32;
  bool tensorScale = false;
  /// mxfp4 and nvfp4: the group size and scale format are the format's.
  bool isBlockFormat() const { return blockSize != 0; }
};

/// The weight format `name` names; nullopt for any other name.
std::optional<WeightFormat> parseWeightFormat(llvm::StringRef name);

/// The name parseWeightFormat takes for `format`: "int", "fp8", "fp8e5m2",
/// "nf4", "lut4", "mxfp4" or "nvfp4".
llvm::StringRef weightFormatName(const WeightFormat &format);

/// The names parseWeightFormat takes, for messages:
/// "int, fp8, fp8e5m2, mxfp4, nvfp4, nf4 or lut4".
inline constexpr llvm::StringLiteral kWeightFormatNames =
    "int, fp8, fp8e5m2, mxfp4, nvfp4, nf4 or lut4";

/// The fp4 block format of e2m1 codes with `scale` block scales: mxfp4
/// (F8E8M0) or nvfp4 (F8E4M3); nullopt for other scale formats.
std::optional<WeightFormat> fp4BlockFormat(ScaleFormat scale);

/// "mxfp4" or "nvfp4" for a block format, else "".
llvm::StringRef blockFormatName(const WeightFormat &format);

/// The name of `format` as #qnt.scheme spells it: "int", "f8E4M3FN",
/// "f8E5M2", "f4E2M1FN", "nf4", "lut4".
llvm::StringRef elementFormatName(ElementFormat format);

/// The code width a non-integer format fixes (8, 8, 4, 4, 4); 0 for Int.
unsigned elementFormatBits(ElementFormat format);

/// What the format rules look at in a scheme.
struct FormatRuleInput {
  ElementFormat format;
  unsigned bits;
  bool zeroPoints; // asymmetric
  bool offsets;    // offset mode
  bool perTensor;
  bool perGroup;
  /// Elements per group (per_group only).
  int64_t groupSize = 0;
  /// The scale format; nullopt for a scale type that no ScaleFormat names.
  std::optional<ScaleFormat> scale = ScaleFormat::F32;
  /// The scheme names the scale type as (for messages, e.g. "f16").
  llvm::StringRef scaleName = "f32";
  /// A per-tensor f32 scale is given (nvfp4).
  bool tensorScale = false;
};

/// "" when the scheme keeps its format's rules, else the first broken one:
///   integers: bits in kCodeBitsRange
///     "bits = 9 is outside the supported range 1..8"
///   every other format: its own width, symmetric, no offsets
///     "format nf4 has 4 bits, not 8"
///     "float format f8E4M3FN cannot be asymmetric (no zero points)"
///     "codebook format nf4 cannot have offsets"
///   fp4: "format f4E2M1FN needs per_group block scales"
///   nf4, lut4: "format nf4 needs per_group or per_channel scales (an
///        absmax scale per block), not per_tensor"
///   scales: f32, f16 or bf16 except for f4E2M1FN, which takes the block
///   scales of mxfp4 or nvfp4 only:
///     "scale type f32 of format f4E2M1FN must be f8E8M0FNU (mxfp4) or
///      f8E4M3FN (nvfp4)"
///     "scale type f8E8M0FNU is for f4E2M1FN blocks (mxfp4) only; format
///      nf4 takes f32, f16 or bf16"
///     "mxfp4 (f4E2M1FN, f8E8M0FNU scales) has blocks of 32, not 64"
///     "nvfp4 (f4E2M1FN, f8E4M3FN scales) has blocks of 16, not 32"
///   tensor scale: "a tensor scale is for nvfp4 (f4E2M1FN, f8E4M3FN
///     scales) only"
std::string checkFormatRules(const FormatRuleInput &in);

/// The name of a scale format as MLIR spells its type: "f32", "f16",
/// "bf16", "f8E8M0FNU", "f8E4M3FN".
llvm::StringRef scaleFormatName(ScaleFormat format);

/// The scale format named "f32", "f16" or "bf16" (the `scale-type` option);
/// nullopt for any other name, the fp4 block scales included.
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
