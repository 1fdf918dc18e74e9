// RUN: quant-opt %s --qnt-gpu-device-memory --split-input-file --verify-diagnostics | FileCheck %s

// Arguments get device copies (read-only %x is not copied back, the written
// cache is), the constant comes from the runtime's cache, the function's
// buffers are device buffers, the host reduction runs as a one-thread kernel
// and the result is copied into a host buffer the caller owns.
memref.global "private" constant @w : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @step(%x: memref<4xf32>, %cache: memref<2x4xf32>, %n: index) -> memref<f32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @w : memref<4xf32>
  %t = memref.alloc() : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %a = memref.load %x[%tx] : memref<4xf32>
    %b = memref.load %w[%tx] : memref<4xf32>
    %p = arith.mulf %a, %b : f32
    memref.store %p, %t[%tx] : memref<4xf32>
    memref.store %p, %cache[%c1, %tx] : memref<2x4xf32>
    gpu.terminator
  }
  %s = memref.alloc() : memref<f32>
  memref.store %zero, %s[] : memref<f32>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %t[%i] : memref<4xf32>
    %acc = memref.load %s[] : memref<f32>
    %sum = arith.addf %v, %acc : f32
    memref.store %sum, %s[] : memref<f32>
  }
  memref.dealloc %t : memref<4xf32>
  return %s : memref<f32>
}

// CHECK-LABEL: func.func @step(
// CHECK-SAME:      %[[X:.*]]: memref<4xf32>, %[[CACHE:.*]]: memref<2x4xf32>, %[[N:.*]]: index) -> memref<f32>
// Host calls (the result's malloc, the constant upload) come first, so the
// gpu ops form one stream.
// CHECK-NEXT:    %[[HOST:.*]] = memref.alloc() : memref<f32>
// CHECK-NEXT:    %[[G:.*]] = memref.get_global @w : memref<4xf32>
// CHECK-NEXT:    %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[G]]
// CHECK-NEXT:    %[[BYTES:.*]] = arith.constant 16 : index
// CHECK-NEXT:    %[[RAW:.*]] = call @qnt_cuda_constant(%[[P]], %[[BYTES]]) : (index, index) -> memref<?xi8>
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[W:.*]] = memref.view %[[RAW]][%[[ZERO]]][] : memref<?xi8> to memref<4xf32>
// CHECK-NEXT:    %[[DX:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT:    gpu.memcpy %[[DX]], %[[X]] : memref<4xf32>, memref<4xf32>
// CHECK-NEXT:    %[[DCACHE:.*]] = gpu.alloc () : memref<2x4xf32>
// CHECK-NEXT:    gpu.memcpy %[[DCACHE]], %[[CACHE]] : memref<2x4xf32>, memref<2x4xf32>
// CHECK-NOT:     gpu.memcpy
// CHECK:         %[[T:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT:    gpu.launch
// CHECK-NEXT:      memref.load %[[DX]]
// CHECK-NEXT:      memref.load %[[W]]
// CHECK-NEXT:      arith.mulf
// CHECK-NEXT:      memref.store %{{.*}}, %[[T]]
// CHECK-NEXT:      memref.store %{{.*}}, %[[DCACHE]]
// CHECK-NEXT:      gpu.terminator
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[S:.*]] = gpu.alloc () : memref<f32>
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:    gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]]) threads({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]]) {
// CHECK-NEXT:      memref.store %{{.*}}, %[[S]][]
// CHECK-NEXT:      scf.for
// CHECK:           gpu.terminator
// CHECK-NEXT:    }
// CHECK-NEXT:    gpu.dealloc %[[T]] : memref<4xf32>
// CHECK-NEXT:    gpu.memcpy %[[HOST]], %[[S]] : memref<f32>, memref<f32>
// CHECK-NEXT:    gpu.memcpy %[[CACHE]], %[[DCACHE]] : memref<2x4xf32>, memref<2x4xf32>
// CHECK-NEXT:    gpu.dealloc %[[S]] : memref<f32>
// CHECK-NEXT:    gpu.dealloc %[[DX]] : memref<4xf32>
// CHECK-NEXT:    gpu.dealloc %[[DCACHE]] : memref<2x4xf32>
// CHECK-NEXT:    return %[[HOST]] : memref<f32>
// CHECK:       func.func private @qnt_cuda_constant(index, index) -> memref<?xi8> attributes {llvm.emit_c_interface}

// -----

// A value loaded on the host for host code cannot be computed on the GPU.
func.func @host_read(%x: memref<4xi32>) -> index {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.load' reads device memory for host code; the GPU pipeline cannot run it}}
  %v = memref.load %x[%c0] : memref<4xi32>
  %i = arith.index_cast %v : i32 to index
  return %i : index
}

// -----

memref.global "private" @state : memref<4xf32> = dense<0.0>
func.func @mutable_global() {
  // expected-error @+1 {{the GPU pipeline supports only constant globals with an identity layout; 'state' is not one}}
  %g = memref.get_global @state : memref<4xf32>
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %f = arith.constant 1.0 : f32
    memref.store %f, %g[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// A callee compiled by the pipeline would take host buffers.
func.func private @callee(memref<4xf32>)
func.func @caller(%x: memref<4xf32>) {
  // expected-error @+1 {{calls passing buffers ('callee') are not supported by the GPU pipeline}}
  call @callee(%x) : (memref<4xf32>) -> ()
  return
}
