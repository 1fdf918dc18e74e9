// What a quantization scheme costs a layer: bytes, and predicted time on a
// target from a roofline-style model. No MLIR.
#ifndef QNT_COSTMODEL_COSTMODEL_H
#define QNT_COSTMODEL_COSTMODEL_H

#include "llvm/ADT/StringRef.h"
#include <array>
#include <cstdint>
#include <string>

namespace mlir::qnt {

/// Storage of one weight under a scheme: code bits, group size (0 = one
/// scale per output channel), scale bits and whether zero points (8 bits
/// each) are stored. `codeBits == 32 && groupSize == 0 && scaleBits == 0`
/// describes a weight kept in f32.
struct SchemeCost {
  unsigned codeBits = 4;
  int64_t groupSize = 128;
  unsigned scaleBits = 32;
  bool zeroPoints = false;

  /// Total bits of an [n, k] weight: codes, scales and zero points.
  int64_t bits(int64_t n, int64_t k) const;
};

/// A target's parameters (one file per target, "key = value" lines, '#'
/// comments; see docs/COST_MODEL.md).
struct TargetDescription {
  std::string name;
  double memoryBandwidthGBs = 0; // sustained read bandwidth, GB/s
  double peakGflops = 0;         // f32 multiply-add rate, GFLOP/s (2 per FMA)
  double dequantNsPerGroup = 0;  // scaling one group of a weight row, per tile
  double overheadUs = 0;         // per layer: call or kernel launch

  // The CPU kernel model (targets whose kernels convert-qnt-to-vector
  // generates; all zero = the plain roofline). The kernel walks register
  // tiles of `rowsPerTile` rows of x by `colsPerTile` weight rows over all of
  // K, unpacking each code once per tile; the rows of x left over by full
  // tiles go through one-row tiles.
  int64_t rowsPerTile = 0;
  int64_t colsPerTile = 0;
  /// Picoseconds per weight code (index: code bits 1..8) of one full tile
  /// and of one one-row tile, x in cache: unpacking plus the multiply-adds.
  std::array<double, 8> tilePsPerCode{};
  std::array<double, 8> rowPsPerCode{};
  /// x is read again for every tile of weight rows: from the cache when
  /// x (M * K * 4 bytes) fits in `cacheBytes`, else at `cacheBandwidthGBs`.
  double cacheBandwidthGBs = 0;
  double cacheBytes = 0;
  /// How streaming the weights overlaps the kernel's computation:
  /// time = (memory^p + compute^p)^(1/p); 0 = perfect overlap (max).
  double overlapP = 0;

  /// Parses a description; returns "" or what is wrong, with the line.
  static std::string parse(const std::string &text, TargetDescription &out);
  /// Reads and parses the file `path`, or targets/host-x86_64.target
  /// (compiled in) when `path` is empty. Returns "" or "cannot read target
  /// 'PATH': REASON" or "target 'PATH': PROBLEM" ('host-x86_64' for the
  /// default).
  static std::string read(llvm::StringRef path, TargetDescription &out);
  /// Predicted seconds of y[m, n] = x[m, k] * W^T under `scheme` on one
  /// thread, weights read from memory (not from cache). Roofline:
  /// max(weight bytes / bandwidth, 2 m n k / peak) + dequantization of every
  /// group once per tile of rows + overhead. With the CPU kernel model the
  /// compute term is the tile costs above (and x traffic), and it overlaps
  /// the weight stream as `overlapP` says. f32 weights use the roofline.
  double predictSeconds(int64_t m, int64_t n, int64_t k,
                        const SchemeCost &scheme) const;
};

} // namespace mlir::qnt

#endif // QNT_COSTMODEL_COSTMODEL_H
