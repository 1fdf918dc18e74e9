// Every parse and verifier error of the qnt dialect, with its exact message.
// RUN: quant-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{expected an element format: si<bits>, ui<bits>, f8E4M3FN, f8E5M2, f4E2M1FN, nf4 or lut4, got 'i4'}}
func.func private @signless_format(!qnt.packed<4x4, #qnt.scheme<i4, symmetric, per_tensor>>)

// -----

// expected-error @+1 {{expected an element format: si<bits>, ui<bits>, f8E4M3FN, f8E5M2, f4E2M1FN, nf4 or lut4, got 'f32'}}
func.func private @float32_format(!qnt.packed<4x4, #qnt.scheme<f32, symmetric, per_tensor>>)

// -----

// expected-error @+1 {{expected 'symmetric' or 'asymmetric', got 'symetric'}}
func.func private @bad_mode(!qnt.packed<4x4, #qnt.scheme<si4, symetric, per_tensor>>)

// -----

// expected-error @+1 {{expected 'per_tensor', 'per_channel<axis>' or 'per_group<axis, size>', got 'per_block'}}
func.func private @bad_granularity(!qnt.packed<4x4, #qnt.scheme<si4, symmetric, per_block<1, 2>>>)

// -----

// expected-error @+1 {{bits = 9 is outside the supported range 1..8}}
func.func private @too_many_bits(!qnt.packed<4x4, #qnt.scheme<si9, symmetric, per_tensor>>)

// -----

// expected-error @+1 {{float format f8E4M3FN cannot be asymmetric (no zero points)}}
func.func private @float_asymmetric(!qnt.packed<4x4, #qnt.scheme<f8E4M3FN, asymmetric, per_tensor>>)

// -----

// expected-error @+1 {{float format f8E5M2 cannot have offsets}}
func.func private @float_offsets(!qnt.packed<4x4, #qnt.scheme<f8E5M2, offset, per_tensor>>)

// -----

// expected-error @+1 {{format f4E2M1FN needs per_group block scales}}
func.func private @fp4_without_blocks(!qnt.packed<4x4, #qnt.scheme<f4E2M1FN, symmetric, per_channel<0>>>)

// -----

// expected-error @+1 {{scale type f32 of format f4E2M1FN must be f8E8M0FNU (mxfp4) or f8E4M3FN (nvfp4)}}
func.func private @fp4_f32_scales(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>>>)

// -----

// expected-error @+1 {{scale type bf16 of format f4E2M1FN must be f8E8M0FNU (mxfp4) or f8E4M3FN (nvfp4)}}
func.func private @fp4_bf16_scales(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = bf16>>)

// -----

// expected-error @+1 {{scale type f8E5M2 of format f4E2M1FN must be f8E8M0FNU (mxfp4) or f8E4M3FN (nvfp4)}}
func.func private @fp4_e5m2_scales(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E5M2>>)

// -----

// expected-error @+1 {{mxfp4 (f4E2M1FN, f8E8M0FNU scales) has blocks of 32, not 16}}
func.func private @mxfp4_blocks_of_16(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E8M0FNU>>)

// -----

// expected-error @+1 {{nvfp4 (f4E2M1FN, f8E4M3FN scales) has blocks of 16, not 32}}
func.func private @nvfp4_blocks_of_32(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E4M3FN, tensor_scale = 1.0>>)

// -----

// expected-error @+1 {{format f4E2M1FN needs per_group block scales}}
func.func private @fp4_per_tensor(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_tensor, scale = f8E8M0FNU>>)

// -----

// expected-error @+1 {{float format f4E2M1FN cannot be asymmetric (no zero points)}}
func.func private @fp4_asymmetric(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, asymmetric, per_group<1, 32>, scale = f8E8M0FNU>>)

// -----

// expected-error @+1 {{float format f4E2M1FN cannot have offsets}}
func.func private @fp4_offsets(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, offset, per_group<1, 16>, scale = f8E4M3FN>>)

// -----

// expected-error @+1 {{a tensor scale is for nvfp4 (f4E2M1FN, f8E4M3FN scales) only}}
func.func private @mxfp4_tensor_scale(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU, tensor_scale = 2.0>>)

// -----

// expected-error @+1 {{a tensor scale is for nvfp4 (f4E2M1FN, f8E4M3FN scales) only}}
func.func private @int_tensor_scale(!qnt.packed<4x32, #qnt.scheme<si4, symmetric, per_group<1, 32>, tensor_scale = 2.0>>)

// -----

// expected-error @+1 {{tensor_scale 0.000000e+00 must be a positive normal f32}}
func.func private @zero_tensor_scale(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.0>>)

// -----

// expected-error @+1 {{tensor_scale -2.000000e+00 must be a positive normal f32}}
func.func private @negative_tensor_scale(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = -2.0>>)

// -----

// expected-error @+1 {{tensor_scale INF must be a positive normal f32}}
func.func private @infinite_tensor_scale(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0x7F800000>>)

// -----

// expected-error @+1 {{expected 'scale = TYPE', 'tensor_scale = FLOAT' or 'codebook = array<f32: ...>', in this order, got 'scales'}}
func.func private @misspelled_scale(!qnt.packed<4x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scales = f8E4M3FN>>)

// -----

// expected-error @+1 {{scale type f8E8M0FNU is for f4E2M1FN blocks (mxfp4) only; format nf4 takes f32, f16 or bf16}}
func.func private @nf4_e8m0_scales(!qnt.packed<4x32, #qnt.scheme<nf4, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>)

// -----

// expected-error @+1 {{scale type f8E4M3FN is for f4E2M1FN blocks (nvfp4) only; format int takes f32, f16 or bf16}}
func.func private @int_e4m3_scales(!qnt.packed<4x32, #qnt.scheme<si4, symmetric, per_group<1, 16>, scale = f8E4M3FN>>)

// -----

// expected-error @+1 {{group size 32 does not divide dimension 1 (size 48)}}
func.func private @mxfp4_partial_block(!qnt.packed<4x48, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>)

// -----

// expected-error @+1 {{codebook format nf4 cannot be asymmetric (no zero points)}}
func.func private @nf4_asymmetric(!qnt.packed<4x4, #qnt.scheme<nf4, asymmetric, per_group<1, 2>>>)

// -----

// expected-error @+1 {{codebook format nf4 cannot have offsets}}
func.func private @nf4_offsets(!qnt.packed<4x4, #qnt.scheme<nf4, offset, per_channel<0>>>)

// -----

// expected-error @+1 {{format nf4 needs per_group or per_channel scales (an absmax scale per block), not per_tensor}}
func.func private @nf4_per_tensor(!qnt.packed<4x4, #qnt.scheme<nf4, symmetric, per_tensor>>)

// -----

// expected-error @+1 {{format lut4 needs its codebook (codebook = array<f32: 16 values>)}}
func.func private @lut4_without_codebook(!qnt.packed<4x32, #qnt.scheme<lut4, symmetric, per_group<1, 32>>>)

// -----

// expected-error @+1 {{a codebook is for format lut4 only}}
func.func private @nf4_with_codebook(!qnt.packed<4x32, #qnt.scheme<nf4, symmetric, per_group<1, 32>, codebook = array<f32: -1.0, -0.75, -0.5, -0.375, -0.25, -0.125, -0.0625, 0.0, 0.03125, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0>>>)

// -----

// expected-error @+1 {{codebook has 15 values, not 16}}
func.func private @lut4_15_values(!qnt.packed<4x32, #qnt.scheme<lut4, symmetric, per_group<1, 32>, codebook = array<f32: -1.0, -0.75, -0.5, -0.375, -0.25, -0.125, -0.0625, 0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0>>>)

// -----

// expected-error @+1 {{codebook value 9 (0.125) is not above value 8 (0.125); the values must increase}}
func.func private @lut4_not_increasing(!qnt.packed<4x32, #qnt.scheme<lut4, symmetric, per_group<1, 32>, codebook = array<f32: -1.0, -0.75, -0.5, -0.375, -0.25, -0.125, -0.0625, 0.0, 0.125, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0>>>)

// -----

// expected-error @+1 {{codebook value 3 is inf; the values must be finite}}
func.func private @lut4_infinite(!qnt.packed<4x32, #qnt.scheme<lut4, symmetric, per_group<1, 32>, codebook = array<f32: -1.0, -0.75, -0.5, 0x7F800000, -0.25, -0.125, -0.0625, 0.0, 0.03125, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0>>>)

// -----

// expected-error @+1 {{expected the codebook as array<f32: 16 values>, got array<i32: 1, 2>}}
func.func private @lut4_integer_codebook(!qnt.packed<4x32, #qnt.scheme<lut4, symmetric, per_group<1, 32>, codebook = array<i32: 1, 2>>>)

// -----

// expected-error @+1 {{expected 'scale = TYPE', 'tensor_scale = FLOAT' or 'codebook = array<f32: ...>', in this order, got 'scale'}}
func.func private @lut4_codebook_before_scale(!qnt.packed<4x32, #qnt.scheme<lut4, symmetric, per_group<1, 32>, codebook = array<f32: -1.0, -0.75, -0.5, -0.375, -0.25, -0.125, -0.0625, 0.0, 0.03125, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0>, scale = f16>>)

// -----

// expected-error @+1 {{format lut4 needs per_group or per_channel scales (an absmax scale per block), not per_tensor}}
func.func private @lut4_per_tensor(!qnt.packed<4x32, #qnt.scheme<lut4, symmetric, per_tensor, codebook = array<f32: -1.0, -0.75, -0.5, -0.375, -0.25, -0.125, -0.0625, 0.0, 0.03125, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0>>>)

// -----

// expected-error @+1 {{codebook format lut4 cannot be asymmetric (no zero points)}}
func.func private @lut4_asymmetric(!qnt.packed<4x32, #qnt.scheme<lut4, asymmetric, per_group<1, 32>, codebook = array<f32: -1.0, -0.75, -0.5, -0.375, -0.25, -0.125, -0.0625, 0.0, 0.03125, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0>>>)

// -----

// expected-error @+1 {{group size 0 must be positive}}
func.func private @zero_group(!qnt.packed<4x4, #qnt.scheme<si4, symmetric, per_group<1, 0>>>)

// -----

// expected-error @+1 {{axis -1 must be non-negative}}
func.func private @negative_axis(!qnt.packed<4x4, #qnt.scheme<si4, symmetric, per_channel<-1>>>)

// -----

// expected-error @+1 {{scale type 'i32' must be f32, f16 or bf16}}
func.func private @integer_scales(!qnt.packed<4x4, #qnt.scheme<si4, symmetric, per_tensor, scale = i32>>)

// -----

// expected-error @+1 {{packed tensor must have rank >= 1}}
func.func private @rank_zero(!qnt.packed<, #qnt.scheme<si4, symmetric, per_tensor>>)

// -----

// expected-error @+1 {{dimension 1 of the packed shape is 0; dimensions must be static and positive}}
func.func private @zero_dim(!qnt.packed<4x0, #qnt.scheme<si4, symmetric, per_tensor>>)

// -----

// 2^32 x 2^30 codes of 3 bits: sizes derived from the shape would overflow.
// expected-error @+1 {{the codes of the packed shape need more than 2^63 bits}}
func.func private @too_many_bits(!qnt.packed<4294967296x1073741824, #qnt.scheme<si3, symmetric, per_tensor>>)

// -----

// expected-error @+1 {{scheme axis 2 is out of range for a rank-2 packed tensor}}
func.func private @axis_out_of_range(!qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<2>>>)

// -----

// expected-error @+1 {{group size 48 does not divide dimension 1 (size 64)}}
func.func private @group_not_dividing(!qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_group<1, 48>>>)

// -----

func.func @codes_not_bytes() {
  // expected-error @+1 {{'qnt.constant' op 'codes' element type 'i32' does not match 'i8' required by the scheme}}
  %w = qnt.constant {codes = dense<0> : tensor<4x2xi32>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x4, #qnt.scheme<si4, symmetric, per_channel<0>>>
  return
}

// -----

func.func @codes_wrong_shape() {
  // expected-error @+1 {{'qnt.constant' op 'codes' shape [4, 3] does not match [4, 2] (bytes of 4-bit codes, rows packed along the last dimension)}}
  %w = qnt.constant {codes = dense<0> : tensor<4x3xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x4, #qnt.scheme<si4, symmetric, per_channel<0>>>
  return
}

// -----

func.func @scales_wrong_type() {
  // expected-error @+1 {{'qnt.constant' op 'scales' element type 'f32' does not match 'f16' required by the scheme}}
  %w = qnt.constant {codes = dense<0> : tensor<4x2xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x4, #qnt.scheme<si4, symmetric, per_channel<0>, scale = f16>>
  return
}

// -----

func.func @scales_wrong_shape() {
  // expected-error @+1 {{'qnt.constant' op 'scales' shape [4, 1] does not match [4, 2] (one scale per tensor, channel or group)}}
  %w = qnt.constant {codes = dense<0> : tensor<4x32xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  return
}

// -----

func.func @scale_not_finite() {
  // expected-error @+1 {{'qnt.constant' op scale at flat index 1 is not finite}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<[[1.0], [0x7FC00000]]> : tensor<2x1xf32>}
      : !qnt.packed<2x4, #qnt.scheme<si4, symmetric, per_channel<0>>>
  return
}

// -----

// E8M0 byte 255 is NaN: no block scale.
func.func @e8m0_scale_nan() {
  // expected-error @+1 {{'qnt.constant' op scale at flat index 1 is not finite}}
  %w = qnt.constant {codes = dense<0> : tensor<2x16xi8>, scales = dense<[[1.0], [0xFF]]> : tensor<2x1xf8E8M0FNU>}
      : !qnt.packed<2x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>
  return
}

// -----

// An nvfp4 constant whose scales are not its scheme's E4M3.
func.func @nvfp4_scales_type() {
  // expected-error @+1 {{'qnt.constant' op 'scales' element type 'f32' does not match 'f8E4M3FN' required by the scheme}}
  %w = qnt.constant {codes = dense<0> : tensor<2x16xi8>, scales = dense<1.0> : tensor<2x2xf32>}
      : !qnt.packed<2x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>
  return
}

// -----

func.func @symmetric_with_zero_points() {
  // expected-error @+1 {{'qnt.constant' op symmetric scheme must not have 'zero_points'}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>, zero_points = dense<0> : tensor<2x1xi8>}
      : !qnt.packed<2x4, #qnt.scheme<si4, symmetric, per_channel<0>>>
  return
}

// -----

func.func @offset_without_offsets() {
  // expected-error @+1 {{'qnt.constant' op offset scheme requires 'offsets'}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>}
      : !qnt.packed<2x4, #qnt.scheme<ui4, offset, per_channel<0>>>
  return
}

// -----

func.func @symmetric_with_offsets() {
  // expected-error @+1 {{'qnt.constant' op only an offset scheme has 'offsets'}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !qnt.packed<2x4, #qnt.scheme<si4, symmetric, per_channel<0>>>
  return
}

// -----

func.func @offset_with_zero_points() {
  // expected-error @+1 {{'qnt.constant' op offset scheme must not have 'zero_points'}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>, zero_points = dense<0> : tensor<2x1xui8>}
      : !qnt.packed<2x4, #qnt.scheme<ui4, offset, per_channel<0>>>
  return
}

// -----

func.func @offsets_type() {
  // expected-error @+1 {{'qnt.constant' op 'offsets' element type 'f32' does not match 'f16' required by the scheme}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf16>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !qnt.packed<2x4, #qnt.scheme<ui4, offset, per_channel<0>, scale = f16>>
  return
}

// -----

func.func @offsets_shape() {
  // expected-error @+1 {{'qnt.constant' op 'offsets' shape [2, 2] does not match [2, 1] (one offset per scale)}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x2xf32>}
      : !qnt.packed<2x4, #qnt.scheme<ui4, offset, per_channel<0>>>
  return
}

// -----

func.func @offset_not_finite() {
  // expected-error @+1 {{'qnt.constant' op offset at flat index 1 is not finite}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<[[1.0], [0x7F800000]]> : tensor<2x1xf32>}
      : !qnt.packed<2x4, #qnt.scheme<ui4, offset, per_channel<0>>>
  return
}

// -----

func.func @matmul_offsets(%x: tensor<2x4xf32>, %w: !qnt.packed<2x4, #qnt.scheme<ui4, offset, per_channel<0>>>) {
  // expected-error @+1 {{'qnt.matmul' op weight scheme with offsets is not supported: qnt-fuse-dequant-matmul adds the offsets apart}}
  %y = qnt.matmul %x, %w : (tensor<2x4xf32>, !qnt.packed<2x4, #qnt.scheme<ui4, offset, per_channel<0>>>) -> tensor<2x2xf32>
  return
}

// -----

func.func @asymmetric_without_zero_points() {
  // expected-error @+1 {{'qnt.constant' op asymmetric scheme requires 'zero_points'}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>}
      : !qnt.packed<2x4, #qnt.scheme<ui4, asymmetric, per_channel<0>>>
  return
}

// -----

func.func @zero_points_wrong_type() {
  // expected-error @+1 {{'qnt.constant' op 'zero_points' element type 'i8' does not match 'ui8' required by the scheme}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>, zero_points = dense<0> : tensor<2x1xi8>}
      : !qnt.packed<2x4, #qnt.scheme<ui4, asymmetric, per_channel<0>>>
  return
}

// -----

func.func @zero_points_wrong_shape() {
  // expected-error @+1 {{'qnt.constant' op 'zero_points' shape [1, 1] does not match [2, 1] (one zero point per scale)}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>, zero_points = dense<0> : tensor<1x1xui8>}
      : !qnt.packed<2x4, #qnt.scheme<ui4, asymmetric, per_channel<0>>>
  return
}

// -----

func.func @zero_point_out_of_range() {
  // expected-error @+1 {{'qnt.constant' op zero point 16 at flat index 1 is outside the code range [0, 15]}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>, zero_points = dense<[[3], [16]]> : tensor<2x1xui8>}
      : !qnt.packed<2x4, #qnt.scheme<ui4, asymmetric, per_channel<0>>>
  return
}

// -----

func.func @signed_zero_point_out_of_range() {
  // expected-error @+1 {{'qnt.constant' op zero point -5 at flat index 0 is outside the code range [-4, 3]}}
  %w = qnt.constant {codes = dense<0> : tensor<2x2xi8>, scales = dense<1.0> : tensor<2x1xf32>, zero_points = dense<[[-5], [0]]> : tensor<2x1xi8>}
      : !qnt.packed<2x4, #qnt.scheme<si3, asymmetric, per_channel<0>>>
  return
}

// -----

func.func @quantize_to_float_format(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'qnt.quantize' op only integer formats can be quantized, not f8E5M2}}
  %q = qnt.quantize %x : tensor<4x4xf32> -> !qnt.packed<4x4, #qnt.scheme<f8E5M2, symmetric, per_tensor>>
  return
}

// -----

func.func @quantize_shape_mismatch(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'qnt.quantize' op input shape [4, 8] does not match the packed shape [4, 16]}}
  %q = qnt.quantize %x : tensor<4x8xf32> -> !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_tensor>>
  return
}

// -----

func.func @quantize_integer_input(%x: tensor<4x16xi32>) {
  // expected-error @+1 {{'qnt.quantize' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4x16xi32>'}}
  %q = qnt.quantize %x : tensor<4x16xi32> -> !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_tensor>>
  return
}

// -----

func.func @dequantize_shape_mismatch(%q: !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_tensor>>) {
  // expected-error @+1 {{'qnt.dequantize' op result shape [16, 4] does not match the packed shape [4, 16]}}
  %d = qnt.dequantize %q : !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_tensor>> -> tensor<16x4xf32>
  return
}

// -----

func.func @matmul_weight_rank(%x: tensor<2x16xf32>, %w: !qnt.packed<2x4x16, #qnt.scheme<si4, symmetric, per_tensor>>) {
  // expected-error @+1 {{'qnt.matmul' op weight must be a rank-2 packed tensor [N, K], got rank 3}}
  %y = qnt.matmul %x, %w : (tensor<2x16xf32>, !qnt.packed<2x4x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_group_axis(%x: tensor<2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_group<0, 4>>>) {
  // expected-error @+1 {{'qnt.matmul' op per_group scales of the weight must run along K (axis 1), not axis 0}}
  %y = qnt.matmul %x, %w : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_group<0, 4>>>) -> tensor<2x8xf32>
  return
}

// -----

func.func @matmul_channel_axis(%x: tensor<2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_channel<1>>>) {
  // expected-error @+1 {{'qnt.matmul' op per_channel scales of the weight must be per output channel (axis 0), not axis 1}}
  %y = qnt.matmul %x, %w : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_channel<1>>>) -> tensor<2x8xf32>
  return
}

// -----

func.func @matmul_scalar_input(%x: tensor<f32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) {
  // expected-error @+1 {{'qnt.matmul' op input must have rank >= 1}}
  %y = qnt.matmul %x, %w : (tensor<f32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<f32>
  return
}

// -----

func.func @matmul_result_rank(%x: tensor<2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) {
  // expected-error @+1 {{'qnt.matmul' op result rank 3 does not match input rank 2}}
  %y = qnt.matmul %x, %w : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<1x2x8xf32>
  return
}

// -----

func.func @matmul_dynamic_k(%x: tensor<2x?xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) {
  // expected-error @+1 {{'qnt.matmul' op input reduction dimension K must be static}}
  %y = qnt.matmul %x, %w : (tensor<2x?xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<2x8xf32>
  return
}

// -----

func.func @matmul_k_mismatch(%x: tensor<2x64xf32>, %w: !qnt.packed<8x128, #qnt.scheme<si4, symmetric, per_group<1, 64>>>) {
  // expected-error @+1 {{'qnt.matmul' op input K = 64 does not match weight K = 128}}
  %y = qnt.matmul %x, %w : (tensor<2x64xf32>, !qnt.packed<8x128, #qnt.scheme<si4, symmetric, per_group<1, 64>>>) -> tensor<2x8xf32>
  return
}

// -----

func.func @matmul_n_mismatch(%x: tensor<2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) {
  // expected-error @+1 {{'qnt.matmul' op result has [2, 16] but the weight has N = 8 rows; the last result dimension must be N}}
  %y = qnt.matmul %x, %w : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<2x16xf32>
  return
}

// -----

func.func @matmul_batch_mismatch(%x: tensor<3x2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) {
  // expected-error @+1 {{'qnt.matmul' op result shape [3, 5, 8] does not match input shape [3, 2, 16] in dimension 1}}
  %y = qnt.matmul %x, %w : (tensor<3x2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<3x5x8xf32>
  return
}

// -----

func.func @matmul_element_type(%x: tensor<2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) {
  // expected-error @+1 {{'qnt.matmul' op result element type 'f16' differs from input element type 'f32'}}
  %y = qnt.matmul %x, %w : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>) -> tensor<2x8xf16>
  return
}

// -----

func.func @matmul_bias_shape(%x: tensor<2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'qnt.matmul' op bias shape [16] must be [8] (N)}}
  %y = qnt.matmul %x, %w, %b : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>, tensor<16xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @matmul_bias_type(%x: tensor<2x16xf32>, %w: !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>, %b: tensor<8xbf16>) {
  // expected-error @+1 {{'qnt.matmul' op bias element type 'bf16' differs from result element type 'f32'}}
  %y = qnt.matmul %x, %w, %b : (tensor<2x16xf32>, !qnt.packed<8x16, #qnt.scheme<si4, symmetric, per_tensor>>, tensor<8xbf16>) -> tensor<2x8xf32>
  return
}

// -----

func.func @dot4_i8_sizes(%a: vector<32xi8>, %b: vector<16xi8>) {
  // expected-error @+1 {{'qnt.dot4_i8' op operands have 32 and 16 elements; they must match}}
  %s = qnt.dot4_i8 %a, %b : vector<32xi8>, vector<16xi8> -> vector<8xi32>
  return
}

// -----

func.func @dot4_i8_multiple_of_4(%a: vector<6xi8>, %b: vector<6xi8>) {
  // expected-error @+1 {{'qnt.dot4_i8' op operands have 6 elements, not a multiple of 4}}
  %s = qnt.dot4_i8 %a, %b : vector<6xi8>, vector<6xi8> -> vector<1xi32>
  return
}

// -----

func.func @dot4_i8_result(%a: vector<32xi8>, %b: vector<32xi8>) {
  // expected-error @+1 {{'qnt.dot4_i8' op result has 4 elements; 32 operand elements give 8}}
  %s = qnt.dot4_i8 %a, %b : vector<32xi8>, vector<32xi8> -> vector<4xi32>
  return
}

// -----

func.func @lookup16_table(%i: vector<16xi32>) {
  // expected-error @+1 {{'qnt.lookup16' op table has 15 values; it must have 16}}
  %v = qnt.lookup16 <avx512> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0] : vector<16xi32> -> vector<16xf32>
  return
}

// -----

func.func @lookup16_lanes(%i: vector<16xi32>) {
  // expected-error @+1 {{'qnt.lookup16' op result has 8 lanes; the indices have 16}}
  %v = qnt.lookup16 <generic> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<16xi32> -> vector<8xf32>
  return
}

// -----

func.func @lookup16_register(%i: vector<8xi32>) {
  // expected-error @+1 {{'qnt.lookup16' op lookup avx512 takes a multiple of 16 lanes, not 8}}
  %v = qnt.lookup16 <avx512> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<8xi32> -> vector<8xf32>
  return
}

// -----

func.func @lookup16_float_bits(%i: vector<8xi32>) {
  // expected-error @+1 {{'qnt.lookup16' op lookup float_bits decodes fp8 codes; a table lookup takes generic, avx2 or avx512}}
  %v = qnt.lookup16 <float_bits> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<8xi32> -> vector<8xf32>
  return
}

// -----

func.func @lookup16_byte_table(%i: vector<32xi8>) {
  // expected-error @+1 {{'qnt.lookup16' op table value 1.500000e+00 of an i8 lookup is not an integer in [-128, 127]}}
  %v = qnt.lookup16 <avx2> %i, [0.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<32xi8> -> vector<32xi8>
  return
}

// -----

func.func @lookup16_types(%i: vector<16xi32>) {
  // expected-error @+1 {{'qnt.lookup16' op takes i32 indices to f32 values or i8 indices to i8 values}}
  %v = qnt.lookup16 <avx512> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<16xi32> -> vector<16xi8>
  return
}

// -----

func.func @lookup16_byte_register(%i: vector<8xi8>) {
  // expected-error @+1 {{'qnt.lookup16' op lookup avx2 of bytes takes a multiple of 16 lanes, not 8}}
  %v = qnt.lookup16 <avx2> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<8xi8> -> vector<8xi8>
  return
}

// -----

func.func @dot2_i8_sizes(%a: vector<32xi8>, %b: vector<16xi8>) {
  // expected-error @+1 {{'qnt.dot2_i8' op operands have 32 and 16 elements; they must match}}
  %s = qnt.dot2_i8 %a, %b : vector<32xi8>, vector<16xi8> -> vector<16xi16>
  return
}

// -----

func.func @dot2_i8_result(%a: vector<32xi8>, %b: vector<32xi8>) {
  // expected-error @+1 {{'qnt.dot2_i8' op result has 8 elements; 32 operand elements give 16}}
  %s = qnt.dot2_i8 %a, %b : vector<32xi8>, vector<32xi8> -> vector<8xi16>
  return
}

// -----

func.func @sum_pairs_i16_result(%a: vector<16xi16>) {
  // expected-error @+1 {{'qnt.sum_pairs_i16' op result has 16 elements; 16 operand elements give 8}}
  %s = qnt.sum_pairs_i16 %a : vector<16xi16> -> vector<16xi32>
  return
}

// -----

func.func @sum_pairs_i16_odd(%a: vector<7xi16>) {
  // expected-error @+1 {{'qnt.sum_pairs_i16' op operands have 7 elements, not a multiple of 2}}
  %s = qnt.sum_pairs_i16 %a : vector<7xi16> -> vector<3xi32>
  return
}

// -----

func.func @attention_query_rank(%q: tensor<8x16xf32>, %k: tensor<64x2x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op query must be [T, heads, head size], got rank 2}}
  %o = qnt.attention %q, %k, %k, %p {scale = 0.25 : f32} : tensor<8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<8x16xf32>
  return
}

// -----

func.func @attention_dynamic_heads(%q: tensor<1x?x16xf32>, %k: tensor<64x2x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op query [1, ?, 16] must have static head counts and head size}}
  %o = qnt.attention %q, %k, %k, %p {scale = 0.25 : f32} : tensor<1x?x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<1x?x16xf32>
  return
}

// -----

func.func @attention_cache_shapes(%q: tensor<1x8x16xf32>, %k: tensor<64x2x16xf32>, %v: tensor<32x2x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op keys 'tensor<64x2x16xf32>' and values 'tensor<32x2x16xf32>' must have the same type}}
  %o = qnt.attention %q, %k, %v, %p {scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64x2x16xf32>, tensor<32x2x16xf32> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_dynamic_positions(%q: tensor<1x8x16xf32>, %k: tensor<?x2x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op the cache must have a static number of positions}}
  %o = qnt.attention %q, %k, %k, %p {scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_head_size(%q: tensor<1x8x32xf32>, %k: tensor<64x2x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op keys 'tensor<64x2x16xf32>' must hold rows of 32 x 'f32' (head size 32 in the f32 cache format)}}
  %o = qnt.attention %q, %k, %k, %p {scale = 0.25 : f32} : tensor<1x8x32xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<1x8x32xf32>
  return
}

// -----

func.func @attention_groups(%q: tensor<1x6x16xf32>, %k: tensor<64x4x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op 6 query heads are not a multiple of 4 kv heads}}
  %o = qnt.attention %q, %k, %k, %p {scale = 0.25 : f32} : tensor<1x6x16xf32>, tensor<64x4x16xf32>, tensor<64x4x16xf32> -> tensor<1x6x16xf32>
  return
}

// -----

func.func @attention_result(%q: tensor<?x8x16xf32>, %k: tensor<64x2x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op result type 'tensor<1x8x16xf32>' must equal the query type 'tensor<?x8x16xf32>'}}
  %o = qnt.attention %q, %k, %k, %p {scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<1x8x16xf32>, %k: tensor<64x2x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op scale must be finite}}
  %o = qnt.attention %q, %k, %k, %p {scale = 0x7F800000 : f32} : tensor<1x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_i8_row(%q: tensor<1x8x16xf32>, %k: tensor<64x2x16xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op keys 'tensor<64x2x16xi8>' must be [positions, kv heads * 17 + 2] x i8 (head size 16 in the i8 cache format)}}
  %o = qnt.attention %q, %k, %k, %p {cache = #qnt.cache_format<i8>, scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64x2x16xi8>, tensor<64x2x16xi8> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_i8_record_size(%q: tensor<1x8x16xf32>, %k: tensor<64x37xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op keys 'tensor<64x37xi8>' must be [positions, kv heads * 17 + 2] x i8 (head size 16 in the i8 cache format)}}
  %o = qnt.attention %q, %k, %k, %p {cache = #qnt.cache_format<i8>, scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64x37xi8>, tensor<64x37xi8> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_i8_rank(%q: tensor<1x8x16xf32>, %k: tensor<64xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op keys 'tensor<64xi8>' must be [positions, kv heads * 17 + 2] x i8 (head size 16 in the i8 cache format)}}
  %o = qnt.attention %q, %k, %k, %p {cache = #qnt.cache_format<i8>, scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64xi8>, tensor<64xi8> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_i8_heads(%q: tensor<1x8x16xf32>, %k: tensor<64x53xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op 8 query heads are not a multiple of 3 kv heads}}
  %o = qnt.attention %q, %k, %k, %p {cache = #qnt.cache_format<i8>, scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64x53xi8>, tensor<64x53xi8> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_i8_without_format(%q: tensor<1x8x16xf32>, %k: tensor<64x2x20xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op keys 'tensor<64x2x20xi8>' must hold rows of 16 x 'f32' (head size 16 in the f32 cache format)}}
  %o = qnt.attention %q, %k, %k, %p {scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64x2x20xi8>, tensor<64x2x20xi8> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_f16_with_f32_rows(%q: tensor<1x8x16xf32>, %k: tensor<64x2x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op keys 'tensor<64x2x16xf32>' must hold rows of 16 x 'f16' (head size 16 in the f16 cache format)}}
  %o = qnt.attention %q, %k, %k, %p {cache = #qnt.cache_format<f16>, scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_cache_format(%q: tensor<1x8x16xf32>, %k: tensor<64x2x20xi8>, %p: index) {
  // expected-error @+2 {{expected ::mlir::qnt::CacheFormat to be one of: f32, i8, f16, i4}}
  // expected-error @+1 {{failed to parse Qnt_CacheFormatAttr parameter 'value'}}
  %o = qnt.attention %q, %k, %k, %p {cache = #qnt.cache_format<i2>, scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64x2x20xi8>, tensor<64x2x20xi8> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @pack_cache_rows_rank(%k: tensor<8x64xf32>) {
  // expected-error @+1 {{'qnt.pack_cache_rows' op rows must be [tokens, kv heads, head size], got rank 2}}
  %p = qnt.pack_cache_rows %k {format = #qnt.cache_format<i8>} : tensor<8x64xf32> -> tensor<8x1x68xi8>
  return
}

// -----

func.func @pack_cache_rows_heads(%k: tensor<?x4x64xf32>) {
  // expected-error @+1 {{'qnt.pack_cache_rows' op result [?, 2, 64] must have the tokens and heads of the rows [?, 4, 64]}}
  %p = qnt.pack_cache_rows %k {format = #qnt.cache_format<f16>} : tensor<?x4x64xf32> -> tensor<?x2x64xf16>
  return
}

// -----

func.func @pack_cache_rows_dynamic_heads(%k: tensor<8x?x64xf32>) {
  // expected-error @+1 {{'qnt.pack_cache_rows' op rows must have static kv heads and head size}}
  %p = qnt.pack_cache_rows %k {format = #qnt.cache_format<i8>} : tensor<8x?x64xf32> -> tensor<8x262xi8>
  return
}

// -----

func.func @pack_cache_rows_f16_records(%k: tensor<8x4x64xf32>) {
  // expected-error @+1 {{'qnt.pack_cache_rows' op result must be [tokens, kv heads, row], got rank 2}}
  %p = qnt.pack_cache_rows %k {format = #qnt.cache_format<f16>} : tensor<8x4x64xf32> -> tensor<8x256xf16>
  return
}

// -----

func.func @pack_cache_rows_tokens(%k: tensor<8x4x64xf32>) {
  // expected-error @+1 {{'qnt.pack_cache_rows' op result [7, 262] must have the tokens of the rows [8, 4, 64]}}
  %p = qnt.pack_cache_rows %k {format = #qnt.cache_format<i8>} : tensor<8x4x64xf32> -> tensor<7x262xi8>
  return
}

// -----

func.func @pack_cache_rows_row(%k: tensor<?x4x64xf32>) {
  // expected-error @+1 {{'qnt.pack_cache_rows' op result 'tensor<?x4x64xi8>' must be [tokens, 262] x i8 (4 kv heads of 64 in the i8 cache format: codes, multipliers, f16 step)}}
  %p = qnt.pack_cache_rows %k {format = #qnt.cache_format<i8>} : tensor<?x4x64xf32> -> tensor<?x4x64xi8>
  return
}

// -----

func.func @gather_rows_rank(%t: !qnt.packed<64, #qnt.scheme<si8, symmetric, per_tensor>>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{'qnt.gather_rows' op table must be a packed matrix [rows, K], got rank 1}}
  %r = qnt.gather_rows %t, %ids : !qnt.packed<64, #qnt.scheme<si8, symmetric, per_tensor>>, tensor<?xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @gather_rows_shape(%t: !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_channel<0>>>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{'qnt.gather_rows' op result [?, 32] must be [ids, K] = [?, 64]}}
  %r = qnt.gather_rows %t, %ids : !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_channel<0>>>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

// expected-error @+1 {{vector_bits = 384 must be 128, 256 or 512}}
module attributes {qnt.target = #qnt.target<cpu = "znver4", vector_bits = 384, int_dot = avx2>} {}

// -----

// expected-error @+1 {{'qnt.target' belongs on a module}}
func.func private @target_on_function() attributes {qnt.target = #qnt.target<cpu = "znver4", vector_bits = 512, int_dot = avx2>}

// -----

// expected-error @+1 {{'qnt.target' must be a #qnt.target or a #qnt.gpu_target}}
module attributes {qnt.target = "znver4"} {}

// -----

// expected-error @+1 {{unknown qnt attribute 'qnt.targte'}}
module attributes {qnt.targte = #qnt.target<cpu = "znver4", vector_bits = 512, int_dot = avx2>} {}

// -----

// expected-error @+1 {{expected a kernel family (row_f32, row_lut, row_i8, column_i8 or attention), got 'row_f16'}}
func.func private @family() attributes {k = #qnt.kernel<row_f16, lanes = 8>}

// -----

// expected-error @+1 {{#qnt.kernel needs 'lanes = N'}}
func.func private @no_lanes() attributes {k = #qnt.kernel<row_f32, tile = 4x4>}

// -----

// expected-error @+1 {{'lanes' is given twice}}
func.func private @twice() attributes {k = #qnt.kernel<row_f32, lanes = 8, lanes = 16>}

// -----

// expected-error @+1 {{unknown kernel parameter 'chunk' (expected lanes, tile, streams, x_block, int_dot, lookup, prefetch or parallel)}}
func.func private @unknown_parameter() attributes {k = #qnt.kernel<row_f32, chunk = 8>}

// -----

// expected-error @+1 {{expected generic, avx2, avxvnni or avx512vnni, got 'neon'}}
func.func private @isa() attributes {k = #qnt.kernel<row_i8, lanes = 32, x_block = 32, int_dot = neon>}

// -----

// expected-error @+1 {{lanes = 12 of a row_f32 kernel must be a multiple of 8 in [8, 128]}}
func.func private @f32_lanes() attributes {k = #qnt.kernel<row_f32, lanes = 12>}

// -----

// expected-error @+1 {{lanes = 8 of a row_i8 kernel must be 16 or 32 (bytes per integer dot product)}}
func.func private @i8_lanes() attributes {k = #qnt.kernel<row_i8, lanes = 8, x_block = 32>}

// -----

// expected-error @+1 {{lanes = 32 of a column_i8 kernel must be 8 or 16 (columns per register)}}
func.func private @column_lanes() attributes {k = #qnt.kernel<column_i8, lanes = 32, x_block = 32>}

// -----

// expected-error @+1 {{tile = 9x4 must be 1 to 8 rows by 1 to 8 columns}}
func.func private @tile() attributes {k = #qnt.kernel<row_f32, lanes = 8, tile = 9x4>}

// -----

// expected-error @+1 {{tile = 4x2 of a column_i8 kernel must have 1 column (its columns are its lanes)}}
func.func private @column_tile() attributes {k = #qnt.kernel<column_i8, lanes = 8, tile = 4x2, x_block = 32>}

// -----

// expected-error @+1 {{streams = 0 must be 1 to 8}}
func.func private @streams() attributes {k = #qnt.kernel<row_f32, lanes = 8, streams = 0>}

// -----

// expected-error @+1 {{x_block = 48 of a row_i8 kernel must be 32, 64, 128 or 256}}
func.func private @x_block() attributes {k = #qnt.kernel<row_i8, lanes = 32, x_block = 48>}

// -----

// expected-error @+1 {{a row_f32 kernel takes no x_block and no int_dot}}
func.func private @f32_int_dot() attributes {k = #qnt.kernel<row_f32, lanes = 8, int_dot = avx2>}

// -----

// expected-error @+1 {{expected generic, avx2, avx512 or float_bits, got 'avx512vnni'}}
func.func private @lookup_isa() attributes {k = #qnt.kernel<row_lut, lanes = 16, lookup = avx512vnni>}

// -----

// expected-error @+1 {{a row_f32 kernel takes no lookup (only row_lut and column_i8 do)}}
func.func private @f32_lookup() attributes {k = #qnt.kernel<row_f32, lanes = 8, lookup = avx2>}

// -----

// expected-error @+1 {{lookup = float_bits decodes fp8 codes, which a column_i8 kernel does not take}}
func.func private @column_float_bits() attributes {k = #qnt.kernel<column_i8, lanes = 8, x_block = 32, lookup = float_bits>}

// -----

// expected-error @+1 {{a row_lut kernel takes no x_block and no int_dot}}
func.func private @lut_int_dot() attributes {k = #qnt.kernel<row_lut, lanes = 8, int_dot = avx2>}

// -----

// expected-error @+1 {{lanes = 12 of a row_lut kernel must be a multiple of 8 in [8, 128]}}
func.func private @lut_lanes() attributes {k = #qnt.kernel<row_lut, lanes = 12>}

// -----

// expected-error @+1 {{an attention kernel takes only lanes, tile = RxH, prefetch and parallel}}
func.func private @attention_streams() attributes {k = #qnt.kernel<attention, lanes = 8, tile = 2x2, streams = 2>}

// -----

// expected-error @+1 {{tile = 9x1 of an attention kernel must have 1 to 8 query rows, or as many as its lanes (at most 16: the rows in the lanes), by 1 to 8 query heads}}
func.func private @attention_rows() attributes {k = #qnt.kernel<attention, lanes = 8, tile = 9x1>}

// -----

// expected-error @+1 {{tile = 32x1 of an attention kernel must have 1 to 8 query rows, or as many as its lanes (at most 16: the rows in the lanes), by 1 to 8 query heads}}
func.func private @attention_rows_in_lanes() attributes {k = #qnt.kernel<attention, lanes = 32, tile = 32x1>}

// -----

// expected-error @+1 {{tile = 1x0 of an attention kernel must have 1 to 8 query rows, or as many as its lanes (at most 16: the rows in the lanes), by 1 to 8 query heads}}
func.func private @attention_heads() attributes {k = #qnt.kernel<attention, lanes = 8, tile = 1x0>}

// -----

func.func @attention_heads_of_kv_head(%q: tensor<1x6x8xf32>, %k: tensor<16x2x8xf32>, %pos: index) -> tensor<1x6x8xf32> {
  // expected-error @+1 {{'qnt.attention' op kernel tile = 1x2 takes 2 query heads of a kv head together, which does not divide the 3 it has}}
  %o = qnt.attention %q, %k, %k, %pos {qnt.kernel = #qnt.kernel<attention, lanes = 8, tile = 1x2>, scale = 0.5 : f32} : tensor<1x6x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<1x6x8xf32>
  return %o : tensor<1x6x8xf32>
}

// -----

func.func @matmul_kernel_on_attention(%q: tensor<1x4x8xf32>, %k: tensor<16x2x8xf32>, %pos: index) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{a row_f32 kernel belongs on qnt.matmul}}
  %o = qnt.attention %q, %k, %k, %pos {qnt.kernel = #qnt.kernel<row_f32, lanes = 8>, scale = 0.5 : f32} : tensor<1x4x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<1x4x8xf32>
  return %o : tensor<1x4x8xf32>
}

// -----

func.func @kernel_not_a_kernel(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  // expected-error @+1 {{'qnt.kernel' must be a #qnt.kernel or a #qnt.gpu_kernel}}
  %y = qnt.matmul %x, %w {qnt.kernel = 16 : i64} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// expected-error @+1 {{'qnt.scheme' must be a #qnt.scheme}}
func.func private @scheme_not_a_scheme() attributes {qnt.scheme = 4 : i64}

// -----

// expected-error @+1 {{'qnt.keep_float' is a unit attribute}}
func.func private @keep_float_not_unit() attributes {qnt.keep_float = true}

// -----

// An i4 cache (#qnt.cache_format<i4>): keys and values [kv heads, bytes]
// alike, a cache_block and a cache_window, and the rows in window form.
// Head size 16, 64 positions, block 32, window 64: 2 blocks of 256 + 48
// bytes, then 64 slots of 16 + 2: 1760 bytes per kv head.
func.func @attention_i4_no_window(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op an i4 cache needs a cache_block and a cache_window}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @attention_i4_rows_in_lanes(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op kernel tile = 16x1 puts the query rows in the lanes, which an i4 cache does not take (at most 8 rows, fewer than the lanes)}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 16x1>, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @attention_i4_bad_block(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op cache block 24 must be a power of two from 8 to 256}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 24 : i64, cache_window = 48 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @attention_i4_bad_window(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op cache window 48 must be a multiple of the block 32 from 32 to 4096}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 48 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @attention_i4_odd_head(%q: tensor<?x8x15xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op head size 15 must be even and positive for 4-bit cache codes}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<?x8x15xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x15xf32>
  return
}

// -----

func.func @attention_i4_bytes(%q: tensor<?x8x16xf32>, %k: tensor<2x1700xi8>, %v: tensor<2x1700xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op keys 'tensor<2x1700xi8>' and values 'tensor<2x1700xi8>' must both be [kv heads, blocks * 304 + 1152] x i8 (blocks of 32 positions and a window of 64, head size 16)}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1700xi8>, tensor<2x1700xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @attention_i4_keys_values(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x2064xi8>, %rk: tensor<2x?xi8>, %rv: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op keys 'tensor<2x1760xi8>' and values 'tensor<2x2064xi8>' must both be [kv heads, blocks * 304 + 1152] x i8 (blocks of 32 positions and a window of 64, head size 16)}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x2064xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @attention_i4_no_recent(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op an i4 cache needs recent_keys and recent_values (the rows in window form)}}
  %o = qnt.attention %q, %k, %v, %p {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @attention_i4_recent_heads(%q: tensor<?x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<3x?xi8>, %rv: tensor<3x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op recent keys must be [2, tokens * 18] x i8 (the rows in window form, qnt.pack_window_rows)}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<3x?xi8>, tensor<3x?xi8> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @attention_i4_recent_tokens(%q: tensor<1x8x16xf32>, %k: tensor<2x1760xi8>, %v: tensor<2x1760xi8>, %rk: tensor<2x36xi8>, %rv: tensor<2x36xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op recent keys must be [2, tokens * 18] x i8 (the rows in window form, qnt.pack_window_rows)}}
  %o = qnt.attention %q, %k, %v, %p recent %rk, %rv {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x36xi8>, tensor<2x36xi8> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_no_kv_heads(%q: tensor<1x8x16xf32>, %k: tensor<64x0x16xf32>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op needs at least one kv head and a head size of at least 1, not 0 kv heads of 16}}
  %o = qnt.attention %q, %k, %k, %p {scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64x0x16xf32>, tensor<64x0x16xf32> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @attention_i4_empty_head(%q: tensor<1x8x0xf32>, %k: tensor<2x1760xi8>, %rk: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op head size 0 must be even and positive for 4-bit cache codes}}
  %o = qnt.attention %q, %k, %k, %p recent %rk, %rk {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<1x8x0xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<1x8x0xf32>
  return
}

// -----

func.func @pack_window_rows_empty_head(%k: tensor<?x2x0xf32>) {
  // expected-error @+1 {{'qnt.pack_window_rows' op rows 'tensor<?x2x0xf32>' must be [tokens, kv heads, head size] with static heads}}
  %r = qnt.pack_window_rows %k : tensor<?x2x0xf32> -> tensor<2x?xi8>
  return
}

// -----

func.func @attention_block_not_i4(%q: tensor<1x8x16xf32>, %k: tensor<64x36xi8>, %p: index) {
  // expected-error @+1 {{'qnt.attention' op cache_block, cache_window and the recent rows belong to an i4 cache only}}
  %o = qnt.attention %q, %k, %k, %p {cache = #qnt.cache_format<i8>, cache_block = 32 : i64, scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<64x36xi8>, tensor<64x36xi8> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @pack_rows_i4(%v: tensor<?x2x16xf32>) {
  // expected-error @+1 {{'qnt.pack_cache_rows' op an i4 cache is written by qnt.pack_window_rows and qnt.pack_cache_blocks, not in rows}}
  %p = qnt.pack_cache_rows %v {format = #qnt.cache_format<i4>} : tensor<?x2x16xf32> -> tensor<?x2x11xi8>
  return
}

// -----

func.func @pack_window_rows_heads(%k: tensor<?x?x16xf32>) {
  // expected-error @+1 {{'qnt.pack_window_rows' op rows 'tensor<?x?x16xf32>' must be [tokens, kv heads, head size] with static heads}}
  %r = qnt.pack_window_rows %k : tensor<?x?x16xf32> -> tensor<2x?xi8>
  return
}

// -----

func.func @pack_window_rows_result(%k: tensor<3x2x16xf32>) {
  // expected-error @+1 {{'qnt.pack_window_rows' op result must be [2, tokens * 18] x i8 (the rows in window form, qnt.pack_window_rows)}}
  %r = qnt.pack_window_rows %k : tensor<3x2x16xf32> -> tensor<2x36xi8>
  return
}

// -----

func.func @pack_cache_blocks_block(%w: tensor<2x1152xi8>, %r: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.pack_cache_blocks' op block 512 and window 64 must be a power of two from 8 to 256 and a multiple of it from one block to 4096}}
  %b = qnt.pack_cache_blocks %w, %r, %p {block = 512 : i64, window = 64 : i64} : tensor<2x1152xi8>, tensor<2x?xi8> -> tensor<2x?xi8>
  return
}

// -----

func.func @pack_cache_blocks_window(%w: tensor<2x1100xi8>, %r: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.pack_cache_blocks' op window 'tensor<2x1100xi8>' must be [kv heads, 64 * (head size + 2)] x i8}}
  %b = qnt.pack_cache_blocks %w, %r, %p {block = 32 : i64, window = 64 : i64} : tensor<2x1100xi8>, tensor<2x?xi8> -> tensor<2x?xi8>
  return
}

// -----

func.func @pack_cache_blocks_odd_head(%w: tensor<2x1088xi8>, %r: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.pack_cache_blocks' op head size 15 must be even and positive for 4-bit cache codes}}
  %b = qnt.pack_cache_blocks %w, %r, %p {block = 32 : i64, window = 64 : i64} : tensor<2x1088xi8>, tensor<2x?xi8> -> tensor<2x?xi8>
  return
}

// -----

func.func @pack_cache_blocks_recent(%w: tensor<2x1152xi8>, %r: tensor<2x20xi8>, %p: index) {
  // expected-error @+1 {{'qnt.pack_cache_blocks' op recent must be [2, tokens * 18] x i8 (the rows in window form, qnt.pack_window_rows)}}
  %b = qnt.pack_cache_blocks %w, %r, %p {block = 32 : i64, window = 64 : i64} : tensor<2x1152xi8>, tensor<2x20xi8> -> tensor<2x?xi8>
  return
}

// -----

func.func @pack_cache_blocks_result(%w: tensor<2x1152xi8>, %r: tensor<2x?xi8>, %p: index) {
  // expected-error @+1 {{'qnt.pack_cache_blocks' op result 'tensor<2x100xi8>' must be [2, blocks * 304] x i8}}
  %b = qnt.pack_cache_blocks %w, %r, %p {block = 32 : i64, window = 64 : i64} : tensor<2x1152xi8>, tensor<2x?xi8> -> tensor<2x100xi8>
  return
}

// -----

// expected-error @+1 {{'qnt.context' must be a positive i64 (positions)}}
module attributes {qnt.context = 0 : i64} {
}

// -----

// expected-error @+1 {{'qnt.context' belongs on a module}}
func.func private @context_on_function() attributes {qnt.context = 512 : i64}

// -----

// expected-error @+1 {{lanes = 12 of a planes layout must be a multiple of 8 in [8, 128]}}
func.func private @layout_lanes(!qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 12>>)

// -----

// expected-error @+1 {{block = 0 of a planes layout must be positive}}
func.func private @layout_no_block(!qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, lanes = 8>>)

// -----

// expected-error @+1 {{rows = 9 of a row_tiles layout must be in [1, 8]}}
func.func private @layout_rows(!qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 9>>)

// -----

// expected-error @+1 {{flip = 300 must be a byte (0 to 255)}}
func.func private @layout_flip(!qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, lanes = 16, flip = 300>>)

// -----

// expected-error @+1 {{a column_tiles layout takes only lanes and flip}}
func.func private @layout_column_block(!qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, block = 32, lanes = 16>>)

// -----

// expected-error @+1 {{a planes layout of 8-bit codes takes fp8 codes (four to a 32-bit word), not integers}}
func.func private @layout_planes_i8(!qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_channel<0>>, #qnt.layout<planes, block = 64, lanes = 8>>)

// -----

// expected-error @+1 {{block = 64 must divide K (64) and hold at least one plane block of 128 codes}}
func.func private @layout_planes_fp8_block(!qnt.packed<8x64, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>, #qnt.layout<planes, block = 64, lanes = 32>>)

// -----

// expected-error @+1 {{a column_tiles layout takes 4- or 8-bit codes, not 2-bit}}
func.func private @layout_column_bits(!qnt.packed<8x64, #qnt.scheme<si2, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, lanes = 16>>)

// -----

// expected-error @+1 {{block = 48 must divide K (64) and hold at least one plane block of 16 codes}}
func.func private @layout_block(!qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 48, lanes = 8>>)

// -----

// expected-error @+1 {{a row_tiles layout lays out a 2-D weight, not rank 3}}
func.func private @layout_rank(!qnt.packed<2x8x64, #qnt.scheme<si4, symmetric, per_group<2, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2>>)

// -----

// expected-error @+1 {{a column_tiles layout needs scales per channel or per group}}
func.func private @layout_per_tensor(!qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_tensor>, #qnt.layout<column_tiles, lanes = 16>>)

// -----

// expected-error @+1 {{'qnt.constant' op 'codes' shape [8, 32] does not match [320] (bytes of 4-bit codes in #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2, flip = 136>)}}
%w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2, flip = 136>>

// -----

// expected-error @+1 {{'qnt.constant' op 'scales' shape [8, 2] does not match [64] (one scale per channel or group, in tiles)}}
%w = qnt.constant {codes = dense<0> : tensor<1536xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, lanes = 8>>

// -----

func.func @dequantize_laid_out(%w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'qnt.dequantize' op input must have the row layout, not #qnt.layout<planes, block = 32, lanes = 8> (a kernel layout is read only by the kernel it was made for)}}
  %0 = qnt.dequantize %w : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>> -> tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @gather_row_tiles(%w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2>>, %ids: tensor<3xi32>) -> tensor<3x64xf32> {
  // expected-error @+1 {{'qnt.gather_rows' op table must have the row layout, not #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2> (a kernel layout is read only by the kernel it was made for)}}
  %0 = qnt.gather_rows %w, %ids : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2>>, tensor<3xi32> -> tensor<3x64xf32>
  return %0 : tensor<3x64xf32>
}

// -----

// expected-error @+1 {{lanes = 24 of a row_tiles layout must be 16 or 32}}
func.func private @layout_row_lanes(!qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 24, rows = 2>>)

// -----

// expected-error @+1 {{lanes = 32 of a column_tiles layout must be 8 or 16}}
func.func private @layout_column_lanes(!qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, lanes = 32>>)

// -----

// expected-error @+1 {{a planes layout takes only block and lanes}}
func.func private @layout_planes_rows(!qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8, rows = 2>>)

// -----

// expected-error @+1 {{a planes layout does not take an offset scheme}}
func.func private @layout_offsets(!qnt.packed<8x64, #qnt.scheme<ui4, offset, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>>)

// -----

// expected-error @+1 {{a row_tiles layout takes codes of 1, 2, 4 or 8 bits, not 3}}
func.func private @layout_three_bits(!qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 16, rows = 2>>)

// -----

// expected-error @+1 {{a column_tiles layout of 4-bit codes needs K a multiple of 8, not 36}}
func.func private @layout_column_k(!qnt.packed<8x36, #qnt.scheme<si4, symmetric, per_channel<0>>, #qnt.layout<column_tiles, lanes = 8>>)

// -----

func.func @quantize_laid_out(%x: tensor<8x64xf32>) -> !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>> {
  // expected-error @+1 {{'qnt.quantize' op result must have the row layout, not #qnt.layout<planes, block = 32, lanes = 8> (a kernel layout is read only by the kernel it was made for)}}
  %0 = qnt.quantize %x : tensor<8x64xf32> -> !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>>
  return %0 : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>>
}
