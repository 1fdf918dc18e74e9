// qnt-quantize-weights reads a bf16 weight widened by arith.extf (as
// quant-import keeps Hugging Face bf16 tensors) directly: the packed weight
// replaces the cast, and both the cast and the bf16 constant go away.
// RUN: quant-opt %s --qnt-quantize-weights="bits=8 group-size=0 clip-search=false" | FileCheck %s

#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]

// bf16 {1.0, -1.0} (0x3F80, 0xBF80): scale 1/127, codes 127 and -127 (0x7F
// 0x81).
// CHECK-LABEL: func.func @bf16_weight
//   CHECK-NOT:   arith.extf
//       CHECK:   %[[W:.*]] = qnt.constant {codes = dense_resource<fc.codes> : tensor<1x2xi8>, scales = dense_resource<fc.scales> : tensor<1x1xf32>} : !qnt.packed<1x2, #qnt.scheme<si8, symmetric, per_channel<0>>>
//       CHECK:   %[[D:.*]] = qnt.dequantize %[[W]] {{.*}} -> tensor<1x2xf32>
//       CHECK:   linalg.matmul {{.*}} ins(%{{.*}}, %[[D]] : tensor<3x2xf32>, tensor<1x2xf32>)
//   CHECK-NOT:   bf16
//       CHECK:   fc.codes: "0x080000007F81"
func.func @bf16_weight(%x: tensor<3x2xf32>) -> tensor<3x1xf32> {
  %c = arith.constant dense_resource<w> : tensor<1x2xbf16>
  %w = arith.extf %c : tensor<1x2xbf16> to tensor<1x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x1xf32>) -> tensor<3x1xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<3x2xf32>, tensor<1x2xf32>) outs(%init : tensor<3x1xf32>) -> tensor<3x1xf32> loc("fc")
  return %y : tensor<3x1xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x02000000803F80BF"
    }
  }
#-}
