// RUN: quant-opt %s --split-input-file --qnt-fuse-dequant-matmul | FileCheck %s

// qnt-fuse-dequant-matmul: a linear layer reading a dequantized weight
// becomes one qnt.matmul on the packed weight; anything qnt.matmul cannot
// compute exactly as written is left alone.

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// Weight stored [N, K], read directly; the +0.0 fill is dropped.
// CHECK-LABEL: func.func @transposed_b_matmul
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<3x16xf32>
func.func @transposed_b_matmul(%x: tensor<3x64xf32>, %w: !w) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%f : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// A plain matmul reads the [K, N] transpose of the dequantized [N, K] weight.
// CHECK-LABEL: func.func @plain_matmul_through_transpose
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<3x16xf32>
func.func @plain_matmul_through_transpose(%x: tensor<3x64xf32>, %w: !w) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %et = tensor.empty() : tensor<64x16xf32>
  %t = linalg.transpose ins(%d : tensor<16x64xf32>) outs(%et : tensor<64x16xf32>) permutation = [1, 0]
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  %y = linalg.matmul ins(%x, %t : tensor<3x64xf32>, tensor<64x16xf32>) outs(%f : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_tensor>>

// The transpose may also be a linalg.generic that only copies.
// CHECK-LABEL: func.func @plain_matmul_through_generic_transpose
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_tensor>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_tensor>>) -> tensor<3x16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<3x16xf32>
func.func @plain_matmul_through_generic_transpose(%x: tensor<3x64xf32>, %w: !w) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %et = tensor.empty() : tensor<64x16xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j, i)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%d : tensor<16x64xf32>) outs(%et : tensor<64x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<64x16xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  %y = linalg.matmul ins(%x, %t : tensor<3x64xf32>, tensor<64x16xf32>) outs(%f : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>

// matvec: W [N, K] first, x a [K] vector; the result is rank 1.
// CHECK-LABEL: func.func @matvec
//  CHECK-SAME:   (%[[X:.*]]: tensor<64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<64xf32>, !qnt.packed<16x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>) -> tensor<16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<16xf32>
func.func @matvec(%x: tensor<64xf32>, %w: !w) -> tensor<16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<16xf32>) -> tensor<16xf32>
  %y = linalg.matvec ins(%d, %x : tensor<16x64xf32>, tensor<64xf32>) outs(%f : tensor<16xf32>) -> tensor<16xf32>
  return %y : tensor<16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// vecmat: x a [K] vector, W read [K, N] through a transpose.
// CHECK-LABEL: func.func @vecmat
//  CHECK-SAME:   (%[[X:.*]]: tensor<64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<16xf32>
func.func @vecmat(%x: tensor<64xf32>, %w: !w) -> tensor<16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %et = tensor.empty() : tensor<64x16xf32>
  %t = linalg.transpose ins(%d : tensor<16x64xf32>) outs(%et : tensor<64x16xf32>) permutation = [1, 0]
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<16xf32>) -> tensor<16xf32>
  %y = linalg.vecmat ins(%x, %t : tensor<64xf32>, tensor<64x16xf32>) outs(%f : tensor<16xf32>) -> tensor<16xf32>
  return %y : tensor<16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// batch_matmul whose indexing map shares one [K, N] weight across the batch.
