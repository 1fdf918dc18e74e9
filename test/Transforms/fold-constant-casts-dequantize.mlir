// qnt-fold-constant-casts dequantize=true (quant-compile --requantize): a
// qnt.dequantize of a qnt.constant becomes an f32 constant.
// RUN: quant-opt %s --split-input-file --qnt-fold-constant-casts=dequantize=true | FileCheck %s
// RUN: quant-opt %s --split-input-file --qnt-fold-constant-casts | FileCheck %s --check-prefix=OFF

// si4 codes {1, -2, 3, -8} (bytes 0xE1 = -31, 0x83 = -125), groups of 2
// with scales 0.5 and 0.25: 0.5, -1.0, 0.75, -2.0 = f32 0x3F000000,
// 0xBF800000, 0x3F400000, 0xC0000000.
// CHECK-LABEL: func.func @signed_groups
//   CHECK-NOT:   qnt.
//       CHECK:   %[[W:.*]] = arith.constant dense_resource<dequantized> : tensor<1x4xf32>
//       CHECK:   return %[[W]]
//       CHECK:   dequantized: "0x040000000000003F000080BF0000403F000000C0"
// OFF-LABEL: func.func @signed_groups
//       OFF:   qnt.dequantize
func.func @signed_groups() -> tensor<1x4xf32> {
  %p = qnt.constant {codes = dense<[[-31, -125]]> : tensor<1x2xi8>, scales = dense<[[0.5, 0.25]]> : tensor<1x2xf32>} : !qnt.packed<1x4, #qnt.scheme<si4, symmetric, per_group<1, 2>>>
  %w = qnt.dequantize %p : !qnt.packed<1x4, #qnt.scheme<si4, symmetric, per_group<1, 2>>> -> tensor<1x4xf32>
  return %w : tensor<1x4xf32>
}

// -----

// Unsigned 8-bit codes {10, 20} with zero point 12 and f16 scale 0.5
// (0x3800): -1.0 and 4.0.
// CHECK-LABEL: func.func @zero_points
//       CHECK:   arith.constant dense_resource<dequantized> : tensor<1x2xf32>
//       CHECK:   dequantized: "0x04000000000080BF00008040"
func.func @zero_points() -> tensor<1x2xf32> {
  %p = qnt.constant {codes = dense<[[10, 20]]> : tensor<1x2xi8>, scales = dense<[[0.5]]> : tensor<1x1xf16>, zero_points = dense<[[12]]> : tensor<1x1xui8>} : !qnt.packed<1x2, #qnt.scheme<ui8, asymmetric, per_channel<0>, scale = f16>>
  %w = qnt.dequantize %p : !qnt.packed<1x2, #qnt.scheme<ui8, asymmetric, per_channel<0>, scale = f16>> -> tensor<1x2xf32>
  return %w : tensor<1x2xf32>
}
