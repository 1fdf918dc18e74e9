// RUN: quant-opt %s --split-input-file --qnt-quantize-kv-cache --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --split-input-file --qnt-quantize-kv-cache=format=f32 | FileCheck %s --check-prefix=F32
// RUN: quant-opt %s --split-input-file --qnt-quantize-kv-cache=format=f16 --verify-diagnostics | FileCheck %s --check-prefix=F16
// RUN: not quant-opt %s --split-input-file --qnt-quantize-kv-cache=format=i2 2>&1 | FileCheck %s --check-prefix=BADFORMAT

// BADFORMAT: error: qnt-quantize-kv-cache option format=i2 must be f32, f16, i8 or i4

// The importer's shape of a model: caches [layers, positions, kv heads *
// head size] passed through a loop over the prompt and a call, rows
// inserted, layer slices read by attention. Every cache value becomes
// [2, 8, 2, 8] x i8 (head size 4: 4 codes and a 4-byte scale).

// CHECK-LABEL: func.func @prefill
//  CHECK-SAME:   %[[K:[^:]*]]: tensor<2x8x2x8xi8>, %[[V:[^:]*]]: tensor<2x8x2x8xi8>
//  CHECK-SAME:   -> (tensor<2x8x2x8xi8>, tensor<2x8x2x8xi8>)
//       CHECK:   scf.for {{.*}} iter_args(%[[KI:.*]] = %[[K]], %[[VI:.*]] = %[[V]]) -> (tensor<2x8x2x8xi8>, tensor<2x8x2x8xi8>)
//       CHECK:     %[[KE:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%[[N:.*]], 2, 4] : tensor<?x8xf32> into tensor<?x2x4xf32>
//       CHECK:     %[[KP:.*]] = qnt.pack_cache_rows %[[KE]] {format = #qnt.cache_format<i8>} : tensor<?x2x4xf32> -> tensor<?x2x8xi8>
//       CHECK:     %[[K1:.*]] = tensor.insert_slice %[[KP]] into %[[KI]][1, %[[P:.*]], 0, 0] [1, %[[N]], 2, 8] [1, 1, 1, 1] : tensor<?x2x8xi8> into tensor<2x8x2x8xi8>
//       CHECK:     %[[VP:.*]] = qnt.pack_cache_rows %{{.*}} {format = #qnt.cache_format<i8>} : tensor<?x2x4xf32> -> tensor<?x2x8xi8>
//       CHECK:     %[[V1:.*]] = tensor.insert_slice %[[VP]] into %[[VI]][1, %[[P]], 0, 0] [1, %[[N]], 2, 8] [1, 1, 1, 1] : tensor<?x2x8xi8> into tensor<2x8x2x8xi8>
//       CHECK:     %[[KS:.*]] = tensor.extract_slice %[[K1]][1, 0, 0, 0] [1, 8, 2, 8] [1, 1, 1, 1] : tensor<2x8x2x8xi8> to tensor<8x2x8xi8>
//       CHECK:     %[[VS:.*]] = tensor.extract_slice %[[V1]][1, 0, 0, 0] [1, 8, 2, 8] [1, 1, 1, 1] : tensor<2x8x2x8xi8> to tensor<8x2x8xi8>
//       CHECK:     qnt.attention %{{.*}}, %[[KS]], %[[VS]], %[[P]] {cache = #qnt.cache_format<i8>, scale = 5.000000e-01 : f32} : tensor<?x4x4xf32>, tensor<8x2x8xi8>, tensor<8x2x8xi8> -> tensor<?x4x4xf32>
//       CHECK:     scf.yield %[[K1]], %[[V1]] : tensor<2x8x2x8xi8>, tensor<2x8x2x8xi8>
// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%{{.*}}: tensor<1xi32>, %{{.*}}: index, %[[FK:.*]]: tensor<2x8x2x8xi8>, %[[FV:.*]]: tensor<2x8x2x8xi8>) -> (tensor<2x8x2x8xi8>, tensor<2x8x2x8xi8>)
//       CHECK:   %[[R:.*]]:2 = call @prefill(%{{.*}}, %{{.*}}, %[[FK]], %[[FV]]) : (tensor<?x16xf32>, index, tensor<2x8x2x8xi8>, tensor<2x8x2x8xi8>) -> (tensor<2x8x2x8xi8>, tensor<2x8x2x8xi8>)
//       CHECK:   return %[[R]]#0, %[[R]]#1

// An f16 cache: the same rewrite, rows of 4 half floats.
// F16-LABEL: func.func @prefill
//  F16-SAME:   %[[K:[^:]*]]: tensor<2x8x2x4xf16>, %[[V:[^:]*]]: tensor<2x8x2x4xf16>
//       F16:     %[[KP:.*]] = qnt.pack_cache_rows %{{.*}} {format = #qnt.cache_format<f16>} : tensor<?x2x4xf32> -> tensor<?x2x4xf16>
//       F16:     tensor.insert_slice %[[KP]] into %{{.*}}[1, %{{.*}}, 0, 0] [1, %{{.*}}, 2, 4] [1, 1, 1, 1] : tensor<?x2x4xf16> into tensor<2x8x2x4xf16>
//       F16:     qnt.attention %{{.*}} {cache = #qnt.cache_format<f16>, scale = 5.000000e-01 : f32} : tensor<?x4x4xf32>, tensor<8x2x4xf16>, tensor<8x2x4xf16> -> tensor<?x4x4xf32>
// F16-LABEL: func.func @forward
//  F16-SAME:   -> (tensor<2x8x2x4xf16>, tensor<2x8x2x4xf16>)

