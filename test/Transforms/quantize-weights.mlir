// qnt-quantize-weights: float weight constants of linear layers become packed
// qnt.constant + qnt.dequantize; the layer itself is unchanged.
// RUN: quant-opt %s --split-input-file --qnt-quantize-weights="bits=4 group-size=8 clip-search=false" | FileCheck %s --check-prefix=EXACT
// RUN: quant-opt %s --split-input-file --qnt-quantize-weights | FileCheck %s --check-prefix=DEFAULT
// RUN: quant-opt %s --split-input-file --qnt-quantize-weights="bits=3 group-size=0 symmetric=false scale-type=f16" | FileCheck %s --check-prefix=ASYM
// RUN: quant-opt %s --split-input-file --qnt-quantize-weights="skip=fc,attn" | FileCheck %s --check-prefix=SKIP

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// Hand-derived: max|w| = 1.4, scale = 1.4 / 7 = 0.2 (f32 0x3E4CCCCD), codes
// 1 -7 4 7 0 0 2 0 (0.7 / 0.2 = 3.5 rounds to even), packed low nibble
// first: 0x91 0x74 0x00 0x02. Blobs start with their 8-byte alignment.
// EXACT-LABEL: func.func @transposed_b_weight
//  EXACT-SAME:   (%[[X:.*]]: tensor<2x8xf32>)
//       EXACT:   %[[W:.*]] = qnt.constant {codes = dense_resource<fc.codes> : tensor<1x4xi8>, scales = dense_resource<fc.scales> : tensor<1x1xf32>} : !qnt.packed<1x8, #qnt.scheme<si4, symmetric, per_group<1, 8>>>
//       EXACT:   %[[D:.*]] = qnt.dequantize %[[W]] : !qnt.packed<1x8, #qnt.scheme<si4, symmetric, per_group<1, 8>>> -> tensor<1x8xf32>
//   EXACT-NOT:   arith.constant dense
//       EXACT:   linalg.matmul {{.*}} ins(%[[X]], %[[D]] : tensor<2x8xf32>, tensor<1x8xf32>)
//       EXACT:   fc.codes: "0x0800000091740002"
//       EXACT:   fc.scales: "0x08000000CDCC4C3E"
// Default options are int4 in groups of 128, which does not divide K = 8.
// DEFAULT-LABEL: func.func @transposed_b_weight
//       DEFAULT:   qnt.constant {{.*}} : !qnt.packed<1x8, #qnt.scheme<si4, symmetric, per_channel<0>>>
// ASYM-LABEL: func.func @transposed_b_weight
//       ASYM:   qnt.constant {codes = dense_resource<fc.codes> : tensor<1x3xi8>, scales = dense_resource<fc.scales> : tensor<1x1xf16>, zero_points = dense_resource<fc.zero_points> : tensor<1x1xui8>} : !qnt.packed<1x8, #qnt.scheme<ui3, asymmetric, per_channel<0>, scale = f16>>
// SKIP-LABEL: func.func @transposed_b_weight
//   SKIP-NOT:   qnt.
//       SKIP:   arith.constant dense<{{.*}}> : tensor<1x8xf32>
func.func @transposed_b_weight(%x: tensor<2x8xf32>) -> tensor<2x1xf32> {
  %w = arith.constant dense<[[0.2, -1.4, 0.7, 1.4, 0.0, -0.1, 0.35, 0.05]]> : tensor<1x8xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x1xf32>) -> tensor<2x1xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<2x8xf32>, tensor<1x8xf32>) outs(%f : tensor<2x1xf32>) -> tensor<2x1xf32> loc("fc")
  return %y : tensor<2x1xf32>
}

// -----

