// Values of the fp8 and NF4 element formats and rounding to them.
#include "qnt/Support/ElementFormats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir::qnt;

const float mlir::qnt::kNf4Values[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f};

namespace {

/// An fp8 format: mantissa bits, exponent bias, largest finite value.
struct Fp8 {
  int mantissaBits;
  int bias;
  float maxValue;
  /// Smallest normal exponent: 1 - bias.
  int minExponent() const { return 1 - bias; }
};

Fp8 fp8Of(ElementFormat format) {
  if (format == ElementFormat::F8E5M2)
    return {2, 15, 57344.0f};
  return {3, 7, 448.0f};
}

/// |value| rounded to nearest even in `f`, saturated at f.maxValue: a
/// subnormal of the format is a multiple of 2^(minExponent - mantissaBits),
/// a normal one keeps mantissaBits bits of a float's mantissa.
float roundMagnitude(const Fp8 &f, float value) {
  float a = std::min(std::fabs(value), f.maxValue);
  if (a < std::ldexp(1.0f, f.minExponent())) {
    int shift = f.mantissaBits - f.minExponent();
    // Powers of two scale exactly; nearbyint rounds half to even.
    return std::ldexp(std::nearbyint(std::ldexp(a, shift)), -shift);
  }
  const int drop = 23 - f.mantissaBits;
  uint32_t bits = bitsOf(a);
  const uint32_t rest = bits & ((1u << drop) - 1u);
  const uint32_t half = 1u << (drop - 1);
  bits &= ~((1u << drop) - 1u);
  // A carry out of the mantissa bumps the exponent, as it should; a is at
  // most maxValue, which is representable, so this never passes it.
  if (rest > half || (rest == half && ((bits >> drop) & 1u)))
    bits += 1u << drop;
  return floatOf(bits);
}

uint8_t encodeFp8(const Fp8 &f, float value) {
  float r = roundMagnitude(f, value);
  uint8_t sign = value < 0 && r != 0.0f ? 0x80 : 0;
  int minExp = f.minExponent();
  if (r < std::ldexp(1.0f, minExp))
    // Subnormal (or zero): the multiple of the spacing is the code; a value
    // that rounded up to the smallest normal gives its code too.
    return sign | static_cast<uint8_t>(
                      std::ldexp(r, f.mantissaBits - minExp));
  uint32_t bits = bitsOf(r);
  int exponent = static_cast<int>(bits >> 23) - 127;
  uint32_t mantissa = (bits >> (23 - f.mantissaBits)) &
                      ((1u << f.mantissaBits) - 1u);
  uint32_t field = static_cast<uint32_t>(exponent + f.bias);
  return sign | static_cast<uint8_t>((field << f.mantissaBits) | mantissa);
}

float decodeFp8(ElementFormat format, uint8_t code) {
  Fp8 f = fp8Of(format);
  int mantissaBits = f.mantissaBits;
  int exponentBits = 7 - mantissaBits;
  uint32_t field = (code >> mantissaBits) & ((1u << exponentBits) - 1u);
  uint32_t mantissa = code & ((1u << mantissaBits) - 1u);
  bool negative = code & 0x80;
  bool nan = format == ElementFormat::F8E4M3FN
                 ? (code & 0x7F) == 0x7F
                 : field == (1u << exponentBits) - 1u && mantissa != 0;
  if (nan)
    return std::numeric_limits<float>::quiet_NaN();
  float magnitude;
  if (format == ElementFormat::F8E5M2 && field == 31)
    magnitude = std::numeric_limits<float>::infinity();
  else if (field == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa),
                           f.minExponent() - mantissaBits);
  else
    magnitude = std::ldexp(1.0f + std::ldexp(static_cast<float>(mantissa),
                                             -mantissaBits),
                           static_cast<int>(field) - f.bias);
  return negative ? -magnitude : magnitude;
}

/// Midpoints between neighbouring NF4 values, in float: the code of x is
/// the number of midpoints below it.
struct Nf4Midpoints {
  float mid[15];
  Nf4Midpoints() {
    for (int i = 0; i < 15; ++i)
      mid[i] = 0.5f * (kNf4Values[i] + kNf4Values[i + 1]);
  }
};

uint8_t nearestNf4(float value) {
  static const Nf4Midpoints m;
  uint8_t code = 0;
  for (float mid : m.mid)
    code += value > mid;
  return code;
}

} // namespace

float mlir::qnt::formatMaxValue(ElementFormat format) {
  switch (format) {
  case ElementFormat::F8E4M3FN:
    return 448.0f;
  case ElementFormat::F8E5M2:
    return 57344.0f;
  case ElementFormat::F4E2M1FN:
    return 6.0f;
  case ElementFormat::NF4:
    return 1.0f;
  case ElementFormat::Int:
    break;
  }
  return 0.0f;
}

float mlir::qnt::decodeFormatCode(ElementFormat format, uint8_t code) {
  if (format == ElementFormat::NF4)
    return kNf4Values[code & 15];
  return decodeFp8(format, code);
}

uint8_t mlir::qnt::encodeFormatValue(ElementFormat format, float value) {
  if (format == ElementFormat::NF4)
    return nearestNf4(value);
  return encodeFp8(fp8Of(format), value);
}

float mlir::qnt::roundToFormat(ElementFormat format, float value) {
  if (format == ElementFormat::NF4)
    return kNf4Values[nearestNf4(value)];
  float r = roundMagnitude(fp8Of(format), value);
  return value < 0 ? -r : r;
}
