// RUN: quant-opt %s --qnt-decompose-attention | FileCheck %s

// An i8 cache: the codes of the live records' heads are read as floats in
// the dot products; each head's scale (the position's f16 step, bytes 18
// and 19 composed little-endian, times the head's multiplier byte)
// multiplies the scores and the probabilities; no float copy of the cache.
// CHECK-LABEL: func.func @i8_cache
//       CHECK:   %[[KS:.*]] = tensor.extract_slice %{{.*}}[0, 0] [%[[N:.*]], 16] [1, 1] : tensor<16x20xi8> to tensor<?x16xi8>
//       CHECK:   %[[KC:.*]] = tensor.expand_shape %[[KS]] {{\[}}[0], [1, 2]] output_shape [%[[N]], 2, 8] : tensor<?x16xi8> into tensor<?x2x8xi8>
//       CHECK:   linalg.generic
//       CHECK:     tensor.extract %{{.*}}[%{{.*}}, %c18{{.*}}] : tensor<16x20xi8>
//       CHECK:     tensor.extract %{{.*}}[%{{.*}}, %c19{{.*}}] : tensor<16x20xi8>
//       CHECK:     arith.bitcast %{{.*}} : i16 to f16
//       CHECK:     arith.uitofp %{{.*}} : i8 to f32
//       CHECK:   linalg.generic {{.*}} ins(%{{.*}}, %[[KC]] : tensor<1x4x8xf32>, tensor<?x2x8xi8>)
//       CHECK:     arith.sitofp %{{.*}} : i8 to f32
//   CHECK-NOT:   tensor<?x2x8xf32>
//       CHECK:   return
func.func @i8_cache(%q: tensor<1x4x8xf32>, %k: tensor<16x20xi8>, %pos: index) -> tensor<1x4x8xf32> {
  %o = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<i8>, scale = 0.5 : f32} : tensor<1x4x8xf32>, tensor<16x20xi8>, tensor<16x20xi8> -> tensor<1x4x8xf32>
  return %o : tensor<1x4x8xf32>
}

// Packing rows: max |x| per token and head, the largest per token, its
// f16 step, then each byte of a record (a code below 16, a multiplier
// below 18, else a byte of the step).
// CHECK-LABEL: func.func @pack
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
//       CHECK:     math.absf
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
//       CHECK:     arith.maximumf
//       CHECK:   linalg.generic {{.*}} outs(%{{.*}} : tensor<?xf32>)
//       CHECK:     arith.truncf %{{.*}} : f32 to f16
//       CHECK:   linalg.generic {{.*}} outs(%{{.*}} : tensor<?x20xi8>)
//       CHECK:     math.ceil
//       CHECK:     math.roundeven
//       CHECK:     arith.fptosi %{{.*}} : f32 to i8
//       CHECK:     arith.fptoui %{{.*}} : f32 to i8
//       CHECK:     arith.shrui
//       CHECK:     arith.select
func.func @pack(%rows: tensor<?x2x8xf32>) -> tensor<?x20xi8> {
  %p = qnt.pack_cache_rows %rows {format = #qnt.cache_format<i8>} : tensor<?x2x8xf32> -> tensor<?x20xi8>
  return %p : tensor<?x20xi8>
}
