// Values of the fp8, fp4 E2M1 and NF4 element formats, of the fp4 block
// scales, and rounding to them.
#include "qnt/Support/ElementFormats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

const float mlir::qnt::kE2M1Values[16] = {
    0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
    -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

namespace {

/// The E2M1 code of |value| rounded to nearest, ties to the even code (the
/// even mantissa), saturated at 6: the code of m is the number of
/// midpoints between neighbouring magnitudes below m, plus one at a tie
/// whose lower neighbour has an odd code.
uint8_t e2m1Magnitude(float value) {
  float a = std::fabs(value);
  uint8_t code = 0;
  for (int i = 0; i < 7; ++i) {
    float mid = 0.5f * (kE2M1Values[i] + kE2M1Values[i + 1]);
    if (a > mid || (a == mid && (i & 1)))
      code = static_cast<uint8_t>(i + 1);
  }
  return code;
}

uint8_t encodeE2M1(float value) {
  uint8_t code = e2m1Magnitude(value);
  return code != 0 && value < 0 ? code | 8 : code;
}

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

uint8_t nearestNf4(float value) {
  static const Codebook nf4(kNf4Values);
  return nf4.nearest(value);
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
  case ElementFormat::Lut4: // its Codebook's largestMagnitude()
    return 0.0f;
  case ElementFormat::Int:
    break;
  }
  return 0.0f;
}

bool mlir::qnt::hasAsymmetricValues(ElementFormat format) {
  return format == ElementFormat::NF4 || format == ElementFormat::Lut4;
}

std::string mlir::qnt::formatFloat(float value) {
  // printf may spell a NaN with its sign bit as "-nan"; the sign means
  // nothing to the user.
  if (std::isnan(value))
    return "nan";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(value));
  return buf;
}

Codebook::Codebook(const float *values) {
  std::copy(values, values + 16, values_);
  largest_ = std::max(std::fabs(values_[0]), std::fabs(values_[15]));
  for (int i = 0; i < 15; ++i)
    mid_[i] = 0.5f * (values_[i] + values_[i + 1]);
}

std::string mlir::qnt::checkCodebook(const float *values, size_t n) {
  if (n != 16)
    return "has " + std::to_string(n) + " values, not 16";
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(values[i]))
      return "value " + std::to_string(i) + " is " + formatFloat(values[i]) +
             "; the values must be finite";
    if (i > 0 && !(values[i] > values[i - 1]))
      return "value " + std::to_string(i) + " (" + formatFloat(values[i]) +
             ") is not above value " + std::to_string(i - 1) + " (" +
             formatFloat(values[i - 1]) + "); the values must increase";
  }
  return "";
}

const float *mlir::qnt::fourBitTable(ElementFormat format) {
  if (format == ElementFormat::NF4)
    return kNf4Values;
  if (format == ElementFormat::F4E2M1FN)
    return kE2M1Values;
  return nullptr;
}

float mlir::qnt::decodeE8M0(uint8_t byte) {
  if (byte == 255)
    return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, static_cast<int>(byte) - 127);
}

float mlir::qnt::minBlockScale(ScaleFormat format) {
  if (format == ScaleFormat::F8E8M0)
    return std::ldexp(1.0f, -127);
  if (format == ScaleFormat::F8E4M3)
    return std::ldexp(1.0f, -9);
  return 0.0f;
}

float mlir::qnt::maxBlockScale(ScaleFormat format) {
  if (format == ScaleFormat::F8E8M0)
    return std::ldexp(1.0f, 127);
  if (format == ScaleFormat::F8E4M3)
    return 448.0f;
  return 0.0f;
}

uint8_t mlir::qnt::encodeBlockScale(ScaleFormat format, float value) {
  if (format == ScaleFormat::F8E4M3)
    return encodeFp8(fp8Of(ElementFormat::F8E4M3FN), value);
  int exponent;
  std::frexp(value, &exponent); // value = 0.5 * 2^exponent
  return static_cast<uint8_t>(exponent - 1 + 127);
}

float mlir::qnt::decodeBlockScale(ScaleFormat format, uint8_t byte) {
  if (format == ScaleFormat::F8E4M3)
    return decodeFp8(ElementFormat::F8E4M3FN, byte);
  return decodeE8M0(byte);
}

float mlir::qnt::decodeFormatCode(ElementFormat format, uint8_t code) {
  if (format == ElementFormat::Lut4)
    return std::numeric_limits<float>::quiet_NaN();
  if (const float *table = fourBitTable(format))
    return table[code & 15];
  return decodeFp8(format, code);
}

uint8_t mlir::qnt::encodeFormatValue(ElementFormat format, float value) {
  if (format == ElementFormat::Lut4)
    return 0;
  if (format == ElementFormat::NF4)
    return nearestNf4(value);
  if (format == ElementFormat::F4E2M1FN)
    return encodeE2M1(value);
  return encodeFp8(fp8Of(format), value);
}

float mlir::qnt::roundToFormat(ElementFormat format, float value) {
  if (format == ElementFormat::Lut4)
    return std::numeric_limits<float>::quiet_NaN();
  if (format == ElementFormat::NF4)
    return kNf4Values[nearestNf4(value)];
  if (format == ElementFormat::F4E2M1FN) {
    float r = kE2M1Values[e2m1Magnitude(value)];
    return value < 0 ? -r : r;
  }
  float r = roundMagnitude(fp8Of(format), value);
  return value < 0 ? -r : r;
}
