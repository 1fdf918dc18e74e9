// The rules of scheme parameters and the messages of bad scheme options.
#include "qnt/Support/SchemeParameters.h"

#include <gtest/gtest.h>

using namespace mlir::qnt;

TEST(SchemeParameters, FindsTheFirstInvalidParameter) {
  EXPECT_EQ(findInvalidSchemeParameter({1, 0, "f32"}), std::nullopt);
  EXPECT_EQ(findInvalidSchemeParameter({8, 1 << 20, "bf16"}), std::nullopt);
  EXPECT_EQ(findInvalidSchemeParameter({0}), SchemeParameter::Bits);
  EXPECT_EQ(findInvalidSchemeParameter({9, -1}), SchemeParameter::Bits);
  EXPECT_EQ(findInvalidSchemeParameter({4, -1}), SchemeParameter::GroupSize);
  EXPECT_EQ(findInvalidSchemeParameter({std::nullopt, std::nullopt, "f64"}),
            SchemeParameter::ScaleType);
  EXPECT_EQ(parseScaleFormat("f16"), ScaleFormat::F16);
  EXPECT_EQ(parseScaleFormat("F16"), std::nullopt);
}

TEST(SchemeParameters, NamesTheOptionAndItsRule) {
  EXPECT_EQ(checkSchemeOptions("p", {4, 128, "f16"}), "");
  EXPECT_EQ(checkSchemeOptions("p", {9}),
            "p option bits=9 is out of range [1, 8]");
  EXPECT_EQ(checkSchemeOptions("p", {std::nullopt, -2}),
            "p option group-size=-2 is out of range [0, 1048576]");
  EXPECT_EQ(checkSchemeOptions("p", {std::nullopt, std::nullopt, "f64"}),
            "p option scale-type=f64 must be f32, f16 or bf16");
  EXPECT_EQ(checkSchemeOptions("", {std::nullopt, std::nullopt, "x"},
                               {"--bits", "--group", "--scale-type"}),
            "--scale-type=x must be f32, f16 or bf16");
}
