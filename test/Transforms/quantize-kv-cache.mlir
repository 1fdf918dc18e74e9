// RUN: quant-opt %s --split-input-file --qnt-quantize-kv-cache --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --split-input-file --qnt-quantize-kv-cache=format=f32 | FileCheck %s --check-prefix=F32
// RUN: quant-opt %s --split-input-file --qnt-quantize-kv-cache=format=f16 --verify-diagnostics | FileCheck %s --check-prefix=F16
// RUN: not quant-opt %s --split-input-file --qnt-quantize-kv-cache=format=i2 2>&1 | FileCheck %s --check-prefix=BADFORMAT

// RUN: quant-opt %s --split-input-file --qnt-quantize-kv-cache="format=i4 block=8 window=8" --verify-diagnostics | FileCheck %s --check-prefix=I4
// RUN: not quant-opt %s --split-input-file --qnt-quantize-kv-cache="format=i4 block=6" 2>&1 | FileCheck %s --check-prefix=BADBLOCK
// RUN: not quant-opt %s --split-input-file --qnt-quantize-kv-cache="format=i4 block=8 window=12" 2>&1 | FileCheck %s --check-prefix=BADWINDOW
// RUN: not quant-opt %s --split-input-file --qnt-quantize-kv-cache="format=i4 block=16 window=16" 2>&1 | FileCheck %s --check-prefix=I4POSITIONS
// RUN: not quant-opt %s --split-input-file --qnt-quantize-kv-cache="format=i4 block=8 window=16" 2>&1 | FileCheck %s --check-prefix=I4WINDOW

// BADFORMAT: error: qnt-quantize-kv-cache option format=i2 must be f32, f16, i8 or i4
// BADBLOCK: error: qnt-quantize-kv-cache option block=6 must be a power of two from 8 to 256
// BADWINDOW: error: qnt-quantize-kv-cache option window=12 must be a multiple of the block 8 from 8 to 4096
// I4POSITIONS: error: 'qnt.attention' op qnt-quantize-kv-cache: an i4 cache needs an even head size and positions a multiple of the block 16 and at least the window 16 (it has head size 4 and 8 positions)
// I4WINDOW: error: 'qnt.attention' op qnt-quantize-kv-cache: an i4 cache needs an even head size and positions a multiple of the block 8 and at least the window 16 (it has head size 4 and 8 positions)

// The importer's shape of a model: caches [layers, positions, kv heads *
// head size] passed through a loop over the prompt and a call, rows
// inserted, layer slices read by attention. Every cache value becomes
// [2, 8, 12] x i8: per position 2 kv heads of 4 codes, their 2 multipliers
// and a 2-byte step.

// CHECK-LABEL: func.func @prefill
//  CHECK-SAME:   %[[K:[^:]*]]: tensor<2x8x12xi8>, %[[V:[^:]*]]: tensor<2x8x12xi8>
//  CHECK-SAME:   -> (tensor<2x8x12xi8>, tensor<2x8x12xi8>)
//       CHECK:   scf.for {{.*}} iter_args(%[[KI:.*]] = %[[K]], %[[VI:.*]] = %[[V]]) -> (tensor<2x8x12xi8>, tensor<2x8x12xi8>)
//       CHECK:     %[[KE:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%[[N:.*]], 2, 4] : tensor<?x8xf32> into tensor<?x2x4xf32>
//       CHECK:     %[[KP:.*]] = qnt.pack_cache_rows %[[KE]] {format = #qnt.cache_format<i8>} : tensor<?x2x4xf32> -> tensor<?x12xi8>
//       CHECK:     %[[K1:.*]] = tensor.insert_slice %[[KP]] into %[[KI]][1, %[[P:.*]], 0] [1, %[[N]], 12] [1, 1, 1] : tensor<?x12xi8> into tensor<2x8x12xi8>
//       CHECK:     %[[VP:.*]] = qnt.pack_cache_rows %{{.*}} {format = #qnt.cache_format<i8>} : tensor<?x2x4xf32> -> tensor<?x12xi8>
//       CHECK:     %[[V1:.*]] = tensor.insert_slice %[[VP]] into %[[VI]][1, %[[P]], 0] [1, %[[N]], 12] [1, 1, 1] : tensor<?x12xi8> into tensor<2x8x12xi8>
//       CHECK:     %[[KS:.*]] = tensor.extract_slice %[[K1]][1, 0, 0] [1, 8, 12] [1, 1, 1] : tensor<2x8x12xi8> to tensor<8x12xi8>
//       CHECK:     %[[VS:.*]] = tensor.extract_slice %[[V1]][1, 0, 0] [1, 8, 12] [1, 1, 1] : tensor<2x8x12xi8> to tensor<8x12xi8>
//       CHECK:     qnt.attention %{{.*}}, %[[KS]], %[[VS]], %[[P]] {cache = #qnt.cache_format<i8>, scale = 5.000000e-01 : f32} : tensor<?x4x4xf32>, tensor<8x12xi8>, tensor<8x12xi8> -> tensor<?x4x4xf32>
//       CHECK:     scf.yield %[[K1]], %[[V1]] : tensor<2x8x12xi8>, tensor<2x8x12xi8>
// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%{{.*}}: tensor<1xi32>, %{{.*}}: index, %[[FK:.*]]: tensor<2x8x12xi8>, %[[FV:.*]]: tensor<2x8x12xi8>) -> (tensor<2x8x12xi8>, tensor<2x8x12xi8>)
//       CHECK:   %[[R:.*]]:2 = call @prefill(%{{.*}}, %{{.*}}, %[[FK]], %[[FV]]) : (tensor<?x16xf32>, index, tensor<2x8x12xi8>, tensor<2x8x12xi8>) -> (tensor<2x8x12xi8>, tensor<2x8x12xi8>)
//       CHECK:   return %[[R]]#0, %[[R]]#1

