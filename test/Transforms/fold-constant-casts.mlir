// qnt-fold-constant-casts: arith.extf of a float constant becomes one constant
// of the wider type, converted at compile time; other casts stay.
// RUN: quant-opt %s --split-input-file --qnt-fold-constant-casts | FileCheck %s

// bf16 1.0 = 0x3F80, 2.5 = 0x4020 (bytes 80 3F 20 40 after the 2-byte
// alignment word) widen to f32 0x3F800000 and 0x40200000.
// CHECK-LABEL: func.func @resource_bf16
//   CHECK-NOT:   arith.extf
//       CHECK:   %[[W:.*]] = arith.constant dense_resource<w{{.*}}> : tensor<2xf32>
//       CHECK:   return %[[W]]
//       CHECK:   w{{.*}}: "0x040000000000803F00002040"
func.func @resource_bf16() -> tensor<2xf32> {
  %c = arith.constant dense_resource<w> : tensor<2xbf16>
  %w = arith.extf %c : tensor<2xbf16> to tensor<2xf32>
  return %w : tensor<2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x02000000803F2040"
    }
  }
#-}

// -----

// f16 1.0 = 0x3C00, -2.0 = 0xC000; one wide constant for two casts.
// CHECK-LABEL: func.func @resource_f16_shared
//   CHECK-NOT:   arith.extf
//       CHECK:   %[[W:.*]] = arith.constant dense_resource<h{{.*}}> : tensor<2xf32>
//       CHECK:   return %[[W]], %[[W]]
//       CHECK:   h{{.*}}: "0x040000000000803F000000C0"
func.func @resource_f16_shared() -> (tensor<2xf32>, tensor<2xf32>) {
  %c = arith.constant dense_resource<h> : tensor<2xf16>
  %a = arith.extf %c : tensor<2xf16> to tensor<2xf32>
  %b = arith.extf %c : tensor<2xf16> to tensor<2xf32>
  return %a, %b : tensor<2xf32>, tensor<2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      h: "0x02000000003C00C0"
    }
  }
#-}

// -----

// CHECK-LABEL: func.func @dense
//   CHECK-NOT:   arith.extf
//       CHECK:   arith.constant dense<[1.000000e+00, 2.500000e+00]> : tensor<2xf32>
func.func @dense() -> tensor<2xf32> {
  %c = arith.constant dense<[1.0, 2.5]> : tensor<2xbf16>
  %w = arith.extf %c : tensor<2xbf16> to tensor<2xf32>
  return %w : tensor<2xf32>
}

// -----

// A cast of a value that is not a constant stays.
// CHECK-LABEL: func.func @argument
//       CHECK:   arith.extf
func.func @argument(%x: tensor<2xbf16>) -> tensor<2xf32> {
  %w = arith.extf %x : tensor<2xbf16> to tensor<2xf32>
  return %w : tensor<2xf32>
}
