// Tests of the cost model: scheme sizes, target files, predicted times.
#include "qnt/CostModel/CostModel.h"

#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>

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
            "peak_gflops, dequant_ns_per_group, overhead_us, rows_per_tile, "
            "cols_per_tile, tile_ps_per_code, row_ps_per_code, "
            "cache_bandwidth_gbs, cache_bytes, overlap_p)");
  EXPECT_EQ(TargetDescription::parse("tile_ps_per_code = 1 2 3\n", t),
            "line 1: 'tile_ps_per_code' needs 8 non-negative numbers, got '1 2 3'");
  EXPECT_EQ(TargetDescription::parse("overhead_us = 1 2\n", t),
            "line 1: 'overhead_us' needs a non-negative number, got '1 2'");
  EXPECT_EQ(TargetDescription::parse("memory_bandwidth_gbs = 1\npeak_gflops = 1\n"
                                     "rows_per_tile = 6\n",
                                     t),
            "the CPU kernel model needs rows_per_tile and cols_per_tile "
            "(positive integers), tile_ps_per_code and row_ps_per_code");
  // A tile beyond the kernels' is refused before it becomes an integer.
  EXPECT_EQ(
      TargetDescription::parse("memory_bandwidth_gbs = 1\npeak_gflops = 1\n"
                               "rows_per_tile = 1e300\n",
                               t),
      "rows_per_tile and cols_per_tile must be at most 64");
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

TEST(TargetDescription, CpuKernelModel) {
  TargetDescription t;
  ASSERT_EQ(TargetDescription::parse(
                "memory_bandwidth_gbs = 10\npeak_gflops = 100\n"
                "dequant_ns_per_group = 0.5\noverhead_us = 2\n"
                "rows_per_tile = 6\ncols_per_tile = 4\n"
                "tile_ps_per_code = 1 2 3 80 5 6 7 60\n"
                "row_ps_per_code = 1 2 3 40 5 6 7 30\n"
                "cache_bandwidth_gbs = 50\ncache_bytes = 1000000\n",
                t),
            "");
  EXPECT_EQ(t.rowsPerTile, 6);
  EXPECT_EQ(t.tilePsPerCode[3], 80);
  SchemeCost int4{4, 128, 32, false};
  double codes = 1024.0 * 4096, groups = 1024.0 * 32;
  double bytes = codes / 2 + groups * 4;
  // M = 1, no overlap given: max(memory, one one-row tile) + overhead.
  double compute1 = codes * 40e-12 + groups * 0.5e-9;
  EXPECT_NEAR(t.predictSeconds(1, 1024, 4096, int4),
              std::max(bytes / 10e9, compute1) + 2e-6, 1e-12);
  // M = 16: two full tiles and four one-row tiles; x (256 KiB) in cache.
  double compute16 = codes * (2 * 80 + 4 * 40) * 1e-12 + groups * 6 * 0.5e-9;
  EXPECT_NEAR(t.predictSeconds(16, 1024, 4096, int4), compute16 + 2e-6, 1e-12);
  // M = 128: x (2 MiB) does not fit; 256 tiles of weight rows re-read it.
  SchemeCost int8{8, 0, 32, false};
  double compute128 = codes * (21 * 60 + 2 * 30) * 1e-12 + 1024.0 * 23 * 0.5e-9;
  double xTraffic = 256 * 128 * 4096 * 4.0 / 50e9;
  EXPECT_NEAR(t.predictSeconds(128, 1024, 4096, int8),
              std::max(compute128, xTraffic) + 2e-6, 1e-12);
  // The overlap exponent combines memory and compute as a p-norm.
  t.overlapP = 2;
  double memory8 = (codes + 1024.0 * 4) / 10e9, compute8 = codes * 30e-12 + 1024 * 0.5e-9;
  EXPECT_NEAR(t.predictSeconds(1, 1024, 4096, int8),
              std::sqrt(memory8 * memory8 + compute8 * compute8) + 2e-6, 1e-12);
  // f32 weights keep the roofline.
  SchemeCost f32{32, 0, 0, false};
  EXPECT_NEAR(t.predictSeconds(1, 1024, 4096, f32), codes * 4 / 10e9 + 2e-6, 1e-12);
}
