// qnt-quantize-weights with format=mxfp4|nvfp4: e2m1 codes packed two per
// byte, low nibble first (docs/BIT_LAYOUT.md, "fp4 block formats"), one
// E8M0 or E4M3 scale byte per block (and nvfp4's f32 tensor scale in the
// scheme). The expected bytes were derived independently (numpy: e2m1
// values from the field definition, nearest to w / scale, ties to the even
// code), see the comments. The formats fix their group size: none given, or
// the same.
// RUN: quant-opt %s --qnt-quantize-weights="format=mxfp4 clip-search=false" | FileCheck %s --check-prefix=MXFP4
// RUN: quant-opt %s --qnt-quantize-weights="format=mxfp4 group-size=32 clip-search=false" | FileCheck %s --check-prefix=MXFP4
// RUN: quant-opt %s --qnt-quantize-weights="format=nvfp4 clip-search=false" | FileCheck %s --check-prefix=NVFP4
// A layer whose K is not a multiple of the block gets int4 per channel, as
// integer groups that do not divide K fall back to one scale per channel.
// RUN: quant-opt %s --qnt-quantize-weights="format=mxfp4" 2>&1 | FileCheck %s --check-prefix=PARTIAL
// RUN: quant-opt %s --qnt-quantize-weights="format=nvfp4 group-size=16" 2>&1 | FileCheck %s --check-prefix=PARTIAL-NV

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]


// mxfp4, one block of 32: max|w| = 1.4, scale = the power of two at or above
// 1.4 / 6: 0.25 (E8M0 byte 125 = 0x7D); w / 0.25 = 0.8 -5.6 2.8 5.2 0.04
// -0.4 1.32 0.2 -3.6 1.8 2.4 -1 4.4 -2.8 0.6 0 and 0.12 ... -> e2m1 codes
// 2 F 5 7 0 9 3 0 E 4 5 A 6 D 1 0, then zeros (|w| / 0.25 <= 0.24), low
// nibble first.
// nvfp4, two blocks of 16: tensor scale 1.4 / 6 / 448 = 5.2083e-4 (f32);
// block scales are E4M3 codes of absmax / 6 / t: 448 (0x7E) and 0.06 / 6 / t
// = 19.2 -> 20 (0x5A); codes of w / (t * scale).
// MXFP4-LABEL: func.func @weight32
//       MXFP4:   qnt.constant {codes = dense_resource<fc.codes> : tensor<1x16xi8>, scales = dense_resource<fc.scales> : tensor<1x1xf8E8M0FNU>} : !qnt.packed<1x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>
//       MXFP4:   fc.codes: "0x08000000F27590034EA4D6010000000000000000"
//       MXFP4:   fc.scales: "0x080000007D"
// NVFP4-LABEL: func.func @weight32
//       NVFP4:   qnt.constant {codes = dense_resource<fc.codes> : tensor<1x16xi8>, scales = dense_resource<fc.scales> : tensor<1x2xf8E4M3FN>} : !qnt.packed<1x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 5.20833302E-4>>
//       NVFP4:   fc.codes: "0x08000000F27590034EA5D601C5264EB7514E607A"
//       NVFP4:   fc.scales: "0x080000007E5A"
func.func @weight32(%x: tensor<2x32xf32>) -> tensor<2x1xf32> {
  %w = arith.constant dense<[[0.2, -1.4, 0.7, 1.3, 0.01, -0.1, 0.33, 0.05, -0.9, 0.45, 0.6, -0.25, 1.1, -0.7, 0.15, 0.0, 0.03, -0.02, 0.05, 0.01, -0.04, 0.02, 0.06, -0.015, 0.005, 0.035, -0.05, 0.025, 0.0, 0.045, -0.01, 0.055]]> : tensor<1x32xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x1xf32>) -> tensor<2x1xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<2x32xf32>, tensor<1x32xf32>) outs(%f : tensor<2x1xf32>) -> tensor<2x1xf32> loc("fc")
  return %y : tensor<2x1xf32>
}

// PARTIAL: model.mlir:7:5: warning: layer 'ffn.w2': K = 40 is not a multiple of the blocks of mxfp4 (32 elements); using int4 with one scale per output channel
// PARTIAL-NV: model.mlir:7:5: warning: layer 'ffn.w2': K = 40 is not a multiple of the blocks of nvfp4 (16 elements); using int4 with one scale per output channel
// PARTIAL-LABEL: func.func @partial_block
//       PARTIAL:   qnt.constant {{.*}} : !qnt.packed<2x40, #qnt.scheme<si4, symmetric, per_channel<0>>>
// PARTIAL-NV-LABEL: func.func @partial_block
//       PARTIAL-NV:   qnt.constant {{.*}} : !qnt.packed<2x40, #qnt.scheme<si4, symmetric, per_channel<0>>>
func.func @partial_block(%x: tensor<1x40xf32>, %o: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x40xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<1x40xf32>, tensor<2x40xf32>) outs(%o : tensor<1x2xf32>) -> tensor<1x2xf32> loc("ffn.w2"("model.mlir":7:5))
  return %y : tensor<1x2xf32>
}
