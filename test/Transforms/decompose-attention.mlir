// RUN: quant-opt %s --qnt-decompose-attention --verify-diagnostics

// The linalg decomposition (GPU pipeline) reads float caches only.
func.func @i8_cache(%q: tensor<1x4x8xf32>, %k: tensor<16x2x12xi8>, %pos: index) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{'qnt.attention' op qnt-decompose-attention reads f32 caches only, not #qnt.cache_format<i8>}}
  %o = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<i8>, scale = 0.5 : f32} : tensor<1x4x8xf32>, tensor<16x2x12xi8>, tensor<16x2x12xi8> -> tensor<1x4x8xf32>
  return %o : tensor<1x4x8xf32>
}
