// Errors of convert-qnt-to-vector (after qnt-select-kernels), each with its
// exact message.
// RUN: quant-opt %s --qnt-select-kernels --convert-qnt-to-vector --split-input-file --verify-diagnostics
// Options of qnt-select-kernels out of range are reported before any pass
// runs (docs/COMPILING.md, "Option ranges"); 0 and auto are in range.
// RUN: not quant-opt %s --qnt-select-kernels=chunk=12 --split-input-file 2>&1 | FileCheck %s --check-prefix=CHUNK
// RUN: not quant-opt %s --qnt-select-kernels=chunk=9223372036854775800 --split-input-file 2>&1 | FileCheck %s --check-prefix=HUGE
// RUN: not quant-opt %s --qnt-select-kernels=activations=i4 --split-input-file 2>&1 | FileCheck %s --check-prefix=ACT
// RUN: not quant-opt %s --qnt-select-kernels="activations=i8 act-block=48" --split-input-file 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not quant-opt %s --qnt-select-kernels="streams=-1" --split-input-file 2>&1 | FileCheck %s --check-prefix=STREAMS
// RUN: not quant-opt %s --qnt-select-kernels="rows-per-tile=9" --split-input-file 2>&1 | FileCheck %s --check-prefix=ROWS
// RUN: not quant-opt %s --qnt-select-kernels="cols-per-tile=2147483648" --split-input-file 2>&1 | FileCheck %s --check-prefix=COLS
// RUN: not quant-opt %s --qnt-select-kernels="int-dot=neon" --split-input-file 2>&1 | FileCheck %s --check-prefix=DOT

// CHUNK: error: qnt-select-kernels option chunk=12 is not a multiple of 8 in [8, 128] (or 0: from the target)
// HUGE: error: qnt-select-kernels option chunk=9223372036854775800 is out of range [8, 128] (or 0: from the target)
// ACT: error: qnt-select-kernels option activations='i4' must be 'f32', 'i8' or 'auto'
// BLOCK: error: qnt-select-kernels option act-block=48 must be 0 (chosen per matmul), 32, 64, 128 or 256
// STREAMS: error: qnt-select-kernels option streams=-1 is out of range [1, 8] (or 0: from the target)
// ROWS: error: qnt-select-kernels option rows-per-tile=9 is out of range [1, 8] (or 0: from the target)
// COLS: error: qnt-select-kernels option cols-per-tile=2147483648 is out of range [1, 8] (or 0: from the target)
// DOT: error: qnt-select-kernels option int-dot='neon' must be 'avx512vnni', 'avxvnni', 'avx2', 'generic' or 'auto'

