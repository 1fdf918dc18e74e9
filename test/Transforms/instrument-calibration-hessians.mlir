// RUN: quant-opt %s --qnt-instrument-calibration="hessians=true swappable-weights=true" | FileCheck %s
// RUN: quant-opt %s --qnt-instrument-calibration="swappable-weights=true" | FileCheck %s --check-prefix=NOH

// hessians=true adds x_i x_j of every row of x to the layer's K x K slots of
// an f64 buffer (row-major, at the layer's offset: 0 here); swappable-weights
// reads the weight from a zero-filled mutable f32 buffer of the same layout,
// whose address the host gets from @qnt_calibration_weight_address. Both put
// the instrumentation under the enable flag the host clears with
// @qnt_calibration_set_enabled.

// CHECK-DAG: memref.global "private" @qnt_calibration_weight_0 : memref<4x8xf32> = dense<0.000000e+00> {alignment = 64 : i64}
// CHECK-DAG: memref.global "private" @qnt_calibration_hessian_buffer : memref<64xf64> = dense<0.000000e+00>
// CHECK-DAG: memref.global "private" @qnt_calibration_enabled_buffer : memref<1xi64> = dense<1>

// CHECK-LABEL: func.func @named
//  CHECK-SAME:     (%[[X:.*]]: tensor<2x8xf32>)
//   CHECK-NOT:   arith.constant dense<1.000000e+00> : tensor<4x8xf32>
//       CHECK:   %[[FLAG:.*]] = memref.get_global @qnt_calibration_enabled_buffer
//       CHECK:   %[[ON:.*]] = memref.load %[[FLAG]]
//       CHECK:   %[[IS:.*]] = arith.cmpi ne, %[[ON]]
//       CHECK:   scf.if %[[IS]] {
//       CHECK:     memref.get_global @qnt_calibration_sumsq_buffer
//       CHECK:     %[[H:.*]] = memref.get_global @qnt_calibration_hessian_buffer : memref<64xf64>
//       CHECK:     scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step
//       CHECK:       scf.for %[[I:.*]] = %{{.*}} to %[[K:.*]] step
//       CHECK:         scf.for %[[J:.*]] = %{{.*}} to %[[K]] step
//       CHECK:           %[[XI:.*]] = tensor.extract %[[X]][%[[R]], %[[I]]]
//       CHECK:           %[[XJ:.*]] = tensor.extract %[[X]][%[[R]], %[[J]]]
//       CHECK:           %[[XI64:.*]] = arith.extf %[[XI]] : f32 to f64
//       CHECK:           %[[XJ64:.*]] = arith.extf %[[XJ]] : f32 to f64
//       CHECK:           %[[P:.*]] = arith.mulf %[[XI64]], %[[XJ64]] : f64
//       CHECK:           %[[ROW:.*]] = arith.muli %[[I]], %{{.*}} : index
//       CHECK:           %[[AT:.*]] = arith.addi %[[ROW]], %[[J]] : index
//       CHECK:           %[[AT2:.*]] = arith.addi %{{.*}}, %[[AT]] : index
//       CHECK:           %[[OLD:.*]] = memref.load %[[H]][%[[AT2]]]
//       CHECK:           %[[NEW:.*]] = arith.addf %[[OLD]], %[[P]] : f64
//       CHECK:           memref.store %[[NEW]], %[[H]][%[[AT2]]]
//       CHECK:   %[[WB:.*]] = memref.get_global @qnt_calibration_weight_0 : memref<4x8xf32>
//       CHECK:   %[[W:.*]] = bufferization.to_tensor %[[WB]] restrict : memref<4x8xf32> to tensor<4x8xf32>
//       CHECK:   linalg.matmul {{.*}} ins(%[[X]], %[[W]] : tensor<2x8xf32>, tensor<4x8xf32>)

// CHECK-LABEL: func.func @qnt_calibration_set_enabled
//  CHECK-SAME:     (%[[ON:.*]]: i64)
//       CHECK:   memref.store %[[ON]], %{{.*}}[%{{.*}}] : memref<1xi64>
// CHECK-LABEL: func.func @qnt_calibration_hessian
//       CHECK:   memref.load {{.*}} : memref<64xf64>
// CHECK-LABEL: func.func @qnt_calibration_weight_address
//       CHECK:   scf.index_switch %{{.*}} -> i64
//       CHECK:   case 0 {
//       CHECK:     %[[B:.*]] = memref.get_global @qnt_calibration_weight_0
//       CHECK:     %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
//       CHECK:     %[[A:.*]] = arith.index_cast %[[P]] : index to i64
//       CHECK:     scf.yield %[[A]] : i64
//       CHECK:   default {

// NOH-NOT: qnt_calibration_hessian
// NOH: memref.global "private" @qnt_calibration_enabled_buffer
// NOH-NOT: qnt_calibration_hessian
func.func @named(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x8xf32>
  %init = arith.constant dense<0.0> : tensor<2x4xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<2x8xf32>, tensor<4x8xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32> loc("proj")
  return %y : tensor<2x4xf32>
}
