// RUN: quant-opt %s --qnt-instrument-calibration --split-input-file | FileCheck %s

// Every linear layer with a constant weight gets loops adding x^2 and x of
// each input element to its channels' slots of two f64 buffers and the row
// count to a third; the table names the layers as qnt-assign-bitwidths does (the
// location name, else layer<i>) with their K: "proj 8\nlayer1 6\n\0".

// CHECK-DAG: memref.global "private" @qnt_calibration_sumsq_buffer : memref<14xf64> = dense<0.000000e+00>
// CHECK-DAG: memref.global "private" @qnt_calibration_sum_buffer : memref<14xf64> = dense<0.000000e+00>
// CHECK-DAG: memref.global "private" @qnt_calibration_rows_buffer : memref<2xi64> = dense<0>
// CHECK-DAG: memref.global constant @qnt_calibration_layers : memref<17xi8> = dense<[112, 114, 111, 106, 32, 56, 10, 108, 97, 121, 101, 114, 49, 32, 54, 10, 0]>

// CHECK-LABEL: func.func @named
//  CHECK-SAME:     (%[[X:.*]]: tensor<2x8xf32>)
//   CHECK-DAG:   %[[SUMS:.*]] = memref.get_global @qnt_calibration_sumsq_buffer : memref<14xf64>
//   CHECK-DAG:   %[[LIN:.*]] = memref.get_global @qnt_calibration_sum_buffer : memref<14xf64>
//   CHECK-DAG:   %[[ROWS:.*]] = memref.get_global @qnt_calibration_rows_buffer : memref<2xi64>
//   CHECK-DAG:   %[[C0:.*]] = arith.constant 0 : index
//   CHECK-DAG:   %[[C1:.*]] = arith.constant 1 : index
//   CHECK-DAG:   %[[M:.*]] = arith.constant 2 : index
//   CHECK-DAG:   %[[K:.*]] = arith.constant 8 : index
//       CHECK:   %[[R:.*]] = memref.load %[[ROWS]][%[[L0:.*]]] : memref<2xi64>
//       CHECK:   scf.for %[[I:.*]] = %[[C0]] to %[[M]] step %[[C1]] {
//       CHECK:     scf.for %[[J:.*]] = %[[C0]] to %[[K]] step %[[C1]] {
//       CHECK:       %[[V:.*]] = tensor.extract %[[X]][%[[I]], %[[J]]] : tensor<2x8xf32>
//       CHECK:       %[[W:.*]] = arith.extf %[[V]] : f32 to f64
//       CHECK:       %[[SQ:.*]] = arith.mulf %[[W]], %[[W]] : f64
//       CHECK:       %[[OLD:.*]] = memref.load %[[SUMS]][%[[J]]] : memref<14xf64>
//       CHECK:       %[[NEW:.*]] = arith.addf %[[OLD]], %[[SQ]] : f64
//       CHECK:       memref.store %[[NEW]], %[[SUMS]][%[[J]]] : memref<14xf64>
//       CHECK:       %[[OLDL:.*]] = memref.load %[[LIN]][%[[J]]] : memref<14xf64>
//       CHECK:       %[[NEWL:.*]] = arith.addf %[[OLDL]], %[[W]] : f64
//       CHECK:       memref.store %[[NEWL]], %[[LIN]][%[[J]]] : memref<14xf64>
//       CHECK:     }
//       CHECK:   }
//       CHECK:   %[[N:.*]] = arith.index_cast %{{.*}} : index to i64
//       CHECK:   %[[R2:.*]] = arith.addi %[[R]], %[[N]] : i64
//       CHECK:   memref.store %[[R2]], %[[ROWS]][%[[L0]]] : memref<2xi64>
//       CHECK:   %[[Y:.*]] = linalg.matmul {{.*}} ins(%[[X]], %{{.*}} : tensor<2x8xf32>, tensor<4x8xf32>)
//       CHECK:   return %[[Y]]
func.func @named(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x8xf32>
  %init = arith.constant dense<0.0> : tensor<2x4xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<2x8xf32>, tensor<4x8xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32> loc("proj")
  return %y : tensor<2x4xf32>
}

