// qnt-drop-returned-arguments: public functions on buffers stop returning
// argument buffers; functions called inside the module keep their results.
// RUN: quant-opt %s --qnt-drop-returned-arguments | FileCheck %s

// CHECK-LABEL: func.func @step
//  CHECK-SAME:   (%[[T:.*]]: i32, %[[C:.*]]: memref<4x8xf32>) -> memref<8xf32>
//       CHECK:   return %{{.*}} : memref<8xf32>
func.func @step(%t: i32, %cache: memref<4x8xf32>) -> (memref<8xf32>, memref<4x8xf32>) {
  %out = memref.alloc() : memref<8xf32>
  return %out, %cache : memref<8xf32>, memref<4x8xf32>
}

// CHECK-LABEL: func.func @called
//  CHECK-SAME:   -> (memref<8xf32>, memref<4x8xf32>)
//       CHECK:   return %{{.*}}, %{{.*}} : memref<8xf32>, memref<4x8xf32>
func.func @called(%cache: memref<4x8xf32>) -> (memref<8xf32>, memref<4x8xf32>) {
  %out = memref.alloc() : memref<8xf32>
  return %out, %cache : memref<8xf32>, memref<4x8xf32>
}

// CHECK-LABEL: func.func @caller
//       CHECK:   call @called(%{{.*}}) : (memref<4x8xf32>) -> (memref<8xf32>, memref<4x8xf32>)
func.func @caller(%cache: memref<4x8xf32>) -> memref<8xf32> {
  %a, %b = call @called(%cache) : (memref<4x8xf32>) -> (memref<8xf32>, memref<4x8xf32>)
  return %a : memref<8xf32>
}
