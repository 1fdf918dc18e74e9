// fp8 and NF4 values, rounding to them, the format rules of schemes and the
// quantizer's fp8 and NF4 paths, against values derived by hand.
#include "qnt/Support/ElementFormats.h"
#include "qnt/Support/Quantizer.h"

#include <gtest/gtest.h>
#include <cmath>
#include <random>

using namespace mlir::qnt;

namespace {
constexpr ElementFormat E4M3 = ElementFormat::F8E4M3FN;
constexpr ElementFormat E5M2 = ElementFormat::F8E5M2;
constexpr ElementFormat NF4 = ElementFormat::NF4;
} // namespace

TEST(ElementFormats, DecodesFp8FromTheFieldDefinitions) {
  // E4M3FN: bias 7, subnormals m * 2^-9, 0x7E the largest, 0x7F NaN.
  EXPECT_EQ(decodeFormatCode(E4M3, 0x00), 0.0f);
  EXPECT_EQ(decodeFormatCode(E4M3, 0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(decodeFormatCode(E4M3, 0x07), 7 * std::ldexp(1.0f, -9));
  EXPECT_EQ(decodeFormatCode(E4M3, 0x08), std::ldexp(1.0f, -6));
  EXPECT_EQ(decodeFormatCode(E4M3, 0x38), 1.0f);
  EXPECT_EQ(decodeFormatCode(E4M3, 0x3A), 1.25f);
  EXPECT_EQ(decodeFormatCode(E4M3, 0x7E), 448.0f);
  EXPECT_EQ(decodeFormatCode(E4M3, 0xFE), -448.0f);
  EXPECT_TRUE(std::isnan(decodeFormatCode(E4M3, 0x7F)));
  // E5M2: bias 15, subnormals m * 2^-16, 0x7B the largest finite.
  EXPECT_EQ(decodeFormatCode(E5M2, 0x01), std::ldexp(1.0f, -16));
  EXPECT_EQ(decodeFormatCode(E5M2, 0x3C), 1.0f);
  EXPECT_EQ(decodeFormatCode(E5M2, 0x7B), 57344.0f);
  EXPECT_TRUE(std::isinf(decodeFormatCode(E5M2, 0x7C)));
  EXPECT_TRUE(std::isnan(decodeFormatCode(E5M2, 0x7D)));
}

TEST(ElementFormats, Fp8RoundsToNearestEvenAndSaturates) {
  EXPECT_EQ(encodeFormatValue(E4M3, 1.0f), 0x38);
  // 1 + 1/16 is halfway between 1 (mantissa 0) and 1.125 (1): even is 1.
  EXPECT_EQ(encodeFormatValue(E4M3, 1.0625f), 0x38);
  // 1 + 3/16 is halfway between 1.125 (1) and 1.25 (2): even is 1.25.
  EXPECT_EQ(encodeFormatValue(E4M3, 1.1875f), 0x3A);
  EXPECT_EQ(encodeFormatValue(E4M3, 1.19f), 0x3A);
  // Subnormals: 2^-10 is halfway between 0 and 2^-9, 3 * 2^-10 between
  // 2^-9 and 2^-8: to even.
  EXPECT_EQ(encodeFormatValue(E4M3, std::ldexp(1.0f, -10)), 0x00);
  EXPECT_EQ(encodeFormatValue(E4M3, 3 * std::ldexp(1.0f, -10)), 0x02);
  // 15.5 * 2^-10 rounds up across into the smallest normal, 2^-6.
  EXPECT_EQ(encodeFormatValue(E4M3, 15.5f * std::ldexp(1.0f, -10)), 0x08);
  // Beyond 448 saturates (E4M3FN has no infinity); -0 is +0's code.
  EXPECT_EQ(encodeFormatValue(E4M3, 470.0f), 0x7E);
  EXPECT_EQ(encodeFormatValue(E4M3, -1e30f), 0xFE);
  EXPECT_EQ(encodeFormatValue(E4M3, -0.0f), 0x00);
  EXPECT_EQ(encodeFormatValue(E5M2, 1e6f), 0x7B);
  EXPECT_EQ(encodeFormatValue(E5M2, -1.0f), 0xBC);
  EXPECT_EQ(roundToFormat(E4M3, -1.19f), -1.25f);
}

TEST(ElementFormats, EveryFiniteFp8CodeRoundTrips) {
  for (ElementFormat f : {E4M3, E5M2})
    for (int c = 1; c < 256; ++c) {
      float v = decodeFormatCode(f, static_cast<uint8_t>(c));
      if (!std::isfinite(v) || c == 0x80)
        continue;
      EXPECT_EQ(encodeFormatValue(f, v), c) << elementFormatName(f).str();
      EXPECT_EQ(roundToFormat(f, v), v);
    }
}

TEST(ElementFormats, Nf4TakesTheNearestValueTiesDown) {
  EXPECT_EQ(kNf4Values[0], -1.0f);
  EXPECT_EQ(kNf4Values[7], 0.0f);
  EXPECT_EQ(kNf4Values[15], 1.0f);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(encodeFormatValue(NF4, kNf4Values[i]), i);
    EXPECT_EQ(decodeFormatCode(NF4, static_cast<uint8_t>(i)), kNf4Values[i]);
  }
  float mid = 0.5f * (kNf4Values[14] + kNf4Values[15]);
  EXPECT_EQ(encodeFormatValue(NF4, mid), 14);
  EXPECT_EQ(encodeFormatValue(NF4, std::nextafter(mid, 2.0f)), 15);
  EXPECT_EQ(encodeFormatValue(NF4, 0.03f), 7);
  EXPECT_EQ(encodeFormatValue(NF4, 0.05f), 8);
  EXPECT_EQ(encodeFormatValue(NF4, -3.0f), 0);
  EXPECT_EQ(encodeFormatValue(NF4, 3.0f), 15);
}

TEST(ElementFormats, RulesOfSchemes) {
  EXPECT_EQ(parseWeightFormat("fp8"), E4M3);
  EXPECT_EQ(parseWeightFormat("fp8e5m2"), E5M2);
  EXPECT_EQ(parseWeightFormat("nf4"), NF4);
  EXPECT_EQ(parseWeightFormat("int"), ElementFormat::Int);
  EXPECT_EQ(parseWeightFormat("fp4"), std::nullopt);
  EXPECT_EQ(checkFormatRules({NF4, 4, false, false, false, true}), "");
  EXPECT_EQ(checkFormatRules({E4M3, 8, false, false, true, false}), "");
  EXPECT_EQ(checkFormatRules({NF4, 8, false, false, false, true}),
            "format nf4 has 4 bits, not 8");
  EXPECT_EQ(checkFormatRules({E5M2, 4, false, false, false, false}),
            "format f8E5M2 has 8 bits, not 4");
  EXPECT_EQ(checkFormatRules({NF4, 4, true, false, false, true}),
            "codebook format nf4 cannot be asymmetric (no zero points)");
  EXPECT_EQ(checkFormatRules({E4M3, 8, false, true, false, true}),
            "float format f8E4M3FN cannot have offsets");
  EXPECT_EQ(checkFormatRules({NF4, 4, false, false, true, false}),
            "format nf4 needs per_group or per_channel scales (an absmax "
            "scale per block), not per_tensor");
  EXPECT_EQ(checkFormatRules({ElementFormat::Int, 9, false, false, false,
                              false}),
            "bits = 9 is outside the supported range 1..8");
}

TEST(FormatQuantizer, PlainScalesMapTheAbsmaxToTheLargestValue) {
  // One row, two groups of 4; no search: scale = absmax / formatMaxValue.
  const float w[8] = {2.0f, -1.0f, 0.5f, 0.0f, -0.3f, 0.1f, 0.0f, 0.2f};
  QuantOptions o;
  o.format = NF4;
  o.bits = 4;
  o.groupSize = 4;
  o.clipSearch = false;
  QuantizedMatrix q;
  ASSERT_EQ(quantizeMatrix(w, 1, 8, o, q), "");
  ASSERT_EQ(q.scales.size(), 2u);
  EXPECT_EQ(q.scales[0], 2.0f);
  EXPECT_EQ(q.scales[1], 0.3f);
  // 2/2 = 1 -> 15; -1/2 = -0.5 -> nearest -0.525 (2); 0.25 -> 0.246 (10).
  EXPECT_EQ(q.code(0, 0), 15);
  EXPECT_EQ(q.code(0, 1), 2);
  EXPECT_EQ(q.code(0, 2), 10);
  EXPECT_EQ(q.code(0, 3), 7);
  EXPECT_EQ(q.code(0, 4), 0);
  EXPECT_EQ(q.dequantized(0, 1), 2.0f * kNf4Values[2]);

  o.format = E4M3;
  o.bits = 8;
  o.groupSize = 0;
  const float v[3] = {4.48f, -1.0f, 0.0f};
  ASSERT_EQ(quantizeMatrix(v, 1, 3, o, q), "");
  EXPECT_EQ(q.scales[0], static_cast<float>(double(4.48f) / 448.0));
  EXPECT_EQ(q.code(0, 0), 0x7E);
  EXPECT_EQ(q.code(0, 1), encodeFormatValue(E4M3, -1.0f / q.scales[0]));
}

TEST(FormatQuantizer, SearchNeverLosesToAbsmax) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(16 * 128);
  for (float &x : w)
    x = normal(rng);
  w[5] = 9.0f; // an outlier the search may clip
  for (ElementFormat f : {NF4, E4M3, E5M2}) {
    QuantOptions o;
    o.format = f;
    o.bits = elementFormatBits(f);
    o.groupSize = 32;
    QuantizedMatrix searched, plain;
    ASSERT_EQ(quantizeMatrix(w.data(), 16, 128, o, searched), "");
    o.clipSearch = false;
    ASSERT_EQ(quantizeMatrix(w.data(), 16, 128, o, plain), "");
    double e1 = quantizationError(w.data(), searched);
    double e0 = quantizationError(w.data(), plain);
    EXPECT_LE(e1, e0) << elementFormatName(f).str();
    // Threads change nothing.
    o.clipSearch = true;
    o.numThreads = 3;
    QuantizedMatrix threaded;
    ASSERT_EQ(quantizeMatrix(w.data(), 16, 128, o, threaded), "");
    EXPECT_EQ(threaded.unsignedCodes, searched.unsignedCodes);
    EXPECT_EQ(threaded.scales, searched.scales);
    std::vector<float> out(16 * 128);
    dequantizeMatrix(searched, out.data());
    EXPECT_EQ(out[37], searched.dequantized(0, 37));
  }
}

TEST(FormatQuantizer, RejectsWhatTheFormatsCannotBe) {
  const float w[4] = {1, 2, 3, 4};
  QuantizedMatrix q;
  QuantOptions o;
  o.format = NF4;
  o.bits = 8;
  EXPECT_EQ(quantizeMatrix(w, 1, 4, o, q), "format nf4 has 4 bits, not 8");
  o.bits = 4;
  o.symmetric = false;
  EXPECT_EQ(quantizeMatrix(w, 1, 4, o, q),
            "format nf4 is symmetric only (no zero points)");
  o.format = E4M3;
  o.bits = 8;
  o.symmetric = true;
  o.perTensor = true;
  EXPECT_EQ(quantizeMatrix(w, 1, 4, o, q),
            "the quantizer makes format f8E4M3FN with per-channel or "
            "per-group scales only");
}