// x is [K, M] in f16 with a dynamic M and the weight is [K, N]; the layer has
// no name. Its channels start at 8 in the buffer; M rows are counted.
// CHECK-LABEL: func.func @transposed
//  CHECK-SAME:     (%[[X:.*]]: tensor<6x?xf16>,
//   CHECK-DAG:   %[[SUMS:.*]] = memref.get_global @qnt_calibration_sumsq_buffer
//   CHECK-DAG:   %[[ROWS:.*]] = memref.get_global @qnt_calibration_rows_buffer
//   CHECK-DAG:   %[[C1:.*]] = arith.constant 1 : index
//   CHECK-DAG:   %[[K:.*]] = arith.constant 6 : index
//   CHECK-DAG:   %[[M:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<6x?xf16>
//   CHECK-DAG:   %[[OFFSET:.*]] = arith.constant 8 : index
//       CHECK:   %[[L1:.*]] = arith.constant 1 : index
//       CHECK:   %[[R:.*]] = memref.load %[[ROWS]][%[[L1]]]
//       CHECK:   scf.for %[[I:.*]] = %{{.*}} to %[[K]] step %[[C1]] {
//       CHECK:     scf.for %[[J:.*]] = %{{.*}} to %[[M]] step %[[C1]] {
//       CHECK:       %[[V:.*]] = tensor.extract %[[X]][%[[I]], %[[J]]] : tensor<6x?xf16>
//       CHECK:       %[[W:.*]] = arith.extf %[[V]] : f16 to f64
//       CHECK:       %[[SQ:.*]] = arith.mulf %[[W]], %[[W]] : f64
//       CHECK:       %[[AT:.*]] = arith.addi %[[I]], %[[OFFSET]] : index
//       CHECK:       %[[OLD:.*]] = memref.load %[[SUMS]][%[[AT]]]
//       CHECK:       %[[NEW:.*]] = arith.addf %[[OLD]], %[[SQ]] : f64
//       CHECK:       memref.store %[[NEW]], %[[SUMS]][%[[AT]]]
//       CHECK:   %[[N:.*]] = arith.index_cast %[[M]] : index to i64
//       CHECK:   %[[R2:.*]] = arith.addi %[[R]], %[[N]] : i64
//       CHECK:   memref.store %[[R2]], %[[ROWS]][%[[L1]]]
//       CHECK:   linalg.generic
func.func @transposed(%x: tensor<6x?xf16>, %init: tensor<?x5xf32>) -> tensor<?x5xf32> {
  %w = arith.constant dense<2.0> : tensor<6x5xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<6x?xf16>, tensor<6x5xf32>) outs(%init : tensor<?x5xf32>) {
  ^bb0(%a: f16, %b: f32, %c: f32):
    %e = arith.extf %a : f16 to f32
    %p = arith.mulf %e, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x5xf32>
  return %y : tensor<?x5xf32>
}

// A weight that is not a constant is not a layer the quantizer touches.
// CHECK-LABEL: func.func @not_constant
//   CHECK-NOT:   memref.get_global
//       CHECK:   linalg.matmul
func.func @not_constant(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %init: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<2x8xf32>, tensor<4x8xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// The accessors the host calls after running the model.
// CHECK-LABEL: func.func @qnt_calibration_sumsq
//  CHECK-SAME:     (%[[I:.*]]: index) -> f64
//       CHECK:   %[[B:.*]] = memref.get_global @qnt_calibration_sumsq_buffer : memref<14xf64>
//       CHECK:   %[[V:.*]] = memref.load %[[B]][%[[I]]] : memref<14xf64>
//       CHECK:   return %[[V]] : f64
// CHECK-LABEL: func.func @qnt_calibration_sum(
//  CHECK-SAME:     %[[I:.*]]: index) -> f64
//       CHECK:   %[[B:.*]] = memref.get_global @qnt_calibration_sum_buffer : memref<14xf64>
//       CHECK:   %[[V:.*]] = memref.load %[[B]][%[[I]]] : memref<14xf64>
//       CHECK:   return %[[V]] : f64
// CHECK-LABEL: func.func @qnt_calibration_rows
//  CHECK-SAME:     (%[[L:.*]]: index) -> i64
//       CHECK:   %[[B:.*]] = memref.get_global @qnt_calibration_rows_buffer : memref<2xi64>
//       CHECK:   %[[V:.*]] = memref.load %[[B]][%[[L]]] : memref<2xi64>
//       CHECK:   return %[[V]] : i64

// -----

// A module without linear layers still gets the protocol, empty.
// CHECK-DAG: memref.global "private" @qnt_calibration_sumsq_buffer : memref<1xf64>
// CHECK-DAG: memref.global "private" @qnt_calibration_sum_buffer : memref<1xf64>
// CHECK-DAG: memref.global "private" @qnt_calibration_rows_buffer : memref<1xi64>
// CHECK-DAG: memref.global constant @qnt_calibration_layers : memref<1xi8> = dense<0>
// CHECK-LABEL: func.func @no_layers
//  CHECK-NEXT:   return
func.func @no_layers(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
