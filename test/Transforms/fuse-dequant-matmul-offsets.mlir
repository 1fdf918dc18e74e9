// qnt-fuse-dequant-matmul on a weight with offsets (value = scale * code +
// offset): qnt.matmul takes its codes and scales, centered (unsigned codes c
// become the signed c - 2^(b-1), the offsets o + 2^(b-1) * s in f32), and the
// offsets' part of x * W^T, sum_g offsets[n, g] * (sum of x over group g), is
// added by two linalg.generic ops, the second marked qnt.keep_float.
// RUN: quant-opt %s --split-input-file --qnt-fuse-dequant-matmul | FileCheck %s

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// Codes 1 in every nibble (bytes 0x11) become 1 - 8 (0x99); the f16
// offsets -1.5 become -1.5 + 8 * 0.5 = 2.5 (f32 0x40200000).
// CHECK-LABEL: func.func @q4_1
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>)
//   CHECK-DAG:   %[[W:.*]] = qnt.constant {codes = dense_resource<offset_weight.centered> : tensor<2x32xi8>, scales = dense<5.000000e-01> : tensor<2x2xf16>} : !qnt.packed<2x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>
//   CHECK-DAG:   %[[O:.*]] = arith.constant dense_resource<offset_weight.centered_offsets> : tensor<2x2xf32>
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]]
//       CHECK:   %[[XG:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2]] output_shape [3, 2, 32]
//       CHECK:   %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[XG]] : tensor<3x2x32xf32>)
//       CHECK:   %[[C:.*]] = linalg.generic {{.*}} ins(%[[S]], %[[O]] : tensor<3x2xf32>, tensor<2x2xf32>) {{.*}} attrs = {qnt.keep_float}
//       CHECK:   %[[R:.*]] = linalg.add ins(%[[Y]], %[[C]] : tensor<3x2xf32>, tensor<3x2xf32>)
//       CHECK:   return %[[R]]
//       CHECK:   offset_weight.centered_offsets: "0x0400000000002040000020400000204000002040"
//       CHECK:   offset_weight.centered: "0x0800000099999999
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

// -----

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// Codes 0..7 in bytes 0x10 0x32 0x54 0x76 become -8..-1 (0x98 0xBA 0xDC
// 0xFE); the offset -1.0 becomes -1.0 + 8 * 0.5 = 3.0 (0x40400000).
// CHECK-LABEL: func.func @centered
//       CHECK:   %[[W:.*]] = qnt.constant {codes = dense_resource<offset_weight.centered> : tensor<1x4xi8>, scales = dense<5.000000e-01> : tensor<1x1xf32>} : !qnt.packed<1x8, #qnt.scheme<si4, symmetric, per_group<1, 8>>>
//       CHECK:   qnt.matmul %{{.*}}, %[[W]]
//       CHECK:   linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x1xf32>, tensor<1x1xf32>)
//       CHECK:   offset_weight.centered_offsets: "0x0400000000004040"
//       CHECK:   offset_weight.centered: "0x0800000098BADCFE"
func.func @centered(%x: tensor<2x8xf32>) -> tensor<2x1xf32> {
  %w = qnt.constant {codes = dense<[[16, 50, 84, 118]]> : tensor<1x4xi8>, scales = dense<0.5> : tensor<1x1xf32>, offsets = dense<-1.0> : tensor<1x1xf32>}
      : !qnt.packed<1x8, #qnt.scheme<ui4, offset, per_group<1, 8>>>
  %d = qnt.dequantize %w : !qnt.packed<1x8, #qnt.scheme<ui4, offset, per_group<1, 8>>> -> tensor<1x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x1xf32>) -> tensor<2x1xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<2x8xf32>, tensor<1x8xf32>) outs(%init : tensor<2x1xf32>) -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}
