// fp8, fp4 (e2m1 with E8M0/E4M3 block scales) and NF4 values, rounding to
// them, the format rules of schemes and the quantizer's paths for them,
// against values derived by hand.
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
constexpr ElementFormat E2M1 = ElementFormat::F4E2M1FN;
constexpr ScaleFormat E8M0 = ScaleFormat::F8E8M0;
constexpr ScaleFormat E4M3Scale = ScaleFormat::F8E4M3;

/// The rules input of an fp4 scheme: per_group<., group>, `scale`.
FormatRuleInput fp4Rules(int64_t group, std::optional<ScaleFormat> scale,
                         llvm::StringRef scaleName, bool tensorScale = false) {
  return {E2M1, 4,     false, false,     false,
          true, group, scale, scaleName, tensorScale};
}
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

TEST(ElementFormats, DecodesE2M1FromTheFieldDefinitions) {
  // Sign bit 3, exponent bits 2-1 (bias 1; 0 subnormal: m * 0.5), mantissa
  // bit 0.
  const float magnitudes[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int code = 0; code < 16; ++code) {
    int e = (code >> 1) & 3, m = code & 1;
    float v = e == 0 ? 0.5f * m : std::ldexp(1.0f + 0.5f * m, e - 1);
    EXPECT_EQ(v, magnitudes[code & 7]);
    EXPECT_EQ(decodeFormatCode(E2M1, code), code & 8 ? -v : v) << code;
    EXPECT_EQ(kE2M1Values[code], code & 8 ? -v : v);
  }
  EXPECT_EQ(formatMaxValue(E2M1), 6.0f);
  EXPECT_EQ(fourBitTable(E2M1), kE2M1Values);
  EXPECT_EQ(fourBitTable(NF4), kNf4Values);
  EXPECT_EQ(fourBitTable(E4M3), nullptr);
}

TEST(ElementFormats, RoundsToE2M1NearestEven) {
  EXPECT_EQ(encodeFormatValue(E2M1, 0.0f), 0);
  EXPECT_EQ(encodeFormatValue(E2M1, -0.0f), 0);
  EXPECT_EQ(encodeFormatValue(E2M1, -0.2f), 0);
  EXPECT_EQ(encodeFormatValue(E2M1, 1.5f), 3);
  EXPECT_EQ(encodeFormatValue(E2M1, -3.0f), 13);
  // Ties go to the even code: 0.25 -> 0, 0.75 -> 1 (code 2), 1.25 -> 1,
  // 1.75 -> 2, 2.5 -> 2, 3.5 -> 4, 5 -> 4.
  EXPECT_EQ(encodeFormatValue(E2M1, 0.25f), 0);
  EXPECT_EQ(encodeFormatValue(E2M1, 0.75f), 2);
  EXPECT_EQ(encodeFormatValue(E2M1, 1.25f), 2);
  EXPECT_EQ(encodeFormatValue(E2M1, 1.75f), 4);
  EXPECT_EQ(encodeFormatValue(E2M1, 2.5f), 4);
  EXPECT_EQ(encodeFormatValue(E2M1, 3.5f), 6);
  EXPECT_EQ(encodeFormatValue(E2M1, 5.0f), 6);
  EXPECT_EQ(encodeFormatValue(E2M1, -5.0f), 14);
  EXPECT_EQ(encodeFormatValue(E2M1, std::nextafter(5.0f, 6.0f)), 7);
  // Saturation.
  EXPECT_EQ(encodeFormatValue(E2M1, 100.0f), 7);
  EXPECT_EQ(encodeFormatValue(E2M1, -7.0f), 15);
  for (float v : {-5.5f, -0.6f, 0.3f, 2.6f, 4.9f, 9.0f})
    EXPECT_EQ(roundToFormat(E2M1, v),
              decodeFormatCode(E2M1, encodeFormatValue(E2M1, v)));
}

