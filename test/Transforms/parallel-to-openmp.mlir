// qnt-parallel-to-openmp: each outermost scf.parallel becomes each thread's
// share of its flattened iterations (thread t of n runs [t * c, min((t + 1) *
// c, total)), c = ceil(total / n)); a run of loops, branches over loops
// and serial work of one block shares one omp.parallel region (pure ops
// between them move above it; thread 0 alone runs the serial ops), with an
// omp.barrier before a step that reads or writes what an earlier step since
// the last barrier writes, or writes what it reads.
// RUN: quant-opt %s --split-input-file --allow-unregistered-dialect --qnt-parallel-to-openmp | FileCheck %s

// Two loops writing disjoint ranges of a workspace run without a barrier; the
// third reads the first one's range and waits. The view between the loops
// moves above the region. The load after them yields a value, so it ends
// the region: the last loop gets one of its own.
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

// -----

// Serial work between loops (a fill of a few elements, a store) joins the
// region: thread 0 runs both in one block, without a barrier between them
// though they write the same buffer, and a barrier separates them from the
// loops that touch what they write. Views with sizes bounded by an
// affine.min (a prompt's chunk of at most 128 rows), also through the dim
// of a reshaped view, have byte ranges too: the two loops writing [0, 4096)
// and [4096, 8192) need no barrier, and an intrinsic call without pointer
// operands reaches no buffer.
// CHECK-LABEL: func.func @serial_and_bounded
//       CHECK:   omp.parallel {
//       CHECK:     %[[T:.*]] = arith.index_cast %{{.*}} : i32 to index
//       CHECK:     scf.for
//       CHECK:       llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
//       CHECK:       memref.store %{{.*}}, %[[X:view]][
//   CHECK-NOT:     omp.barrier
//       CHECK:     scf.for
//       CHECK:       memref.store %{{.*}}, %[[Z:view_1]][
//       CHECK:     omp.barrier
//       CHECK:     %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %{{.*}} : index
//  CHECK-NEXT:     scf.if %[[FIRST]] {
//  CHECK-NEXT:       scf.for
//  CHECK-NEXT:         memref.store %{{.*}}, %[[X]][
//  CHECK-NEXT:       }
//  CHECK-NEXT:       memref.store %{{.*}}, %[[X]][
//  CHECK-NEXT:     }
//  CHECK-NEXT:     omp.barrier
//       CHECK:     scf.for
//       CHECK:       memref.load %[[X]]
//       CHECK:     omp.terminator
//       CHECK:   }
//   CHECK-NOT:   omp.parallel
//       CHECK:   return
#rows = affine_map<(d0)[s0] -> (-d0 + s0, 128)>
module {
  memref.global "private" @ws : memref<65536xi8> = uninitialized
  func.func @serial_and_bounded(%a: memref<?x8xf32>, %b: memref<?x8xf32>,
                                %n: index, %start: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %c4096 = arith.constant 4096 : index
    %zero = arith.constant 0.0 : f32
    %g = memref.get_global @ws : memref<65536xi8>
    %rows = affine.min #rows(%start)[%n]
    %x = memref.view %g[%c0][%rows] : memref<65536xi8> to memref<?x8xf32>
    %x3 = memref.view %g[%c0][%rows] : memref<65536xi8> to memref<?x2x4xf32>
    %xc = memref.collapse_shape %x3 [[0], [1, 2]] : memref<?x2x4xf32> into memref<?x8xf32>
    %zrows = memref.dim %xc, %c0 : memref<?x8xf32>
    %z = memref.view %g[%c4096][%zrows] : memref<65536xi8> to memref<?x8xf32>
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %c8) step (%c1, %c1) {
      %v = memref.load %a[%i, %j] : memref<?x8xf32>
      %w = vector.broadcast %v : f32 to vector<16xf32>
      %wi = vector.bitcast %w : vector<16xf32> to vector<16xi32>
      %d = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%wi, %wi, %wi)
          : (vector<16xi32>, vector<16xi32>, vector<16xi32>) -> vector<16xi32>
      %e = vector.extract %d[0] : i32 from vector<16xi32>
      %f = arith.sitofp %e : i32 to f32
      memref.store %f, %x[%i, %j] : memref<?x8xf32>
      scf.reduce
    }
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %c8) step (%c1, %c1) {
      %v = memref.load %a[%i, %j] : memref<?x8xf32>
      memref.store %v, %z[%i, %j] : memref<?x8xf32>
      scf.reduce
    }
    scf.for %j = %c0 to %c8 step %c1 {
      memref.store %zero, %x[%c0, %j] : memref<?x8xf32>
    }
    memref.store %zero, %x[%c0, %c0] : memref<?x8xf32>
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %c8) step (%c1, %c1) {
      %v = memref.load %x[%i, %j] : memref<?x8xf32>
      memref.store %v, %b[%i, %j] : memref<?x8xf32>
      scf.reduce
    }
    return
  }
}

