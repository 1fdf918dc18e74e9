// qnt-quantize-weights with format=lut4: the quantizer learns the weight's
// own 16 values and the scheme carries them (codebook = array<f32: ...>).
// The weight below holds 16 distinct values u (max |u| = 1, so the scale
// without a clipping search is 1): NF4's values with 0.02 added to each but
// -1, 0 and 1. Each lies nearest a different NF4 value, so Lloyd's
// iterations from NF4 give each value its own entry: the codebook is u
// exactly and the codes are the values' ranks in u, in the order
// 5 15 0 9 7 12 3 14 1 8 11 2 13 6 10 4 (low nibble first: 0xF5 0x90 0xC7
// 0xE3 0x81 0x2B 0x6D 0x4A). NF4 itself cannot hold these weights exactly.
// RUN: quant-opt %s --qnt-quantize-weights="format=lut4 group-size=0 clip-search=false" | FileCheck %s
// RUN: quant-opt %s --qnt-quantize-weights="format=nf4 group-size=0 clip-search=false" | FileCheck %s --check-prefix=NF4

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// CHECK-LABEL: func.func @weight
//       CHECK:   qnt.constant {codes = dense_resource<fc.codes> : tensor<1x8xi8>, scales = dense_resource<fc.scales> : tensor<1x1xf32>} : !qnt.packed<1x16, #qnt.scheme<lut4, symmetric, per_channel<0>, codebook = array<f32: -1.000000e+00, -0.67619282, -0.505073071, -0.374917477, -0.264441371, -0.164773434, -0.071050033, 0.000000e+00, 9.958030e-02, 0.180930197, 0.266112298, 0.357915252, 0.46070984, 5.826170e-01, 0.742956817, 1.000000e+00>>>
//       CHECK:   fc.codes: "0x08000000F590C7E3812B6D4A"
//       CHECK:   fc.scales: "0x080000000000803F"
//   NF4-LABEL: func.func @weight
//         NF4:   !qnt.packed<1x16, #qnt.scheme<nf4, symmetric, per_channel<0>>>
func.func @weight(%x: tensor<2x16xf32>) -> tensor<2x1xf32> {
  %w = arith.constant dense<[[-0.16477343440055847, 1.0, -1.0, 0.18093019723892212, 0.0, 0.4607098400592804, -0.37491747736930847, 0.742956817150116, -0.6761928200721741, 0.0995803028345108, 0.3579152524471283, -0.505073070526123, 0.5826169848442078, -0.07105003297328949, 0.2661122977733612, -0.2644413709640503]]> : tensor<1x16xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x1xf32>) -> tensor<2x1xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<2x16xf32>, tensor<1x16xf32>) outs(%f : tensor<2x1xf32>) -> tensor<2x1xf32> loc("fc")
  return %y : tensor<2x1xf32>
}