TEST(ElementFormats, BlockScales) {
  // E8M0: 2^(byte - 127), 255 NaN.
  EXPECT_EQ(decodeE8M0(127), 1.0f);
  EXPECT_EQ(decodeE8M0(0), std::ldexp(1.0f, -127));
  EXPECT_EQ(decodeE8M0(254), std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(decodeE8M0(255)));
  for (int byte = 0; byte < 255; ++byte)
    EXPECT_EQ(encodeBlockScale(E8M0, decodeBlockScale(E8M0, byte)), byte);
  // Rounded up to a power of two.
  EXPECT_EQ(roundToScaleFormat(0.3f, E8M0), 0.5f);
  EXPECT_EQ(roundToScaleFormat(0.5f, E8M0), 0.5f);
  EXPECT_EQ(roundToScaleFormat(std::nextafter(0.5f, 1.0f), E8M0), 1.0f);
  EXPECT_EQ(minBlockScale(E8M0), std::ldexp(1.0f, -127));
  // E4M3 scales: fp8 E4M3FN values, rounded to nearest even, saturated.
  EXPECT_EQ(decodeBlockScale(E4M3Scale, 0x38), 1.0f);
  EXPECT_EQ(encodeBlockScale(E4M3Scale, 448.0f), 0x7E);
  EXPECT_EQ(roundToScaleFormat(1.0625f, E4M3Scale), 1.0f);
  EXPECT_EQ(roundToScaleFormat(1000.0f, E4M3Scale), 448.0f);
  EXPECT_EQ(minBlockScale(E4M3Scale), std::ldexp(1.0f, -9));
  EXPECT_EQ(maxBlockScale(E4M3Scale), 448.0f);
}

TEST(ElementFormats, RulesOfSchemes) {
  EXPECT_EQ(parseWeightFormat("fp8")->element, E4M3);
  EXPECT_EQ(parseWeightFormat("fp8e5m2")->element, E5M2);
  EXPECT_EQ(parseWeightFormat("nf4")->element, NF4);
  EXPECT_FALSE(parseWeightFormat("nf4")->isBlockFormat());
  EXPECT_EQ(parseWeightFormat("int")->element, ElementFormat::Int);
  EXPECT_EQ(parseWeightFormat("fp4"), std::nullopt);
  std::optional<WeightFormat> mx = parseWeightFormat("mxfp4");
  ASSERT_TRUE(mx);
  EXPECT_EQ(mx->element, E2M1);
  EXPECT_EQ(mx->blockSize, 32);
  EXPECT_EQ(mx->blockScale, E8M0);
  EXPECT_FALSE(mx->tensorScale);
  EXPECT_EQ(blockFormatName(*mx), "mxfp4");
  std::optional<WeightFormat> nv = parseWeightFormat("nvfp4");
  ASSERT_TRUE(nv);
  EXPECT_EQ(nv->blockSize, 16);
  EXPECT_EQ(nv->blockScale, E4M3Scale);
  EXPECT_TRUE(nv->tensorScale);
  EXPECT_EQ(blockFormatName(*nv), "nvfp4");
  EXPECT_EQ(checkFormatRules(fp4Rules(32, E8M0, "f8E8M0FNU")), "");
  EXPECT_EQ(checkFormatRules(fp4Rules(16, E4M3Scale, "f8E4M3FN", true)), "");
  EXPECT_EQ(checkFormatRules(fp4Rules(64, E8M0, "f8E8M0FNU")),
            "mxfp4 (f4E2M1FN, f8E8M0FNU scales) has blocks of 32, not 64");
  EXPECT_EQ(checkFormatRules(fp4Rules(32, E4M3Scale, "f8E4M3FN")),
            "nvfp4 (f4E2M1FN, f8E4M3FN scales) has blocks of 16, not 32");
  EXPECT_EQ(checkFormatRules(fp4Rules(32, ScaleFormat::F16, "f16")),
            "scale type f16 of format f4E2M1FN must be f8E8M0FNU (mxfp4) or "
            "f8E4M3FN (nvfp4)");
  EXPECT_EQ(checkFormatRules(fp4Rules(32, std::nullopt, "f64")),
            "scale type f64 of format f4E2M1FN must be f8E8M0FNU (mxfp4) or "
            "f8E4M3FN (nvfp4)");
  EXPECT_EQ(checkFormatRules(fp4Rules(32, E8M0, "f8E8M0FNU", true)),
            "a tensor scale is for nvfp4 (f4E2M1FN, f8E4M3FN scales) only");
  EXPECT_EQ(checkFormatRules(
                {NF4, 4, false, false, false, true, 32, E8M0, "f8E8M0FNU"}),
            "scale type f8E8M0FNU is for f4E2M1FN blocks (mxfp4) only; "
            "format nf4 takes f32, f16 or bf16");
  EXPECT_EQ(checkFormatRules({ElementFormat::Int, 4, false, false, false, true,
                              16, E4M3Scale, "f8E4M3FN"}),
            "scale type f8E4M3FN is for f4E2M1FN blocks (nvfp4) only; "
            "format int takes f32, f16 or bf16");
  EXPECT_EQ(checkFormatRules({E4M3, 8, false, false, false, false, 0,
                              ScaleFormat::F32, "f32", true}),
            "a tensor scale is for nvfp4 (f4E2M1FN, f8E4M3FN scales) only");
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

TEST(Fp4Quantizer, MxScalesArePowersOfTwoAtOrAboveTheAbsmax) {
  // One row, one block of 32: absmax 5 -> 5/6 rounds up to 1 (no element
  // clipped); with the search, 0.5 may win (5/0.5 = 10 saturates to 6).
  std::vector<float> w(32, 0.0f);
  w[0] = 5.0f;
  w[1] = -1.25f;
  w[2] = 0.7f;
  QuantOptions o;
  o.format = E2M1;
  o.bits = 4;
  o.groupSize = 32;
  o.scaleFormat = E8M0;
  o.clipSearch = false;
  QuantizedMatrix q;
  ASSERT_EQ(quantizeMatrix(w.data(), 1, 32, o, q), "");
  EXPECT_EQ(q.tensorScale, 1.0f);
  EXPECT_EQ(q.scales[0], 1.0f);
  EXPECT_EQ(q.code(0, 0), 6);  // 5 -> 4 (tie 4|6 to even)
  EXPECT_EQ(q.code(0, 1), 10); // -1.25 -> -1 (tie 1|1.5 to even)
  EXPECT_EQ(q.code(0, 2), 1);  // 0.7 -> 0.5
  EXPECT_EQ(q.dequantized(0, 1), -1.0f);
  EXPECT_EQ(encodeBlockScale(E8M0, q.scales[0]), 127);
}

TEST(Fp4Quantizer, NvTensorScaleFillsTheE4M3Range) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(8 * 64);
  for (float &x : w)
    x = normal(rng);
  w[77] = 0.3f; // the absmax of the tensor
  QuantOptions o;
  o.format = E2M1;
  o.bits = 4;
  o.groupSize = 16;
  o.scaleFormat = E4M3Scale;
  o.clipSearch = false;
  QuantizedMatrix q;
  ASSERT_EQ(quantizeMatrix(w.data(), 8, 64, o, q), "");
  EXPECT_EQ(q.tensorScale, static_cast<float>(0.3f / 6.0 / 448.0));
  // The block of the absmax gets the largest E4M3 scale; every scale is an
  // E4M3 value.
  EXPECT_EQ(q.scales[q.groupIndex(1, 13)], 448.0f);
  for (float s : q.scales) {
    EXPECT_EQ(decodeBlockScale(E4M3Scale, encodeBlockScale(E4M3Scale, s)), s);
    EXPECT_GE(s, minBlockScale(E4M3Scale));
  }
  EXPECT_EQ(q.dequantized(1, 13), q.tensorScale * 448.0f * 6.0f);
}