// An f16 cache: the same rewrite, rows of 4 half floats.
// F16-LABEL: func.func @prefill
//  F16-SAME:   %[[K:[^:]*]]: tensor<2x8x2x4xf16>, %[[V:[^:]*]]: tensor<2x8x2x4xf16>
//       F16:     %[[KP:.*]] = qnt.pack_cache_rows %{{.*}} {format = #qnt.cache_format<f16>} : tensor<?x2x4xf32> -> tensor<?x2x4xf16>
//       F16:     tensor.insert_slice %[[KP]] into %{{.*}}[1, %{{.*}}, 0, 0] [1, %{{.*}}, 2, 4] [1, 1, 1, 1] : tensor<?x2x4xf16> into tensor<2x8x2x4xf16>
//       F16:     qnt.attention %{{.*}} {cache = #qnt.cache_format<f16>, scale = 5.000000e-01 : f32} : tensor<?x4x4xf32>, tensor<8x2x4xf16>, tensor<8x2x4xf16> -> tensor<?x4x4xf32>
// F16-LABEL: func.func @forward
//  F16-SAME:   -> (tensor<2x8x2x4xf16>, tensor<2x8x2x4xf16>)

// An i4 cache with blocks of 8 positions and a window of 8
// (docs/BIT_LAYOUT.md): keys and values, followed from the attention back
// through the loop and the call, become [2, 2, 76] x i8 per layer and kv
// head (one block of 8 x 4 codes in 16 bytes, 4 f16 scales, 4 zero points:
// 28 bytes; a window of 8 slots of 4 codes and an f16 scale: 48 bytes), and
// the module records the 8 positions they hold (qnt.context). A write
// becomes its rows in window form, the blocks that leave the window
// (inserted at block windowStart(pos) / 8, before the attention) and the
// rows that stay copied into the window's ring after it, in two parts
// where the ring wraps; the attention reads the rows in window form as
// recent_keys and recent_values.
// I4: module attributes {qnt.context = 8 : i64
// I4-LABEL: func.func @prefill
//  I4-SAME:   %{{[^:]*}}: tensor<2x2x76xi8>, %{{[^:]*}}: tensor<2x2x76xi8>) -> (tensor<2x2x76xi8>, tensor<2x2x76xi8>)
//       I4:   scf.for {{.*}} iter_args(%[[K:.*]] = %{{.*}}, %[[V:.*]] = %{{.*}}) -> (tensor<2x2x76xi8>, tensor<2x2x76xi8>)
//       I4:     %[[KE:.*]] = tensor.expand_shape
//       I4:     %[[KR:.*]] = qnt.pack_window_rows %[[KE]] : tensor<?x2x4xf32> -> tensor<2x?xi8>
//       I4:     %[[KW:.*]] = tensor.extract_slice %[[K]][1, 0, 28] [1, 2, 48] [1, 1, 1] : tensor<2x2x76xi8> to tensor<2x48xi8>
//       I4:     %[[KB:.*]] = qnt.pack_cache_blocks %[[KW]], %[[KR]], %[[P:.*]] {block = 8 : i64, window = 8 : i64} : tensor<2x48xi8>, tensor<2x?xi8> -> tensor<2x?xi8>
//       I4:     %[[K1:.*]] = tensor.insert_slice %[[KB]] into %[[K]][1, 0, %{{.*}}] [1, 2, %{{.*}}] [1, 1, 1] : tensor<2x?xi8> into tensor<2x2x76xi8>
//       I4:     %[[VR:.*]] = qnt.pack_window_rows %{{.*}} : tensor<?x2x4xf32> -> tensor<2x?xi8>
//       I4:     %[[VW:.*]] = tensor.extract_slice %[[V]][1, 0, 28] [1, 2, 48] [1, 1, 1] : tensor<2x2x76xi8> to tensor<2x48xi8>
//       I4:     %[[VB:.*]] = qnt.pack_cache_blocks %[[VW]], %[[VR]], %[[P]] {block = 8 : i64, window = 8 : i64} : tensor<2x48xi8>, tensor<2x?xi8> -> tensor<2x?xi8>
//       I4:     %[[V1:.*]] = tensor.insert_slice %[[VB]] into %[[V]][1, 0, %{{.*}}] [1, 2, %{{.*}}] [1, 1, 1] : tensor<2x?xi8> into tensor<2x2x76xi8>
//       I4:     %[[KS:.*]] = tensor.extract_slice %[[K1]][1, 0, 0] [1, 2, 76] [1, 1, 1] : tensor<2x2x76xi8> to tensor<2x76xi8>
//       I4:     %[[VS:.*]] = tensor.extract_slice %[[V1]][1, 0, 0] [1, 2, 76] [1, 1, 1] : tensor<2x2x76xi8> to tensor<2x76xi8>
//       I4:     qnt.attention %{{.*}}, %[[KS]], %[[VS]], %[[P]] recent %[[KR]], %[[VR]] {cache = #qnt.cache_format<i4>, cache_block = 8 : i64, cache_window = 8 : i64, scale = 5.000000e-01 : f32} : tensor<?x4x4xf32>, tensor<2x76xi8>, tensor<2x76xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x4x4xf32>
//       I4:     %[[VP1:.*]] = tensor.extract_slice %[[VR]][0, %{{.*}}] [2, %{{.*}}] [1, 1] : tensor<2x?xi8> to tensor<2x?xi8>
//       I4:     %[[V2:.*]] = tensor.insert_slice %[[VP1]] into %[[V1]][1, 0, %{{.*}}] [1, 2, %{{.*}}] [1, 1, 1] : tensor<2x?xi8> into tensor<2x2x76xi8>
//       I4:     %[[VP2:.*]] = tensor.extract_slice %[[VR]][0, %{{.*}}] [2, %{{.*}}] [1, 1] : tensor<2x?xi8> to tensor<2x?xi8>
//       I4:     %[[V3:.*]] = tensor.insert_slice %[[VP2]] into %[[V2]][1, 0, 28] [1, 2, %{{.*}}] [1, 1, 1] : tensor<2x?xi8> into tensor<2x2x76xi8>
//       I4:     %[[KP1:.*]] = tensor.extract_slice %[[KR]][0, %{{.*}}] [2, %{{.*}}] [1, 1] : tensor<2x?xi8> to tensor<2x?xi8>
//       I4:     %[[K2:.*]] = tensor.insert_slice %[[KP1]] into %[[K1]][1, 0, %{{.*}}] [1, 2, %{{.*}}] [1, 1, 1] : tensor<2x?xi8> into tensor<2x2x76xi8>
//       I4:     %[[KP2:.*]] = tensor.extract_slice %[[KR]][0, %{{.*}}] [2, %{{.*}}] [1, 1] : tensor<2x?xi8> to tensor<2x?xi8>
//       I4:     %[[K3:.*]] = tensor.insert_slice %[[KP2]] into %[[K2]][1, 0, 28] [1, 2, %{{.*}}] [1, 1, 1] : tensor<2x?xi8> into tensor<2x2x76xi8>
//       I4:     scf.yield %[[K3]], %[[V3]] : tensor<2x2x76xi8>, tensor<2x2x76xi8>
// I4-LABEL: func.func @forward
//  I4-SAME:   -> (tensor<2x2x76xi8>, tensor<2x2x76xi8>)

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
