// convert-qnt-to-gpu re-lays out the packed codes for the kernels: each row
// keeps its little-endian bit stream (docs/BIT_LAYOUT.md) and is zero-padded
// to whole 32-code chunks of `bits` i32 words, so every lane's chunk starts
// on a 4*bits-byte boundary. Here 4-bit codes, K = 40: 20 bytes per row
// become 2 chunks x 4 words = 32 bytes. The blob (checked at the end of the
// output) starts with its alignment.
// RUN: quant-opt %s --qnt-set-target=gpu=sm_80 --qnt-select-kernels --convert-qnt-to-gpu | FileCheck %s

// CHECK-LABEL: func.func @layout
//       CHECK:   arith.constant dense_resource<qnt_gpu_codes> : tensor<2x8xi32>
func.func @layout(%x: tensor<1x40xf32>) -> tensor<1x2xf32> {
  %w = qnt.constant {codes = dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], [33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52]]> : tensor<2x20xi8>, scales = dense<[[0.5], [0.25]]> : tensor<2x1xf32>}
      : !qnt.packed<2x40, #qnt.scheme<si4, symmetric, per_channel<0>>>
  %y = qnt.matmul %x, %w : (tensor<1x40xf32>, !qnt.packed<2x40, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// Two functions (a model's forward and prefill entry points) with constants
// of their own for the same weight: the codes are re-laid out once, and
// both read the same words (one global in the library, not one per entry
// point).
// CHECK-LABEL: func.func @forward
//       CHECK:   arith.constant dense_resource<qnt_gpu_codes> : tensor<2x8xi32>
// CHECK-LABEL: func.func @prefill
//       CHECK:   arith.constant dense_resource<qnt_gpu_codes> : tensor<2x8xi32>
//       CHECK:   qnt_gpu_codes: "0x080000000102030405060708090A0B0C0D0E0F10111213140000000000000000000000002122232425262728292A2B2C2D2E2F3031323334000000000000000000000000"
//   CHECK-NOT:   qnt_gpu_codes_1:
func.func @forward(%x: tensor<1x40xf32>) -> tensor<1x2xf32> {
  %w = qnt.constant {codes = dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], [33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52]]> : tensor<2x20xi8>, scales = dense<[[0.5], [0.25]]> : tensor<2x1xf32>}
      : !qnt.packed<2x40, #qnt.scheme<si4, symmetric, per_channel<0>>>
  %y = qnt.matmul %x, %w : (tensor<1x40xf32>, !qnt.packed<2x40, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

func.func @prefill(%x: tensor<3x40xf32>) -> tensor<3x2xf32> {
  %w = qnt.constant {codes = dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], [33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52]]> : tensor<2x20xi8>, scales = dense<[[0.5], [0.25]]> : tensor<2x1xf32>}
      : !qnt.packed<2x40, #qnt.scheme<si4, symmetric, per_channel<0>>>
  %y = qnt.matmul %x, %w : (tensor<3x40xf32>, !qnt.packed<2x40, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