// A plain matmul reads its weight as [K, N]: the packed weight is [N, K] and a
// transpose restores the layout the op reads.
// SKIP-LABEL: func.func @plain_matmul_weight
// EXACT-LABEL: func.func @plain_matmul_weight
//       EXACT:   %[[W:.*]] = qnt.constant {{.*}} : !qnt.packed<2x8, #qnt.scheme<si4, symmetric, per_group<1, 8>>>
//       EXACT:   %[[D:.*]] = qnt.dequantize %[[W]] : {{.*}} -> tensor<2x8xf32>
//       EXACT:   %[[E:.*]] = tensor.empty() : tensor<8x2xf32>
//       EXACT:   %[[T:.*]] = linalg.transpose ins(%[[D]] : tensor<2x8xf32>) outs(%[[E]] : tensor<8x2xf32>) permutation = [1, 0]
//       EXACT:   linalg.matmul ins(%{{.*}}, %[[T]] : tensor<3x8xf32>, tensor<8x2xf32>)
// Column 0 of W^T is 0.1 * (1..8): max 0.8, scale 0.8 / 7, codes 1 2 3 4 4 5 6 7
// (0.5 / (0.8/7) = 4.375 -> 4), bytes 0x21 0x43 0x54 0x76; row 1 is all -0.5
// -> codes -7 (nibble 0x9), scale 0.5 / 7.
//       EXACT:   weight0.codes: "0x080000002143547699999999"
func.func @plain_matmul_weight(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.1, -0.5], [0.2, -0.5], [0.3, -0.5], [0.4, -0.5],
                             [0.5, -0.5], [0.6, -0.5], [0.7, -0.5], [0.8, -0.5]]> : tensor<8x2xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x2xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %y = linalg.matmul ins(%x, %w : tensor<3x8xf32>, tensor<8x2xf32>) outs(%f : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// matvec and vecmat, and one constant shared by two layers (quantized once).
// EXACT-LABEL: func.func @matvec_vecmat_shared
//       EXACT:   %[[W:.*]] = qnt.constant {{.*}} : !qnt.packed<4x8,
//       EXACT:   %[[D:.*]] = qnt.dequantize %[[W]]
//       EXACT:   %[[V:.*]] = qnt.constant {{.*}} : !qnt.packed<4x8,
//       EXACT:   %[[DV:.*]] = qnt.dequantize %[[V]]
//       EXACT:   %[[TV:.*]] = linalg.transpose ins(%[[DV]] : tensor<4x8xf32>)
//   EXACT-NOT:   qnt.
//       EXACT:   linalg.matvec ins(%[[D]], %{{.*}} : tensor<4x8xf32>, tensor<8xf32>)
//       EXACT:   linalg.matvec ins(%[[D]], %{{.*}} : tensor<4x8xf32>, tensor<8xf32>)
//       EXACT:   linalg.vecmat ins(%{{.*}}, %[[TV]] : tensor<8xf32>, tensor<8x4xf32>)
func.func @matvec_vecmat_shared(%x: tensor<8xf32>, %o: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %w = arith.constant dense<0.25> : tensor<4x8xf32>
  %v = arith.constant dense<0.5> : tensor<8x4xf32>
  %a = linalg.matvec ins(%w, %x : tensor<4x8xf32>, tensor<8xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
  %b = linalg.matvec ins(%w, %x : tensor<4x8xf32>, tensor<8xf32>) outs(%a : tensor<4xf32>) -> tensor<4xf32>
  %c = linalg.vecmat ins(%x, %v : tensor<8xf32>, tensor<8x4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
  return %a, %b, %c : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// A linalg.generic contraction with a weight shared across a batch, and a
// layer whose own #qnt.scheme (set by the cost model) wins over the options.
// EXACT-LABEL: func.func @generic_batch_and_scheme
//       EXACT:   qnt.constant {{.*}} : !qnt.packed<4x8, #qnt.scheme<si4, symmetric, per_group<1, 8>>>
//       EXACT:   linalg.generic
//       EXACT:   qnt.constant {{.*}} : !qnt.packed<4x8, #qnt.scheme<ui2, asymmetric, per_group<1, 4>, scale = bf16>>
//       EXACT:   linalg.matmul
func.func @generic_batch_and_scheme(%x: tensor<2x3x8xf32>, %o: tensor<2x3x4xf32>, %x2: tensor<3x8xf32>, %o2: tensor<3x4xf32>) -> (tensor<2x3x4xf32>, tensor<3x4xf32>) {
  %w = arith.constant dense<0.125> : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x3x8xf32>, tensor<4x8xf32>) outs(%o : tensor<2x3x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3x4xf32>
  %w2 = arith.constant dense<-0.75> : tensor<4x8xf32>
  %y2 = linalg.matmul indexing_maps = #tb ins(%x2, %w2 : tensor<3x8xf32>, tensor<4x8xf32>) outs(%o2 : tensor<3x4xf32>)
      {qnt.scheme = #qnt.scheme<ui2, asymmetric, per_group<1, 4>, scale = bf16>} -> tensor<3x4xf32>
  return %y, %y2 : tensor<2x3x4xf32>, tensor<3x4xf32>
}

// -----

// Not linear layers: an elementwise op, and a matmul of two activations.
// EXACT-LABEL: func.func @leaves_other_ops
//   EXACT-NOT:   qnt.
//       EXACT:   return
func.func @leaves_other_ops(%x: tensor<4x8xf32>, %y: tensor<8x4xf32>, %o: tensor<4x4xf32>) -> (tensor<4x8xf32>, tensor<4x4xf32>) {
  %c = arith.constant dense<2.0> : tensor<4x8xf32>
  %a = linalg.add ins(%x, %c : tensor<4x8xf32>, tensor<4x8xf32>) outs(%x : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = linalg.matmul ins(%x, %y : tensor<4x8xf32>, tensor<8x4xf32>) outs(%o : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %a, %m : tensor<4x8xf32>, tensor<4x4xf32>
}

// -----

// tosa.matmul with a constant right operand [1, K, N] becomes a linalg.matmul
// between reshapes and is quantized like the plain matmul above (same bytes).
// EXACT-LABEL: func.func @tosa_matmul
//  EXACT-SAME:   (%[[A:.*]]: tensor<1x3x8xf32>)
//       EXACT:   %[[A2:.*]] = tensor.collapse_shape %[[A]] {{\[}}[0, 1], [2]] : tensor<1x3x8xf32> into tensor<3x8xf32>
//       EXACT:   %[[W:.*]] = qnt.constant {{.*}} : !qnt.packed<2x8, #qnt.scheme<si4, symmetric, per_group<1, 8>>>
//       EXACT:   %[[D:.*]] = qnt.dequantize %[[W]]
//       EXACT:   %[[T:.*]] = linalg.transpose ins(%[[D]] : tensor<2x8xf32>)
//       EXACT:   %[[Y:.*]] = linalg.matmul ins(%[[A2]], %[[T]] : tensor<3x8xf32>, tensor<8x2xf32>)
//       EXACT:   %[[R:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [1, 3, 2] : tensor<3x2xf32> into tensor<1x3x2xf32>
//   EXACT-NOT:   tosa.matmul
//       EXACT:   return %[[R]]
//       EXACT:   weight0.codes: "0x080000002143547699999999"
func.func @tosa_matmul(%a: tensor<1x3x8xf32>) -> tensor<1x3x2xf32> {
  %b = "tosa.const"() <{values = dense<[[[0.1, -0.5], [0.2, -0.5], [0.3, -0.5], [0.4, -0.5],
                                         [0.5, -0.5], [0.6, -0.5], [0.7, -0.5], [0.8, -0.5]]]> : tensor<1x8x2xf32>}> : () -> tensor<1x8x2xf32>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = tosa.matmul %a, %b, %zp, %zp : (tensor<1x3x8xf32>, tensor<1x8x2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x3x2xf32>
  return %y : tensor<1x3x2xf32>
}
