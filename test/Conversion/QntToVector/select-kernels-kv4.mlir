// RUN: quant-opt %s --qnt-select-kernels | FileCheck %s

// A prompt's attention over an i4 cache takes one query row per group
// (tile 1x1, not printed; prefetch as every attention kernel): rows of a
// group share each decoded block, but a key block can
// be closed for one row and still open (read as f16) for the row before.
// The same prompt over an f32 cache groups rows.
// CHECK-LABEL: func.func @prompt
//       CHECK:   qnt.attention {{.*}}cache = #qnt.cache_format<i4>{{.*}}qnt.kernel = #qnt.kernel<attention, lanes = {{[0-9]+}}, prefetch>,
//       CHECK:   qnt.attention {{.*}}qnt.kernel = #qnt.kernel<attention, lanes = {{[0-9]+}}, tile = {{[2-9]}}x1, prefetch>,
func.func @prompt(%q: tensor<?x8x16xf32>, %k: tensor<2x1632xi8>, %v: tensor<64x2x11xi8>, %r: tensor<?x2x16xf32>, %kf: tensor<64x2x16xf32>, %p: index) -> (tensor<?x8x16xf32>, tensor<?x8x16xf32>) {
  %o = qnt.attention %q, %k, %v, %p recent %r {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1632xi8>, tensor<64x2x11xi8>, tensor<?x2x16xf32> -> tensor<?x8x16xf32>
  %f = qnt.attention %q, %kf, %kf, %p {scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<?x8x16xf32>
  return %o, %f : tensor<?x8x16xf32>, tensor<?x8x16xf32>
}
