// RUN: quant-opt %s --split-input-file --qnt-quantize-kv-cache="format=i4 block=8 window=8" --verify-diagnostics

// An i4 write is split around the attention that reads the layer (blocks
// before it, the window's ring after it), so the attention must be in the
// block that writes.
func.func @read_in_other_block(%q: tensor<1x16xf32>, %rows: tensor<1x8xf32>, %pos: index, %c: i1, %kc: tensor<2x8x8xf32>, %vc: tensor<2x8x8xf32>) -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>) {
  %k1 = tensor.insert_slice %rows into %kc[1, %pos, 0] [1, 1, 8] [1, 1, 1] : tensor<1x8xf32> into tensor<2x8x8xf32>
  %v1 = tensor.insert_slice %rows into %vc[1, %pos, 0] [1, 1, 8] [1, 1, 1] : tensor<1x8xf32> into tensor<2x8x8xf32>
  scf.if %c {
    %ks = tensor.extract_slice %k1[1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
    %ke = tensor.expand_shape %ks [[0], [1, 2]] output_shape [8, 2, 4] : tensor<8x8xf32> into tensor<8x2x4xf32>
    %vs = tensor.extract_slice %v1[1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
    %ve = tensor.expand_shape %vs [[0], [1, 2]] output_shape [8, 2, 4] : tensor<8x8xf32> into tensor<8x2x4xf32>
    %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [1, 4, 4] : tensor<1x16xf32> into tensor<1x4x4xf32>
    // expected-error @+1 {{'qnt.attention' op qnt-quantize-kv-cache: an i4 cache must be read in the block that writes it}}
    %o = qnt.attention %qh, %ke, %ve, %pos {scale = 0.5 : f32} : tensor<1x4x4xf32>, tensor<8x2x4xf32>, tensor<8x2x4xf32> -> tensor<1x4x4xf32>
  }
  return %k1, %v1 : tensor<2x8x8xf32>, tensor<2x8x8xf32>
}