// CHECK-LABEL: func.func @batch_matmul_shared_weight
//  CHECK-SAME:   (%[[X:.*]]: tensor<2x3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<2x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x3x16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<2x3x16xf32>
func.func @batch_matmul_shared_weight(%x: tensor<2x3x64xf32>, %w: !w) -> tensor<2x3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %et = tensor.empty() : tensor<64x16xf32>
  %t = linalg.transpose ins(%d : tensor<16x64xf32>) outs(%et : tensor<64x16xf32>) permutation = [1, 0]
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  %y = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%x, %t : tensor<2x3x64xf32>, tensor<64x16xf32>) outs(%f : tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  return %y : tensor<2x3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// batch_matmul on a weight repeated by linalg.broadcast: the repeated [N, K]
// tensor is the weight.
// CHECK-LABEL: func.func @batch_matmul_broadcast_weight
//  CHECK-SAME:   (%[[X:.*]]: tensor<2x3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<2x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x3x16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<2x3x16xf32>
func.func @batch_matmul_broadcast_weight(%x: tensor<2x3x64xf32>, %w: !w) -> tensor<2x3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %eb = tensor.empty() : tensor<2x16x64xf32>
  %b = linalg.broadcast ins(%d : tensor<16x64xf32>) outs(%eb : tensor<2x16x64xf32>) dimensions = [0]
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  %y = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%x, %b : tensor<2x3x64xf32>, tensor<2x16x64xf32>) outs(%f : tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  return %y : tensor<2x3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// Default batch_matmul maps on a broadcast [K, N] transpose.
// CHECK-LABEL: func.func @batch_matmul_broadcast_transpose
//  CHECK-SAME:   (%[[X:.*]]: tensor<2x3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<2x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x3x16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<2x3x16xf32>
func.func @batch_matmul_broadcast_transpose(%x: tensor<2x3x64xf32>, %w: !w) -> tensor<2x3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %et = tensor.empty() : tensor<64x16xf32>
  %t = linalg.transpose ins(%d : tensor<16x64xf32>) outs(%et : tensor<64x16xf32>) permutation = [1, 0]
  %eb = tensor.empty() : tensor<2x64x16xf32>
  %b = linalg.broadcast ins(%t : tensor<64x16xf32>) outs(%eb : tensor<2x64x16xf32>) dimensions = [0]
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  %y = linalg.batch_matmul ins(%x, %b : tensor<2x3x64xf32>, tensor<2x64x16xf32>) outs(%f : tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  return %y : tensor<2x3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// A tensor.expand_shape that only adds a unit batch dimension repeats the
// weight too.
// CHECK-LABEL: func.func @batch_matmul_expanded_weight
//  CHECK-SAME:   (%[[X:.*]]: tensor<1x3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   tensor.expand_shape
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<1x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<1x3x16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<1x3x16xf32>
func.func @batch_matmul_expanded_weight(%x: tensor<1x3x64xf32>, %w: !w) -> tensor<1x3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %b = tensor.expand_shape %d [[0, 1], [2]] output_shape [1, 16, 64] : tensor<16x64xf32> into tensor<1x16x64xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x3x16xf32>) -> tensor<1x3x16xf32>
  %y = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%x, %b : tensor<1x3x64xf32>, tensor<1x16x64xf32>) outs(%f : tensor<1x3x16xf32>) -> tensor<1x3x16xf32>
  return %y : tensor<1x3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// A linalg.generic contraction with batch dimensions on a shared weight.
// CHECK-LABEL: func.func @generic_batched
//  CHECK-SAME:   (%[[X:.*]]: tensor<2x3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<2x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x3x16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<2x3x16xf32>
func.func @generic_batched(%x: tensor<2x3x64xf32>, %w: !w) -> tensor<2x3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %d : tensor<2x3x64xf32>, tensor<16x64xf32>) outs(%f : tensor<2x3x16xf32>) {
  ^bb0(%in: f32, %wt: f32, %acc: f32):
    %p = arith.mulf %in, %wt : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3x16xf32>
  return %y : tensor<2x3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// A linalg.generic with the weight as its first input and the product and
// sum written the other way round.
// CHECK-LABEL: func.func @generic_weight_first
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<3x16xf32>
func.func @generic_weight_first(%x: tensor<3x64xf32>, %w: !w) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%d, %x : tensor<16x64xf32>, tensor<3x64xf32>) outs(%f : tensor<3x16xf32>) {
  ^bb0(%wt: f32, %in: f32, %acc: f32):
    %p = arith.mulf %wt, %in : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// An arith.constant dense<0.0> accumulator is dropped like a +0.0 fill.
// CHECK-LABEL: func.func @zero_constant_init
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   arith.constant
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<3x16xf32>
func.func @zero_constant_init(%x: tensor<3x64xf32>, %w: !w) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant dense<0.0> : tensor<3x16xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%z : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// tensor.empty as accumulator: its contents are unspecified, so taking them
// as +0.0 is allowed and nothing is added.
// CHECK-LABEL: func.func @empty_init
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   tensor.empty
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<3x16xf32>
func.func @empty_init(%x: tensor<3x64xf32>, %w: !w) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %e = tensor.empty() : tensor<3x16xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// A non-zero accumulator is added back after the fused matmul.
// CHECK-LABEL: func.func @accumulator_added
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, %[[ACC:.*]]: tensor<3x16xf32>)
//   CHECK-NOT:   qnt.dequantize
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//  CHECK-NEXT:   %[[S:.*]] = linalg.add ins(%[[Y]], %[[ACC]] : tensor<3x16xf32>, tensor<3x16xf32>) outs(%[[ACC]] : tensor<3x16xf32>) -> tensor<3x16xf32>
//  CHECK-NEXT:   return %[[S]] : tensor<3x16xf32>
func.func @accumulator_added(%x: tensor<3x64xf32>, %w: !w, %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%acc : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// A -0.0 fill is not +0.0 (-0.0 + -0.0 is -0.0), so it is added back.
// CHECK-LABEL: func.func @negative_zero_fill_added
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//       CHECK:   %[[NZ:.*]] = arith.constant -0.000000e+00 : f32
//       CHECK:   %[[E:.*]] = tensor.empty() : tensor<3x16xf32>
//       CHECK:   %[[F:.*]] = linalg.fill ins(%[[NZ]] : f32) outs(%[[E]] : tensor<3x16xf32>) -> tensor<3x16xf32>
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//  CHECK-NEXT:   %[[S:.*]] = linalg.add ins(%[[Y]], %[[F]] : tensor<3x16xf32>, tensor<3x16xf32>) outs(%[[F]] : tensor<3x16xf32>) -> tensor<3x16xf32>
//  CHECK-NEXT:   return %[[S]] : tensor<3x16xf32>
func.func @negative_zero_fill_added(%x: tensor<3x64xf32>, %w: !w) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant -0.0 : f32
  %e = tensor.empty() : tensor<3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%f : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// A dequantize with another user stays for that user.
// CHECK-LABEL: func.func @dequantize_with_other_user
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]] : !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>> -> tensor<16x64xf32>
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//   CHECK-NOT:   linalg.matmul
//       CHECK:   return %[[Y]], %[[D]] : tensor<3x16xf32>, tensor<16x64xf32>
func.func @dequantize_with_other_user(%x: tensor<3x64xf32>, %w: !w) -> (tensor<3x16xf32>, tensor<16x64xf32>) {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%f : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y, %d : tensor<3x16xf32>, tensor<16x64xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// Dynamic sizes: qnt.matmul needs a static K, and x and the result must agree
// on their leading sizes; tensor.cast refines both from what linalg knows.
// CHECK-LABEL: func.func @dynamic_sizes
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x?xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, %[[ACC:.*]]: tensor<3x?xf32>)
//       CHECK:   %[[XC:.*]] = tensor.cast %[[X]] : tensor<?x?xf32> to tensor<3x64xf32>
//  CHECK-NEXT:   %[[Y:.*]] = qnt.matmul %[[XC]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//  CHECK-NEXT:   %[[YC:.*]] = tensor.cast %[[Y]] : tensor<3x16xf32> to tensor<3x?xf32>
//  CHECK-NEXT:   %[[S:.*]] = linalg.add ins(%[[YC]], %[[ACC]] : tensor<3x?xf32>, tensor<3x?xf32>) outs(%[[ACC]] : tensor<3x?xf32>) -> tensor<3x?xf32>
//  CHECK-NEXT:   return %[[S]] : tensor<3x?xf32>
func.func @dynamic_sizes(%x: tensor<?x?xf32>, %w: !w, %acc: tensor<3x?xf32>) -> tensor<3x?xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<?x?xf32>, tensor<16x64xf32>) outs(%acc : tensor<3x?xf32>) -> tensor<3x?xf32>
  return %y : tensor<3x?xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// f16 x and result.
