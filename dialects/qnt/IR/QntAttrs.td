// The #qnt.scheme attribute and the enums it is made of.
#ifndef QNT_ATTRS_TD
#define QNT_ATTRS_TD

include "qnt/IR/QntDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

// Element formats of codes: integers, the fp8/fp4 float formats (codes are
// their bit patterns), nf4 (a 4-bit index into QLoRA's 16 normal-float
// values) and lut4 (a 4-bit index into the scheme's own 16 values, its
// `codebook`). f4E2M1FN is the element format of the fp4 block formats mxfp4
// (f8E8M0FNU scales per 32) and nvfp4 (f8E4M3FN scales per 16 and an f32
// tensor scale). All run on the CPU (docs/DIALECT.md).
def Qnt_Format : I32EnumAttr<"Format", "element format of quantized codes", [
    I32EnumAttrCase<"si", 0>,
    I32EnumAttrCase<"ui", 1>,
    I32EnumAttrCase<"f8E4M3FN", 2>,
    I32EnumAttrCase<"f8E5M2", 3>,
    I32EnumAttrCase<"f4E2M1FN", 4>,
    I32EnumAttrCase<"nf4", 5>,
    I32EnumAttrCase<"lut4", 6>]> {
  let cppNamespace = "::mlir::qnt";
  let genSpecializedAttr = 0;
}

// symmetric: scale * code; asymmetric: scale * (code - zero_point) with
// integer zero points; offset: scale * code + offset with float offsets (the
// per-group minimum of llama.cpp's Q4_1/Q5_1 and K-quant blocks).
def Qnt_Mode : I32EnumAttr<"Mode", "how codes map to values", [
    I32EnumAttrCase<"symmetric", 0>,
    I32EnumAttrCase<"asymmetric", 1>,
    I32EnumAttrCase<"offset", 2>]> {
  let cppNamespace = "::mlir::qnt";
  let genSpecializedAttr = 0;
}

def Qnt_Granularity : I32EnumAttr<"Granularity",
    "which elements share one scale", [
    I32EnumAttrCase<"per_tensor", 0>,
    I32EnumAttrCase<"per_channel", 1>,
    I32EnumAttrCase<"per_group", 2>]> {
  let cppNamespace = "::mlir::qnt";
  let genSpecializedAttr = 0;
}

// How a KV cache stores the row of one key-value head at one position
// (docs/BIT_LAYOUT.md, "KV cache rows").
def Qnt_CacheFormat : I32EnumAttr<"CacheFormat",
    "storage of one key-value head's row in a KV cache", [
    I32EnumAttrCase<"f32", 0>,
    I32EnumAttrCase<"i8", 1>,
    I32EnumAttrCase<"f16", 2>,
    I32EnumAttrCase<"i4", 3>]> {
  let cppNamespace = "::mlir::qnt";
  let genSpecializedAttr = 0;
}

