// The qnt conversion passes (lowering qnt to upstream dialects).
#ifndef QNT_CONVERSION_PASSES_TD
#define QNT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def QntSelectKernelsPass : Pass<"qnt-select-kernels", "::mlir::ModuleOp"> {
  let summary = "Choose the kernel of every qnt.matmul and qnt.attention "
                "(#qnt.kernel, #qnt.gpu_kernel) for the module's target";
  let description = [{
    Puts a `qnt.kernel` attribute (`#qnt.kernel<...>`: kernel family, lanes,
    register tile, memory streams, x block, integer-dot instructions,
    prefetch, thread split) on every `qnt.matmul` with an integer scheme and
    every `qnt.attention`; convert-qnt-to-vector builds exactly that kernel
    and reads nothing else. Ops that already have one keep it, so the pass
    can run again, and a hand-written choice survives it.

    The choices come from the options; an option left at 0 (or `auto`) is
    derived from the module's `qnt.target` (`#qnt.target<cpu, vector_bits,
    int_dot>`, written by quant-compile for the host or `--cpu`):
    - 512-bit vectors: `chunk=16`, 4x4 tiles; 256-bit: `chunk=8` and 2x4
      tiles (4x4 with int8 activations), because AVX2's 16 registers spill
      a 4x4 tile of 16 lanes;
    - `activations=i8` where the target has integer dot products (AVX2 or
      VNNI), with `int-dot` from the target, 2-column tiles and 2 memory
      streams (docs/PERFORMANCE.md, "Streams");
    - without a target: `chunk=16`, 4x4 tiles, one stream, f32
      activations and portable dot products.

    The family of each matmul: with `activations=i8`, 4- and 8-bit codes in
    groups of whole x blocks take `column_i8` (output columns in the lanes of
    each register; `column-kernels=false` turns them off), other 1-, 2-, 4-
    and 8-bit codes whose groups hold whole 16- or 32-byte loads take
    `row_i8`, the rest `row_f32`. x is quantized to int8 per row and block of
    `x_block` codes (`act-block`; 0: 128 or 64, as the group allows, for
    codes of 4 bits or fewer, else 32). `row_f32` unpacks `lanes` codes per
    step, fewer (in steps of 8) where a group holds fewer codes than one
    plane-major block.

    Each matmul's weight is then laid out for its kernel: a `qnt.constant`
    whose `!qnt.packed` type names the layout (`#qnt.layout<planes | row_tiles
    | column_tiles, ...>`, docs/BIT_LAYOUT.md, "Kernel layout"), one per
    constant and layout. A `qnt.gather_rows` of a table that a column kernel
    reads (a tied classifier) reads that constant too; constants left
    without users are removed.

    On a module whose `qnt.target` is a `#qnt.gpu_target` the pass puts a
    `#qnt.gpu_kernel` on every `qnt.matmul` instead (the CPU options do not
    apply; convert-qnt-to-gpu builds it): with a static M the first GEMV of
    `gpu-gemv-rows` that holds M, else the GEMM alone; with a dynamic M every
    GEMV and the GEMM. Left open, the GPU options come from the target (sm_80
    and sm_90 alike): GEMVs for 1, 2, 4 and 8 rows of x, blocks of 4 warps of
    2 weight rows each.
  }];
  let options = [
    Option<"chunk", "chunk", "int64_t", /*default=*/"0",
           "Codes unpacked per vector step: a multiple of 8 in [8, 128]; 0: "
           "from the target (16 for 512-bit vectors, 8 for narrower)">,
    Option<"rowsPerTile", "rows-per-tile", "int64_t", /*default=*/"0",
           "Rows of x (M) sharing each unpacked chunk: 1 to 8; 0: from the "
           "target">,
    Option<"colsPerTile", "cols-per-tile", "int64_t", /*default=*/"0",
           "Weight rows (N) processed together: 1 to 8; 0: from the target">,
    Option<"streams", "streams", "int64_t", /*default=*/"0",
           "Parts of the weight rows read together by single-row tiles of x "
           "(a GEMV): that many sequential memory streams instead of one; 1 "
           "to 8; 0: from the target">,
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Split the weight rows of each matmul (and attention's rows and "
           "heads) across threads">,
    Option<"prefetch", "prefetch", "bool", /*default=*/"true",
           "Prefetch the next tile's weight rows while a tile runs">,
    Option<"activations", "activations", "std::string", /*default=*/"\"auto\"",
           "'f32' (x used as given), 'i8' (x quantized at run time to int8 "
           "per block of act-block codes and multiplied with integer dot "
           "products, where the scheme allows; changes the numerics, see "
           "docs/QUANTIZER.md) or 'auto' (i8 where the target has integer "
           "dot products, else f32)">,
    Option<"intDot", "int-dot", "std::string", /*default=*/"\"auto\"",
           "The instructions convert-qnt-int-dot will use (avx512vnni, "
           "avxvnni, avx2, generic; auto: the target's): with VNNI the column "
           "kernels feed 8-bit codes as unsigned bytes (vpdpbusd multiplies "
           "unsigned by signed exactly), where the others need them signed">,
    Option<"columnKernels", "column-kernels", "bool", /*default=*/"true",
           "With activations=i8: 4- and 8-bit codes in groups of whole x "
           "blocks use the column kernels (output columns in the lanes of "
           "each register, codes re-laid column-interleaved; "
           "docs/BIT_LAYOUT.md); false: the row kernels">,
    Option<"actBlock", "act-block", "int64_t", /*default=*/"0",
           "With activations=i8: codes of x sharing one int8 scale: 0 "
           "(default) picks per matmul (the largest of 128 and 64 dividing "
           "the group for codes of 4 bits or fewer, else 32), or 32, 64, 128, "
           "256 (matmuls whose groups it does not divide use 32). Larger "
           "blocks are faster and coarser">,
    ListOption<"gpuGemvRows", "gpu-gemv-rows", "int64_t",
               "GPU targets: the rows of x of the GEMV kernels, increasing, "
               "1 to 8; none given: from the target (1, 2, 4, 8)">,
    Option<"gpuWarps", "gpu-warps", "int64_t", /*default=*/"0",
           "GPU targets: warps per GEMV block, 1 to 8; 0: from the target "
           "(4)">,
    Option<"gpuRowsPerWarp", "gpu-rows-per-warp", "int64_t", /*default=*/"0",
           "GPU targets: weight rows per GEMV warp, 1 to 4; 0: from the "
           "target (2)">,
  ];
}

