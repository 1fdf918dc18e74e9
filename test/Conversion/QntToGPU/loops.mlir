// convert-qnt-to-gpu{mapping=loops}: the same tiled nest with no GPU mapping,
// for execution on the CPU (test/Integration/GPU/loops-*.test run it).
// Blocks, threads and lanes are loop induction variables, shared memory and
// the per-thread accumulators are stack buffers, and each barrier splits the
// block into loops over its 128 threads.
// RUN: quant-opt %s --split-input-file --convert-qnt-to-gpu=mapping=loops --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @gemv
//   CHECK-NOT:   gpu.
//   CHECK-DAG:   %[[XS:.*]] = memref.alloca() {alignment = 16 : i64} : memref<1x1152xf32>
//   CHECK-DAG:   %[[REGS:.*]] = memref.alloca() {alignment = 16 : i64} : memref<128x2xf32>
//       CHECK:   scf.for %[[BLOCK:.*]] = %c0 to %c2 step %c1 {
//       CHECK:     scf.for %{{.*}} = %c0 to %c128 step %c1 {
//       CHECK:       memref.store %{{.*}}, %[[REGS]]
// Stage x, then (after the barrier) every thread's step.
//       CHECK:     scf.for %[[T:.*]] = %c0 to %c128 step %c1 {
//       CHECK:       memref.store %{{.*}}, %[[XS]]
//       CHECK:     scf.for %[[T2:.*]] = %c0 to %c128 step %c1 {
//       CHECK:       memref.load %[[REGS]][%[[T2]], %c0] : memref<128x2xf32>
//       CHECK:       vector.load %{{.*}} : memref<16x8xi32>, vector<4xi32>
//       CHECK:       vector.load %[[XS]]{{.*}} : memref<1x1152xf32>, vector<4xf32>
//       CHECK:       memref.store %{{.*}}, %[[REGS]][%[[T2]], %c0] : memref<128x2xf32>
// The warp's shuffle reduction is a sum over its 32 lanes.
//       CHECK:     scf.for %[[WARP:.*]] = %c0 to %c4 step %c1 {
//       CHECK:       %[[FIRST:.*]] = arith.muli %[[WARP]], %c32 : index
//       CHECK:       %[[END:.*]] = arith.addi %[[FIRST]], %c32 : index
//       CHECK:       scf.for %[[L:.*]] = %[[FIRST]] to %[[END]] step %c1 iter_args(%[[S:.*]] = %cst{{.*}}) -> (f32) {
//       CHECK:         %[[V:.*]] = memref.load %[[REGS]][%[[L]], %c0] : memref<128x2xf32>
//       CHECK:         %[[N:.*]] = arith.addf %[[S]], %[[V]] : f32
//       CHECK:         scf.yield %[[N]] : f32
//   CHECK-NOT:   gpu.
func.func @gemv(%x: tensor<1x64xf32>) -> tensor<1x16xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<16x32xi8>, scales = dense<0.5> : tensor<16x2xf16>}
      : !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<1x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>) -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// -----

// CHECK-LABEL: func.func @gemm
//   CHECK-NOT:   gpu.
//   CHECK-NOT:   nvgpu.
//   CHECK-DAG:   memref.alloca() {alignment = 16 : i64} : memref<64x72xf16>
//   CHECK-DAG:   memref.alloca() {alignment = 16 : i64} : memref<128x32xf32>
// The mma becomes a dot product over the K step from the same f16 tiles.
//       CHECK:   scf.for %{{.*}} = %c0 to %c64 step %c1 iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) {
//       CHECK:     %[[A:.*]] = memref.load %{{.*}} : memref<64x72xf16>
//       CHECK:     %[[AF:.*]] = arith.extf %[[A]] : f16 to f32
//       CHECK:     %[[B:.*]] = memref.load %{{.*}} : memref<64x72xf16>
//       CHECK:     %[[BF:.*]] = arith.extf %[[B]] : f16 to f32
//       CHECK:     math.fma %[[AF]], %[[BF]], %[[ACC]] : f32
//   CHECK-NOT:   gpu.
func.func @gemm(%x: tensor<64x64xf32>) -> tensor<64x16xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<16x32xi8>, scales = dense<0.5> : tensor<16x2xf16>}
      : !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<64x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>) -> tensor<64x16xf32>
  return %y : tensor<64x16xf32>
}
