// qnt-fuse-dequant-matmul on a weight with offsets: qnt.matmul takes its codes
// and scales (the same scheme, symmetric), and the offsets' part of x * W^T,
// sum_g offsets[n, g] * (sum of x over group g), is added by two
// linalg.generic ops, the second marked qnt.keep_float. (The f16 offsets are
// widened by arith.extf, which the greedy driver folds for a dense splat.)
// RUN: quant-opt %s --qnt-fuse-dequant-matmul | FileCheck %s

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// CHECK-LABEL: func.func @q4_1
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>)
//   CHECK-DAG:   %[[W:.*]] = qnt.constant {codes = dense<17> : tensor<2x32xi8>, scales = dense<5.000000e-01> : tensor<2x2xf16>} : !qnt.packed<2x64, #qnt.scheme<ui4, symmetric, per_group<1, 32>, scale = f16>>
//   CHECK-DAG:   %[[O:.*]] = arith.constant dense<-1.500000e+00> : tensor<2x2xf32>
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]]
//       CHECK:   %[[XG:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2]] output_shape [3, 2, 32]
//       CHECK:   %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[XG]] : tensor<3x2x32xf32>)
//       CHECK:   %[[C:.*]] = linalg.generic {{.*}} ins(%[[S]], %[[O]] : tensor<3x2xf32>, tensor<2x2xf32>) {{.*}} attrs = {qnt.keep_float}
//       CHECK:   %[[R:.*]] = linalg.add ins(%[[Y]], %[[C]] : tensor<3x2xf32>, tensor<3x2xf32>)
//       CHECK:   return %[[R]]
func.func @q4_1(%x: tensor<3x64xf32>) -> tensor<3x2xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<2x32xi8>, scales = dense<0.5> : tensor<2x2xf16>, offsets = dense<-1.5> : tensor<2x2xf16>}
      : !qnt.packed<2x64, #qnt.scheme<ui4, offset, per_group<1, 32>, scale = f16>>
  %d = qnt.dequantize %w : !qnt.packed<2x64, #qnt.scheme<ui4, offset, per_group<1, 32>, scale = f16>> -> tensor<2x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<2x64xf32>) outs(%init : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
