// Round trip of every qnt attribute, type and op: pretty form, then generic form.
// RUN: quant-opt %s --split-input-file | quant-opt --split-input-file | FileCheck %s
// RUN: quant-opt %s --split-input-file --mlir-print-op-generic | quant-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @scheme_spellings
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<ui8, asymmetric, per_channel<0>, scale = f16>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<si1, symmetric, per_tensor, scale = bf16>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<ui3, asymmetric, per_group<1, 64>>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<f8E5M2, symmetric, per_tensor>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>
// CHECK-SAME: !qnt.packed<2x3x64, #qnt.scheme<si7, symmetric, per_group<0, 2>>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_group<1, 64>, scale = bf16>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_channel<0>>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 2.500000e-04>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 1.17549435E-38>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<lut4, symmetric, per_group<1, 32>, scale = f16, codebook = array<f32: -1.000000e+00, -7.500000e-01, -5.000000e-01, -3.750000e-01, -2.500000e-01, -1.250000e-01, -6.250000e-02, 0.000000e+00, 3.125000e-02, 1.250000e-01, 2.500000e-01, 3.750000e-01, 5.000000e-01, 6.250000e-01, 7.500000e-01, 1.000000e+00>>>
// CHECK-SAME: !qnt.packed<8x64, #qnt.scheme<lut4, symmetric, per_group<1, 32>, scale = f16, codebook = array<f32: -1.270000e+02, -1.040000e+02, -8.300000e+01, -6.500000e+01, -4.900000e+01, -3.500000e+01, -2.200000e+01, -1.000000e+01, 1.000000e+00, 1.300000e+01, 2.500000e+01, 3.800000e+01, 5.300000e+01, 6.900000e+01, 8.900000e+01, 1.130000e+02>>>
func.func @scheme_spellings(
    %a: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>,
    %b: !qnt.packed<8x64, #qnt.scheme<ui8, asymmetric, per_channel<0>, scale = f16>>,
    %c: !qnt.packed<8x64, #qnt.scheme<si1, symmetric, per_tensor, scale = bf16>>,
    %d: !qnt.packed<8x64, #qnt.scheme<ui3, asymmetric, per_group<1, 64>>>,
    %e: !qnt.packed<8x64, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>,
    %f: !qnt.packed<8x64, #qnt.scheme<f8E5M2, symmetric, per_tensor>>,
    %g: !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>,
    %h: !qnt.packed<2x3x64, #qnt.scheme<si7, symmetric, per_group<0, 2>>>,
    %i: !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_group<1, 64>, scale = bf16>>,
    %j: !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_channel<0>>>,
    %k: !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 2.5e-4>>,
    %l: !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN>>,
    %m: !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 1.17549435E-38>>,
    %n: !qnt.packed<8x64, #qnt.scheme<lut4, symmetric, per_group<1, 32>, scale = f16, codebook = array<f32: -1.0, -0.75, -0.5, -0.375, -0.25, -0.125, -0.0625, 0.0, 0.03125, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0>>>,
    %o: !qnt.packed<8x64, #qnt.scheme<lut4, symmetric, per_group<1, 32>, scale = f16, codebook = array<f32: -127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0>>>) {
  return
}

// -----

// An explicit `scale = f32` is the default and is not printed back.
// CHECK-LABEL: func.func @default_scale_type
// CHECK-SAME: #qnt.scheme<si2, symmetric, per_tensor>>
func.func @default_scale_type(%a: !qnt.packed<4x4, #qnt.scheme<si2, symmetric, per_tensor, scale = f32>>) {
  return
}

// -----

// CHECK-LABEL: func.func @constant_symmetric_group
//       CHECK:   qnt.constant {codes = dense<33> : tensor<8x32xi8>, scales = dense<2.500000e-01> : tensor<8x2xf32>}
//  CHECK-SAME:     : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
func.func @constant_symmetric_group() -> !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>> {
  %w = qnt.constant {codes = dense<33> : tensor<8x32xi8>, scales = dense<0.25> : tensor<8x2xf32>}
      : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  return %w : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
}