// F32-LABEL: func.func @prefill
//  F32-SAME:   tensor<2x8x8xf32>
//   F32-NOT:   qnt.pack_cache_rows
//       F32:   qnt.attention {{.*}} {scale = 5.000000e-01 : f32} : tensor<?x4x4xf32>, tensor<8x2x4xf32>, tensor<8x2x4xf32>
func.func @prefill(%q: tensor<?x16xf32>, %pos: index, %kc: tensor<2x8x8xf32>, %vc: tensor<2x8x8xf32>)
    -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %q, %c0 : tensor<?x16xf32>
  %r:2 = scf.for %i = %c0 to %c1 step %c1 iter_args(%k = %kc, %v = %vc)
      -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>) {
    %rows = tensor.extract_slice %q[0, 0] [%n, 8] [1, 1] : tensor<?x16xf32> to tensor<?x8xf32>
    %k1 = tensor.insert_slice %rows into %k[1, %pos, 0] [1, %n, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<2x8x8xf32>
    %v1 = tensor.insert_slice %rows into %v[1, %pos, 0] [1, %n, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<2x8x8xf32>
    %ks = tensor.extract_slice %k1[1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
    %ke = tensor.expand_shape %ks [[0], [1, 2]] output_shape [8, 2, 4] : tensor<8x8xf32> into tensor<8x2x4xf32>
    %vs = tensor.extract_slice %v1[1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
    %ve = tensor.expand_shape %vs [[0], [1, 2]] output_shape [8, 2, 4] : tensor<8x8xf32> into tensor<8x2x4xf32>
    %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [%n, 4, 4] : tensor<?x16xf32> into tensor<?x4x4xf32>
    %o = qnt.attention %qh, %ke, %ve, %pos {scale = 0.5 : f32} : tensor<?x4x4xf32>, tensor<8x2x4xf32>, tensor<8x2x4xf32> -> tensor<?x4x4xf32>
    scf.yield %k1, %v1 : tensor<2x8x8xf32>, tensor<2x8x8xf32>
  }
  return %r#0, %r#1 : tensor<2x8x8xf32>, tensor<2x8x8xf32>
}

func.func @forward(%t: tensor<1xi32>, %pos: index, %kc: tensor<2x8x8xf32>, %vc: tensor<2x8x8xf32>)
    -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>) {
  %q = arith.constant dense<1.0> : tensor<1x16xf32>
  %qd = tensor.cast %q : tensor<1x16xf32> to tensor<?x16xf32>
  %r:2 = call @prefill(%qd, %pos, %kc, %vc) : (tensor<?x16xf32>, index, tensor<2x8x8xf32>, tensor<2x8x8xf32>) -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>)
  return %r#0, %r#1 : tensor<2x8x8xf32>, tensor<2x8x8xf32>
}

// -----

// A cache read other than by attention cannot be rewritten.
func.func @other_reader(%q: tensor<1x4x4xf32>, %kc: tensor<8x8x8xf32>, %pos: index) -> (tensor<1x4x4xf32>, f32) {
  %c0 = arith.constant 0 : index
  %ks = tensor.extract_slice %kc[0, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<8x8x8xf32> to tensor<8x8xf32>
  %ke = tensor.expand_shape %ks [[0], [1, 2]] output_shape [8, 2, 4] : tensor<8x8xf32> into tensor<8x2x4xf32>
  %o = qnt.attention %q, %ke, %ke, %pos {scale = 0.5 : f32} : tensor<1x4x4xf32>, tensor<8x2x4xf32>, tensor<8x2x4xf32> -> tensor<1x4x4xf32>
  // expected-error @+1 {{'tensor.extract' op qnt-quantize-kv-cache: cannot rewrite this use of a KV cache}}
  %x = tensor.extract %kc[%c0, %c0, %c0] : tensor<8x8x8xf32>
  return %o, %x : tensor<1x4x4xf32>, f32
}

// -----

// Attention over something that is not a layer slice of a cache.
func.func @not_a_cache(%q: tensor<1x4x4xf32>, %k: tensor<8x2x4xf32>, %pos: index) -> tensor<1x4x4xf32> {
  // expected-error @+1 {{'qnt.attention' op qnt-quantize-kv-cache: the keys and values must be layer slices of a [layers, positions, kv heads * head size] cache}}
  %o = qnt.attention %q, %k, %k, %pos {scale = 0.5 : f32} : tensor<1x4x4xf32>, tensor<8x2x4xf32>, tensor<8x2x4xf32> -> tensor<1x4x4xf32>
  return %o : tensor<1x4x4xf32>
}
