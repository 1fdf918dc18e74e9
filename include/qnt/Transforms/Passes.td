// The qnt transformation passes (quantize weights, fuse, ...).
#ifndef QNT_TRANSFORMS_PASSES_TD
#define QNT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QntQuantizeWeightsPass : Pass<"qnt-quantize-weights", "::mlir::ModuleOp"> {
  let summary = "Turn float weight constants of linear layers into packed qnt.constant + qnt.dequantize";
  let description = [{
    Finds linear layers whose weight is a compile-time float constant
    (linalg.matmul in plain and transposed-B form, linalg.batch_matmul with a
    shared weight, linalg.matvec/vecmat, linalg.generic contractions of the
    same shape, tosa.matmul) and replaces the constant by a packed
    `qnt.constant` feeding `qnt.dequantize` (plus a `linalg.transpose` when
    the weight was stored [K, N]). The op's meaning is unchanged up to the
    quantization error. A `qnt.scheme` attribute already on a layer wins over
    the options. Scales are chosen per group to minimise the squared error
    (search over clipping ratios). `format=fp8|fp8e5m2|mxfp4|nvfp4|nf4|lut4`
    makes fp8, fp4 (e2m1), NF4 or lut4 codes instead of integers
    (docs/QUANTIZER.md, "Float and codebook formats"); mxfp4 and nvfp4 fix
    the group size (32 and 16) and the scale type (f8E8M0FNU, f8E4M3FN with
    an f32 tensor scale); lut4's 16 values are learned per weight and put
    in its scheme's `codebook`. The token embedding stays an integer format.

    With `embedding=true` the token embedding is quantized too: a gather of
    rows of a float constant at clamped token ids (the `linalg.generic` that
    quant-import emits) becomes `qnt.gather_rows` of the table packed with
    `embedding-bits` codes (the options' group size, symmetry and scale
    type). A linear layer that reads the same table (a classifier tied to
    the embedding) is packed with that scheme too, unless a `qnt.scheme`
    says otherwise, so both read one packed constant.
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"int\"",
           "Element format of the codes: int (bits wide), fp8 (E4M3FN), "
           "fp8e5m2, mxfp4, nvfp4, nf4 or lut4 (these fix their width and are "
           "symmetric; mxfp4 and nvfp4 their group size and scales)">,
    Option<"bits", "bits", "unsigned", /*default=*/"4", "Code width of format=int, 1 to 8">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "Elements sharing one scale along K, 0 to 1048576; 0 means one scale per output channel">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Signed codes without zero points (false: unsigned codes with zero points)">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f32\"",
           "Element type of scales: f32, f16 or bf16">,
    Option<"clipSearch", "clip-search", "bool", /*default=*/"true",
           "Search clipping ratios for the least squared error (false: plain min/max)">,
    ListOption<"skip", "skip", "std::string",
           "Leave layers alone whose op name or location contains one of these substrings">,
    ListOption<"only", "only", "std::string",
           "Quantize only the layers with exactly these names (for measuring "
           "one layer's sensitivity)">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"0",
           "Leave weights with fewer elements than this in float (0 or more)">,
    Option<"embedding", "embedding", "bool", /*default=*/"false",
           "Also quantize the token embedding (row gathers of a constant "
           "table become qnt.gather_rows)">,
    Option<"embeddingBits", "embedding-bits", "unsigned", /*default=*/"8",
           "Code width of the token embedding (and of a classifier tied to "
           "it), 1 to 8">,
    Option<"method", "method", "std::string", /*default=*/"\"rtn\"",
           "Rounding of linear layers' weights: rtn (round to nearest on the "
           "clipping-searched grid) or gptq (error feedback through the "
           "inverse Hessian of the layer's inputs, from `hessians`)">,
    Option<"hessians", "hessians", "std::string", /*default=*/"\"\"",
           "With method=gptq: file of sum x x^T per layer ('NAME K h00 h01 "
           "...' lines, from quant-compile --calibrate)">,
    Option<"gptqDampening", "gptq-dampening", "double", /*default=*/"0.01",
           "With method=gptq: added to H's diagonal, times its mean">,
    Option<"actOrder", "act-order", "bool", /*default=*/"false",
           "With method=gptq: quantize columns in order of decreasing H_kk">,
  ];
  let dependentDialects = ["::mlir::qnt::QntDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QntScaleInputChannelsPass
    : Pass<"qnt-scale-input-channels", "::mlir::ModuleOp"> {
  let summary = "AWQ-style activation-aware scaling of linear layers' input channels, folded into the RMSNorm gain that produces them";
  let description = [{
    For every set of linear layers with constant f32 weights that read the
    same input x, where x is produced by a linalg.generic whose result is
    `g_k * (...)` with g a 1-D float constant along x's innermost dimension
    K (the gain of an RMSNorm) and x has no other users: chooses per-channel
    scales s_k = H_kk^(alpha/2) (normalized so that sqrt(max s * min s) = 1),
    alpha on a grid of `grid` + 1 points in [0, 1], minimizing the layers'
    output error on the calibration inputs, sum over the layers of
    trace(dW H dW^T) with dW = W - Q(W diag(s)) diag(s)^-1, Q the
    quantization qnt-quantize-weights will do with the same options (alpha
    = 0, no scaling, is a candidate, so the error never grows). Then g
    becomes g / s and each W becomes W diag(s): the float model computes the
    same function, and the quantized one the chosen error. H = sum x x^T
    comes from `hessians` (quant-compile --calibrate). Sets that do not
    match are left alone, as are layers whose weight constant has other
    users (a classifier tied to the token embedding).
  }];
  let options = [
    Option<"hessians", "hessians", "std::string", /*default=*/"\"\"",
           "File of sum x x^T per layer ('NAME K h00 h01 ...' lines)">,
    Option<"bits", "bits", "unsigned", /*default=*/"4", "Code width, 1 to 8">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "Elements sharing one scale along K (0: per channel; a group "
           "that does not divide K means per channel)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Signed codes without zero points">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f32\"",
           "Element type of scales: f32, f16 or bf16">,
    Option<"grid", "grid", "unsigned", /*default=*/"20",
           "Steps of alpha in [0, 1], 1 to 1000">,
    Option<"verbose", "verbose", "bool", /*default=*/"false",
           "A remark per set of layers with the chosen alpha and error">,
    Option<"hessiansOut", "hessians-out", "std::string", /*default=*/"\"\"",
           "Write the Hessians of the scaled inputs x / s, diag(s)^-1 H "
           "diag(s)^-1 (the others unchanged), for GPTQ after the scaling">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def QntFuseDequantMatmulPass : Pass<"qnt-fuse-dequant-matmul"> {
  let summary = "Fuse qnt.dequantize into the matmul that consumes it, giving qnt.matmul";
  let description = [{
    A linear layer (linalg contraction) whose weight is produced by
    `qnt.dequantize`, directly or through a transpose of the weight, becomes
    one `qnt.matmul` that reads the packed codes. A dequantize with other
    users is kept for them. A non-zero accumulator initial value is added
    back after the fused matmul.
  }];
  let dependentDialects = ["::mlir::qnt::QntDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect"];
}

def QntFoldConstantCastsPass : Pass<"qnt-fold-constant-casts"> {
  let summary = "Widen f16/bf16 constants read through arith.extf into f32 constants, once, at compile time";
  let description = [{
    Importers keep a checkpoint's f16 and bf16 tensors in their own type (as
    resource blobs pointing into the mapped file) and widen them with
    `arith.extf` on the whole tensor, so that the quantizer reads the narrow
    values directly and no f32 copy of the model exists before it is needed.
    What is still float after quantization (every weight with
    `--bits=none`, layers left in float, norms, biases, the embedding table)
    reaches this pass: each `arith.extf` of a float `arith.constant` (dense
    or `dense_resource`) becomes one constant of the wider type, converted
    exactly here, instead of a conversion the compiled code would repeat at
    every call.

    ```mlir
    %c = arith.constant dense_resource<w> : tensor<64x64xbf16>
    %w = arith.extf %c : tensor<64x64xbf16> to tensor<64x64xf32>
    // becomes
    %w = arith.constant dense_resource<w_1> : tensor<64x64xf32>
    ```

    With `dequantize`, a `qnt.dequantize` of a `qnt.constant` of rank 2
    (the weights a GGUF file brings already quantized) becomes a float
    constant too, `scale * (code - zero_point)` computed in f32 as the op
    defines it, and a `qnt.gather_rows` of a `qnt.constant` (a GGUF token
    embedding) becomes the float row gather quant-import emits for a float
    table, over the dequantized table. `quant-compile --requantize` runs this
    first, so that `qnt-quantize-weights` quantizes those weights again
    under its own scheme.
  }];
  let options = [
    Option<"dequantize", "dequantize", "bool", /*default=*/"false",
           "Also fold qnt.dequantize of a rank-2 qnt.constant into a float constant, and qnt.gather_rows of one into a gather of its float rows">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QntAssignBitwidthsPass : Pass<"qnt-assign-bitwidths", "::mlir::ModuleOp"> {
  let summary = "Choose each linear layer's scheme from a cost model under a budget";
  let description = [{
    For every linear layer with a constant weight and every candidate scheme,
    computes the sensitivity (trace(dW H dW^T), dW = W - W^, the expected
    squared error of the layer's output; H = E[x x^T] of the layer's input
    from a calibration statistics file, as E[x_k^2] per channel plus optional
    top eigenpairs ('eigen' lines), i.e. diag + low rank; without 'eigen'
    lines the diagonal proxy sum_k E[x_k^2] ||dW[:, k]||^2; without
    statistics H = I) and the cost (bits, or predicted time on a target), then
    picks one scheme per layer minimising the total sensitivity under the
    budget with an exact multiple-choice knapsack solver (dynamic programming
    over the budget; the discretisation bound is reported). Each layer gets a
    `qnt.scheme` attribute (or `qnt.keep_float`), which qnt-quantize-weights
    honours. See docs/COST_MODEL.md.
  }];
  let options = [
    ListOption<"candidates", "candidates", "std::string",
               "Schemes to choose from: BITS:GROUP (GROUP 0 = per channel), "
               "BITS:GROUP:asym, or f32 (BITS 1 to 8, GROUP 0 to 1048576; default: 2, 3, 4, 5, 6, 8 bits x groups "
               "of 32, 64, 128 or per channel, and f32)">,
    ListOption<"formats", "formats", "std::string",
               "Formats of the default candidates (without `candidates`): "
               "int (2 to 6 and 8 bits), nf4, lut4, fp8, fp8e5m2 (each in groups "
               "of 32, 64, 128 or per channel), mxfp4, nvfp4; default: int">,
    Option<"budget", "budget", "std::string", /*default=*/"\"avg-bits:4.5\"",
           "avg-bits:X (bits per weight, scales and zero points included), "
           "bytes:N, or latency-us:T (predicted, for --batch rows)">,
    Option<"batch", "batch", "int64_t", /*default=*/"1",
           "Rows M of x for predicted latency: 1 to 65536">,
    Option<"target", "target", "std::string", /*default=*/"\"\"",
           "Target description file (default: the built-in host-x86_64)">,
    Option<"calibration", "calibration", "std::string", /*default=*/"\"\"",
           "Statistics file: 'NAME v0 v1 ...' lines of E[x_k^2] per layer, "
           "optionally followed by 'NAME eigen LAMBDA u0 u1 ...' lines "
           "(directions of E[x x^T])">,
    Option<"sensitivities", "sensitivities", "std::string", /*default=*/"\"\"",
           "Measured sensitivities: 'NAME BITS:GROUP[:asym] VALUE' lines "
           "replace the proxy; a layer's other candidates are dropped">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f32\"",
           "Element type of scales: f32, f16 or bf16">,
    Option<"report", "report", "std::string", /*default=*/"\"\"",
           "Write a JSON report of the choices here">,
    Option<"reportTable", "report-table", "bool", /*default=*/"false",
           "Print a per-layer table of the choices to stderr">,
    Option<"pareto", "pareto", "std::string", /*default=*/"\"\"",
           "Write the Pareto frontier (budget, total sensitivity) as CSV">,
    Option<"kvCache", "kv-cache", "std::string", /*default=*/"\"f32\"",
           "Format of the KV cache (f32, f16, i8, i4) whose bytes the reports show">,
    Option<"kvBlock", "kv-block", "int64_t", /*default=*/"32",
           "Block (positions) of an i4 KV cache">,
    Option<"kvWindow", "kv-window", "int64_t", /*default=*/"64",
           "Window (positions in 8-bit codes) of an i4 KV cache">,
    Option<"kvContext", "kv-context", "int64_t", /*default=*/"0",
           "Count the KV cache at this many positions against a bytes:N "
           "budget (0: the budget is for the weights alone)">,
  ];
  let dependentDialects = ["::mlir::qnt::QntDialect"];
}

def QntDropReturnedArgumentsPass
    : Pass<"qnt-drop-returned-arguments", "::mlir::ModuleOp"> {
  let summary = "Drop results of public functions that return an argument buffer";
  let description = [{
    After bufferization, a public function whose tensor result was an
    argument updated in place (a KV cache) returns that argument's buffer.
    The caller already owns it, so the result is removed from the function
    (and from its calls inside the module, whose result becomes the operand
    passed): the argument is the state, updated in place. Without this,
    buffer deallocation would clone the whole buffer on every call.
    (Upstream drop-equivalent-buffer-results does this for private
    functions only.)
  }];
}

def QntDropDecisionsPass : Pass<"qnt-drop-decisions", "::mlir::ModuleOp"> {
  let summary = "Remove the qnt dialect's attributes once the code is lowered";
  let description = [{
    Removes every `qnt.` discardable attribute (`qnt.target`, `qnt.kernel`,
    `qnt.scheme`, `qnt.keep_float`, `qnt.vectorize_tile`) from the module
    and the ops in it. The last pass of the CPU pipeline: the decisions they
    record have been carried out, and the LLVM dialect module that is left
    is then one that upstream tools (mlir-translate, mlir-runner), which do
    not know the qnt dialect, can read.
  }];
}

def QntPlanWorkspacePass
    : Pass<"qnt-plan-workspace", "::mlir::ModuleOp"> {
  let summary = "Turn a function's bounded allocations into views of one "
                "static workspace";
  let description = [{
    On buffers, before buffer deallocation. Every `memref.alloc` whose size
    has a constant upper bound (static, or dynamic with a bound that
    ValueBoundsOpInterface proves, such as the `affine.min` of a loop over
    chunks of a prompt) and whose buffer (or any view of it) is not
    returned or yielded out of its block becomes a `memref.view` into one
    uninitialized global per function, `@__qnt_workspace_NAME` (64-byte
    aligned, in .bss). Buffers that are never live at the same time share
    bytes: within each block, live ranges run from the allocation to the
    last op using the buffer or a view of it; each block's buffers get
    offsets largest first, at the lowest gap free over their range; the
    buffers of the regions of one op (a loop body) are planned on their own
    and share the range of that op. Bodies of parallel loops keep their
    allocations. A call of the function then allocates nothing, and the
    function is not reentrant: two threads must not call it at once.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def QntDecomposeAttentionPass : Pass<"qnt-decompose-attention"> {
  let summary = "Lower qnt.attention (over the live positions) and qnt.pack_cache_rows to linalg ops";
  let description = [{
    On tensors. Each `qnt.attention` becomes linalg.generic ops over the
    slice of the cache that its rows may see (positions below
    `min(position + T, S)`, a dynamic size): the scores `q . k` of every
    row, head and position, the causal mask (row r sees positions up to
    `position + r`), a max-subtracted softmax and the weighted sum of the
    values. With an i8 cache (`#qnt.cache_format<i8>`) the dot products read
    the codes of the records' heads, and each head's scale (the position's
    step times the head's multiplier) multiplies its scores and
    probabilities. With an i4 cache (`#qnt.cache_format<i4>`) each value is
    decoded where the dot products and the weighted sum read it: from its
    block's nibble, zero point and scale before the row's window start, else
    from a window slot or a written row, so no float copy of the cache is
    made. `qnt.pack_cache_rows` becomes linalg ops too (max |x| per head,
    the step per position, then each byte of a record), and so do
    `qnt.pack_window_rows` and `qnt.pack_cache_blocks` (each block's window
    values, every channel's range and the squared errors of its clipped
    ranges, then each byte; the CPU kernels' arithmetic). The GPU
    pipeline uses it (its generic lowering maps the linalg ops to threads);
    the CPU pipeline has kernels of its own (convert-qnt-to-vector).
    `qnt.gather_rows` has kernels of its own on both (convert-qnt-to-vector,
    convert-qnt-to-gpu).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QntQuantizeKvCachePass
    : Pass<"qnt-quantize-kv-cache", "::mlir::ModuleOp"> {
  let summary = "Store the KV cache in a quantized row format";
  let description = [{
    On tensors, before any lowering. Finds the KV caches of a model: the
    `[layers, positions, kv heads * head size]` f32 tensors whose layer
    slices `qnt.attention` reads as keys and values. Every value of such a
    type (function arguments and results, call results, loop-carried
    values) becomes `[layers, positions, kv heads, row]` in the cache
    format `format` (`#qnt.cache_format`, docs/BIT_LAYOUT.md "KV cache
    rows"; for `i8` `[layers, positions, bytes]`, a record per position);
    each `tensor.insert_slice` of new rows into a cache becomes
    `qnt.pack_cache_rows` and an insert of the packed rows, and each
    `qnt.attention` reads the layer's packed rows directly
    (`cache = #qnt.cache_format<...>`), so no float copy of the cache
    exists. The caller of the model owns the caches in the new type.

    ```mlir
    // before
    %c1 = tensor.insert_slice %k into %c[3, %pos, 0] [1, %n, 256] [1, 1, 1]
        : tensor<?x256xf32> into tensor<22x2048x256xf32>
    // after, format=i8
    %e = tensor.expand_shape %k [[0], [1, 2]] output_shape [%n, 4, 64]
        : tensor<?x256xf32> into tensor<?x4x64xf32>
    %p = qnt.pack_cache_rows %e {format = #qnt.cache_format<i8>}
        : tensor<?x4x64xf32> -> tensor<?x262xi8>
    %c1 = tensor.insert_slice %p into %c[3, %pos, 0] [1, %n, 262] [1, 1, 1]
        : tensor<?x262xi8> into tensor<22x2048x262xi8>
    ```

    With `format=i4` (docs/BIT_LAYOUT.md "KV cache rows") keys and values
    alike become `[layers, kv heads, bytes]`: per kv head blocks of `block`
    positions (4-bit codes, a scale and zero point per channel) and a ring
    of the newest `window` positions in 8-bit codes. A write becomes
    `qnt.pack_window_rows` of its rows; `qnt.pack_cache_blocks` of the
    blocks that leave the window, inserted before the attention; and the
    rows that stay in the window copied into the ring after it. The
    attention gets the rows in window form as `recent_keys` and
    `recent_values`.

    A use of a cache other than these (a function that reads the cache
    some other way) is an error naming the op. `format=f32` leaves the
    module as it is.
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"i8\"",
           "Cache row format: f32 (unchanged), f16 (half floats), i8 "
           "(8-bit codes, an 8-bit multiplier per position and kv head, an "
           "f16 step per position) or i4 "
           "(KIVI-style: keys and values per channel over blocks, the "
           "newest positions in an 8-bit window)">,
    Option<"block", "block", "int64_t", /*default=*/"32",
           "i4: positions per block, a power of two from 8 to 256">,
    Option<"window", "window", "int64_t", /*default=*/"64",
           "i4: the newest positions kept in 8-bit codes, a multiple of the "
           "block (the open block and the last window / block - 1 closed "
           "ones)">,
  ];
  let dependentDialects = ["::mlir::qnt::QntDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QntLinalgCopiesPass
    : Pass<"qnt-linalg-copies", "::mlir::func::FuncOp"> {
  let summary = "Copies between buffers become linalg.copy";
  let description = [{
    On buffers: every `memref.copy` outside `gpu.launch` bodies (the copies
    bufferization makes, such as the rows of a prompt written into a KV
    cache) becomes `linalg.copy`, which the pipelines then vectorize (CPU)
    or map to GPU threads like any other linalg op. Left as `memref.copy`,
    a copy between views of dynamic shape becomes a call to the MLIR runtime
    library's generic `memrefCopy`, which a model library does not link.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def QntParallelToOpenMPPass
    : Pass<"qnt-parallel-to-openmp", "::mlir::ModuleOp"> {
  let summary = "Run scf.parallel loops on OpenMP threads, split evenly by "
                "thread number";
  let description = [{
    Each outermost `scf.parallel` (without reductions) becomes one
    `omp.parallel` region: thread t of n (`omp_get_thread_num`,
    `omp_get_num_threads`) runs the iterations [t * c, min((t + 1) * c,
    total)) of the loop's flattened iteration space (row-major, the last
    dimension fastest), c = ceil(total / n), as an `scf.for`; the region's
    end is the join. Unlike upstream's convert-scf-to-openmp (an
    `omp.wsloop`), no worksharing call runs per loop: the static schedule is
    computed in the generated code, and a call allocates nothing. A static
    `memref.alloca` at the top of the loop body (an iteration's scratch) is
    made once per thread, before the thread's iterations. Nested
    `scf.parallel` loops stay in their thread.

    A run of steps of one block, from its first loop to its last, shares
    one `omp.parallel` region: one fork and join instead of one per loop
    (a prompt's chunk, or a decoding step, forks once). Steps are loops; `scf.if` ops over
    loops (their condition is the same for every thread, so all threads
    take the same way and meet its barriers); and serial ops (effects but
    no results, no call, no allocation or free, no loop), which thread 0
    alone runs, consecutive ones in one block. Pure ops between steps
    (index arithmetic, constants, views) move above the region; an op
    with results and effects, a call, an allocation or a free ends it. An
    `omp.barrier` goes before a step that reads or writes bytes an earlier
    step since the last barrier writes, or writes bytes it reads (serial
    steps wait for each other by program order). Bytes are told apart by
    their root buffer (distinct allocations and globals are disjoint;
    function arguments may be one buffer) and, for views of a workspace at
    constant offsets, by their byte ranges, with dynamic sizes at the
    largest that ValueBoundsOpInterface proves; an LLVM intrinsic without
    pointer operands touches no buffer; a step with effects on anything
    else always gets a barrier.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::omp::OpenMPDialect",
                           "::mlir::scf::SCFDialect"];
}

def QntApproximateExpPass
    : Pass<"qnt-approximate-exp", "::mlir::func::FuncOp"> {
  let summary = "math.exp on f32 as a polynomial approximation in registers";
  let description = [{
    Every `math.exp` of f32 scalars or vectors becomes upstream's polynomial
    approximation (`populateMathPolynomialApproximationPatterns`: range
    reduction, a polynomial, the exponent built in the bits; within a few
    ulp of `expf`). LLVM would otherwise call libm's `expf` once per
    element, also for vectors (SwiGLU of a prompt: 128 x hidden calls per
    layer). Scalars and vectors get the same operations, so a vector tile
    and its scalar remainder agree bit for bit.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def QntVectorizeLinalgPass
    : Pass<"qnt-vectorize-linalg", "::mlir::func::FuncOp"> {
  let summary = "Tile the linalg ops of a bufferized function and turn their "
                "full tiles into vector ops";
  let description = [{
    For the CPU pipeline, on buffers (after bufferization, before
    convert-linalg-to-loops): every linalg op that upstream's vectorizer
    accepts is tiled with scf.for loops and each full
    tile becomes vector ops (`linalg::vectorize`). Tiles: `vector-width`
    elements along the innermost loop when it is parallel (elementwise ops,
    fills); when the innermost loop is a reduction, chunks of
    4 x `vector-width` along it (RMSNorm's sum of squares), or, when an
    outer static parallel loop has at least `vector-width` iterations,
    `vector-width` x `vector-width` blocks that keep one output per lane
    (float matmuls). Other loops are tiled by 1, dynamic ones (the rows of a
    prompt) included, so their tiles are static. A loop used inside a
    compound index (`h floordiv group` of grouped-query attention) is tiled
    by 1 and that index becomes the constant 0 in the tile. The last partial
    tile of each loop is peeled off: on static shapes it is static too and
    becomes a narrower vector. Ops the vectorizer rejects (gathers through
    memref.load in the body, rank 0) are left for convert-linalg-to-loops.
    With `parallel`, a large op (at least 2^16 iterations, a dynamic loop
    counted as 128: a float matmul, or an elementwise op over the rows of a
    prompt, which prefill feeds in chunks of up to 128) whose parallel loops
    its tiles divide is tiled with one scf.parallel over those loops instead
    (split across threads by qnt-parallel-to-openmp).

    Results are bit-identical to convert-linalg-to-loops: reductions are
    lowered in the loops' order (acc + x0, then + x1, ...), never
    reassociated, and no operation is fused or approximated.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "Lanes of a vector tile, 1 to 64: 8 for AVX2 (8 x f32), 16 for "
           "AVX-512; 0: one register of the module's #qnt.target (8 without "
           "one)">,
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Tile the parallel loops of large ops as scf.parallel">,
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect"];
}

//===----------------------------------------------------------------------===//
// GPU host side (qnt-gpu-pipeline)
//===----------------------------------------------------------------------===//

def QntGpuCheckLoweredPass : Pass<"qnt-gpu-check-lowered", "::mlir::ModuleOp"> {
  let summary = "Reject qnt ops that reach the generic GPU lowering";
  let description = [{
    qnt-gpu-pipeline bufferizes and maps plain linalg to GPU kernels; qnt ops
    must have been lowered to kernels before that. Any qnt op left is an
    error at its location, instead of a failure deep inside bufferization.
  }];
}

def QntGpuParallelLoopsPass
    : Pass<"qnt-gpu-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Lower a bufferized function's linalg ops and copies to "
                "scf.parallel loops tiled for GPU blocks";
  let description = [{
    Every memref.copy becomes a linalg.copy, every linalg op becomes an
    scf.parallel over its parallel dimensions (reductions stay sequential
    loops inside), and each outermost scf.parallel is tiled so its innermost
    dimension is split into blocks of `block-size` threads (other
    dimensions: one per block). gpu-map-parallel-loops and
    convert-parallel-loops-to-gpu then make the tiles blocks and the
    iterations threads.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block along the innermost parallel dimension: 1 to 1024">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect"];
}

def QntGpuDeviceMemoryPass
    : Pass<"qnt-gpu-device-memory", "::mlir::ModuleOp"> {
  let summary = "Put a GPU function's buffers in device memory; copy only "
                "at the function boundary";
  let description = [{
    Runs on functions whose loops were mapped to gpu.launch ops. Host code
    that still touches memory (a reduction to a scalar, a fill of a rank-0
    buffer) is wrapped, in runs of adjacent ops, in one-thread gpu.launch
    ops. Then, in every function:
      * each memref argument gets a device copy (gpu.alloc + gpu.memcpy at
        entry); it is copied back before returning only when some kernel
        writes it;
      * memref.alloc / memref.dealloc become gpu.alloc / gpu.dealloc;
      * constants (memref.get_global) are uploaded once per process by the
        runtime's qnt_cuda_constant, which caches the device copy;
      * returned buffers are copied into host buffers (malloc'd, owned by
        the caller) and their device buffers freed.
    The caller's ABI is the CPU one: host pointers in, host buffers out.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def QntGpuMergeKernelModulesPass
    : Pass<"qnt-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "Put all outlined kernels into one gpu.module";
  let description = [{
    gpu-kernel-outlining makes one gpu.module per kernel. One module means
    one device binary, loaded once when the library is loaded, and one PTX
    file for `quant-compile --emit=asm`. The merged module is named
    `name`; launches are redirected to it.
  }];
  let options = [
    Option<"name", "name", "std::string", /*default=*/"\"qnt_kernels\"",
           "Name of the merged gpu.module">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def QntInstrumentCalibrationPass
    : Pass<"qnt-instrument-calibration", "::mlir::ModuleOp"> {
  let summary = "Record the per-channel sums of x^2 and x and the row count of every linear layer's input";
  let description = [{
    For calibration: before every linear layer with a constant weight (the
    layers qnt-assign-bitwidths and qnt-quantize-weights see, found by the
    same matcher and named the same way: the location name, else
    `layer<i>`), inserts loops that add x_k^2 and x_k (in f64) of every
    element of the layer's input x to two module buffers, per input channel
    k, and the number of rows of x (elements / K) to a third. The model computes
    exactly what it computed before. Adds to the module:

    - `memref.global "private" @qnt_calibration_sumsq_buffer :
      memref<SUMKxf64>`: the layers' channels one after another, in the
      order of the table below;
    - `memref.global "private" @qnt_calibration_sum_buffer :
      memref<SUMKxf64>`: the sums of x_k, laid out the same way;
    - `memref.global "private" @qnt_calibration_rows_buffer : memref<Lxi64>`;
    - `memref.global constant @qnt_calibration_layers : memref<Bxi8>`: text,
      one line `NAME K` per layer, NUL-terminated;
    - `func.func @qnt_calibration_sumsq(%i: index) -> f64` (element i of the
      first buffer), `func.func @qnt_calibration_sum(%i: index) -> f64`
      (of the second) and `func.func @qnt_calibration_rows(%layer: index) ->
      i64`, the accessors a host program calls after running the model.

    With either option below, the instrumentation runs only while
    `@qnt_calibration_enabled_buffer` (memref<1xi64>, initially 1) is
    nonzero; `func.func @qnt_calibration_set_enabled(%on: i64)` sets it.

    E[x_k^2] of a layer is sumsq / rows, its mean E[x_k] sum / rows. quant-compile --calibrate compiles
    the instrumented float model, runs it and writes the statistics file
    (docs/CALIBRATION.md).
  }];
  let options = [
    Option<"recordRows", "record-rows", "int64_t", /*default=*/"0",
           "Also copy the first record-rows rows of x each layer sees (in "
           "f32, in the order the rows arrive) into a record-rows x K slot "
           "of @qnt_calibration_inputs_buffer (layers one after another; "
           "address from @qnt_calibration_inputs_address() -> i64, rows per "
           "layer from @qnt_calibration_inputs_capacity() -> i64), from "
           "which the host forms the Hessians X^T X GPTQ needs; 0 to "
           "4294967296, 0: none">,
    Option<"swappableWeights", "swappable-weights", "bool", /*default=*/"false",
           "Replace each layer's constant weight by a zero-filled mutable f32 "
           "buffer of the same layout (@qnt_calibration_weight_<i>) whose "
           "address @qnt_calibration_weight_address(%layer: index) -> i64 "
           "returns, so that a host can write float or dequantized weights "
           "into it between runs">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

#endif // QNT_TRANSFORMS_PASSES_TD