func.func @packed_argument(%x: tensor<2x16xf32>, %w: !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'qnt.matmul' op packed operand must come from qnt.constant to be lowered for the CPU (function arguments and qnt.quantize results are not supported yet)}}
  %y = qnt.matmul %x, %w : (tensor<2x16xf32>, !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @group_inside_a_byte(%x: tensor<2x12xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x5xi8>, scales = dense<1.0> : tensor<4x4xf32>}
      : !qnt.packed<4x12, #qnt.scheme<si3, symmetric, per_group<1, 3>>>
  // expected-error @+1 {{'qnt.matmul' op group size 3 with 3-bit codes starts groups inside a byte; the CPU lowering needs groups of a multiple of 8 codes}}
  %y = qnt.matmul %x, %w : (tensor<2x12xf32>, !qnt.packed<4x12, #qnt.scheme<si3, symmetric, per_group<1, 3>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @nvfp4_needs_row_lut(%x: tensor<2x16xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x8xi8>, scales = dense<1.0> : tensor<4x1xf8E4M3FN>}
      : !qnt.packed<4x16, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1> does not apply: fp8, fp4 and nf4 codes need a row_lut kernel (fp4 codes: or column_i8)}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>} : (tensor<2x16xf32>, !qnt.packed<4x16, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @nvfp4_columns_whole_blocks(%x: tensor<2x48xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x24xi8>, scales = dense<1.0> : tensor<4x3xf8E4M3FN>}
      : !qnt.packed<4x48, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<column_i8, lanes = 8, tile = 1x1, streams = 1, x_block = 32, int_dot = avx2, lookup = avx2> does not apply: column_i8 takes 4- or 8-bit integer codes or fp4 codes in groups of whole x blocks (nvfp4: groups of 16 in x blocks of 32), per channel or per group, with f32 x and result}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 1x1, streams = 1, x_block = 32, int_dot = avx2, lookup = avx2>} : (tensor<2x48xf32>, !qnt.packed<4x48, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @int4_columns_no_lookup(%x: tensor<2x32xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x32, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<column_i8, lanes = 8, tile = 1x1, streams = 1, x_block = 32, int_dot = avx2, lookup = avx2> does not apply: column_i8 takes a lookup for fp4 codes only}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 1x1, streams = 1, x_block = 32, int_dot = avx2, lookup = avx2>} : (tensor<2x32xf32>, !qnt.packed<4x32, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @nf4_needs_row_lut(%x: tensor<2x16xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x8xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x16, #qnt.scheme<nf4, symmetric, per_channel<0>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1> does not apply: fp8, fp4 and nf4 codes need a row_lut kernel (fp4 codes: or column_i8)}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>} : (tensor<2x16xf32>, !qnt.packed<4x16, #qnt.scheme<nf4, symmetric, per_channel<0>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @x86_lookup(%x: tensor<2x16xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x8xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x16, #qnt.scheme<nf4, symmetric, per_channel<0>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<row_lut, lanes = 8, tile = 1x1, streams = 1, lookup = avx512> does not apply: lookup = avx512 takes lanes in multiples of 16}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 1x1, streams = 1, lookup = avx512>} : (tensor<2x16xf32>, !qnt.packed<4x16, #qnt.scheme<nf4, symmetric, per_channel<0>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @float_bits_nf4(%x: tensor<2x16xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x8xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x16, #qnt.scheme<nf4, symmetric, per_channel<0>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<row_lut, lanes = 8, tile = 1x1, streams = 1, lookup = float_bits> does not apply: lookup = float_bits takes fp8 codes only}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 1x1, streams = 1, lookup = float_bits>} : (tensor<2x16xf32>, !qnt.packed<4x16, #qnt.scheme<nf4, symmetric, per_channel<0>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @row_lut_needs_lut_codes(%x: tensor<2x16xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x8xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<row_lut, lanes = 8, tile = 1x1, streams = 1, lookup = avx2> does not apply: row_lut takes fp8, fp4 and nf4 codes only}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 1x1, streams = 1, lookup = avx2>} : (tensor<2x16xf32>, !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @runtime_quantize(%x: tensor<4x16xf32>) -> !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>> {
  // expected-error @+1 {{'qnt.quantize' op cannot be lowered for the CPU yet}}
  %q = qnt.quantize %x : tensor<4x16xf32> -> !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>>
  return %q : !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>>
}

// -----

// A weight already laid out for another kernel is not laid out again.
func.func @laid_out_for_another(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<1536xi8>, scales = dense<1.0> : tensor<64xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, lanes = 8, flip = 136>>
  // expected-error @+1 {{'qnt.matmul' op weight is laid out as #qnt.layout<column_tiles, lanes = 8, flip = 136>, but its kernel #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1> reads #qnt.layout<planes, block = 32, lanes = 8>}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, lanes = 8, flip = 136>>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A payload whose blob is shorter than its type cannot be laid out.
func.func @short_scales(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'qnt.constant' op 'scales' cannot be read}}
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense_resource<short_scales> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 4x1, x_block = 32, int_dot = avx2>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
{-#
  dialect_resources: {
    builtin: {
      short_scales: "0x040000000000803F"
    }
  }
#-}

// -----

func.func @short_codes(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'qnt.constant' op 'codes' cannot be read}}
  %w = qnt.constant {codes = dense_resource<short_codes> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
{-#
  dialect_resources: {
    builtin: {
      short_codes: "0x0400000000112233"
    }
  }
#-}