def Qnt_CacheFormatAttr : EnumAttr<Qnt_Dialect, Qnt_CacheFormat, "cache_format"> {
  let summary = "Storage of a KV cache row";
  let description = [{
    `#qnt.cache_format<f32>`: a head's row is its D floats.
    `#qnt.cache_format<f16>`: its D values as IEEE half floats (rounded to
    nearest even; values beyond the f16 range become infinities).
    `#qnt.cache_format<i8>`: a record per position of KvH * (D + 1) + 2
    bytes: each kv head's D signed 8-bit codes, each head's unsigned 8-bit
    multiplier m, then the position's step u as an f16; a value of head h
    is `code * u * m[h]`, with `u * m[h]` the smallest such step at or
    above `max |x| / 127` over the head's row (u rounded up from the
    largest head's `max |x| / (127 * 255)`).
    `#qnt.cache_format<i4>` (KIVI-style, with a block size B on the ops
    that use it): values as rows of D 4-bit codes, an f16 scale and an 8-bit
    zero point, D / 2 + 3 bytes; keys per kv head as blocks of B positions
    quantized per channel (4-bit codes, then D f16 scales and D zero
    points), followed by a window of the open block's keys as f16.
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Qnt_SchemeAttr : AttrDef<Qnt_Dialect, "Scheme"> {
  let mnemonic = "scheme";
  let summary = "How a tensor is quantized";
  let description = [{
    Element format and width, symmetric or asymmetric (with zero points),
    granularity of scales and the scale element type:

    ```
    #qnt.scheme<si4, symmetric, per_group<1, 128>>           // int4, one f32 scale per 128 elements along axis 1
    #qnt.scheme<ui8, asymmetric, per_channel<0>, scale = f16> // uint8 with zero points, one f16 scale per row
    #qnt.scheme<si8, symmetric, per_tensor>
    #qnt.scheme<ui4, offset, per_group<1, 32>, scale = f16>  // llama.cpp's Q4_1: scale * code + offset
    #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>         // fp8 codes, one f32 scale per row
    #qnt.scheme<nf4, symmetric, per_group<1, 64>>            // NF4: scale * nf4[code], 4-bit codes
    #qnt.scheme<lut4, symmetric, per_group<1, 32>, codebook = array<f32: -1.0, ..., 1.0>>  // scale * codebook[code]
    #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>  // mxfp4
    #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 2.5e-04>  // nvfp4
    ```

    The fp4 block formats fix their blocks and scales: mxfp4 (OCP MX) has a
    power-of-two `f8E8M0FNU` scale per 32 e2m1 codes; nvfp4 an `f8E4M3FN`
    scale per 16, times `tensor_scale`, one f32 for the whole tensor (1
    when absent): a value is `tensor_scale * scale * e2m1[code]`.

    lut4 codes index the scheme's `codebook`, 16 increasing f32 values: the
    quantizer learns them per tensor (with a 0 and largest magnitude 1),
    the GGUF importer takes IQ4_NL's.

    A value is `scale * (code - zero_point)`; symmetric schemes have no zero
    point. With `offset`, a value is `scale * code + offset`, one float
    offset (of the scale type) per scale. `per_channel<a>` gives each index along axis `a` its own scale;
    `per_group<a, g>` gives each run of `g` consecutive elements along axis
    `a` its own scale.
  }];
  let parameters = (ins
    "::mlir::qnt::Format":$format,
    "unsigned":$bits,
    "::mlir::qnt::Mode":$mode,
    "::mlir::qnt::Granularity":$granularity,
    "int64_t":$axis,
    "int64_t":$groupSize,
    "::mlir::Type":$scaleType,
    OptionalParameter<"::mlir::FloatAttr", "f32 scale of the whole tensor (nvfp4)">:$tensorScale,
    OptionalParameter<"::mlir::DenseF32ArrayAttr", "the 16 values of lut4 codes">:$codebook);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    // A scheme without a tensor scale or a codebook (every format but
    // nvfp4 and lut4).
    AttrBuilder<(ins "::mlir::qnt::Format":$format, "unsigned":$bits,
                     "::mlir::qnt::Mode":$mode,
                     "::mlir::qnt::Granularity":$granularity,
                     "int64_t":$axis, "int64_t":$groupSize,
                     "::mlir::Type":$scaleType), [{
      return $_get($_ctxt, format, bits, mode, granularity, axis, groupSize,
                   scaleType, ::mlir::FloatAttr(), ::mlir::DenseF32ArrayAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// The f32 scale of the whole tensor: nvfp4's tensor_scale, else 1.
    float getTensorScaleValue() const {
      return getTensorScale() ? float(getTensorScale().getValueAsDouble())
                              : 1.0f;
    }
    bool isInteger() const {
      return getFormat() == Format::si || getFormat() == Format::ui;
    }
    /// The 16 values of a codebook format's codes (nf4, lut4's codebook,
    /// e2m1) in code order; empty for the integer and fp8 formats.
    ::llvm::ArrayRef<float> getCodeValues() const;
    /// Codes are two's complement integers (si); the float and codebook
    /// formats store unsigned bit patterns.
    bool isSigned() const { return getFormat() == Format::si; }
    bool hasZeroPoints() const { return getMode() == Mode::asymmetric; }
    bool hasOffsets() const { return getMode() == Mode::offset; }
    /// Smallest and largest integer code (integer formats only).
    int64_t getCodeMin() const;
    int64_t getCodeMax() const;
  }];
}

// The integer dot-product instructions of an x86-64 CPU that the int8
// kernels use (convert-qnt-int-dot): VNNI's vpdpbusd (AVX-512 or AVX-VNNI),
// AVX2's vpmaddubsw + vpmaddwd, or portable vector code.
def Qnt_IntDotIsa : I32EnumAttr<"IntDotIsa",
    "instructions of the int8 dot products", [
    I32EnumAttrCase<"generic", 0>,
    I32EnumAttrCase<"avx2", 1>,
    I32EnumAttrCase<"avxvnni", 2>,
    I32EnumAttrCase<"avx512vnni", 3>]> {
  let cppNamespace = "::mlir::qnt";
  let genSpecializedAttr = 0;
}

// The CPU kernel families of convert-qnt-to-vector (docs/DESIGN.md,
// "Kernel selection").
def Qnt_KernelFamily : I32EnumAttr<"KernelFamily",
    "a CPU kernel family", [
    I32EnumAttrCase<"row_f32", 0>,
    I32EnumAttrCase<"row_i8", 1>,
    I32EnumAttrCase<"column_i8", 2>,
    I32EnumAttrCase<"attention", 3>,
    I32EnumAttrCase<"row_lut", 4>]> {
  let cppNamespace = "::mlir::qnt";
  let genSpecializedAttr = 0;
}

// How the row_lut kernels decode their codes. A 4-bit codebook's 16 values
// (qnt.lookup16, lowered by convert-qnt-int-dot): a portable tree of selects
// (generic), two vpermps and a blend per 8 codes (avx2) or one vpermps per 16
// (avx512). fp8: the bits moved into a float's and scaled (generic), into
// a half's and converted with vcvtph2ps (avx2, avx512: 8 or 16 lanes), or
// into a float's with x multiplied by 2^64 instead of each code by a scale
// (float_bits, fp8 codes only: subnormal codes are float subnormals, which
// AMD's Zen cores take at full speed and Intel's through microcode
// assists). The column_i8 kernels' e2m1 codes: bytes through vpshufb (avx2,
// avx512).
def Qnt_LookupIsa : I32EnumAttr<"LookupIsa",
    "instructions of the row_lut kernels' table lookups", [
    I32EnumAttrCase<"generic", 0>,
    I32EnumAttrCase<"avx2", 1>,
    I32EnumAttrCase<"avx512", 2>,
    I32EnumAttrCase<"float_bits", 3>]> {
  let cppNamespace = "::mlir::qnt";
  let genSpecializedAttr = 0;
}

def Qnt_LookupIsaAttr : EnumAttr<Qnt_Dialect, Qnt_LookupIsa, "lookup"> {
  let assemblyFormat = "`<` $value `>`";
}

def Qnt_TargetAttr : AttrDef<Qnt_Dialect, "Target"> {
  let mnemonic = "target";
  let summary = "The CPU a module is compiled for";
  let description = [{
    What qnt-select-kernels needs to know about the machine, on the module
    as `qnt.target`: the CPU's name (as `-mcpu` spells it), the width of its
    vector registers in bits (256: AVX2, 512: AVX-512) and the instructions
    of its int8 dot products. quant-compile writes it from the host (or
    `--cpu`); tests and other tools write it by hand, so the kernels chosen
    do not depend on the machine that compiles.

    ```mlir
    module attributes {qnt.target = #qnt.target<cpu = "znver3", vector_bits = 256, int_dot = avx2>} {}
    ```
  }];
  let parameters = (ins
    StringRefParameter<"the CPU, as -mcpu names it">:$cpu,
    "int64_t":$vector_bits,
    EnumParameter<Qnt_IntDotIsa>:$int_dot);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// f32 lanes of the vectors the kernels and qnt-vectorize-linalg use:
    /// 16 (one AVX-512 register), else 8 (one AVX2 register, or two SSE
    /// registers that LLVM splits them into).
    int64_t getF32Lanes() const { return getVectorBits() >= 512 ? 16 : 8; }
  }];
}

def Qnt_KernelAttr : AttrDef<Qnt_Dialect, "Kernel"> {
  let mnemonic = "kernel";
  let summary = "The CPU kernel that lowers one qnt op";
  let description = [{
    The decision of qnt-select-kernels for one `qnt.matmul` or
    `qnt.attention` (as its `qnt.kernel` attribute); convert-qnt-to-vector
    reads nothing else. The family, then:
    - `lanes`: row_f32 and row_lut: codes decoded per vector step (f32
      lanes; row_lut decodes fp8, fp4 and nf4 codes with f32 x); row_i8:
      bytes of codes per integer dot product (16 or 32); column_i8: output
      columns per register (8 or 16); attention: lanes of the head vectors.
    - `tile = RxC`: R rows of x by C weight rows per register tile (column_i8:
      R rows of x; C is 1; attention: R query rows of a prompt, and C query
      heads of one kv head of a single row (a decoding step), over each
      block of the cache, C dividing the op's query heads per kv head; R
      equal to `lanes` puts the rows in the lanes of a vector, fewer take
      them as separate chains; printed only when R or C is above 1).
    - `streams`: parts of the weight rows a single-row tile reads at once.
    - `x_block` (int8 families): codes of x per int8 scale.
    - `int_dot` (int8 families): the instructions the kernel is built for
      (with VNNI, column_i8 feeds 8-bit codes as unsigned bytes).
    - `lookup` (row_lut): the instructions that decode the codes (generic,
      avx2, avx512): vpermps table lookups for 4-bit codebooks, vcvtph2ps
      half-float conversions for fp8; `float_bits` (fp8 only) moves the
      bits into floats and multiplies x by 2^64 instead, with no conversion
      instruction, where the CPU takes float subnormals at full speed (AMD
      Zen). column_i8 with e2m1 codes (mxfp4,
      nvfp4): the byte lookup that turns each code into twice its value
      (vpshufb of 32 bytes for avx2, of 64 for avx512), printed only then.
    - `prefetch`: the next tile's weight rows are prefetched (attention:
      one query row, as in a decoding step, prefetches the cache rows of the
      block after the next; groups of rows reread blocks from cache).
    - `parallel`: the weight rows (attention: rows and heads) are split
      across threads.

    ```mlir
    #qnt.kernel<row_f32, lanes = 16, tile = 4x4, streams = 1, prefetch>
    #qnt.kernel<row_i8, lanes = 32, tile = 4x2, streams = 2, x_block = 128, int_dot = avx512vnni, prefetch, parallel>
    #qnt.kernel<column_i8, lanes = 16, tile = 4x1, streams = 1, x_block = 32, int_dot = avx2>
    #qnt.kernel<row_lut, lanes = 8, tile = 2x4, streams = 1, lookup = avx2>
    ```
  }];
  let parameters = (ins
    "::mlir::qnt::KernelFamily":$family,
    "int64_t":$lanes,
    "int64_t":$tileRows,
    "int64_t":$tileCols,
    "int64_t":$streams,
    "int64_t":$xBlock,
    "::mlir::qnt::IntDotIsa":$intDot,
    "bool":$prefetch,
    "bool":$parallel,
    DefaultValuedParameter<"::mlir::qnt::LookupIsa",
                           "::mlir::qnt::LookupIsa::generic">:$lookup);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isInt8() const {
      return getFamily() == KernelFamily::row_i8 ||
             getFamily() == KernelFamily::column_i8;
    }
    /// Whether an attention tile of `tileRows` query rows puts them in the
    /// lanes of a vector (as many rows as lanes) rather than taking them as
    /// separate chains.
    static bool rowsInLanes(int64_t tileRows, int64_t lanes) {
      return tileRows > 1 && tileRows == lanes;
    }
    bool attentionRowsInLanes() const {
      return getFamily() == KernelFamily::attention &&
             rowsInLanes(getTileRows(), getLanes());
    }
  }];
}

