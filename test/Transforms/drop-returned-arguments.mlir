// qnt-drop-returned-arguments: public functions on buffers stop returning
// argument buffers; calls inside the module get the operand they passed.
// RUN: quant-opt %s --qnt-drop-returned-arguments | FileCheck %s

// CHECK-LABEL: func.func @step
//  CHECK-SAME:   (%[[T:.*]]: i32, %[[C:.*]]: memref<4x8xf32>) -> memref<8xf32>
//       CHECK:   return %{{.*}} : memref<8xf32>
func.func @step(%t: i32, %cache: memref<4x8xf32>) -> (memref<8xf32>, memref<4x8xf32>) {
  %out = memref.alloc() : memref<8xf32>
  return %out, %cache : memref<8xf32>, memref<4x8xf32>
}

// A callee's dropped result becomes the caller's operand, which is the
// caller's argument: it is dropped from the caller too (@forward calling
// @prefill).
// CHECK-LABEL: func.func @called
//  CHECK-SAME:   (%{{.*}}: memref<4x8xf32>) -> memref<8xf32>
//       CHECK:   return %{{.*}} : memref<8xf32>
func.func @called(%cache: memref<4x8xf32>) -> (memref<8xf32>, memref<4x8xf32>) {
  %out = memref.alloc() : memref<8xf32>
  return %out, %cache : memref<8xf32>, memref<4x8xf32>
}

// CHECK-LABEL: func.func @caller
//  CHECK-SAME:   (%[[CACHE:.*]]: memref<4x8xf32>) -> memref<8xf32>
//       CHECK:   %[[A:.*]] = call @called(%[[CACHE]]) : (memref<4x8xf32>) -> memref<8xf32>
//       CHECK:   return %[[A]] : memref<8xf32>
func.func @caller(%cache: memref<4x8xf32>) -> (memref<8xf32>, memref<4x8xf32>) {
  %a, %b = call @called(%cache) : (memref<4x8xf32>) -> (memref<8xf32>, memref<4x8xf32>)
  return %a, %b : memref<8xf32>, memref<4x8xf32>
}

// Private functions are left to upstream's drop-equivalent-buffer-results.
// CHECK-LABEL: func.func private @inner
//  CHECK-SAME:   -> memref<4x8xf32>
func.func private @inner(%cache: memref<4x8xf32>) -> memref<4x8xf32> {
  return %cache : memref<4x8xf32>
}