// -----

// 3-bit rows of 13 codes take ceil(39 / 8) = 5 bytes; zero points are ui8.
// CHECK-LABEL: func.func @constant_asymmetric_3bit
//       CHECK:   qnt.constant {codes = dense<0> : tensor<2x5xi8>, scales = dense<[
//  CHECK-SAME:     : tensor<2x1xf16>, zero_points = dense<[
//  CHECK-SAME:     : tensor<2x1xui8>} : !qnt.packed<2x13, #qnt.scheme<ui3, asymmetric, per_channel<0>, scale = f16>>
func.func @constant_asymmetric_3bit() -> !qnt.packed<2x13, #qnt.scheme<ui3, asymmetric, per_channel<0>, scale = f16>> {
  %w = qnt.constant {codes = dense<0> : tensor<2x5xi8>, scales = dense<[[1.0], [0.5]]> : tensor<2x1xf16>,
                     zero_points = dense<[[0], [7]]> : tensor<2x1xui8>}
      : !qnt.packed<2x13, #qnt.scheme<ui3, asymmetric, per_channel<0>, scale = f16>>
  return %w : !qnt.packed<2x13, #qnt.scheme<ui3, asymmetric, per_channel<0>, scale = f16>>
}

// -----

// An offset scheme (llama.cpp's Q4_1): value = scale * code + offset, one
// offset of the scale type per scale.
// CHECK-LABEL: func.func @constant_offsets
//       CHECK:   qnt.constant {codes = dense<33> : tensor<2x16xi8>, offsets = dense<[
//  CHECK-SAME:     : tensor<2x1xf16>, scales = dense<[
//  CHECK-SAME:     : tensor<2x1xf16>} : !qnt.packed<2x32, #qnt.scheme<ui4, offset, per_group<1, 32>, scale = f16>>
func.func @constant_offsets() -> !qnt.packed<2x32, #qnt.scheme<ui4, offset, per_group<1, 32>, scale = f16>> {
  %w = qnt.constant {codes = dense<33> : tensor<2x16xi8>, scales = dense<[[0.5], [0.25]]> : tensor<2x1xf16>,
                     offsets = dense<[[-1.5], [2.0]]> : tensor<2x1xf16>}
      : !qnt.packed<2x32, #qnt.scheme<ui4, offset, per_group<1, 32>, scale = f16>>
  return %w : !qnt.packed<2x32, #qnt.scheme<ui4, offset, per_group<1, 32>, scale = f16>>
}

// -----

// Large payloads live in resource blobs, not inline.
// CHECK-LABEL: func.func @constant_resource
//       CHECK:   qnt.constant {codes = dense_resource<w_codes> : tensor<2x4xi8>, scales = dense_resource<w_scales> : tensor<2x1xf32>}
//       CHECK: dialect_resources
//       CHECK:   w_codes: "0x
//       CHECK:   w_scales: "0x
func.func @constant_resource() -> !qnt.packed<2x8, #qnt.scheme<si4, symmetric, per_channel<0>>> {
  %w = qnt.constant {codes = dense_resource<w_codes> : tensor<2x4xi8>, scales = dense_resource<w_scales> : tensor<2x1xf32>}
      : !qnt.packed<2x8, #qnt.scheme<si4, symmetric, per_channel<0>>>
  return %w : !qnt.packed<2x8, #qnt.scheme<si4, symmetric, per_channel<0>>>
}
{-#
  dialect_resources: {
    builtin: {
      w_codes: "0x0100000001234567F0E0D0C0",
      w_scales: "0x040000000000803F0000003F"
    }
  }
#-}

// -----

// CHECK-LABEL: func.func @quantize_dequantize
//  CHECK-SAME:   (%[[X:.*]]: tensor<16x64xf32>)
//       CHECK:   %[[Q:.*]] = qnt.quantize %[[X]] : tensor<16x64xf32> -> !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_channel<0>>>
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[Q]] : !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_channel<0>>> -> tensor<16x64xbf16>
//       CHECK:   return %[[D]]
func.func @quantize_dequantize(%x: tensor<16x64xf32>) -> tensor<16x64xbf16> {
  %q = qnt.quantize %x : tensor<16x64xf32> -> !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_channel<0>>>
  %d = qnt.dequantize %q : !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_channel<0>>> -> tensor<16x64xbf16>
  return %d : tensor<16x64xbf16>
}

