// After convert-qnt-to-gpu and bufferization of a real-sized int4 layer
// (11008 x 4096, groups of 128), the weights exist only as packed i32 words
// (11008 x 512) in global memory: no buffer or tensor of float weights of
// size N x K (or K x N), and the kernels' only float tiles are the shared
// x / f16 tiles.
// RUN: quant-opt %s --qnt-set-target=gpu=sm_80 --qnt-select-kernels --convert-qnt-to-gpu --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// CHECK-LABEL: func.func @layer_11008x4096
//       CHECK:   memref.get_global {{.*}} : memref<11008x32xf16>
//       CHECK:   memref.get_global {{.*}} : memref<11008x512xi32>
//   CHECK-NOT:   11008x4096xf
//   CHECK-NOT:   4096x11008xf
//       CHECK:   return
func.func @layer_11008x4096(%x: tensor<?x4096xf32>) -> tensor<?x11008xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<11008x2048xi8>, scales = dense<0.5> : tensor<11008x32xf16>}
      : !qnt.packed<11008x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x4096xf32>, !qnt.packed<11008x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>) -> tensor<?x11008xf32>
  return %y : tensor<?x11008xf32>
}
