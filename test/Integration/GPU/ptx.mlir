// The kernels of convert-qnt-to-gpu through the upstream NVVM lowering to PTX
// (NVPTX backend; no CUDA toolkit needed) for a bench shape: a 4096 x 4096
// int4 layer in groups of 128 with a dynamic M, which makes four GEMV
// kernels (M <= 1, 2, 4, 8) and the tensor-core GEMM.
// RUN: quant-opt %s --pass-pipeline="builtin.module(qnt-set-target{gpu=sm_80},qnt-select-kernels,convert-qnt-to-gpu,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},gpu-launch-sink-index-computations,gpu-kernel-outlining,symbol-dce)" -o %t.gpu.mlir
// RUN: FileCheck %s --check-prefix=GPU < %t.gpu.mlir
// RUN: quant-opt %t.gpu.mlir --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_80 cubin-features=+ptx80 cubin-format=isa opt-level=3" --mlir-print-ir-before=gpu-module-to-binary -o %t.ptx.mlir 2> %t.nvvm.mlir
// RUN: FileCheck %s --check-prefix=NVVM < %t.nvvm.mlir
// RUN: %python %helpers/ptx_tool.py extract < %t.ptx.mlir | FileCheck %s --check-prefix=PTX

// Host side: the weights are 4096 x 512 i32 words; every kernel gets them,
// the f16 scales, x and the output, and nothing of size 4096 x 4096 float.
// GPU-LABEL: func.func @layer
//   GPU-NOT:   4096x4096xf
//       GPU:   gpu.launch_func @layer_kernel::@layer_kernel blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%{{.*}} : memref<?x4096xf32>, %{{.*}} : memref<4096x512xi32>, %{{.*}} : memref<4096x32xf16>, %{{.*}} : memref<?x4096xf32>)
//       GPU:   gpu.launch_func @layer_kernel_0::@layer_kernel
//       GPU:   gpu.launch_func @layer_kernel_1::@layer_kernel
//       GPU:   gpu.launch_func @layer_kernel_2::@layer_kernel
//       GPU:   gpu.launch_func @layer_kernel_3::@layer_kernel
//   GPU-NOT:   4096x4096xf
//       GPU: gpu.module @layer_kernel
//       GPU:   gpu.func @layer_kernel(%{{.*}}: memref<?x4096xf32>, %{{.*}}: memref<4096x512xi32>, %{{.*}}: memref<4096x32xf16>, %{{.*}}: memref<?x4096xf32>) kernel
//       GPU:     memref.get_global @qnt_shared : memref<1x1152xf32, #gpu.address_space<workgroup>>
//       GPU:   memref.global "private" @qnt_shared : memref<1x1152xf32, #gpu.address_space<workgroup>> {alignment = 16 : i64}
//       GPU: gpu.module @layer_kernel_3
//       GPU:   gpu.func @layer_kernel({{.*}}) kernel
//   GPU-DAG:   memref.global "private" @[[A:qnt_shared_[0-9]+]] : memref<64x72xf16, #gpu.address_space<workgroup>> {alignment = 16 : i64}
//   GPU-DAG:   memref.global "private" @[[B:qnt_shared_[0-9]+]] : memref<64x72xf16, #gpu.address_space<workgroup>> {alignment = 16 : i64}
//   GPU-NOT:   memref.global "private" @qnt_shared

// In the NVVM dialect: 128-bit loads of words from global memory and of x from shared
// memory, barriers, the butterfly shuffles (2 rows per warp x 5 steps), and
// in the GEMM the m16n8k16 f16 mma with f32 accumulators.
// NVVM-LABEL: gpu.module @layer_kernel
//       NVVM:   llvm.mlir.global private @qnt_shared() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<1 x array<1152 x f32>>
//       NVVM:   llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr -> vector<4xi32>
//       NVVM:   nvvm.barrier0
//       NVVM:   llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xf32>
// NVVM-COUNT-10:   nvvm.shfl.sync  bfly
//   NVVM-NOT:   nvvm.mma.sync
// NVVM-LABEL: gpu.module @layer_kernel_3
//   NVVM-NOT:   nvvm.shfl.sync
//       NVVM:   llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr -> vector<4xi32>
//       NVVM:   llvm.store %{{.*}} {alignment = 16 : i64} : vector<8xf16>, !llvm.ptr<3>
// NVVM-COUNT-32:   nvvm.mma.sync A[{{.*}}]  B[{{.*}}]  C[{{.*}}]  {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
//   NVVM-NOT:   nvvm.mma.sync

// PTX-LABEL: // ---- layer_kernel ----
//       PTX: .target sm_80
//       PTX: .shared .align 16 .b8 {{qnt_shared[_0-9]*}}[4608];
//       PTX: bar.sync 0;
//       PTX: ld.global.v4.b32
//       PTX: ld.global.v4.b32
//       PTX: ld.shared.v4.b32
// Codes become floats with integer ops and one add, not cvt (quarter rate).
//   PTX-NOT: cvt.rn.f32.{{[su]}}32
//       PTX: shfl.sync.bfly.b32 {{.*}}, 16, 31, -1;
//       PTX: shfl.sync.bfly.b32 {{.*}}, 8, 31, -1;
//       PTX: shfl.sync.bfly.b32 {{.*}}, 4, 31, -1;
//       PTX: shfl.sync.bfly.b32 {{.*}}, 2, 31, -1;
//       PTX: shfl.sync.bfly.b32 {{.*}}, 1, 31, -1;
//   PTX-NOT: mma.sync
// PTX-LABEL: // ---- layer_kernel_0 ----
//       PTX: .shared .align 16 .b8 {{qnt_shared[_0-9]*}}[9216];
//       PTX: ld.global.v4.b32
//       PTX: shfl.sync.bfly.b32
// PTX-LABEL: // ---- layer_kernel_1 ----
//       PTX: .shared .align 16 .b8 {{qnt_shared[_0-9]*}}[18432];
//       PTX: ld.global.v4.b32
//       PTX: shfl.sync.bfly.b32
// PTX-LABEL: // ---- layer_kernel_2 ----
//       PTX: .shared .align 16 .b8 {{qnt_shared[_0-9]*}}[36864];
//       PTX: ld.global.v4.b32
//       PTX: shfl.sync.bfly.b32
// PTX-LABEL: // ---- layer_kernel_3 ----
//       PTX: .shared .align 16 .b8 {{qnt_shared[_0-9]*}}[9216];
//       PTX: .shared .align 16 .b8 {{qnt_shared[_0-9]*}}[9216];
//       PTX: ld.global.v4.b32
//       PTX: st.shared.v4.b32
//       PTX: bar.sync 0;
// PTX-COUNT-32: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
//   PTX-NOT: shfl.sync
func.func @layer(%x: tensor<?x4096xf32>) -> tensor<?x4096xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<4096x2048xi8>, scales = dense<0.5> : tensor<4096x32xf16>}
      : !qnt.packed<4096x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x4096xf32>, !qnt.packed<4096x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>) -> tensor<?x4096xf32>
  return %y : tensor<?x4096xf32>
}
