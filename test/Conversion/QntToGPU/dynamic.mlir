// convert-qnt-to-gpu with a dynamic M (real models: tensor<?xKxf32>, see
// bench/gen_layer.py): the runtime M picks the smallest GEMV bucket that
// holds it (1, 2, 4, 8 rows of x), else the tensor-core GEMM, whose grid
// covers ceil(M / 64) M tiles. The same packed words serve every kernel.
// RUN: quant-opt %s --qnt-set-target=gpu=sm_80 --qnt-select-kernels --convert-qnt-to-gpu --canonicalize --cse | FileCheck %s
// The five kernels share one copy of the words (splat bytes 0x11 give splat
// words 0x11111111).
// RUN: quant-opt %s --qnt-set-target=gpu=sm_80 --qnt-select-kernels --convert-qnt-to-gpu | grep -c "arith.constant dense<286331153> : tensor<11008x512xi32>" | FileCheck %s --check-prefix=ONCE
// ONCE: {{^}}1{{$}}

// CHECK-LABEL: func.func @dynamic_m
//  CHECK-SAME:   (%[[X:.*]]: tensor<2x?x4096xf32>)
//       CHECK:   %[[X2:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : memref<2x?x4096xf32> into memref<?x4096xf32>
//       CHECK:   bufferization.to_buffer %{{.*}} read_only : tensor<11008x512xi32> to memref<11008x512xi32>
//       CHECK:   %[[M:.*]] = memref.dim %[[X2]], %c0 : memref<?x4096xf32>
//       CHECK:   %[[LE1:.*]] = arith.cmpi ule, %[[M]], %c1 : index
//       CHECK:   scf.if %[[LE1]] {
//       CHECK:     gpu.launch {{.*}} in (%{{.*}} = %c1376,
//       CHECK:       memref.get_global @{{.*}} : memref<1x1152xf32, #gpu.address_space<workgroup>>
//       CHECK:   } else {
//       CHECK:     %[[LE2:.*]] = arith.cmpi ule, %[[M]], %c2 : index
//       CHECK:     scf.if %[[LE2]] {
//       CHECK:       gpu.launch
//       CHECK:         memref.get_global @{{.*}} : memref<2x1152xf32, #gpu.address_space<workgroup>>
//       CHECK:     } else {
//       CHECK:       %[[LE4:.*]] = arith.cmpi ule, %[[M]], %c4 : index
//       CHECK:       scf.if %[[LE4]] {
//       CHECK:         gpu.launch
//       CHECK:         memref.get_global @{{.*}} : memref<4x1152xf32, #gpu.address_space<workgroup>>
//       CHECK:       } else {
//       CHECK:         %[[LE8:.*]] = arith.cmpi ule, %[[M]], %c8 : index
//       CHECK:         scf.if %[[LE8]] {
//       CHECK:           gpu.launch
//       CHECK:         memref.get_global @{{.*}} : memref<8x1152xf32, #gpu.address_space<workgroup>>
//       CHECK:         } else {
//       CHECK:           %[[MT:.*]] = arith.ceildivui %[[M]], %c64 : index
//       CHECK:           gpu.launch {{.*}} in (%{{.*}} = %c172, %{{.*}} = %[[MT]], %{{.*}} = %c1)
//       CHECK:             memref.get_global @{{.*}} : memref<64x72xf16, #gpu.address_space<workgroup>>
//       CHECK:             nvgpu.mma.sync
func.func @dynamic_m(%x: tensor<2x?x4096xf32>) -> tensor<2x?x11008xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<11008x2048xi8>, scales = dense<0.5> : tensor<11008x32xf16>}
      : !qnt.packed<11008x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<2x?x4096xf32>, !qnt.packed<11008x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>) -> tensor<2x?x11008xf32>
  return %y : tensor<2x?x11008xf32>
}