// How a kernel's compile-time copy of a weight orders its code bytes
// (docs/BIT_LAYOUT.md): what a !qnt.packed type's layout names.
def Qnt_CodeLayoutKind : I32EnumAttr<"CodeLayoutKind",
    "the order of a packed weight's code bytes", [
    I32EnumAttrCase<"planes", 0>,
    I32EnumAttrCase<"row_tiles", 1>,
    I32EnumAttrCase<"column_tiles", 2>]> {
  let cppNamespace = "::mlir::qnt";
  let genSpecializedAttr = 0;
}

def Qnt_CodeLayoutAttr : AttrDef<Qnt_Dialect, "CodeLayout"> {
  let mnemonic = "layout";
  let summary = "The kernel layout of a packed weight's codes";
  let description = [{
    The order of the code bytes of a `!qnt.packed` weight that one CPU
    kernel family reads (docs/BIT_LAYOUT.md, "Kernel layout").
    qnt-select-kernels re-lays each `qnt.matmul`'s weight into the layout
    its `#qnt.kernel` reads and records it in the type; without a layout the
    codes are rows packed along the last dimension.
    - `planes` (row_f32, row_lut): the full blocks of each group of
      `block` codes plane-major, `lanes` units per block (bytes; fp8 codes
      of `lookup = float_bits` in 32-bit words, four codes each); same
      shape as the row layout.
    - `row_tiles` (row_i8): rows in plane-major blocks of `block` codes with
      `lanes`-byte planes (widths below 8), every byte XORed with `flip`,
      interleaved in tiles of `rows` rows at `lanes`-byte granularity, then
      `rows` rows of zeros; 1-D.
    - `column_tiles` (column_i8): columns in tiles of `lanes`, 4 bytes per
      k-step, tiles interleaved in groups of 4, bytes XORed with `flip`;
      the scales (and zero points) in tile order too; 1-D.

    ```mlir
    #qnt.layout<planes, block = 32, lanes = 16>
    #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2, flip = 136>
    #qnt.layout<column_tiles, lanes = 16>
    ```
  }];
  let parameters = (ins
    EnumParameter<Qnt_CodeLayoutKind>:$kind,
    DefaultValuedParameter<"int64_t", "0">:$block,
    "int64_t":$lanes,
    DefaultValuedParameter<"int64_t", "0">:$rows,
    DefaultValuedParameter<"int64_t", "0">:$flip);
  let assemblyFormat = "`<` $kind `,` struct($block, $lanes, $rows, $flip) `>`";
  let genVerifyDecl = 1;
}

