// RUN: quant-opt %s --qnt-decompose-attention | FileCheck %s

// An i8 cache: the codes of the live rows are read as floats in the dot
// products, each row's scale (its bytes 8..11, composed little-endian)
// multiplies the scores and the probabilities; no float copy of the cache.
// CHECK-LABEL: func.func @i8_cache
//       CHECK:   %[[KC:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0] [%[[N:.*]], 2, 8] [1, 1, 1] : tensor<16x2x12xi8> to tensor<?x2x8xi8>
//       CHECK:   linalg.generic
//       CHECK:     tensor.extract %{{.*}}[%{{.*}}, %{{.*}}, %c8{{.*}}] : tensor<16x2x12xi8>
//       CHECK:     arith.bitcast %{{.*}} : i32 to f32
//       CHECK:   linalg.generic {{.*}} ins(%{{.*}}, %[[KC]] : tensor<1x4x8xf32>, tensor<?x2x8xi8>)
//       CHECK:     arith.sitofp %{{.*}} : i8 to f32
//   CHECK-NOT:   tensor<?x2x8xf32>
//       CHECK:   return
func.func @i8_cache(%q: tensor<1x4x8xf32>, %k: tensor<16x2x12xi8>, %pos: index) -> tensor<1x4x8xf32> {
  %o = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<i8>, scale = 0.5 : f32} : tensor<1x4x8xf32>, tensor<16x2x12xi8>, tensor<16x2x12xi8> -> tensor<1x4x8xf32>
  return %o : tensor<1x4x8xf32>
}

// Packing rows: max |x| per token and head, then each byte of a row (a code
// below 8, else a byte of the scale).
// CHECK-LABEL: func.func @pack
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
//       CHECK:     math.absf
//       CHECK:   linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2x12xi8>)
//       CHECK:     math.roundeven
//       CHECK:     arith.fptosi %{{.*}} : f32 to i8
//       CHECK:     arith.shrui
//       CHECK:     arith.select
func.func @pack(%rows: tensor<?x2x8xf32>) -> tensor<?x2x12xi8> {
  %p = qnt.pack_cache_rows %rows {format = #qnt.cache_format<i8>} : tensor<?x2x8xf32> -> tensor<?x2x12xi8>
  return %p : tensor<?x2x12xi8>
}