// CHECK-LABEL: func.func @f16_matmul
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf16>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf16>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>) -> tensor<3x16xf16>
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]] : tensor<3x16xf16>
func.func @f16_matmul(%x: tensor<3x64xf16>, %w: !w) -> tensor<3x16xf16> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf16>
  %z = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<3x16xf16>
  %f = linalg.fill ins(%z : f16) outs(%e : tensor<3x16xf16>) -> tensor<3x16xf16>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf16>, tensor<16x64xf16>) outs(%f : tensor<3x16xf16>) -> tensor<3x16xf16>
  return %y : tensor<3x16xf16>
}

// -----

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// The weight is not produced by qnt.dequantize.
// CHECK-LABEL: func.func @weight_not_dequantized
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[F:.*]]: tensor<16x64xf32>, %[[ACC:.*]]: tensor<3x16xf32>)
//       CHECK:   %[[Y:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[X]], %[[F]] : tensor<3x64xf32>, tensor<16x64xf32>) outs(%[[ACC]] : tensor<3x16xf32>) -> tensor<3x16xf32>
//   CHECK-NOT:   qnt.matmul
//       CHECK:   return %[[Y]]
func.func @weight_not_dequantized(%x: tensor<3x64xf32>, %f: tensor<16x64xf32>, %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %y = linalg.matmul indexing_maps = #tb ins(%x, %f : tensor<3x64xf32>, tensor<16x64xf32>) outs(%acc : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#xt = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// x stored [K, M]: K is not innermost.
// CHECK-LABEL: func.func @x_transposed
//  CHECK-SAME:   (%[[XT:.*]]: tensor<64x3xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, %[[ACC:.*]]: tensor<3x16xf32>)
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]]
//       CHECK:   %[[Y:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[XT]], %[[D]] : tensor<64x3xf32>, tensor<16x64xf32>) outs(%[[ACC]] : tensor<3x16xf32>) -> tensor<3x16xf32>
//   CHECK-NOT:   qnt.matmul
//       CHECK:   return %[[Y]]
func.func @x_transposed(%xt: tensor<64x3xf32>, %w: !w, %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %y = linalg.matmul indexing_maps = #xt ins(%xt, %d : tensor<64x3xf32>, tensor<16x64xf32>) outs(%acc : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#yt = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (n, m)>]

// The result is stored [N, M].
// CHECK-LABEL: func.func @result_transposed
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, %[[ACC:.*]]: tensor<16x3xf32>)
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]]
//       CHECK:   %[[Y:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[X]], %[[D]] : tensor<3x64xf32>, tensor<16x64xf32>) outs(%[[ACC]] : tensor<16x3xf32>) -> tensor<16x3xf32>
//   CHECK-NOT:   qnt.matmul
//       CHECK:   return %[[Y]]
func.func @result_transposed(%x: tensor<3x64xf32>, %w: !w, %acc: tensor<16x3xf32>) -> tensor<16x3xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %y = linalg.matmul indexing_maps = #yt ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%acc : tensor<16x3xf32>) -> tensor<16x3xf32>
  return %y : tensor<16x3xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<0, 8>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// Groups along N (axis 0) are not a qnt.matmul scheme.
