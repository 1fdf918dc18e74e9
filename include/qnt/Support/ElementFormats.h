// Values of the non-integer element formats (fp8 E4M3FN and E5M2, fp4 E2M1FN,
// NF4), of the fp4 formats' block scales (E8M0, E4M3) and rounding to them: the
// one definition the quantizer, the compile-time decoders and the unit tests
// share. No MLIR. docs/BIT_LAYOUT.md, "Float and codebook codes", gives the bit
// layouts.
#ifndef QNT_SUPPORT_ELEMENTFORMATS_H
#define QNT_SUPPORT_ELEMENTFORMATS_H

#include "qnt/Support/SchemeParameters.h"
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace mlir::qnt {

/// The bits of an f32, and the f32 of bits (no aliasing through pointers).
inline uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}
inline float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// `value` as messages print it ("%g"; NaN as "nan", whatever its sign).
std::string formatFloat(float value);

/// The 16 values of NF4 (Dettmers et al., QLoRA, 2023), code i meaning
/// kNf4Values[i]: increasing, kNf4Values[7] = 0, the ends -1 and 1. As
/// bitsandbytes defines them (its `nf4` code book), rounded to float.
extern const float kNf4Values[16];

/// The 16 values of fp4 E2M1FN (OCP MX v1.0), code i meaning kE2M1Values[i]:
/// bit 3 the sign, bits 2-1 the exponent (bias 1), bit 0 the mantissa;
/// magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6. Code 8 is -0.
extern const float kE2M1Values[16];

/// The 16 values of a 4-bit format whose codes index a fixed table (NF4,
/// E2M1FN) in code order; null for the other formats, Lut4 included (its
/// table is its scheme's codebook). The CPU kernels look codes up in it;
/// the quantizer rounds to it.
const float *fourBitTable(ElementFormat format);

/// The values of a codebook format: NF4's or a lut4 scheme's 16, code i
/// meaning values()[i]. checkCodebook holds for them: increasing, so the
/// nearest value is found by counting midpoints. The quantizer's own
/// tables also have a 0 (a zero weight stays exact) and a largest
/// magnitude of 1; imported ones need not (GGUF's IQ4_NL: -127 to 113, no
/// 0).
class Codebook {
public:
  /// `values`: 16 values for which checkCodebook returns "".
  explicit Codebook(const float *values);
  const float *values() const { return values_; }
  /// The largest |value|, at one end: what a scale maps a block's absmax
  /// to.
  float largestMagnitude() const { return largest_; }
  /// The code of the value nearest to `value`, a tie going to the lower.
  uint8_t nearest(float value) const {
    uint8_t code = 0;
    for (float mid : mid_)
      code += value > mid;
    return code;
  }
  float round(float value) const { return values_[nearest(value)]; }

private:
  float values_[16];
  float mid_[15];
  float largest_;
};

/// "" when `values` (n of them) make a codebook, else the first broken
/// rule:
///   "has 15 values, not 16"
///   "value 3 is nan; the values must be finite"
///   "value 5 (0.25) is not above value 4 (0.25); the values must increase"
std::string checkCodebook(const float *values, size_t n);

/// The value of an E8M0 scale byte (OCP MX): 2^(byte - 127); NaN for 255.
float decodeE8M0(uint8_t byte);

/// The smallest and largest finite block scale of `format` (F8E8M0: 2^-127
/// and 2^127; F8E4M3: 2^-9 and 448), 0 for the other scale formats.
float minBlockScale(ScaleFormat format);
float maxBlockScale(ScaleFormat format);

/// The byte of a block scale `value` of `format` (F8E8M0 or F8E4M3) that
/// is exactly representable there (as roundToScaleFormat returns it).
uint8_t encodeBlockScale(ScaleFormat format, float value);

/// The value of a block scale byte of `format` (F8E8M0 or F8E4M3). Exact.
float decodeBlockScale(ScaleFormat format, uint8_t byte);

/// The largest finite magnitude of a non-integer format: 448 (E4M3FN),
/// 57344 (E5M2), 6 (E2M1FN), 1 (NF4); Lut4's is its table's
/// (Codebook::largestMagnitude), 0 here. A scale maps a block's absmax to
/// it.
float formatMaxValue(ElementFormat format);

/// Whether the values of a non-integer format are not those of their
/// negations (NF4, Lut4: true, for a learned table in general; the
/// sign-magnitude fp8 and fp4 formats: false).
/// A negative scale mirrors such a format's values, a different grid.
bool hasAsymmetricValues(ElementFormat format);

/// The value of `code` (its low 8 or 4 bits) in `format`. Exact. The fp8
/// NaN codes (E4M3FN 0x7F/0xFF, E5M2 exponent 31) give NaN here; the
/// quantizer never writes them. Not for Lut4 (NaN; the encoding below
/// gives 0): its values are its scheme's, a Codebook. The same holds for
/// the two functions below.
float decodeFormatCode(ElementFormat format, uint8_t code);

/// The code nearest to `value` (finite): fp8 and E2M1FN round to nearest
/// even in the format and saturate at +-formatMaxValue; NF4 takes the
/// nearest of kNf4Values, a tie going to the lower value. -0 (and a
/// negative value that rounds to zero) gives the code of +0.
uint8_t encodeFormatValue(ElementFormat format, float value);

/// decodeFormatCode(format, encodeFormatValue(format, value)), computed
/// without building the code (the quantizer's search calls it per element
/// and candidate).
float roundToFormat(ElementFormat format, float value);

} // namespace mlir::qnt

#endif // QNT_SUPPORT_ELEMENTFORMATS_H