def Qnt_GpuTargetAttr : AttrDef<Qnt_Dialect, "GpuTarget"> {
  let mnemonic = "gpu_target";
  let summary = "The NVIDIA GPU a module is compiled for";
  let description = [{
    What qnt-select-kernels needs to know about a GPU, on the module as
    `qnt.target` in place of a CPU's `#qnt.target`: its architecture, as
    `--chip` and `qnt-gpu-pipeline{chip}` name it (`sm_80` or `sm_90`). With
    it, qnt-select-kernels puts a `#qnt.gpu_kernel` on every `qnt.matmul`.
    quant-compile `--target=cuda` and qnt-gpu-pipeline write it from the
    chip; tests write it by hand or with `qnt-set-target=gpu=sm_80`.

    ```mlir
    module attributes {qnt.target = #qnt.gpu_target<chip = "sm_90">} {}
    ```
  }];
  let parameters = (ins
    StringRefParameter<"the GPU architecture: sm_80 or sm_90">:$chip);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Qnt_GpuKernelAttr : AttrDef<Qnt_Dialect, "GpuKernel"> {
  let mnemonic = "gpu_kernel";
  let summary = "The GPU kernels that lower one qnt.matmul";
  let description = [{
    The decision of qnt-select-kernels for one `qnt.matmul` of a module
    whose target is a `#qnt.gpu_target` (as its `qnt.kernel` attribute);
    convert-qnt-to-gpu reads nothing else. The M rows of x (all dimensions
    of x but the last) go to the first GEMV whose rows hold them, else to
    the GEMM: with a static M that is one kernel, with a dynamic M an
    `scf.if` chain on the runtime M launches one of them.
    - `gemv = [R, ...]`: the GEMV kernels by the rows of x each is built for
      (increasing, 1 to 8; R accumulators per weight row in registers).
    - `warps`: warps per GEMV block (1 to 8: 32 to 256 threads).
    - `rows_per_warp`: weight rows of each GEMV warp (1 to 4); a block
      covers `warps * rows_per_warp` weight rows.
    - `gemm = MxNxK`: the tensor-core GEMM for the rows above the GEMVs, with
      its block tile; 64x64x64 is the one tile it is built for.

    ```mlir
    #qnt.gpu_kernel<gemv = [1, 2, 4, 8], warps = 4, rows_per_warp = 2, gemm = 64x64x64>
    #qnt.gpu_kernel<gemv = [1], warps = 4, rows_per_warp = 2>
    #qnt.gpu_kernel<gemm = 64x64x64>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "rows of x of each GEMV">:$gemvRows,
    "int64_t":$warps,
    "int64_t":$rowsPerWarp,
    "int64_t":$gemmTileM,
    "int64_t":$gemmTileN,
    "int64_t":$gemmTileK);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The one tile (M, N and K) the GEMM is built for.
    static constexpr int64_t kGemmTile = 64;
    /// The largest rows of x of a GEMV, warps per block, rows per warp.
    static constexpr int64_t kMaxGemvRows = 8, kMaxWarps = 8,
                             kMaxRowsPerWarp = 4;
    bool hasGemm() const { return getGemmTileM() != 0; }
    /// The rows of the first GEMV that holds `m` rows of x; 0 for none.
    int64_t getGemvFor(int64_t m) const;
  }];
}

#endif // QNT_ATTRS_TD
