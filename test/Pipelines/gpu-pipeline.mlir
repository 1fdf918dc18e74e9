// qnt-gpu-pipeline on a float function: a rank-0 reduction (left on the host
// by loop mapping, so it runs as a one-thread kernel) feeding an elementwise
// map (blocks of 256 threads, the last one partial).
// RUN: quant-opt %s --qnt-gpu-pipeline="chip=sm_80 format=ptx" \
// RUN:   --mlir-print-ir-after=convert-gpu-to-nvvm 2> %t.nvvm | FileCheck %s
// RUN: FileCheck %s --check-prefix=NVVM < %t.nvvm
// RUN: quant-opt %s --qnt-gpu-pipeline="chip=sm_90 format=ptx" | FileCheck %s --check-prefix=SM90

// y = exp(x) * s, where s = sum(x) over all elements (a rank-0 reduction).
func.func @scale(%x: tensor<300xf32>) -> tensor<300xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%x : tensor<300xf32>) outs(%init : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %e = tensor.empty() : tensor<300xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%x, %s : tensor<300xf32>, tensor<f32>) outs(%e : tensor<300xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %t = math.exp %a : f32
      %m = arith.mulf %t, %b : f32
      linalg.yield %m : f32
  } -> tensor<300xf32>
  return %y : tensor<300xf32>
}

// The host: one stream per call; the argument copied in, never back (no
// kernel writes it); the result copied into a malloc'd buffer; device
// buffers freed on the stream; the stream synchronized before returning.
// CHECK-LABEL: llvm.func @scale(
// CHECK:         %[[HOST:.*]] = llvm.call @malloc(
// CHECK:         %[[STREAM:.*]] = llvm.call @mgpuStreamCreate()
// CHECK-NEXT:    %[[X:.*]] = llvm.call @mgpuMemAlloc(%{{.*}}, %[[STREAM]], %{{.*}}) : (i64, !llvm.ptr, i8) -> !llvm.ptr
// CHECK-NEXT:    llvm.call @mgpuMemcpy(%[[X]], %arg1, %{{.*}}, %[[STREAM]])
// CHECK:         %[[S:.*]] = llvm.call @mgpuMemAlloc(
// CHECK-NEXT:    gpu.launch_func <%[[STREAM]] : !llvm.ptr> @qnt_kernels::@scale_kernel blocks in (%[[ONE:.*]], %[[ONE]], %[[ONE]]) threads in (%[[ONE]], %[[ONE]], %[[ONE]])
// CHECK-NEXT:    %[[Y:.*]] = llvm.call @mgpuMemAlloc(
// CHECK-NEXT:    gpu.launch_func <%[[STREAM]] : !llvm.ptr> @qnt_kernels::@scale_kernel_0 blocks in (%[[TWO:.*]], %[[ONE]], %[[ONE]]) threads in (%[[T256:.*]], %[[ONE]], %[[ONE]])
// CHECK-NEXT:    llvm.call @mgpuMemFree(%[[S]], %[[STREAM]])
// CHECK-NEXT:    llvm.call @mgpuMemcpy(%[[HOST]], %[[Y]], %{{.*}}, %[[STREAM]])
// CHECK-NEXT:    llvm.call @mgpuMemFree(%[[Y]], %[[STREAM]])
// CHECK-NEXT:    llvm.call @mgpuMemFree(%[[X]], %[[STREAM]])
// CHECK-NEXT:    llvm.call @mgpuStreamSynchronize(%[[STREAM]])
// CHECK-NEXT:    llvm.call @mgpuStreamDestroy(%[[STREAM]])
// CHECK-NOT:     mgpu
// CHECK:         llvm.return
// One binary with both kernels, PTX for sm_80 (PTX ISA 7.0).
// CHECK:       gpu.binary @qnt_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx70">, properties = {{.*}}, assembly = "{{.*}}.version 7.0\0A.target sm_80{{.*}}.visible .entry scale_kernel({{.*}}.visible .entry scale_kernel_0({{.*}}">]
// CHECK-NOT:   gpu.binary

// SM90: gpu.binary @qnt_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx78">, {{.*}}.version 7.8\0A.target sm_90

// The kernels as NVVM IR: the serial one stores the zero (a constant sunk
// into the kernel, not passed as an argument) and loops; the map
// reads its block and thread ids, checks the bound and calls libdevice.
// NVVM-LABEL: gpu.module @qnt_kernels [#nvvm.target<O = 3, chip = "sm_80", features = "+ptx70">]
// NVVM:         llvm.func @scale_kernel(%arg0: !llvm.ptr,
// NVVM-SAME:        gpu.kernel
// NVVM-SAME:        nvvm.kernel
// NVVM-NOT:       nvvm.read.ptx.sreg
// NVVM:           %[[ZERO:.*]] = llvm.mlir.constant(0.000000e+00 : f32) : f32
// NVVM:           llvm.store %[[ZERO]]
// NVVM:           llvm.fadd
// NVVM:         llvm.func @__nv_expf(f32) -> f32
// NVVM:         llvm.func @scale_kernel_0(
// NVVM:           %[[BID:.*]] = nvvm.read.ptx.sreg.ctaid.x range <i32, 0, 2> : i32
// NVVM:           %[[TID:.*]] = nvvm.read.ptx.sreg.tid.x range <i32, 0, 256> : i32
// NVVM:           llvm.icmp "ult"
// NVVM:           llvm.call @__nv_expf(
// NVVM:           llvm.fmul