// CHECK-LABEL: func.func @per_group_along_n
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<0, 8>>>, %[[ACC:.*]]: tensor<3x16xf32>)
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]]
//       CHECK:   %[[Y:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[X]], %[[D]] : tensor<3x64xf32>, tensor<16x64xf32>) outs(%[[ACC]] : tensor<3x16xf32>) -> tensor<3x16xf32>
//   CHECK-NOT:   qnt.matmul
//       CHECK:   return %[[Y]]
func.func @per_group_along_n(%x: tensor<3x64xf32>, %w: !w, %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%acc : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<64x16, #qnt.scheme<si4, symmetric, per_group<1, 8>>>

// The packed weight itself is [K, N]: qnt.matmul would need its codes
// transposed.
// CHECK-LABEL: func.func @packed_weight_kn
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<64x16, #qnt.scheme<si4, symmetric, per_group<1, 8>>>, %[[ACC:.*]]: tensor<3x16xf32>)
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]]
//       CHECK:   %[[Y:.*]] = linalg.matmul ins(%[[X]], %[[D]] : tensor<3x64xf32>, tensor<64x16xf32>) outs(%[[ACC]] : tensor<3x16xf32>) -> tensor<3x16xf32>
//   CHECK-NOT:   qnt.matmul
//       CHECK:   return %[[Y]]
func.func @packed_weight_kn(%x: tensor<3x64xf32>, %w: !w, %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<64x16xf32>
  %y = linalg.matmul ins(%x, %d : tensor<3x64xf32>, tensor<64x16xf32>) outs(%acc : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// qnt.matmul returns x's element type; an f16 x with an f32 result is not it.
// CHECK-LABEL: func.func @mixed_element_types
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf16>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, %[[ACC:.*]]: tensor<3x16xf32>)
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]]
//       CHECK:   %[[Y:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[X]], %[[D]] : tensor<3x64xf16>, tensor<16x64xf32>) outs(%[[ACC]] : tensor<3x16xf32>) -> tensor<3x16xf32>
//   CHECK-NOT:   qnt.matmul
//       CHECK:   return %[[Y]]
func.func @mixed_element_types(%x: tensor<3x64xf16>, %w: !w, %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf16>, tensor<16x64xf32>) outs(%acc : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// A generic whose body is not exactly acc + x * w (here x * -w) is no linear
// layer, although linalg's contraction check looks through the negf.
// CHECK-LABEL: func.func @generic_not_multiply_add
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, %[[ACC:.*]]: tensor<3x16xf32>)
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]]
//       CHECK:   %[[Y:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[D]] : tensor<3x64xf32>, tensor<16x64xf32>) outs(%[[ACC]] : tensor<3x16xf32>)
//       CHECK:     arith.negf
//   CHECK-NOT:   qnt.matmul
//       CHECK:   return %[[Y]]
func.func @generic_not_multiply_add(%x: tensor<3x64xf32>, %w: !w, %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%acc : tensor<3x16xf32>) {
  ^bb0(%in: f32, %wt: f32, %a: f32):
    %n = arith.negf %wt : f32
    %p = arith.mulf %in, %n : f32
    %s = arith.addf %a, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// Accumulating into an input (in + w * acc) is no linear layer.
// CHECK-LABEL: func.func @generic_accumulates_into_input
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, %[[ACC:.*]]: tensor<3x16xf32>)
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]]
//       CHECK:   %[[Y:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[D]] : tensor<3x64xf32>, tensor<16x64xf32>) outs(%[[ACC]] : tensor<3x16xf32>)
//   CHECK-NOT:   qnt.matmul
//       CHECK:   return %[[Y]]
func.func @generic_accumulates_into_input(%x: tensor<3x64xf32>, %w: !w, %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%acc : tensor<3x16xf32>) {
  ^bb0(%in: f32, %wt: f32, %a: f32):
    %p = arith.mulf %wt, %a : f32
    %s = arith.addf %in, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}
