// After lowering and bufferization of a real-sized int4 layer, no buffer or
// tensor of float weights of size N x K (or K x N) exists: the kernel reads
// packed codes only.
// RUN: quant-opt %s --qnt-select-kernels --convert-qnt-to-vector --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// CHECK-LABEL: func.func @layer_11008x4096
//       CHECK:   memref.get_global {{.*}} : memref<11008x2048xi8>
//       CHECK:   memref.get_global {{.*}} : memref<11008x32xf16>
//   CHECK-NOT:   11008x4096xf
//   CHECK-NOT:   4096x11008xf
//       CHECK:   return
func.func @layer_11008x4096(%x: tensor<1x4096xf32>) -> tensor<1x11008xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<11008x2048xi8>, scales = dense<0.5> : tensor<11008x32xf16>}
      : !qnt.packed<11008x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<1x4096xf32>, !qnt.packed<11008x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>) -> tensor<1x11008xf32>
  return %y : tensor<1x11008xf32>
}
