// qnt-select-kernels on fp4 weights (e2m1 codes): with int8 activations
// (the default where the target has integer dot products) the column
// kernels, whose `lookup` names the byte table lookup of the codes (vpshufb
// of 64 bytes with 512-bit vectors, of 32 with AVX2): mxfp4 (groups of 32,
// x blocks of 32) and nvfp4 (groups of 16, halves of x blocks of 32, K a
// multiple of 32). nvfp4 with K not a multiple of 32 (no whole x blocks),
// and every fp4 weight with f32 activations or column-kernels=false, keep
// the row_lut kernels with f32 x.
// RUN: quant-opt %s --qnt-set-target=cpu=znver4 --qnt-select-kernels | FileCheck %s --check-prefix=VNNI
// RUN: quant-opt %s --qnt-set-target=cpu=znver3 --qnt-select-kernels | FileCheck %s --check-prefix=AVX2
// RUN: quant-opt %s --qnt-select-kernels=activations=i8 | FileCheck %s --check-prefix=NONE
// RUN: quant-opt %s --qnt-set-target=cpu=znver4 --qnt-select-kernels=activations=f32 | FileCheck %s --check-prefix=F32
// RUN: quant-opt %s --qnt-set-target=cpu=znver4 --qnt-select-kernels=column-kernels=false | FileCheck %s --check-prefix=ROWS

// VNNI-LABEL: func.func @mxfp4
//       VNNI:   qnt.kernel = #qnt.kernel<column_i8, lanes = 16, tile = 4x1, streams = 1, x_block = 32, int_dot = avx512vnni, lookup = avx512, prefetch>
// VNNI-LABEL: func.func @nvfp4
//       VNNI:   qnt.kernel = #qnt.kernel<column_i8, lanes = 16, tile = 4x1, streams = 1, x_block = 32, int_dot = avx512vnni, lookup = avx512, prefetch>
// VNNI-LABEL: func.func @nvfp4_k48
//       VNNI:   qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 4x4, streams = 1, lookup = avx2, prefetch>

// AVX2-LABEL: func.func @mxfp4
//       AVX2:   qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 4x1, streams = 1, x_block = 32, int_dot = avx2, lookup = avx2, prefetch>
// AVX2-LABEL: func.func @nvfp4
//       AVX2:   qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 4x1, streams = 1, x_block = 32, int_dot = avx2, lookup = avx2, prefetch>
// AVX2-LABEL: func.func @nvfp4_k48
//       AVX2:   qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 2x4, streams = 1, lookup = avx2, prefetch>

// Without a target: portable dot products and lookups (a tree of selects).
// NONE-LABEL: func.func @mxfp4
//       NONE:   qnt.kernel = #qnt.kernel<column_i8, lanes = 16, tile = 4x1, streams = 1, x_block = 32, int_dot = generic, prefetch>
// NONE-LABEL: func.func @nvfp4
//       NONE:   qnt.kernel = #qnt.kernel<column_i8, lanes = 16, tile = 4x1, streams = 1, x_block = 32, int_dot = generic, prefetch>

// F32-LABEL: func.func @mxfp4
//       F32:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>
// F32-LABEL: func.func @nvfp4
//       F32:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>

// ROWS-LABEL: func.func @mxfp4
//       ROWS:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>
// ROWS-LABEL: func.func @nvfp4
//       ROWS:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>
module {
  func.func @mxfp4(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf8E8M0FNU>} : !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @nvfp4(%x: tensor<?x32xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x16xi8>, scales = dense<1.0> : tensor<8x2xf8E4M3FN>} : !qnt.packed<8x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>
    %y = qnt.matmul %x, %p : (tensor<?x32xf32>, !qnt.packed<8x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @nvfp4_k48(%x: tensor<?x48xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x24xi8>, scales = dense<1.0> : tensor<8x3xf8E4M3FN>} : !qnt.packed<8x48, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>
    %y = qnt.matmul %x, %p : (tensor<?x48xf32>, !qnt.packed<8x48, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}
