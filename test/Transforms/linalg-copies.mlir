// qnt-linalg-copies: copies between buffers become linalg.copy, except in
// GPU kernels.
// RUN: quant-opt %s --pass-pipeline="builtin.module(func.func(qnt-linalg-copies))" | FileCheck %s

// CHECK-LABEL: func.func @copies
//  CHECK-SAME:   (%[[A:.*]]: memref<?x16xf32>, %[[B:.*]]: memref<4x8x16xf32>, %[[P:.*]]: index)
//       CHECK:   %[[VIEW:.*]] = memref.subview %[[B]]
//       CHECK:   linalg.copy ins(%[[A]] : memref<?x16xf32>) outs(%[[VIEW]] : memref<?x16xf32, strided<[16, 1], offset: ?>>)
//       CHECK:   gpu.launch
//       CHECK:     memref.copy
//   CHECK-NOT:   memref.copy
func.func @copies(%a: memref<?x16xf32>, %b: memref<4x8x16xf32>, %p: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?x16xf32>
  %view = memref.subview %b[1, %p, 0] [1, %n, 16] [1, 1, 1] : memref<4x8x16xf32> to memref<?x16xf32, strided<[16, 1], offset: ?>>
  memref.copy %a, %view : memref<?x16xf32> to memref<?x16xf32, strided<[16, 1], offset: ?>>
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%u = %c1, %v = %c1, %w = %c1) {
    memref.copy %a, %view : memref<?x16xf32> to memref<?x16xf32, strided<[16, 1], offset: ?>>
    gpu.terminator
  }
  return
}