// -----

// A branch over loops on a condition every thread computes alike (a
// decoding step's one row, or a prompt's rows) joins the region: each way
// gets its loops' shares and its own barriers, and a loop after the branch
// waits for what either way wrote. The view made inside a way is made by
// every thread. A call ends the region: the loop after it gets its own.
// CHECK-LABEL: func.func @branch
//       CHECK:   omp.parallel {
//       CHECK:     scf.for
//       CHECK:     scf.if %{{.*}} {
//       CHECK:       omp.barrier
//       CHECK:       scf.for
//       CHECK:     } else {
//       CHECK:       %[[V:.*]] = memref.subview
//       CHECK:       omp.barrier
//       CHECK:       scf.for
//       CHECK:         memref.store %{{.*}}, %[[V]]
//       CHECK:     }
//       CHECK:     omp.barrier
//       CHECK:     scf.for
//       CHECK:     omp.terminator
//       CHECK:   }
//       CHECK:   call @opaque()
//       CHECK:   omp.parallel {
//       CHECK:     scf.for
//       CHECK:     omp.terminator
//       CHECK:   }
module {
  func.func private @opaque()
  func.func @branch(%a: memref<8xf32>, %n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %p = memref.alloc() : memref<8xf32>
    %q = memref.alloc() : memref<8xf32>
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %a[%i] : memref<8xf32>
      memref.store %v, %p[%i] : memref<8xf32>
      scf.reduce
    }
    %one = arith.cmpi eq, %n, %c1 : index
    scf.if %one {
      scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
        %v = memref.load %p[%i] : memref<8xf32>
        memref.store %v, %q[%i] : memref<8xf32>
        scf.reduce
      }
    } else {
      %half = memref.subview %q[0] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1]>>
      scf.parallel (%i) = (%c0) to (%n) step (%c1) {
        %v = memref.load %p[%i] : memref<8xf32>
        memref.store %v, %half[%i] : memref<4xf32, strided<[1]>>
        scf.reduce
      }
    }
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %q[%i] : memref<8xf32>
      memref.store %v, %a[%i] : memref<8xf32>
      scf.reduce
    }
    func.call @opaque() : () -> ()
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %q[%i] : memref<8xf32>
      memref.store %v, %a[%i] : memref<8xf32>
      scf.reduce
    }
    return
  }
}

// -----

// An op this pass cannot see into (here an unregistered one, with no
// results) runs on thread 0 between barriers: its effects are unknown.
// CHECK-LABEL: func.func @opaque_op
//       CHECK:   omp.parallel {
//       CHECK:     scf.for
//       CHECK:     omp.barrier
//       CHECK:     scf.if
//  CHECK-NEXT:       "test.opaque"() : () -> ()
//       CHECK:     omp.barrier
//       CHECK:     scf.for
//       CHECK:     omp.terminator
module {
  func.func @opaque_op(%a: memref<8xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %p = memref.alloc() : memref<8xf32>
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %a[%i] : memref<8xf32>
      memref.store %v, %p[%i] : memref<8xf32>
      scf.reduce
    }
    "test.opaque"() : () -> ()
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %p[%i] : memref<8xf32>
      memref.store %v, %a[%i] : memref<8xf32>
      scf.reduce
    }
    return
  }
}