TEST(Fp4Quantizer, SearchNeverLosesToAbsmax) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(16 * 128);
  for (float &x : w)
    x = normal(rng);
  w[9] = 8.0f;
  for (const char *name : {"mxfp4", "nvfp4"}) {
    WeightFormat f = *parseWeightFormat(name);
    QuantOptions o;
    o.format = f.element;
    o.bits = 4;
    o.groupSize = f.blockSize;
    o.scaleFormat = f.blockScale;
    QuantizedMatrix searched, plain;
    ASSERT_EQ(quantizeMatrix(w.data(), 16, 128, o, searched), "");
    o.clipSearch = false;
    ASSERT_EQ(quantizeMatrix(w.data(), 16, 128, o, plain), "");
    EXPECT_LE(quantizationError(w.data(), searched),
              quantizationError(w.data(), plain))
        << name;
    EXPECT_EQ(searched.tensorScale, plain.tensorScale);
  }
}

TEST(Fp4Quantizer, RejectsSchemesOutsideTheFormats) {
  std::vector<float> w(64, 1.0f);
  QuantizedMatrix q;
  QuantOptions o;
  o.format = E2M1;
  o.bits = 4;
  o.groupSize = 64;
  o.scaleFormat = E8M0;
  EXPECT_EQ(quantizeMatrix(w.data(), 1, 64, o, q),
            "mxfp4 (f4E2M1FN, f8E8M0FNU scales) has blocks of 32, not 64");
  o.groupSize = 32;
  o.scaleFormat = ScaleFormat::F32;
  EXPECT_EQ(quantizeMatrix(w.data(), 1, 64, o, q),
            "scale type f32 of format f4E2M1FN must be f8E8M0FNU (mxfp4) or "
            "f8E4M3FN (nvfp4)");
  o.format = NF4;
  o.scaleFormat = E4M3Scale;
  EXPECT_EQ(quantizeMatrix(w.data(), 1, 64, o, q),
            "scale type f8E4M3FN is for f4E2M1FN blocks (nvfp4) only; "
            "format nf4 takes f32, f16 or bf16");
}

