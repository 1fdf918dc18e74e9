// qnt.gather_rows and qnt.dequantize of fp4 weights lowered by
// qnt-cpu-pipeline: e2m1 codes decoded element by element with their block
// scales. Each row holds the 16 codes 0..15 twice (values 0, 0.5, 1, 1.5, 2,
// 3, 4, 6, -0, -0.5, ..., -6). mxfp4: E8M0 bytes 128 (2) and 0 (2^-127: 0.5
// of it is 2^-128 = 2.93874e-39, 6 of it 3.52648e-38); ids outside the table
// are clamped. nvfp4: E4M3 bytes 0x38 (1) and 0x01 (2^-9), tensor scale 0.5 (0.5 * 2^-9 *
// 0.5 = 2^-11 = 0.000488281).
// RUN: quant-opt %s --qnt-cpu-pipeline | %run_main | FileCheck %s

// CHECK:      [0,   2.93874e-39,   5.87747e-39,   8.81621e-39,   1.17549e-38,   1.76324e-38,   2.35099e-38,   3.52648e-38,   -0,   -2.93874e-39,   -5.87747e-39,   -8.81621e-39,   -1.17549e-38,   -1.76324e-38,   -2.35099e-38,   -3.52648e-38,   0,   2.93874e-39,
// CHECK:      [0,   1,   2,   3,   4,   6,   8,   12,   -0,   -1,   -2,   -3,   -4,   -6,   -8,   -12,   0,   1,   2,   3,   4,   6,   8,   12,   -0,   -1,   -2,   -3,   -4,   -6,   -8,   -12]
// CHECK:      [0,   0.25,   0.5,   0.75,   1,   1.5,   2,   3,   -0,   -0.25,   -0.5,   -0.75,   -1,   -1.5,   -2,   -3,   0,   0.000488281,   0.000976562,   0.00146484,   0.00195312,   0.00292969,   0.00390625,   0.00585938,   -0,   -0.000488281,   -0.000976562,   -0.00146484,   -0.00195312,   -0.00292969,   -0.00390625,   -0.00585938]

func.func private @printMemrefF32(tensor<*xf32>)

func.func @gather(%ids: tensor<?xi32>) -> tensor<?x32xf32> {
  // Row 0: scale 2 for both blocks; row 1: 2^-127 (byte 0) for both.
  %table = qnt.constant {
      codes = dense<[[16, 50, 84, 118, -104, -70, -36, -2, 16, 50, 84, 118, -104, -70, -36, -2],
                     [16, 50, 84, 118, -104, -70, -36, -2, 16, 50, 84, 118, -104, -70, -36, -2]]> : tensor<2x16xi8>,
      scales = dense<[[2.0], [5.877471754111438e-39]]> : tensor<2x1xf8E8M0FNU>}
      : !qnt.packed<2x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>
  %rows = qnt.gather_rows %table, %ids : !qnt.packed<2x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>, tensor<?xi32> -> tensor<?x32xf32>
  return %rows : tensor<?x32xf32>
}

func.func @dequantize() -> tensor<1x32xf32> {
  %w = qnt.constant {
      codes = dense<[[16, 50, 84, 118, -104, -70, -36, -2, 16, 50, 84, 118, -104, -70, -36, -2]]> : tensor<1x16xi8>,
      scales = dense<[[1.0, 0.001953125]]> : tensor<1x2xf8E4M3FN>}
      : !qnt.packed<1x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>>
  %d = qnt.dequantize %w : !qnt.packed<1x32, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 0.5>> -> tensor<1x32xf32>
  return %d : tensor<1x32xf32>
}

func.func @main() {
  %ids = arith.constant dense<[5, -1]> : tensor<2xi32>
  %dyn = tensor.cast %ids : tensor<2xi32> to tensor<?xi32>
  %rows = call @gather(%dyn) : (tensor<?xi32>) -> tensor<?x32xf32>
  %u = tensor.cast %rows : tensor<?x32xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  %d = call @dequantize() : () -> tensor<1x32xf32>
  %v = tensor.cast %d : tensor<1x32xf32> to tensor<*xf32>
  call @printMemrefF32(%v) : (tensor<*xf32>) -> ()
  return
}
