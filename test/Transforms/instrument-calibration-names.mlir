// The statistics file is "NAME v0 v1 ...": a layer name with white space
// cannot be written there. (A location name of our own replaces the file
// location, so the error is checked on stderr, not with -verify-diagnostics.)
// RUN: not quant-opt %s --qnt-instrument-calibration 2>&1 | FileCheck %s

// CHECK: error: loc("my proj"): 'linalg.matmul' op layer name 'my proj' contains white space, which the calibration statistics file cannot hold
func.func @spaced(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x8xf32>
  %init = arith.constant dense<0.0> : tensor<2x4xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<2x8xf32>, tensor<4x8xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32> loc("my proj")
  return %y : tensor<2x4xf32>
}
