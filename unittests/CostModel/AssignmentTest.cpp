// Candidate schemes, budgets and the solve of a bit-width assignment.
#include "qnt/CostModel/Assignment.h"

#include <gtest/gtest.h>

using namespace mlir::qnt;

TEST(CandidateScheme, ParsesSpecsAndTheDefaultList) {
  std::vector<CandidateScheme> c;
  ASSERT_EQ(parseCandidateSchemes({"4:128", "3:0:asym", "f32"}, c), "");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].spec(), "4:128");
  EXPECT_EQ(c[0].str(), "si4 g128");
  EXPECT_EQ(c[1].spec(), "3:0:asym");
  EXPECT_EQ(c[1].str(), "ui3 per-channel");
  EXPECT_TRUE(c[2].isFloat());
  EXPECT_EQ(c[2].spec(), "f32");

  std::vector<CandidateScheme> all;
  ASSERT_EQ(parseCandidateSchemes({}, all), "");
  ASSERT_EQ(all.size(), 25u);
  EXPECT_EQ(all.front().spec(), "2:32");
  EXPECT_EQ(all[23].spec(), "8:0");
  EXPECT_TRUE(all.back().isFloat());

  std::vector<CandidateScheme> bad;
  for (const char *spec : {"9:32", "4:-1", "4:2000000", "4:32:sym", "4"})
    EXPECT_EQ(parseCandidateSchemes({spec}, bad),
              std::string("candidate '") + spec +
                  "' is not BITS:GROUP, BITS:GROUP:asym or f32 (BITS 1 to "
                  "8, GROUP 0 to 1048576)");
}

TEST(Budget, ParsesKindsAndCosts) {
  Budget b;
  ASSERT_EQ(Budget::parse("bytes:1000", b), "");
  EXPECT_EQ(b.kindName(), "bytes");
  EXPECT_EQ(b.unitCost(64, 1e-6), 8);
  ASSERT_EQ(Budget::parse("latency-us:3", b), "");
  EXPECT_EQ(b.unitCost(64, 2e-6), 2);
  EXPECT_EQ(Budget::parse("bits:4", b),
            "budget 'bits:4' must be avg-bits:X, bytes:N or latency-us:T");
  EXPECT_EQ(Budget::parse("avg-bits:inf", b),
            "budget 'avg-bits:inf' needs a positive number");
}

TEST(BitwidthAssignment, SolvesAndNamesTheSmallestFeasibleBudget) {
  BitwidthAssignment a;
  ASSERT_EQ(Budget::parse("avg-bits:4", a.model.budget), "");
  LayerCandidates l;
  l.n = 2;
  l.k = 4;
  l.schemes = {CandidateScheme{4, 0, false}, CandidateScheme()};
  l.choices = {{4.0 * 8, 1.0}, {32.0 * 8, 0.0}};
  l.bytes = {4, 32};
  l.seconds = {0, 0};
  a.layers = {l};
  EXPECT_EQ(a.solve(), "");
  EXPECT_EQ(a.best.choice, std::vector<int>{0});
  a.model.budget.value = 2;
  EXPECT_EQ(a.solve(), "budget avg-bits:4 cannot be met by the candidate "
                       "schemes; the smallest feasible budget is "
                       "avg-bits:4.0000");
}