def ConvertQntToVectorPass : Pass<"convert-qnt-to-vector", "::mlir::ModuleOp"> {
  let summary = "Lower qnt ops to CPU loops that unpack packed codes in vector registers";
  let description = [{
    Runs on tensors, before bufferization, after qnt-select-kernels: every
    `qnt.matmul` and `qnt.attention` is built as the kernel its `qnt.kernel`
    attribute names (an op without one is an error), and nothing else
    decides. `qnt.constant` payloads become `arith.constant` tensors
    (resource blobs stay blobs); a matmul's weight must already be in the
    `#qnt.layout` its kernel reads (qnt-select-kernels lays it out), and is
    read as it lies.
    - `row_f32`: a register-tiled loop nest over memrefs
      (`bufferization.to_buffer` / `to_tensor` at its edges): each step loads
      a chunk of packed code bytes, unpacks it in registers with shifts,
      masks and widening (1-, 2- and 4-bit codes from a plane-major copy, so
      no shuffle is needed; see docs/BIT_LAYOUT.md), multiplies by x with f32
      FMAs, and applies the group scale once per group
      (`acc += scale * sum(code * x)`). No float copy of the weight is made.
    - `row_i8`: x is quantized at run time to int8 per row and block of
      `x_block` codes (scale max|x|/127) and every block of codes is
      multiplied by it with integer dot products (i32 sums), scaled once per
      block by the x scale and once per group by the weight scale.
    - `column_i8`: the codes re-laid with output columns in the register
      lanes (docs/BIT_LAYOUT.md, "Column kernels"), one `qnt.dot4_i8` per 4
      codes of 8 or 16 columns, group scales applied to all of them at once;
      much faster GEMMs (the prefill of a prompt) and GEMVs with less work
      per code. Also fp4 (e2m1) codes: each nibble looked up (`qnt.lookup16`
      on bytes, the kernel's `lookup`) as twice its value plus 12, an
      unsigned byte, the block scales decoded per group.
    - `attention`: one pass over the live cache rows per chunk of heads,
      running softmax; rows and chunks split across threads with `parallel`.
    - `row_lut`: the row kernels with f32 x for fp8, fp4 (e2m1) and NF4
      codes: fp8 decoded by moving its bits into a float's, NF4 and e2m1 by
      `qnt.lookup16` of their 16 values (the kernel's `lookup`); the fp4
      block scales (E8M0, E4M3 bytes) decoded once per block.
    `qnt.dequantize` with remaining users becomes a scalar loop nest;
    `qnt.gather_rows` reads rows of its table, in the row layout or in a
    column kernel's `column_tiles` layout.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"];
}

def ConvertQntIntDotPass : Pass<"convert-qnt-int-dot"> {
  let summary = "Lower qnt.dot4_i8, qnt.dot2_i8, qnt.sum_pairs_i16 and "
                "qnt.lookup16 to VNNI, AVX2 or AVX-512 instructions or "
                "portable vector code";
  let description = [{
    Runs after bufferization (the kernels of convert-qnt-to-vector
    `activations=i8` keep their dot products as qnt ops until then).
    `isa=avx512vnni` (16-, 32- and 64-byte operands) and `isa=avxvnni` (16
    and 32 bytes): `qnt.dot4_i8` becomes one `vpdpbusd`, which adds the sums
    of four unsigned-by-signed byte products into its accumulator (the op's
    `acc`, else zero), without intermediate saturation; the other two ops
    get the AVX2 instructions. `isa=avx2`: 16- and 32-byte operands become
    `vpmaddubsw` (unsigned by signed bytes, pairs summed in i16;
    `qnt.dot2_i8`) and `vpmaddwd` against ones (pairs of i16 summed in i32;
    `qnt.sum_pairs_i16`), `qnt.dot4_i8` both and an add of `acc`, through
    `llvm.call_intrinsic`. A signed `a` is fed as `|a|` with `b` given `a`'s
    sign (`vpsignb`). Every pair sum stays below 2^15 because the kernels
    keep `b` in [-127, 127] and `|a|` <= 128, and they add `qnt.dot2_i8`
    results in i16 only where the sums stay below 2^15. The code then needs
    a CPU with those instructions. Other sizes, and `isa=generic`, widen to
    i32, multiply and sum adjacent lanes: the same integers, on any target.
    `qnt.lookup16` (the row_lut kernels' NF4 table lookups) gets the
    instructions its own `lookup` names, chosen with the kernel, whatever
    `isa` says: `vpermps` of a 16-float register per 16 lanes (`avx512`), of
    each 8-float half and a `vblendvps` per 8 (`avx2`), or 15 selects.
  }];
  let options = [
    Option<"isa", "isa", "std::string", /*default=*/"\"auto\"",
           "'avx512vnni', 'avxvnni', 'avx2', 'generic' or 'auto' (the "
           "module's #qnt.target, generic without one)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect", "::mlir::vector::VectorDialect"];
}

def ConvertQntToGPUPass : Pass<"convert-qnt-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower qnt.matmul and qnt.gather_rows to GPU kernels that "
                "read packed weights";
  let description = [{
    Runs on tensors where convert-qnt-to-vector runs in the CPU pipeline
    (after qnt-fuse-dequant-matmul and qnt-select-kernels, before
    one-shot-bufferize). Each `qnt.matmul` becomes the `gpu.launch` ops its
    `#qnt.gpu_kernel` names (an op without one, or whose kernels do not take
    every M it may have, is an error), on memrefs
    (`bufferization.to_buffer` / `to_tensor` at the edges) with inline kernel
    bodies, for `gpu-kernel-outlining` to outline later:

    - a GEMV for each of `gemv`'s rows of x (with a dynamic M, `scf.if` on
      the runtime M launches the first that holds it): blocks of `warps`
      warps, each owning `rows_per_warp` weight rows; every lane reads
      one 32-code chunk of each row per step as `bits` i32 words (128-bit
      loads for 4- and 8-bit codes), unpacks in registers, applies the group
      scale once per group, against x staged in shared memory; lanes are
      summed with `gpu.shuffle xor`. Integer codes become floats through
      the mantissa of 2^23, fp8 and e2m1 codes from their bits (for sm_90,
      fp8 pairs by the hardware's `nvvm.convert.f8x2.to.f16x2`), NF4 codes
      by selects among its 16 values; mxfp4's E8M0 and nvfp4's E4M3 block
      scales are decoded when loaded, nvfp4's tensor scale folded into them.
    - the GEMM (`gemm`) for the rows above the GEMVs: 64x64 output tiles per
      block of 4 warps, 64-wide K
      steps; packed codes are dequantized in registers to f16 and staged in
      shared memory with the f16 activations, and each warp issues
      `nvgpu.mma.sync` m16n8k16 (f16 operands, f32 accumulation).

    Each `qnt.gather_rows` (a token embedding read from packed codes)
    becomes a kernel of one block per row asked for, a thread per 32-code
    chunk, decoding from the same words as the matmuls (a tied classifier's
    table is held once).

    Codes are re-laid out at compile time as `memref<N x W x i32>`: each row
    is the same little-endian bit stream, zero-padded to a whole number of
    32-code chunks (W = ceil(K/32) * bits words), so every chunk starts on a
    `4 * bits`-byte boundary. With `mapping=loops` the same tiled nest is
    emitted as `scf.for` loops (blocks, warps and lanes become induction
    variables, shared memory becomes stack buffers, shuffles a sequential sum
    over lanes, mma a scalar dot product over the same f16 tiles), so it can
    run on the CPU through qnt's CPU lowering.
  }];
  let options = [
    Option<"mapping", "mapping", "std::string", /*default=*/"\"gpu\"",
           "'gpu' (gpu.launch kernels) or 'loops' (the same nest as scf "
           "loops, to execute on the CPU)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"];
}

#endif // QNT_CONVERSION_PASSES_TD
