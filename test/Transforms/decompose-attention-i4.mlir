// RUN: quant-opt %s --qnt-decompose-attention | FileCheck %s

// The i4 cache (#qnt.cache_format<i4>, blocks of 32 and a window of 64
// slots; head size 16: blocks of 304 bytes, slots of 18) in the GPU
// pipeline's form. The attention decodes each value where the dot products
// and the weighted sum read it: a nibble of its block's codes, the channel's
// zero point and f16 scale (bytes 256 + 2i and 257 + 2i), or a window slot's
// code and scale; no float copy of the cache. (The numerics are checked in
// test/Integration/CPU/attention.test.)
// CHECK-LABEL: func.func @i4
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<?x8x16xf32>) outs(%{{.*}} : tensor<?x8x?xf32>)
//       CHECK:     tensor.extract %arg1[{{.*}}] : tensor<2x1760xi8>
//       CHECK:     arith.shrui %{{.*}} : i8
//       CHECK:     arith.andi %{{.*}} : i8
//       CHECK:     arith.bitcast %{{.*}} : i16 to f16
//       CHECK:     arith.uitofp %{{.*}} : i8 to f32
//       CHECK:     tensor.extract %arg3[{{.*}}] : tensor<2x?xi8>
//       CHECK:     arith.select
//       CHECK:   linalg.generic {{.*}} ins(%{{.*}} : tensor<?x8x?xf32>) outs(%{{.*}} : tensor<?x8x16xf32>)
//       CHECK:     tensor.extract %arg2[{{.*}}] : tensor<2x1760xi8>
//       CHECK:     tensor.extract %arg4[{{.*}}] : tensor<2x?xi8>
//   CHECK-NOT:   tensor<{{.*}}x2x16xf32>
//       CHECK:   return
func.func @i4(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %p: index) -> tensor<?x8x16xf32> {
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  return %o : tensor<?x8x16xf32>
}

// Rows in window form: max |x| per token and kv head, its f16 scale, then
// each byte of a head's slots (a code where j % 18 < 16, else a byte of the
// scale).
// CHECK-LABEL: func.func @window_rows
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0 : tensor<?x2x16xf32>) outs(%{{.*}} : tensor<?x2xf32>)
//       CHECK:     math.absf
//       CHECK:   linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2xf16>)
//       CHECK:     arith.truncf %{{.*}} : f32 to f16
//       CHECK:   linalg.generic {{.*}} outs(%{{.*}} : tensor<2x?xi8>)
//       CHECK:     arith.remui %{{.*}}, %c18
//       CHECK:     math.roundeven
//       CHECK:     arith.fptosi %{{.*}} : f32 to i8
//       CHECK:     arith.shrui %{{.*}} : i16
//       CHECK:     arith.select
func.func @window_rows(%rows: tensor<?x2x16xf32>) -> tensor<2x?xi8> {
  %r = qnt.pack_window_rows %rows : tensor<?x2x16xf32> -> tensor<2x?xi8>
  return %r : tensor<2x?xi8>
}

// The blocks leaving the window: their positions' window values [kv head,
// block, position, channel], each channel's range over a block, the squared
// errors of its 5 clipped ranges, the least one's factor, then each byte
// (two codes, a byte of a scale, or a zero point).
// CHECK-LABEL: func.func @blocks
//       CHECK:   linalg.generic {{.*}} outs(%{{.*}} : tensor<2x?x32x16xf32>)
//       CHECK:     tensor.extract %arg0[{{.*}}] : tensor<2x1152xi8>
//       CHECK:     tensor.extract %arg1[{{.*}}] : tensor<2x?xi8>
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<2x?x32x16xf32>) outs(%{{.*}} : tensor<2x?x16xf32>)
//       CHECK:     arith.minimumf
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<2x?x32x16xf32>) outs(%{{.*}} : tensor<2x?x16xf32>)
//       CHECK:     arith.maximumf
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} {{.*}} outs(%{{.*}} : tensor<2x?x16x5xf32>)
//       CHECK:   linalg.generic {{.*}} outs(%{{.*}} : tensor<2x?x16xf32>)
//       CHECK:     arith.cmpf olt
//       CHECK:   linalg.generic {{.*}} outs(%{{.*}} : tensor<2x?xi8>)
//       CHECK:     arith.shli %{{.*}} : i8
//       CHECK:     arith.ori %{{.*}} : i8
//       CHECK:     arith.select
func.func @blocks(%w: tensor<2x1152xi8>, %r: tensor<2x?xi8>, %p: index) -> tensor<2x?xi8> {
  %b = qnt.pack_cache_blocks %w, %r, %p {block = 32 : i64, window = 64 : i64} : tensor<2x1152xi8>, tensor<2x?xi8> -> tensor<2x?xi8>
  return %b : tensor<2x?xi8>
}
