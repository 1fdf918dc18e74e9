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

// -----

// The window's ring is written after the attention, so the written cache
// cannot be written again (layer 0 here) before the attention reads it.
func.func @written_again_before_read(%q: tensor<1x4x4xf32>, %rows: tensor<1x8xf32>, %pos: index, %kc: tensor<2x8x8xf32>, %vc: tensor<2x8x8xf32>) -> (tensor<1x4x4xf32>, tensor<2x8x8xf32>, tensor<2x8x8xf32>) {
  %k1 = tensor.insert_slice %rows into %kc[1, %pos, 0] [1, 1, 8] [1, 1, 1] : tensor<1x8xf32> into tensor<2x8x8xf32>
  %v1 = tensor.insert_slice %rows into %vc[1, %pos, 0] [1, 1, 8] [1, 1, 1] : tensor<1x8xf32> into tensor<2x8x8xf32>
  // expected-error @+1 {{'tensor.insert_slice' op qnt-quantize-kv-cache: an i4 cache is used before the attention that reads it}}
  %k0 = tensor.insert_slice %rows into %k1[0, %pos, 0] [1, 1, 8] [1, 1, 1] : tensor<1x8xf32> into tensor<2x8x8xf32>
  %ks = tensor.extract_slice %k1[1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
  %ke = tensor.expand_shape %ks [[0], [1, 2]] output_shape [8, 2, 4] : tensor<8x8xf32> into tensor<8x2x4xf32>
  %vs = tensor.extract_slice %v1[1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
  %ve = tensor.expand_shape %vs [[0], [1, 2]] output_shape [8, 2, 4] : tensor<8x8xf32> into tensor<8x2x4xf32>
  %o = qnt.attention %q, %ke, %ve, %pos {scale = 0.5 : f32} : tensor<1x4x4xf32>, tensor<8x2x4xf32>, tensor<8x2x4xf32> -> tensor<1x4x4xf32>
  return %o, %k0, %v1 : tensor<1x4x4xf32>, tensor<2x8x8xf32>, tensor<2x8x8xf32>
}

// -----

// One cache read as 2 kv heads of 4 and as 4 kv heads of 2: its bytes
// depend on the head shape.
func.func @two_head_shapes(%q: tensor<1x16xf32>, %rows: tensor<1x8xf32>, %pos: index, %kc: tensor<2x8x8xf32>) -> (tensor<1x4x4xf32>, tensor<1x8x2xf32>) {
  %k1 = tensor.insert_slice %rows into %kc[1, %pos, 0] [1, 1, 8] [1, 1, 1] : tensor<1x8xf32> into tensor<2x8x8xf32>
  %ks = tensor.extract_slice %k1[1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
  %ke = tensor.expand_shape %ks [[0], [1, 2]] output_shape [8, 2, 4] : tensor<8x8xf32> into tensor<8x2x4xf32>
  %kf = tensor.expand_shape %ks [[0], [1, 2]] output_shape [8, 4, 2] : tensor<8x8xf32> into tensor<8x4x2xf32>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [1, 4, 4] : tensor<1x16xf32> into tensor<1x4x4xf32>
  %qg = tensor.expand_shape %q [[0], [1, 2]] output_shape [1, 8, 2] : tensor<1x16xf32> into tensor<1x8x2xf32>
  %o = qnt.attention %qh, %ke, %ke, %pos {scale = 0.5 : f32} : tensor<1x4x4xf32>, tensor<8x2x4xf32>, tensor<8x2x4xf32> -> tensor<1x4x4xf32>
  // expected-error @+1 {{'qnt.attention' op qnt-quantize-kv-cache: cache 'tensor<2x8x8xf32>' is read with two different head shapes}}
  %p = qnt.attention %qg, %kf, %kf, %pos {scale = 0.5 : f32} : tensor<1x8x2xf32>, tensor<8x4x2xf32>, tensor<8x4x2xf32> -> tensor<1x8x2xf32>
  return %o, %p : tensor<1x4x4xf32>, tensor<1x8x2xf32>
}
