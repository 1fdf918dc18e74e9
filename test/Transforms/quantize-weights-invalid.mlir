// Diagnostics of qnt-quantize-weights, each with its exact message. Layers
// are named by their location (as quant-import names them), so the messages
// are checked on stderr.
// RUN: not quant-opt %s --split-input-file --qnt-quantize-weights="group-size=32" 2>&1 | FileCheck %s
// RUN: not quant-opt %s --split-input-file --qnt-quantize-weights="bits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not quant-opt %s --split-input-file --qnt-quantize-weights="group-size=-2" 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not quant-opt %s --split-input-file --qnt-quantize-weights="scale-type=f64" 2>&1 | FileCheck %s --check-prefix=SCALE
// RUN: not quant-opt %s --split-input-file --qnt-quantize-weights="format=fp4" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not quant-opt %s --split-input-file --qnt-quantize-weights="format=nf4 symmetric=false" 2>&1 | FileCheck %s --check-prefix=FORMAT-ASYM
// RUN: not quant-opt %s --split-input-file --qnt-quantize-weights="format=fp8 method=gptq hessians=h.txt" 2>&1 | FileCheck %s --check-prefix=FORMAT-GPTQ

// BITS: error: qnt-quantize-weights option bits=9 is out of range [1, 8]
// GROUP: error: qnt-quantize-weights option group-size=-2 is out of range [0, 1048576]
// SCALE: error: qnt-quantize-weights option scale-type=f64 must be f32, f16 or bf16
// FORMAT: error: qnt-quantize-weights option format=fp4 must be int, fp8, fp8e5m2, mxfp4, nvfp4, nf4 or lut4
// FORMAT-ASYM: error: qnt-quantize-weights option format=nf4 is symmetric only (symmetric=false needs format=int)
// FORMAT-GPTQ: error: qnt-quantize-weights option method=gptq rounds to integer grids only, not format=fp8

// CHECK: model.mlir:12:3: warning: layer 'attn.wq': group size 32 does not divide K = 4; using one scale per output channel
// CHECK: model.mlir:12:3: error: 'linalg.matmul' op cannot quantize the weight of layer 'attn.wq': non-finite value nan at row 0, column 1
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
func.func @nan_weight(%x: tensor<1x4xf32>, %o: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, 0x7FC00000, 0.5, 0.25], [1.0, 2.0, 3.0, 4.0]]> : tensor<2x4xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<1x4xf32>, tensor<2x4xf32>) outs(%o : tensor<1x2xf32>) -> tensor<1x2xf32> loc("attn.wq"("model.mlir":12:3))
  return %y : tensor<1x2xf32>
}

// -----

// CHECK: model.mlir:40:5: error: 'linalg.matmul' op cannot read the weight of layer 'ffn.w1': its resource blob 'not_there' is missing
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
func.func @missing_blob(%x: tensor<1x32xf32>, %o: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense_resource<not_there> : tensor<2x32xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<1x32xf32>, tensor<2x32xf32>) outs(%o : tensor<1x2xf32>) -> tensor<1x2xf32> loc("ffn.w1"("model.mlir":40:5))
  return %y : tensor<1x2xf32>
}

// -----

// CHECK: model.mlir:90:9: error: 'linalg.matmul' op layer 'fc2': qnt-quantize-weights makes signed symmetric or unsigned asymmetric codes, not #qnt.scheme<si4, asymmetric, per_channel<0>>
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
func.func @signed_asymmetric_requested(%x: tensor<1x32xf32>, %o: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x32xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<1x32xf32>, tensor<2x32xf32>) outs(%o : tensor<1x2xf32>)
      {qnt.scheme = #qnt.scheme<si4, asymmetric, per_channel<0>>} -> tensor<1x2xf32> loc("fc2"("model.mlir":90:9))
  return %y : tensor<1x2xf32>
}

// -----

// A lut4 scheme on a layer gives the quantizer its starting table; one
// without a 0 cannot keep zero weights exact (IQ4_NL's table, which the
// GGUF importer may take as it is, is such a one).
// CHECK: model.mlir:95:2: error: 'linalg.matmul' op cannot quantize the weight of layer 'fc3': the starting codebook has no value 0; the quantizer keeps zero weights exact
#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
func.func @lut4_without_zero(%x: tensor<1x32xf32>, %o: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<0.5> : tensor<2x32xf32>
  %y = linalg.matmul indexing_maps = #tb {qnt.scheme = #qnt.scheme<lut4, symmetric, per_group<1, 32>, codebook = array<f32: -127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0>>} ins(%x, %w : tensor<1x32xf32>, tensor<2x32xf32>) outs(%o : tensor<1x2xf32>) -> tensor<1x2xf32> loc("fc3"("model.mlir":95:2))
  return %y : tensor<1x2xf32>
}
