// Tests of the cost model: scheme sizes, target files, predicted times.
#include "qnt/Support/CostModel.h"

#include <gtest/gtest.h>

using namespace mlir::qnt;

TEST(SchemeCost, CountsCodesScalesAndZeroPoints) {
  // 4096 x 4096 int4 in groups of 128 with f16 scales: 8 MiB of codes and
  // 4096 * 32 scales of 2 bytes.
  SchemeCost int4{4, 128, 16, false};
  EXPECT_EQ(int4.bits(4096, 4096), 4096LL * 4096 * 4 + 4096LL * 32 * 16);
  SchemeCost asym{3, 32, 32, true};
  EXPECT_EQ(asym.bits(8, 64), 8 * 64 * 3 + 8 * 2 * (32 + 8));
  SchemeCost perChannel{8, 0, 32, false};
  EXPECT_EQ(perChannel.bits(10, 100), 10 * 100 * 8 + 10 * 32);
  SchemeCost f32{32, 0, 0, false};
  EXPECT_EQ(f32.bits(10, 100), 10 * 100 * 32);
}

TEST(TargetDescription, ParsesAndRejectsBadFiles) {
  TargetDescription t;
  EXPECT_EQ(TargetDescription::parse("# host\nname = h\nmemory_bandwidth_gbs = 20\n"
                                     "peak_gflops=100 # fma\ndequant_ns_per_group = 2\n"
                                     "overhead_us = 1\n",
                                     t),
            "");
  EXPECT_EQ(t.name, "h");
  EXPECT_EQ(t.memoryBandwidthGBs, 20);
  EXPECT_EQ(t.peakGflops, 100);
  EXPECT_EQ(TargetDescription::parse("memory_bandwidth_gbs 20\n", t),
            "line 1: expected 'key = value'");
  EXPECT_EQ(TargetDescription::parse("memory_bandwidth_gbs = fast\n", t),
            "line 1: 'memory_bandwidth_gbs' needs a non-negative number, got 'fast'");
  EXPECT_EQ(TargetDescription::parse("\nbandwidth = 3\n", t),
            "line 2: unknown key 'bandwidth' (expected name, memory_bandwidth_gbs, "
            "peak_gflops, dequant_ns_per_group, overhead_us)");
  TargetDescription empty;
  EXPECT_EQ(TargetDescription::parse("name = x\n", empty),
            "memory_bandwidth_gbs and peak_gflops must be given and positive");
}

TEST(TargetDescription, RooflineTimes) {
  TargetDescription t;
  ASSERT_EQ(TargetDescription::parse("memory_bandwidth_gbs = 10\npeak_gflops = 100\n"
                                     "dequant_ns_per_group = 1\noverhead_us = 2\n",
                                     t),
            "");
  SchemeCost int4{4, 128, 32, false};
  // GEMV: memory bound. 1024 x 1024 int4: 512 KiB + 8192 scales * 4 B.
  double bytes = 1024.0 * 1024 / 2 + 1024.0 * 8 * 4;
  double groups = 1024.0 * 8;
  EXPECT_NEAR(t.predictSeconds(1, 1024, 1024, int4),
              bytes / 10e9 + groups * 1e-9 + 2e-6, 1e-12);
  // Large M: compute bound; dequantization once per 4 rows of x.
  double flops = 2.0 * 4096 * 1024 * 1024;
  EXPECT_NEAR(t.predictSeconds(4096, 1024, 1024, int4),
              flops / 100e9 + groups * 1024 * 1e-9 + 2e-6, 1e-9);
  SchemeCost f32{32, 0, 0, false};
  EXPECT_NEAR(t.predictSeconds(1, 1024, 1024, f32), 4.0 * 1024 * 1024 / 10e9 + 2e-6,
              1e-12);
}
