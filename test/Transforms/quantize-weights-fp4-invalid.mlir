// Diagnostics of qnt-quantize-weights for the fp4 block formats, which fix
// their group size (mxfp4 32, nvfp4 16) and scale types, each with its exact
// message.
// RUN: not quant-opt %s --qnt-quantize-weights="format=mxfp4 group-size=64" 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not quant-opt %s --qnt-quantize-weights="format=nvfp4 group-size=32" 2>&1 | FileCheck %s --check-prefix=GROUP-NV
// RUN: not quant-opt %s --qnt-quantize-weights="format=nvfp4 scale-type=f16" 2>&1 | FileCheck %s --check-prefix=SCALE
// RUN: not quant-opt %s --qnt-quantize-weights="format=mxfp4 symmetric=false" 2>&1 | FileCheck %s --check-prefix=ASYM

// GROUP: error: qnt-quantize-weights option group-size=64 does not fit format=mxfp4, whose blocks are 32 elements
// GROUP-NV: error: qnt-quantize-weights option group-size=32 does not fit format=nvfp4, whose blocks are 16 elements
// SCALE: error: qnt-quantize-weights option scale-type=f16 does not fit format=nvfp4, whose block scales are f8E4M3FN
// ASYM: error: qnt-quantize-weights option format=mxfp4 is symmetric only (symmetric=false needs format=int)
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
func.func @weight(%x: tensor<1x40xf32>, %o: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x40xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<1x40xf32>, tensor<2x40xf32>) outs(%o : tensor<1x2xf32>) -> tensor<1x2xf32> loc("ffn.w2"("model.mlir":7:5))
  return %y : tensor<1x2xf32>
}
