// RUN: quant-opt %s --qnt-instrument-calibration="record-rows=3 swappable-weights=true" | FileCheck %s
// RUN: quant-opt %s --qnt-instrument-calibration="swappable-weights=true" | FileCheck %s --check-prefix=NOREC
// RUN: not quant-opt %s --qnt-instrument-calibration="record-rows=-1" 2>&1 | FileCheck %s --check-prefix=RANGE

// record-rows=3 copies each row r of x (2 rows here, after the rows the
// layer saw before) into row rows_before + r of the layer's 3 x K slot of an
// f32 buffer (3 x 8 = 24 elements; the layer's slot at 0), dropping rows
// past 3; swappable-weights reads the weight from a zero-filled mutable f32
// buffer of the same layout, whose address the host gets from
// @qnt_calibration_weight_address. Both put the instrumentation under the
// enable flag the host clears with @qnt_calibration_set_enabled.

// CHECK-DAG: memref.global "private" @qnt_calibration_weight_0 : memref<4x8xf32> = dense<0.000000e+00> {alignment = 64 : i64}
// CHECK-DAG: memref.global "private" @qnt_calibration_inputs_buffer : memref<24xf32> = dense<0.000000e+00>
// CHECK-DAG: memref.global "private" @qnt_calibration_enabled_buffer : memref<1xi64> = dense<1>

// CHECK-LABEL: func.func @named
//  CHECK-SAME:     (%[[X:.*]]: tensor<2x8xf32>)
//   CHECK-NOT:   arith.constant dense<1.000000e+00> : tensor<4x8xf32>
//       CHECK:   %[[FLAG:.*]] = memref.get_global @qnt_calibration_enabled_buffer
//       CHECK:   %[[ON:.*]] = memref.load %[[FLAG]]
//       CHECK:   %[[IS:.*]] = arith.cmpi ne, %[[ON]]
//       CHECK:   scf.if %[[IS]] {
//       CHECK:     %[[ROWS:.*]] = memref.get_global @qnt_calibration_rows_buffer
//       CHECK:     %[[BEFORE:.*]] = memref.load %[[ROWS]]
//       CHECK:     %[[IN:.*]] = memref.get_global @qnt_calibration_inputs_buffer : memref<24xf32>
//       CHECK:     %[[FIRST:.*]] = arith.index_cast %[[BEFORE]] : i64 to index
//       CHECK:     scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step
//       CHECK:       scf.for %[[C:.*]] = %{{.*}} to %{{.*}} step
//       CHECK:         %[[V:.*]] = tensor.extract %[[X]][%[[R]], %[[C]]]
//       CHECK:         %[[ROW:.*]] = arith.addi %[[FIRST]], %[[R]] : index
//       CHECK:         %[[FITS:.*]] = arith.cmpi ult, %[[ROW]], %{{.*}} : index
//       CHECK:         scf.if %[[FITS]] {
//       CHECK:           %[[RK:.*]] = arith.muli %[[ROW]], %{{.*}} : index
//       CHECK:           %[[RKC:.*]] = arith.addi %[[RK]], %[[C]] : index
//       CHECK:           %[[AT:.*]] = arith.addi %{{.*}}, %[[RKC]] : index
//       CHECK:           memref.store %[[V]], %[[IN]][%[[AT]]] : memref<24xf32>
//       CHECK:   %[[WB:.*]] = memref.get_global @qnt_calibration_weight_0 : memref<4x8xf32>
//       CHECK:   %[[W:.*]] = bufferization.to_tensor %[[WB]] restrict : memref<4x8xf32> to tensor<4x8xf32>
//       CHECK:   linalg.matmul {{.*}} ins(%[[X]], %[[W]] : tensor<2x8xf32>, tensor<4x8xf32>)

// CHECK-LABEL: func.func @qnt_calibration_set_enabled
//  CHECK-SAME:     (%[[ON:.*]]: i64)
//       CHECK:   memref.store %[[ON]], %{{.*}}[%{{.*}}] : memref<1xi64>
// CHECK-LABEL: func.func @qnt_calibration_inputs_address
//       CHECK:   %[[B:.*]] = memref.get_global @qnt_calibration_inputs_buffer
//       CHECK:   memref.extract_aligned_pointer_as_index %[[B]]
// CHECK-LABEL: func.func @qnt_calibration_inputs_capacity
//       CHECK:   %[[CAP:.*]] = arith.constant 3 : i64
//       CHECK:   return %[[CAP]]
// CHECK-LABEL: func.func @qnt_calibration_weight_address
//       CHECK:   scf.index_switch %{{.*}} -> i64
//       CHECK:   case 0 {
//       CHECK:     %[[B:.*]] = memref.get_global @qnt_calibration_weight_0
//       CHECK:     %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
//       CHECK:     %[[A:.*]] = arith.index_cast %[[P]] : index to i64
//       CHECK:     scf.yield %[[A]] : i64
//       CHECK:   default {

// NOREC-NOT: qnt_calibration_inputs
// NOREC: memref.global "private" @qnt_calibration_enabled_buffer
// NOREC-NOT: qnt_calibration_inputs

// RANGE: qnt-instrument-calibration option record-rows=-1 is out of range [0, 4294967296]
func.func @named(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x8xf32>
  %init = arith.constant dense<0.0> : tensor<2x4xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<2x8xf32>, tensor<4x8xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32> loc("proj")
  return %y : tensor<2x4xf32>
}
