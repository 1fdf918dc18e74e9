// qnt-parallel-to-openmp: each outermost scf.parallel becomes each thread's
// share of its flattened iterations (thread t of n runs [t * c, min((t + 1) *
// c, total)), c = ceil(total / n)); consecutive loops of a block with only
// pure ops between them share one omp.parallel region (the ops move above
// it), with an omp.barrier before a loop that reads or writes what an
// earlier loop since the last barrier writes, or writes what it reads.
// RUN: quant-opt %s --split-input-file --qnt-parallel-to-openmp | FileCheck %s

// Two loops writing disjoint ranges of a workspace run without a barrier; the
// third reads the first one's range and waits. The view between the loops
// moves above the region. The store after them ends the region: the last
// loop gets one of its own.
// CHECK-LABEL: func.func @workspace
//       CHECK:   %[[WS:.*]] = memref.get_global @ws
//       CHECK:   %[[X:.*]] = memref.view %[[WS]][%{{.*}}][]
//       CHECK:   %[[Z:.*]] = memref.view %[[WS]][%{{.*}}][]
//       CHECK:   omp.parallel {
//       CHECK:     %[[T:.*]] = func.call @omp_get_thread_num() : () -> i32
//       CHECK:     %[[N:.*]] = func.call @omp_get_num_threads() : () -> i32
//       CHECK:     scf.for
//       CHECK:       memref.store %{{.*}}, %[[X]]
//   CHECK-NOT:     omp.barrier
//       CHECK:     scf.for
//       CHECK:       memref.store %{{.*}}, %[[Z]]
//       CHECK:     omp.barrier
//       CHECK:     scf.for
//       CHECK:       memref.load %[[X]]
//       CHECK:     omp.terminator
//       CHECK:   }
//       CHECK:   memref.store
//       CHECK:   omp.parallel {
//       CHECK:     scf.for
//       CHECK:       memref.load %[[Z]]
//       CHECK:     omp.terminator
//       CHECK:   }
//       CHECK:   return
module {
  memref.global "private" @ws : memref<4096xi8> = uninitialized
  func.func @workspace(%a: memref<64xf32>, %b: memref<64xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %g = memref.get_global @ws : memref<4096xi8>
    %x = memref.view %g[%c0][] : memref<4096xi8> to memref<64xf32>
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %a[%i] : memref<64xf32>
      memref.store %v, %x[%i] : memref<64xf32>
      scf.reduce
    }
    %c256 = arith.constant 256 : index
    %z = memref.view %g[%c256][] : memref<4096xi8> to memref<64xf32>
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %a[%i] : memref<64xf32>
      memref.store %v, %z[%i] : memref<64xf32>
      scf.reduce
    }
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %x[%i] : memref<64xf32>
      memref.store %v, %b[%i] : memref<64xf32>
      scf.reduce
    }
    %u = memref.load %a[%c0] : memref<64xf32>
    memref.store %u, %b[%c0] : memref<64xf32>
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %z[%i] : memref<64xf32>
      memref.store %v, %b[%i] : memref<64xf32>
      scf.reduce
    }
    return
  }
}

// -----

// Overlapping views of one workspace (bytes 0-255 and 128-383), two
// function arguments (the caller may pass one buffer twice), and a
// two-dimensional loop: every pair needs a barrier. Thread t's share of the
// 2 x 8 iterations is a range of the flat index, split back into (i, j) with
// the last dimension fastest. Separate allocations need none.
// CHECK-LABEL: func.func @overlaps
//       CHECK:   omp.parallel {
//       CHECK:     scf.for %[[F:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
//       CHECK:       %[[J:.*]] = arith.remui %[[F]], %{{.*}} : index
//       CHECK:       %[[I:.*]] = arith.divui %[[F]], %{{.*}} : index
//       CHECK:     omp.barrier
//       CHECK:     scf.for
//       CHECK:     omp.barrier
//       CHECK:     scf.for
//   CHECK-NOT:     omp.barrier
//       CHECK:     scf.for
//       CHECK:     omp.terminator
module {
  memref.global "private" @ws : memref<4096xi8> = uninitialized
  func.func @overlaps(%a: memref<2x8xf32>, %b: memref<2x8xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c8 = arith.constant 8 : index
    %c128 = arith.constant 128 : index
    %g = memref.get_global @ws : memref<4096xi8>
    %x = memref.view %g[%c0][] : memref<4096xi8> to memref<64xf32>
    %y = memref.view %g[%c128][] : memref<4096xi8> to memref<64xf32>
    %p = memref.alloc() : memref<8xf32>
    %q = memref.alloc() : memref<8xf32>
    scf.parallel (%i, %j) = (%c0, %c0) to (%c2, %c8) step (%c1, %c1) {
      %v = memref.load %a[%i, %j] : memref<2x8xf32>
      memref.store %v, %x[%j] : memref<64xf32>
      scf.reduce
    }
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %y[%j] : memref<64xf32>
      memref.store %v, %a[%c0, %j] : memref<2x8xf32>
      scf.reduce
    }
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %b[%c1, %j] : memref<2x8xf32>
      memref.store %v, %p[%j] : memref<8xf32>
      scf.reduce
    }
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %b[%c0, %j] : memref<2x8xf32>
      memref.store %v, %q[%j] : memref<8xf32>
      scf.reduce
    }
    return
  }
}
