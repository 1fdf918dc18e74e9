// RUN: quant-opt %s --qnt-instrument-calibration --split-input-file -verify-diagnostics

// x's elements are integers (converted in the body): no x^2 of floats.
func.func @integer_input(%x: tensor<2x8xi8>) -> tensor<2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x8xf32>
  %init = arith.constant dense<0.0> : tensor<2x4xf32>
  // expected-error@below {{'linalg.generic' op cannot instrument layer 'layer0': its input is not a ranked tensor of floats}}
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x8xi8>, tensor<4x8xf32>) outs(%init : tensor<2x4xf32>) {
  ^bb0(%a: i8, %b: f32, %c: f32):
    %e = arith.sitofp %a : i8 to f32
    %p = arith.mulf %e, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Instrumenting twice would count every row twice.
// expected-error@below {{qnt-instrument-calibration: the module already defines 'qnt_calibration_layers' (instrumented twice?)}}
module {
  memref.global constant @qnt_calibration_layers : memref<1xi8> = dense<0>
}
