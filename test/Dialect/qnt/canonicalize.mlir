// Canonicalizations of qnt ops: only exact rewrites fire.
// RUN: quant-opt %s --canonicalize --split-input-file | FileCheck %s

// A +0.0 bias adds nothing (accumulation starts from +0.0): it is dropped.
// CHECK-LABEL: func.func @drops_zero_bias
//  CHECK-SAME:   (%[[X:.*]]: tensor<2x16xf32>, %[[W:.*]]: !qnt.packed
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<2x8xf32>
//       CHECK:   return %[[Y]]
func.func @drops_zero_bias(%x: tensor<2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<2x8xf32> {
  %b = arith.constant dense<0.0> : tensor<8xf32>
  %y = qnt.matmul %x, %w, %b : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A non-zero bias stays; so does a -0.0 one: only the +0.0 case is provably
// bit-exact to drop.
// CHECK-LABEL: func.func @keeps_nonzero_bias
//       CHECK:   %[[B:.*]] = arith.constant dense<1.000000e+00> : tensor<8xf32>
//       CHECK:   qnt.matmul %{{.*}}, %{{.*}}, %[[B]]
func.func @keeps_nonzero_bias(%x: tensor<2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<2x8xf32> {
  %b = arith.constant dense<1.0> : tensor<8xf32>
  %y = qnt.matmul %x, %w, %b : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// dequantize(quantize(x)) rounds x to the code grid: it is lossy and must
// never fold to x (see docs/DIALECT.md).
// CHECK-LABEL: func.func @keeps_lossy_round_trip
//  CHECK-SAME:   (%[[X:.*]]: tensor<4x8xf32>)
//       CHECK:   %[[Q:.*]] = qnt.quantize %[[X]]
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[Q]]
//       CHECK:   return %[[D]]
func.func @keeps_lossy_round_trip(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %q = qnt.quantize %x : tensor<4x8xf32> -> !qnt.packed<4x8, #qnt.scheme<si4, symmetric, per_channel<0>>>
  %d = qnt.dequantize %q : !qnt.packed<4x8, #qnt.scheme<si4, symmetric, per_channel<0>>> -> tensor<4x8xf32>
  return %d : tensor<4x8xf32>
}

// -----

// qnt ops are pure: unused ones are erased.
// CHECK-LABEL: func.func @removes_dead_ops
//   CHECK-NOT:   qnt.
//       CHECK:   return
func.func @removes_dead_ops(%x: tensor<4x8xf32>) {
  %w = qnt.constant {codes = dense<1> : tensor<4x4xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x8, #qnt.scheme<si4, symmetric, per_channel<0>>>
  %d = qnt.dequantize %w : !qnt.packed<4x8, #qnt.scheme<si4, symmetric, per_channel<0>>> -> tensor<4x8xf32>
  %q = qnt.quantize %x : tensor<4x8xf32> -> !qnt.packed<4x8, #qnt.scheme<si4, symmetric, per_channel<0>>>
  return
}
