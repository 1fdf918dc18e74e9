// qnt-gpu-check-lowered: every qnt op that reaches the generic GPU lowering
// is an error at its own location.
// RUN: quant-opt %s --qnt-gpu-check-lowered -verify-diagnostics -split-input-file

func.func @left(%x: tensor<2x32xf32>) -> tensor<2x32xf32> {
  // expected-error @+1 {{'qnt.constant' cannot be lowered to the GPU: convert-qnt-to-gpu lowers qnt.matmul and its qnt.constant only}}
  %w = qnt.constant {codes = dense<17> : tensor<2x16xi8>, scales = dense<1.0> : tensor<2x1xf32>}
      : !qnt.packed<2x32, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  // expected-error @+1 {{'qnt.dequantize' cannot be lowered to the GPU: convert-qnt-to-gpu lowers qnt.matmul and its qnt.constant only}}
  %d = qnt.dequantize %w : !qnt.packed<2x32, #qnt.scheme<si4, symmetric, per_group<1, 32>>> -> tensor<2x32xf32>
  return %d : tensor<2x32xf32>
}

// -----

// Nothing to reject: the pass leaves a float function alone.
func.func @float(%x: tensor<2x32xf32>) -> tensor<2x32xf32> {
  return %x : tensor<2x32xf32>
}