TEST(Codebook, RulesNameTheFirstBrokenOne) {
  EXPECT_EQ(checkCodebook(kNf4Values, 16), "");
  EXPECT_EQ(checkCodebook(kNf4Values, 15), "has 15 values, not 16");
  float v[16];
  std::copy(kNf4Values, kNf4Values + 16, v);
  v[3] = NAN;
  EXPECT_EQ(checkCodebook(v, 16), "value 3 is nan; the values must be finite");
  std::copy(kNf4Values, kNf4Values + 16, v);
  v[5] = v[4];
  EXPECT_EQ(checkCodebook(v, 16),
            "value 5 (-0.284441) is not above value 4 (-0.284441); the "
            "values must increase");
  // Any scale of the values, with or without a 0 (GGUF's IQ4_NL table).
  const float iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                           1,    13,   25,  38,  53,  69,  89,  113};
  EXPECT_EQ(checkCodebook(iq4nl, 16), "");
  EXPECT_EQ(Codebook(iq4nl).largestMagnitude(), 127.0f);
  EXPECT_EQ(Codebook(iq4nl).nearest(-4.5f), 7);
  EXPECT_EQ(Codebook(iq4nl).nearest(-4.4f), 8);
}

TEST(Codebook, NearestTiesGoToTheLowerValue) {
  Codebook nf4(kNf4Values);
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(nf4.nearest(kNf4Values[i]), i);
  float mid = 0.5f * (kNf4Values[14] + kNf4Values[15]);
  EXPECT_EQ(nf4.nearest(mid), 14);
  EXPECT_EQ(nf4.nearest(std::nextafter(mid, 2.0f)), 15);
  EXPECT_EQ(nf4.nearest(-5.0f), 0);
  EXPECT_EQ(nf4.round(5.0f), 1.0f);
}

namespace {
/// Laplacian weights (heavier tails than NF4's normal assumption), with a
/// zero row and an outlier.
std::vector<float> laplacianWeights(int64_t rows, int64_t cols) {
  std::mt19937 rng(11);
  std::exponential_distribution<float> expo(1.0f);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> w(rows * cols);
  for (float &x : w)
    x = sign(rng) ? expo(rng) : -expo(rng);
  std::fill(w.begin() + cols, w.begin() + 2 * cols, 0.0f);
  w[7] = 25.0f;
  return w;
}
} // namespace

