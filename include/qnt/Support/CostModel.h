// What a quantization scheme costs a layer: bytes, and predicted time on a
// target from a roofline-style model. No MLIR.
#ifndef QNT_SUPPORT_COSTMODEL_H
#define QNT_SUPPORT_COSTMODEL_H

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
  double dequantNsPerGroup = 0;  // unpacking + scaling one group of a row
  double overheadUs = 0;         // per layer: call or kernel launch

  /// Parses a description; returns "" or what is wrong, with the line.
  static std::string parse(const std::string &text, TargetDescription &out);
  /// Predicted seconds of y[m, n] = x[m, k] * W^T under `scheme`:
  /// max(weight bytes / bandwidth, 2 m n k / peak) + dequantization of every
  /// group once per tile of rows + overhead.
  double predictSeconds(int64_t m, int64_t n, int64_t k,
                        const SchemeCost &scheme) const;
};

} // namespace mlir::qnt

#endif // QNT_SUPPORT_COSTMODEL_H