// -----

// CHECK-LABEL: func.func @matmul_forms
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x3x64xf32>, %[[V:.*]]: tensor<64xf16>, %[[W:.*]]: !qnt.packed<{{.*}}>, %[[W16:.*]]: !qnt.packed<{{.*}}>, %[[B:.*]]: tensor<16xf32>)
//       CHECK:   qnt.matmul %[[X]], %[[W]], %[[B]] : (tensor<?x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, tensor<16xf32>) -> tensor<?x3x16xf32>
//       CHECK:   qnt.matmul %[[X]], %[[W]] : (tensor<?x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x3x16xf32>
//       CHECK:   qnt.matmul %[[V]], %[[W16]] : (tensor<64xf16>, !qnt.packed<16x64, #qnt.scheme<ui2, asymmetric, per_channel<0>>>) -> tensor<16xf16>
func.func @matmul_forms(%x: tensor<?x3x64xf32>, %v: tensor<64xf16>,
                        %w: !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>,
                        %w16: !qnt.packed<16x64, #qnt.scheme<ui2, asymmetric, per_channel<0>>>,
                        %b: tensor<16xf32>) -> (tensor<?x3x16xf32>, tensor<?x3x16xf32>, tensor<16xf16>) {
  %0 = qnt.matmul %x, %w, %b : (tensor<?x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, tensor<16xf32>) -> tensor<?x3x16xf32>
  %1 = qnt.matmul %x, %w : (tensor<?x3x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x3x16xf32>
  %2 = qnt.matmul %v, %w16 : (tensor<64xf16>, !qnt.packed<16x64, #qnt.scheme<ui2, asymmetric, per_channel<0>>>) -> tensor<16xf16>
  return %0, %1, %2 : tensor<?x3x16xf32>, tensor<?x3x16xf32>, tensor<16xf16>
}

// -----

// CHECK-LABEL: func.func @attention_forms
//  CHECK-SAME:   (%[[Q:.*]]: tensor<?x8x16xf32>, %[[Q1:.*]]: tensor<1x8x16xf32>, %[[K:.*]]: tensor<64x2x16xf32>, %[[V:.*]]: tensor<64x2x16xf32>, %[[P:.*]]: index)
//       CHECK:   qnt.attention %[[Q]], %[[K]], %[[V]], %[[P]] {scale = 2.500000e-01 : f32} : tensor<?x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<?x8x16xf32>
//       CHECK:   qnt.attention %[[Q1]], %[[K]], %[[V]], %[[P]] {scale = 1.000000e+00 : f32} : tensor<1x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<1x8x16xf32>
func.func @attention_forms(%q: tensor<?x8x16xf32>, %q1: tensor<1x8x16xf32>,
                           %k: tensor<64x2x16xf32>, %v: tensor<64x2x16xf32>,
                           %pos: index) -> (tensor<?x8x16xf32>, tensor<1x8x16xf32>) {
  %0 = qnt.attention %q, %k, %v, %pos {scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<?x8x16xf32>
  %1 = qnt.attention %q1, %k, %v, %pos {scale = 1.0 : f32} : tensor<1x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<1x8x16xf32>
  return %0, %1 : tensor<?x8x16xf32>, tensor<1x8x16xf32>
}

// -----

// The i8 cache format: records of 2 kv heads' 16 codes, their multipliers
// and a 2-byte step; f32 is the default and is not printed.
// CHECK-LABEL: func.func @cache_formats
//       CHECK:   %[[P:.*]] = qnt.pack_cache_rows %{{.*}} {format = #qnt.cache_format<i8>} : tensor<?x2x16xf32> -> tensor<?x36xi8>
//       CHECK:   qnt.pack_cache_rows %{{.*}} {format = #qnt.cache_format<f32>} : tensor<?x2x16xf32> -> tensor<?x2x16xf32>
//       CHECK:   qnt.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {cache = #qnt.cache_format<i8>, scale = 2.500000e-01 : f32} : tensor<?x8x16xf32>, tensor<64x36xi8>, tensor<64x36xi8> -> tensor<?x8x16xf32>
//       CHECK:   qnt.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 2.500000e-01 : f32} : tensor<?x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<?x8x16xf32>
func.func @cache_formats(%rows: tensor<?x2x16xf32>, %q: tensor<?x8x16xf32>,
                         %k: tensor<64x36xi8>, %kf: tensor<64x2x16xf32>,
                         %pos: index) -> (tensor<?x36xi8>, tensor<?x2x16xf32>, tensor<?x8x16xf32>, tensor<?x8x16xf32>) {
  %0 = qnt.pack_cache_rows %rows {format = #qnt.cache_format<i8>} : tensor<?x2x16xf32> -> tensor<?x36xi8>
  %1 = qnt.pack_cache_rows %rows {format = #qnt.cache_format<f32>} : tensor<?x2x16xf32> -> tensor<?x2x16xf32>
  %2 = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<i8>, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<64x36xi8>, tensor<64x36xi8> -> tensor<?x8x16xf32>
  %3 = qnt.attention %q, %kf, %kf, %pos {cache = #qnt.cache_format<f32>, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<64x2x16xf32>, tensor<64x2x16xf32> -> tensor<?x8x16xf32>
  return %0, %1, %2, %3 : tensor<?x36xi8>, tensor<?x2x16xf32>, tensor<?x8x16xf32>, tensor<?x8x16xf32>
}

// The f16 cache format: rows of 16 half floats.
// CHECK-LABEL: func.func @cache_format_f16
//       CHECK:   qnt.pack_cache_rows %{{.*}} {format = #qnt.cache_format<f16>} : tensor<?x2x16xf32> -> tensor<?x2x16xf16>
//       CHECK:   qnt.attention %{{.*}} {cache = #qnt.cache_format<f16>, scale = 2.500000e-01 : f32} : tensor<?x8x16xf32>, tensor<64x2x16xf16>, tensor<64x2x16xf16> -> tensor<?x8x16xf32>
func.func @cache_format_f16(%rows: tensor<?x2x16xf32>, %q: tensor<?x8x16xf32>,
                            %k: tensor<64x2x16xf16>, %pos: index) -> (tensor<?x2x16xf16>, tensor<?x8x16xf32>) {
  %0 = qnt.pack_cache_rows %rows {format = #qnt.cache_format<f16>} : tensor<?x2x16xf32> -> tensor<?x2x16xf16>
  %1 = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<f16>, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<64x2x16xf16>, tensor<64x2x16xf16> -> tensor<?x8x16xf32>
  return %0, %1 : tensor<?x2x16xf16>, tensor<?x8x16xf32>
}

// -----

// The kernel choice as IR: #qnt.target on the module, #qnt.kernel on the ops;
// parameters at their defaults (tile 1x1, one stream, no flags) print the
// same way they are written, and the int8 families print x_block and int_dot.
// CHECK: module attributes {qnt.target = #qnt.target<cpu = "znver4", vector_bits = 512, int_dot = avx512vnni>}
// CHECK-LABEL: func.func @kernels
// CHECK: qnt.kernel = #qnt.kernel<row_f32, lanes = 16, tile = 4x4, streams = 1, prefetch>
// CHECK: qnt.kernel = #qnt.kernel<row_i8, lanes = 32, tile = 4x2, streams = 2, x_block = 128, int_dot = avx512vnni, prefetch, parallel>
// CHECK: qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 1x1, streams = 1, x_block = 32, int_dot = generic>
// CHECK: qnt.kernel = #qnt.kernel<attention, lanes = 8, parallel>
// CHECK-LABEL: func.func @lut_kernels
// CHECK: qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>
// CHECK: qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 1x1, streams = 1, lookup = generic>
// CHECK: qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = float_bits, prefetch>
module attributes {qnt.target = #qnt.target<cpu = "znver4", vector_bits = 512, int_dot = avx512vnni>} {
  func.func @kernels(%x: tensor<2x64xf32>, %q: tensor<1x4x8xf32>, %k: tensor<16x2x8xf32>, %pos: index) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<1x4x8xf32>) {
    %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
    %a = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, prefetch, lanes = 16, tile = 4x4, streams = 1>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
    %b = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_i8, lanes = 32, tile = 4x2, streams = 2, x_block = 128, int_dot = avx512vnni, prefetch, parallel>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
    %c = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<column_i8, lanes = 8, x_block = 32>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
    %o = qnt.attention %q, %k, %k, %pos {qnt.kernel = #qnt.kernel<attention, lanes = 8, parallel>, scale = 0.5 : f32} : tensor<1x4x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<1x4x8xf32>
    return %a, %b, %c, %o : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<1x4x8xf32>
  }
  func.func @lut_kernels(%x: tensor<2x64xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
    %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_group<1, 32>>>
    %a = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_lut, lookup = avx512, lanes = 16, tile = 4x4, prefetch>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
    %b = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_lut, lanes = 8>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
    %f = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x1xf32>} : !qnt.packed<8x64, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>
    %c = qnt.matmul %x, %f {qnt.kernel = #qnt.kernel<row_lut, lookup = float_bits, lanes = 16, tile = 4x4, prefetch>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>) -> tensor<2x8xf32>
    return %a, %b : tensor<2x8xf32>, tensor<2x8xf32>
  }
}

// -----

// CHECK-LABEL: func.func @lookup16
//       CHECK:   qnt.lookup16 <avx2> %{{.*}}, [-1.000000e+00, 0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01, 1.300000e+01, 1.400000e+01] : vector<8xi32> -> vector<8xf32>
func.func @lookup16(%i: vector<8xi32>) -> vector<8xf32> {
  %v = qnt.lookup16 <avx2> %i, [-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0] : vector<8xi32> -> vector<8xf32>
  return %v : vector<8xf32>
}

// An i4 cache: keys and values as blocks and a window per kv head, the
// rows in window form.
// CHECK-LABEL: func.func @cache_format_i4
//       CHECK:   %[[R:.*]] = qnt.pack_window_rows %{{.*}} : tensor<?x2x16xf32> -> tensor<2x?xi8>
//       CHECK:   qnt.pack_cache_blocks %{{.*}}, %[[R]], %{{.*}} {block = 32 : i64, window = 64 : i64} : tensor<2x1152xi8>, tensor<2x?xi8> -> tensor<2x?xi8>
//       CHECK:   qnt.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} recent %[[R]], %[[R]] {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 2.500000e-01 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
func.func @cache_format_i4(%rows: tensor<?x2x16xf32>, %q: tensor<?x8x16xf32>,
                           %w: tensor<2x1152xi8>, %k: tensor<2x1760xi8>,
                           %v: tensor<2x1760xi8>, %pos: index) {
  %0 = qnt.pack_window_rows %rows : tensor<?x2x16xf32> -> tensor<2x?xi8>
  %1 = qnt.pack_cache_blocks %w, %0, %pos {block = 32 : i64, window = 64 : i64} : tensor<2x1152xi8>, tensor<2x?xi8> -> tensor<2x?xi8>
  %2 = qnt.attention %q, %k, %v, %pos recent %0, %0 {cache = #qnt.cache_format<i4>, cache_block = 32 : i64, cache_window = 64 : i64, scale = 0.25 : f32} : tensor<?x8x16xf32>, tensor<2x1760xi8>, tensor<2x1760xi8>, tensor<2x?xi8>, tensor<2x?xi8> -> tensor<?x8x16xf32>
  return
}