TEST(FormatQuantizer, Lut4LearnsACodebookThatBeatsNf4) {
  const int64_t rows = 64, cols = 256;
  std::vector<float> w = laplacianWeights(rows, cols);
  QuantOptions o;
  o.format = NF4;
  o.bits = 4;
  o.groupSize = 32;
  QuantizedMatrix nf4, lut4;
  ASSERT_EQ(quantizeMatrix(w.data(), rows, cols, o, nf4), "");
  o.format = ElementFormat::Lut4;
  ASSERT_EQ(quantizeMatrix(w.data(), rows, cols, o, lut4), "");
  ASSERT_EQ(lut4.codebook.size(), 16u);
  EXPECT_EQ(checkCodebook(lut4.codebook.data(), 16), "");
  EXPECT_EQ(Codebook(lut4.codebook.data()).largestMagnitude(), 1.0f);
  EXPECT_TRUE(nf4.codebook.empty());
  double eNf4 = quantizationError(w.data(), nf4);
  double eLut4 = quantizationError(w.data(), lut4);
  // Laplacian weights are denser near 0 than a normal's: the learned values
  // move there (measured: 0.94x NF4's error after kCodebookRounds = 2).
  EXPECT_LT(eLut4, 0.95 * eNf4);
  EXPECT_FALSE(std::equal(lut4.codebook.begin(), lut4.codebook.end(),
                          kNf4Values));
  // Each value is scale * codebook[code]; the zero row stays exact.
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float expect = lut4.scales[lut4.groupIndex(r, c)] *
                     lut4.codebook[lut4.code(r, c)];
      ASSERT_EQ(lut4.dequantized(r, c), expect);
      if (r == 1)
        ASSERT_EQ(lut4.dequantized(r, c), 0.0f);
    }
  // Threads change nothing, codebook included.
  o.numThreads = 3;
  QuantizedMatrix threaded;
  ASSERT_EQ(quantizeMatrix(w.data(), rows, cols, o, threaded), "");
  EXPECT_EQ(threaded.codebook, lut4.codebook);
  EXPECT_EQ(threaded.unsignedCodes, lut4.unsignedCodes);
  EXPECT_EQ(threaded.scales, lut4.scales);
  // With importance weights, the codebook follows the weighted error.
  std::vector<float> imp(cols, 1.0f);
  for (int64_t c = 0; c < cols; c += 4)
    imp[c] = 50.0f;
  o.importance = imp.data();
  QuantizedMatrix weighted;
  ASSERT_EQ(quantizeMatrix(w.data(), rows, cols, o, weighted), "");
  o.format = NF4;
  ASSERT_EQ(quantizeMatrix(w.data(), rows, cols, o, nf4), "");
  EXPECT_LT(quantizationError(w.data(), weighted, imp.data()),
            quantizationError(w.data(), nf4, imp.data()));
}

TEST(FormatQuantizer, Lut4StartsFromTheGivenCodebook) {
  const int64_t rows = 8, cols = 64;
  std::vector<float> w = laplacianWeights(rows, cols);
  QuantOptions o;
  o.format = ElementFormat::Lut4;
  o.bits = 4;
  o.groupSize = 0;
  float bad[16];
  std::copy(kNf4Values, kNf4Values + 16, bad);
  bad[14] = 1.0f;
  o.codebook = bad;
  QuantizedMatrix q;
  EXPECT_EQ(quantizeMatrix(w.data(), rows, cols, o, q),
            "the starting codebook value 15 (1) is not above value 14 (1); "
            "the values must increase");
  EXPECT_TRUE(q.codebook.empty());
  std::copy(kNf4Values, kNf4Values + 16, bad);
  bad[7] = -0.01f;
  EXPECT_EQ(quantizeMatrix(w.data(), rows, cols, o, q),
            "the starting codebook has no value 0; the quantizer keeps zero "
            "weights exact");
  // A table of any scale, 0 included, is a start: the learned one has
  // a largest magnitude of 1.
  float wide[16];
  for (int i = 0; i < 16; ++i)
    wide[i] = 8.0f * kNf4Values[i];
  o.codebook = wide;
  ASSERT_EQ(quantizeMatrix(w.data(), rows, cols, o, q), "");
  EXPECT_EQ(std::max(-q.codebook.front(), q.codebook.back()), 1.0f);
  EXPECT_NE(std::find(q.codebook.begin(), q.codebook.end(), 0.0f),
            q.codebook.end());
  o.codebook = nullptr;
  o.perTensor = true;
  o.codebook = nullptr;
  EXPECT_EQ(quantizeMatrix(w.data(), rows, cols, o, q),
            "the quantizer makes format lut4 with per-channel or per-group "
            "scales only");
}

TEST(FormatQuantizer, Lut4OfZerosAndOfOneValue) {
  // All zeros: every group keeps scale 1 and the code of 0; the table is
  // still a codebook with a 0.
  std::vector<float> zeros(4 * 64, 0.0f);
  QuantOptions o;
  o.format = ElementFormat::Lut4;
  o.bits = 4;
  o.groupSize = 32;
  QuantizedMatrix q;
  ASSERT_EQ(quantizeMatrix(zeros.data(), 4, 64, o, q), "");
  EXPECT_EQ(checkCodebook(q.codebook.data(), 16), "");
  EXPECT_EQ(quantizationError(zeros.data(), q), 0.0);
  // One value everywhere: exact (an end of the table times the scale).
  std::vector<float> same(4 * 64, -0.75f);
  ASSERT_EQ(quantizeMatrix(same.data(), 4, 64, o, q), "");
  EXPECT_EQ(quantizationError(same.data(), q), 0.0);
}
