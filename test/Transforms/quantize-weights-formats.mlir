// qnt-quantize-weights with format=nf4|fp8|fp8e5m2: symmetric schemes of the
// format, its codes packed as docs/BIT_LAYOUT.md says ("Float and codebook
// codes"), scales that map the kept absmax to the format's largest value.
// The expected bytes were derived independently (numpy, nearest value of
// each format's decoded table to w / scale; ties to even mantissas for fp8,
// to the lower value for NF4), see the comments. fp4: quantize-weights-fp4.mlir.
// RUN: quant-opt %s --split-input-file --qnt-quantize-weights="format=nf4 group-size=8 clip-search=false" | FileCheck %s --check-prefix=NF4
// RUN: quant-opt %s --split-input-file --qnt-quantize-weights="format=fp8 group-size=0 clip-search=false" | FileCheck %s --check-prefix=FP8
// RUN: quant-opt %s --split-input-file --qnt-quantize-weights="format=fp8e5m2 group-size=4 scale-type=bf16" | FileCheck %s --check-prefix=E5M2
// The clipping search of NF4 also tries negated scales (the mirrored code
// book): weights on NF4's positive values negated fit scale -1 exactly.
// RUN: quant-opt %s --split-input-file --qnt-quantize-weights="format=nf4 group-size=8" | FileCheck %s --check-prefix=MIRROR
// The group does not divide K = 8: one scale per channel, as for integers.
// RUN: quant-opt %s --split-input-file --qnt-quantize-weights="format=nf4 group-size=3" 2>/dev/null | FileCheck %s --check-prefix=CHANNEL

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// NF4, scale = max|w| = 1.4 (0x3FB33333); w / 1.4 = 0.143 -1 0.5 0.929
// 0.0071 -0.071 0.236 0.036 -> codes 9 0 12 15 7 6 10 7, low nibble first:
// 0x09 0xFC 0x67 0x7A.
// NF4-LABEL: func.func @weight
//       NF4:   qnt.constant {codes = dense_resource<fc.codes> : tensor<1x4xi8>, scales = dense_resource<fc.scales> : tensor<1x1xf32>} : !qnt.packed<1x8, #qnt.scheme<nf4, symmetric, per_group<1, 8>>>
//       NF4:   fc.codes: "0x0800000009FC677A"
//       NF4:   fc.scales: "0x080000003333B33F"
// E4M3FN, scale = 1.4 / 448 = 0.003125 (0x3B4CCCCD); w / scale = 64 -448
// 224 416 3.2 -32 105.6 16 -> 0x68 0xFE 0x76 0x7D 0x45 (3.25) 0xE0 0x6D
// (104) 0x58.
// FP8-LABEL: func.func @weight
//       FP8:   qnt.constant {codes = dense_resource<fc.codes> : tensor<1x8xi8>, scales = dense_resource<fc.scales> : tensor<1x1xf32>} : !qnt.packed<1x8, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>
//       FP8:   fc.codes: "0x0800000068FE767D45E06D58"
//       FP8:   fc.scales: "0x08000000CDCC4C3B"
// E5M2-LABEL: func.func @weight
//       E5M2:   qnt.constant {codes = dense_resource<fc.codes> : tensor<1x8xi8>, scales = dense_resource<fc.scales> : tensor<1x2xbf16>} : !qnt.packed<1x8, #qnt.scheme<f8E5M2, symmetric, per_group<1, 4>, scale = bf16>>
// CHANNEL-LABEL: func.func @weight
//       CHANNEL:   !qnt.packed<1x8, #qnt.scheme<nf4, symmetric, per_channel<0>>>
func.func @weight(%x: tensor<2x8xf32>) -> tensor<2x1xf32> {
  %w = arith.constant dense<[[0.2, -1.4, 0.7, 1.3, 0.01, -0.1, 0.33, 0.05]]> : tensor<1x8xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x1xf32>) -> tensor<2x1xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<2x8xf32>, tensor<1x8xf32>) outs(%f : tensor<2x1xf32>) -> tensor<2x1xf32> loc("fc")
  return %y : tensor<2x1xf32>
}


// -----

// w / -1 = 1 0.723 0.563 0.441 0 0 0 0, NF4's values 15 14 13 12 7 7 7 7
// (exact; with any positive scale -0.723 falls between -0.696 and -1):
// bytes 0xEF 0xCD 0x77 0x77, scale -1 (0xBF800000).
#tb2 = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// MIRROR-LABEL: func.func @mirrored
//       MIRROR:   fc.codes: "0x08000000EFCD7777"
//       MIRROR:   fc.scales: "0x08000000000080BF"
func.func @mirrored(%x: tensor<2x8xf32>) -> tensor<2x1xf32> {
  %w = arith.constant dense<[[-1.0, -0.7229568362236023, -0.5626170039176941, -0.44070982933044434, 0.0, 0.0, 0.0, 0.0]]> : tensor<1x8xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x1xf32>) -> tensor<2x1xf32>
  %y = linalg.matmul indexing_maps = #tb2 ins(%x, %w : tensor<2x8xf32>, tensor<1x8xf32>) outs(%f : tensor<2x1xf32>) -> tensor<2x1xf32> loc("fc")
  return %y : tensor<2x1xf32>
}
