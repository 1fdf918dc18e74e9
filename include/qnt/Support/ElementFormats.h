// Values of the non-integer element formats (fp8 E4M3FN and E5M2, NF4) and
// rounding to them: the one definition the quantizer, the compile-time
// decoders and the unit tests share. No MLIR. docs/BIT_LAYOUT.md, "Float and
// codebook codes", gives the bit layouts.
#ifndef QNT_SUPPORT_ELEMENTFORMATS_H
#define QNT_SUPPORT_ELEMENTFORMATS_H

#include "qnt/Support/SchemeParameters.h"
#include <cstdint>
#include <cstring>

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

/// The 16 values of NF4 (Dettmers et al., QLoRA, 2023), code i meaning
/// kNf4Values[i]: increasing, kNf4Values[7] = 0, the ends -1 and 1. As
/// bitsandbytes defines them (its `nf4` code book), rounded to float.
extern const float kNf4Values[16];

/// The largest finite magnitude of a non-integer format: 448 (E4M3FN),
/// 57344 (E5M2), 6 (E2M1FN), 1 (NF4). A scale maps a block's absmax to it.
float formatMaxValue(ElementFormat format);

/// The value of `code` (its low 8 or 4 bits) in `format`. Exact. The fp8
/// NaN codes (E4M3FN 0x7F/0xFF, E5M2 exponent 31) give NaN here; the
/// quantizer never writes them.
float decodeFormatCode(ElementFormat format, uint8_t code);

/// The code nearest to `value` (finite): fp8 rounds to nearest even in the
/// format and saturates at +-formatMaxValue; NF4 takes the nearest of
/// kNf4Values, a tie going to the lower value. -0 gives the code of +0.
uint8_t encodeFormatValue(ElementFormat format, float value);

/// decodeFormatCode(format, encodeFormatValue(format, value)), computed
/// without building the code (the quantizer's search calls it per element
/// and candidate).
float roundToFormat(ElementFormat format, float value);

} // namespace mlir::qnt

#endif // QNT_SUPPORT_ELEMENTFORMATS_H
