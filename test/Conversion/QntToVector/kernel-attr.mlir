// convert-qnt-to-vector builds the kernel each op's #qnt.kernel names and
// nothing else decides: an op without one, or with one that does not fit
// its scheme, is an error with its exact message (kernel-as-written.mlir:
// a hand-written choice is built as written).
// RUN: quant-opt %s --split-input-file --convert-qnt-to-vector --verify-diagnostics

func.func @no_kernel(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  // expected-error @+1 {{'qnt.matmul' op has no #qnt.kernel attribute (run qnt-select-kernels first)}}
  %y = qnt.matmul %x, %w : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @no_attention_kernel(%q: tensor<1x4x8xf32>, %k: tensor<16x2x8xf32>, %pos: index) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{'qnt.attention' op has no #qnt.kernel attribute (run qnt-select-kernels first)}}
  %o = qnt.attention %q, %k, %k, %pos {scale = 0.5 : f32} : tensor<1x4x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<1x4x8xf32>
  return %o : tensor<1x4x8xf32>
}

// -----

func.func @column_on_int3(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x24xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<column_i8, lanes = 8, tile = 4x1, streams = 1, x_block = 32, int_dot = avx2> does not apply: column_i8 takes 4- or 8-bit integer codes or fp4 codes in groups of whole x blocks (nvfp4: groups of 16 in x blocks of 32), per channel or per group, with f32 x and result}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 4x1, x_block = 32, int_dot = avx2>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @row_i8_on_small_groups(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x4xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 16>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<row_i8, lanes = 16, tile = 1x1, streams = 1, x_block = 32, int_dot = generic> does not apply: row_i8 takes 1-, 2-, 4- or 8-bit codes in groups of whole loads of `lanes` bytes (or several groups per 32-byte load, each its own x block) and x blocks that divide the group}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_i8, lanes = 16, x_block = 32>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 16>>>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// The codes are read as they lie: a row_f32 kernel of 8 lanes reads int4
// codes in plane-major blocks of a group, which qnt-select-kernels makes.
func.func @weight_not_laid_out(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1> reads its weight in #qnt.layout<planes, block = 32, lanes = 8>, not in the weight's (qnt-select-kernels lays weights out for their kernels)}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// An 8-bit weight is read by row_f32 in the row layout; one laid out for
// another kernel is not.
func.func @weight_laid_out_for_another(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<2560xi8>, scales = dense<1.0> : tensor<64xf32>} : !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, lanes = 8>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1> reads its weight in the row layout, not in the weight's (qnt-select-kernels lays weights out for their kernels)}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, lanes = 8>>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
