// RUN: quant-opt %s --pass-pipeline="builtin.module(func.func(qnt-linalg-copies,qnt-gpu-parallel-loops))" | FileCheck %s
// RUN: quant-opt %s --pass-pipeline="builtin.module(func.func(qnt-gpu-parallel-loops{block-size=64}))" | FileCheck %s --check-prefix=B64
// RUN: not quant-opt %s --pass-pipeline="builtin.module(func.func(qnt-gpu-parallel-loops{block-size=2048}))" 2>&1 | FileCheck %s --check-prefix=BAD

// A 2-D map over 3x1000: the innermost dimension in tiles of 256 threads
// with a bounds check, the outer one a block per row.
// CHECK-LABEL: func.func @map(
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C1000:.*]] = arith.constant 1000 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK:         %[[ROWS:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK-NEXT:    %[[COLS:.*]] = arith.muli %{{.*}}, %[[C256]] : index
// CHECK-NEXT:    scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%[[C3]], %[[C1000]]) step (%[[ROWS]], %[[COLS]]) {
// CHECK-NEXT:      scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%[[ROWS]], %[[COLS]]) step
// CHECK:             arith.cmpi ult, %{{.*}}, %[[C3]] : index
// CHECK:             arith.cmpi ult, %{{.*}}, %[[C1000]] : index
// CHECK:             scf.if
// CHECK:               math.exp
// B64-LABEL: func.func @map(
// B64:         %[[C64:.*]] = arith.constant 64 : index
// B64:         %[[COLS:.*]] = arith.muli %{{.*}}, %[[C64]] : index
// B64-NEXT:    scf.parallel ({{.*}}) step (%{{.*}}, %[[COLS]])
func.func @map(%x: memref<3x1000xf32>, %y: memref<3x1000xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<3x1000xf32>) outs(%y : memref<3x1000xf32>) {
    ^bb0(%a: f32, %b: f32):
      %e = math.exp %a : f32
      linalg.yield %e : f32
  }
  return
}

// A short innermost dimension (40) gets 64 threads (a warp multiple), a
// matmul's reduction stays a sequential loop in each thread, and a copy
// (linalg.copy after qnt-linalg-copies) becomes a parallel loop too.
// CHECK-LABEL: func.func @matmul(
// CHECK:         %[[C64:.*]] = arith.constant 64 : index
// CHECK:         %[[COLS:.*]] = arith.muli %{{.*}}, %[[C64]] : index
// CHECK-NEXT:    scf.parallel ({{.*}}) step (%{{.*}}, %[[COLS]]) {
// CHECK:           scf.parallel
// CHECK:             scf.if
// CHECK:               scf.for
// CHECK:                 arith.mulf
// CHECK:                 arith.addf
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             memref.load %arg2
// CHECK:             memref.store %{{.*}}, %arg3
// CHECK-NOT:     memref.copy
// CHECK-NOT:     linalg.
func.func @matmul(%a: memref<2x16xf32>, %b: memref<40x16xf32>, %c: memref<2x40xf32>, %d: memref<2x40xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<2x16xf32>, memref<40x16xf32>) outs(%c : memref<2x40xf32>)
  memref.copy %c, %d : memref<2x40xf32> to memref<2x40xf32>
  return
}

// BAD: error: qnt-gpu-parallel-loops option block-size=2048 is out of range [1, 1024]
