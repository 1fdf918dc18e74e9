// RUN: quant-opt %s --qnt-decompose-attention --verify-diagnostics

// The i4 cache (#qnt.cache_format<i4>) has the CPU kernel only: the GPU
// form refuses it by name (quant-compile refuses --kv-cache=i4 with
// --target=cuda before this).
func.func @i4(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %p: index) -> tensor<?x8x16xf32> {
  // expected-error @+1 {{'qnt.attention' op qnt-decompose-attention: the i4 KV cache has no decomposed (GPU) form; it runs on the CPU only}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  return %o : tensor<?x8x16xf32>
}
