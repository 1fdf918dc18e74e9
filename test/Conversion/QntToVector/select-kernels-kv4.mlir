// RUN: quant-opt %s --qnt-select-kernels | FileCheck %s

// A prompt's attention over an i4 cache takes its rows as separate chains
// (rows of a group share each decoded block; the kernel runs the group
// whose rows' window starts differ one row at a time): each row reads the
// positions before its own window start from 4-bit blocks, so its rows do
// not go in the lanes of a vector as over an f32 cache. A decoding step
// takes the query heads of a kv head 4 at a time as over an f32 cache.
// CHECK-LABEL: func.func @prompt
//       CHECK:   qnt.attention {{.*}}cache = #qnt.cache_format<i4>{{.*}}qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 4x4, prefetch>,
//       CHECK:   qnt.attention {{.*}}qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 16x4, prefetch>,
func.func @prompt(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %kf: tensor<64x2x16xf32>, %p: index) -> (tensor<?x8x16xf32>, tensor<?x8x16xf32>) {
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  %f = qnt.attention %q, %kf, %kf, %p {scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<?x8x16xf32>
  return %o, %f : tensor<?x8x16xf32>, tensor<?x8x16xf32>
}
