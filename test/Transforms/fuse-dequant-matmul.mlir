// qnt-fuse-dequant-matmul: a linear layer reading a dequantized weight becomes
// one qnt.matmul on the packed weight.
// RUN: quant-opt %s --split-input-file --qnt-fuse-dequant-matmul | FileCheck %s

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// CHECK-LABEL: func.func @transposed_b_zero_init
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>)
//   CHECK-NOT:   qnt.dequantize
//   CHECK-NOT:   linalg.matmul
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x16xf32>
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[Y]]
func.func @transposed_b_zero_init(%x: tensor<3x64xf32>, %w: !w) -> tensor<3x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%f : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>

// A plain matmul reads W^T through a transpose; a non-zero accumulator is
// added back after the fused matmul.
// CHECK-LABEL: func.func @plain_matmul_with_accumulator
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: !qnt.packed<{{.*}}>, %[[ACC:.*]]: tensor<?x16xf32>)
//   CHECK-NOT:   linalg.transpose
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<?x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x16xf32>
//       CHECK:   %[[S:.*]] = linalg.add ins(%[[Y]], %[[ACC]] : tensor<?x16xf32>, tensor<?x16xf32>) outs(%[[ACC]] : tensor<?x16xf32>)
//       CHECK:   return %[[S]]
func.func @plain_matmul_with_accumulator(%x: tensor<?x64xf32>, %w: !w, %acc: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %e = tensor.empty() : tensor<64x16xf32>
  %t = linalg.transpose ins(%d : tensor<16x64xf32>) outs(%e : tensor<64x16xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %t : tensor<?x64xf32>, tensor<64x16xf32>) outs(%acc : tensor<?x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>

// matvec (W on the left, x a vector) and a batched generic contraction sharing
// the weight; the dequantize has no other user and disappears.
// CHECK-LABEL: func.func @matvec_and_batched_generic
//  CHECK-SAME:   (%[[V:.*]]: tensor<64xf32>, %[[X:.*]]: tensor<2x3x64xf32>, %[[W:.*]]: !qnt.packed
//   CHECK-NOT:   qnt.dequantize
//       CHECK:   %[[A:.*]] = qnt.matmul %[[V]], %[[W]] : (tensor<64xf32>, !qnt.packed<16x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>) -> tensor<16xf32>
//       CHECK:   %[[B:.*]] = qnt.matmul %[[X]], %[[W]] : (tensor<2x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>) -> tensor<2x3x16xf32>
//       CHECK:   return %[[A]], %[[B]]
func.func @matvec_and_batched_generic(%v: tensor<64xf32>, %x: tensor<2x3x64xf32>, %w: !w) -> (tensor<16xf32>, tensor<2x3x16xf32>) {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<16xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<16xf32>) -> tensor<16xf32>
  %a = linalg.matvec ins(%d, %v : tensor<16x64xf32>, tensor<64xf32>) outs(%f1 : tensor<16xf32>) -> tensor<16xf32>
  %e2 = tensor.empty() : tensor<2x3x16xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %d : tensor<2x3x64xf32>, tensor<16x64xf32>) outs(%f2 : tensor<2x3x16xf32>) {
  ^bb0(%in: f32, %wt: f32, %acc: f32):
    %p = arith.mulf %in, %wt : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3x16xf32>
  return %a, %b : tensor<16xf32>, tensor<2x3x16xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// A dequantize with another user stays for that user.
// CHECK-LABEL: func.func @dequantize_with_other_user
//  CHECK-SAME:   (%[[X:.*]]: tensor<3x64xf32>, %[[W:.*]]: !qnt.packed
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]]
//       CHECK:   %[[Y:.*]] = qnt.matmul %[[X]], %[[W]]
//       CHECK:   return %[[Y]], %[[D]]
func.func @dequantize_with_other_user(%x: tensor<3x64xf32>, %w: !w, %o: tensor<3x16xf32>) -> (tensor<3x16xf32>, tensor<16x64xf32>) {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %z = arith.constant dense<0.0> : tensor<3x16xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %d : tensor<3x64xf32>, tensor<16x64xf32>) outs(%z : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y, %d : tensor<3x16xf32>, tensor<16x64xf32>
}

// -----

!w = !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
#xt = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// Not fused: x stored [K, M] (K not innermost); a weight that is not
// dequantized; f16 x with an f32 result.
// CHECK-LABEL: func.func @not_fused
//   CHECK-NOT:   qnt.matmul
//       CHECK:   return
func.func @not_fused(%xt: tensor<64x3xf32>, %x: tensor<3x64xf32>, %x16: tensor<3x64xf16>, %w: !w, %f: tensor<16x64xf32>, %o: tensor<3x16xf32>) -> (tensor<3x16xf32>, tensor<3x16xf32>, tensor<3x16xf32>) {
  %d = qnt.dequantize %w : !w -> tensor<16x64xf32>
  %a = linalg.matmul indexing_maps = #xt ins(%xt, %d : tensor<64x3xf32>, tensor<16x64xf32>) outs(%o : tensor<3x16xf32>) -> tensor<3x16xf32>
  %b = linalg.matmul indexing_maps = #tb ins(%x, %f : tensor<3x64xf32>, tensor<16x64xf32>) outs(%o : tensor<3x16xf32>) -> tensor<3x16xf32>
  %c = linalg.matmul indexing_maps = #tb ins(%x16, %d : tensor<3x64xf16>, tensor<16x64xf32>) outs(%o : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %a, %b, %c : tensor<3x16xf32>, tensor<3x16xf32>, tensor<3x16xf32>
}
