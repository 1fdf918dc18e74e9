// The qnt operations: packed constants, quantize, dequantize, fused matmul.
#ifndef QNT_OPS_TD
#define QNT_OPS_TD

include "qnt/IR/QntDialect.td"
include "qnt/IR/QntAttrs.td"
include "qnt/IR/QntTypes.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Qnt_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;

def Qnt_ConstantOp : Qnt_Op<"constant", [Pure]> {
  let summary = "A packed quantized constant";
  let description = [{
    Holds packed codes (`i8` bytes laid out as in docs/BIT_LAYOUT.md; shape is
    the type's codes shape), scales (the scheme's scale type; shape is the
    type's scales shape) and, exactly for asymmetric schemes, zero points (`i8`
    for signed codes, `ui8` for unsigned ones; same shape as the scales), or,
    exactly for `offset` schemes, offsets (the scale type, same shape as the
    scales). Large payloads are `dense_resource` blobs, so they are not printed inline.

    ```mlir
    %w = qnt.constant {codes = dense_resource<w0> : tensor<4096x2048xi8>,
                       scales = dense_resource<w0_scales> : tensor<4096x32xf16>}
        : !qnt.packed<4096x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>
    ```
  }];
  let arguments = (ins ElementsAttr:$codes, ElementsAttr:$scales,
                       OptionalAttr<ElementsAttr>:$zero_points,
                       OptionalAttr<ElementsAttr>:$offsets);
  let results = (outs Qnt_PackedType:$result);
  let assemblyFormat = "attr-dict `:` qualified(type($result))";
  let hasVerifier = 1;
}

def Qnt_QuantizeOp : Qnt_Op<"quantize", [Pure]> {
  let summary = "Quantize a float tensor with round-to-nearest min/max scales";
  let description = [{
    Chooses each scale (and zero point) from the minimum and maximum of the
    elements that share it, then rounds every element to the nearest code:
    symmetric: `scale = max|x| / code_max`, asymmetric:
    `scale = (max - min) / (2^bits - 1)`, `zero_point = round(-min / scale)`.
    Compile-time weight quantization with a clipping search is done by the
    `qnt-quantize-weights` pass instead, which produces `qnt.constant`.

    ```mlir
    %q = qnt.quantize %x : tensor<16x64xf32> -> !qnt.packed<16x64, #qnt.scheme<si8, symmetric, per_channel<0>>>
    ```
  }];
  let arguments = (ins Qnt_FloatTensor:$input);
  let results = (outs Qnt_PackedType:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def Qnt_DequantizeOp : Qnt_Op<"dequantize", [Pure]> {
  let summary = "Expand a packed tensor to floating point";
  let description = [{
    `result[i] = scale(i) * (code[i] - zero_point(i))`, or
    `scale(i) * code[i] + offset(i)` for an `offset` scheme, computed in f32
    and rounded to the result element type.

    ```mlir
    %w = qnt.dequantize %q : !qnt.packed<64x128, #qnt.scheme<si4, symmetric, per_group<1, 32>>> -> tensor<64x128xf32>
    ```
  }];
  let arguments = (ins Qnt_PackedType:$input);
  let results = (outs Qnt_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def Qnt_GatherRowsOp : Qnt_Op<"gather_rows", [Pure]> {
  let summary = "Rows of a packed matrix at given indices, dequantized";
  let description = [{
    `result[t, j] = dequantize(table)[clamp(ids[t], 0, N - 1), j]` for a
    packed table `[N, K]` and ids `[T]` (T may be dynamic): a token
    embedding read from packed codes, row by row, never as a whole float
    table. Ids outside the table are clamped, as the importer's float
    gather does, so no id reads outside the payload.

    ```mlir
    %x = qnt.gather_rows %table, %ids : !qnt.packed<32000x768, #qnt.scheme<si4, symmetric, per_group<1, 32>>>, tensor<?xi32> -> tensor<?x768xf32>
    ```
  }];
  let arguments = (ins Qnt_PackedType:$table, 1DTensorOf<[I32]>:$ids);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $table `,` $ids attr-dict `:` qualified(type($table)) `,` type($ids) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Qnt_MatmulOp : Qnt_Op<"matmul", [Pure]> {
  let summary = "y = x * W^T (+ bias) with a packed weight, f32 accumulation";
  let description = [{
    `x` is a float tensor `[..., M, K]` (leading dimensions may be dynamic), `W`
    the packed weight `[N, K]` (row n holds the K weights of output n), `bias`
    an optional `[N]` tensor. The result is `[..., M, N]` with `x`'s element
    type. Products are accumulated in f32, starting from +0.0, and scaled once
    per group.
    Per-group scales must run along K (axis 1), per-channel scales along N
    (axis 0). The weight's scheme is symmetric or asymmetric: an `offset`
    weight is split by `qnt-fuse-dequant-matmul` into a `qnt.matmul` on its
    codes and scales plus the offsets times the group sums of x.

    ```mlir
    %y = qnt.matmul %x, %w, %b : (tensor<8x4096xf32>,
        !qnt.packed<11008x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>>>,
        tensor<11008xf32>) -> tensor<8x11008xf32>
    ```
  }];
  let arguments = (ins Qnt_FloatTensor:$input, Qnt_PackedType:$weight,
                       Optional<Qnt_FloatTensor>:$bias);
  let results = (outs Qnt_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Qnt_Dot4I8Op : Qnt_Op<"dot4_i8", [Pure]> {
  let summary = "Sums of 4 adjacent byte products, in i32, plus an accumulator";
  let description = [{
    `result[j] = acc[j] + sum_{i = 4j}^{4j+3} a[i] * b[i]`, exact in i32
    (wrapping), with `b` signed and `a` unsigned, or signed with `a_signed`;
    `acc` is optional (zero). Precondition (not checked): the sum of each
    pair of adjacent products, `a[2i] * b[2i] + a[2i+1] * b[2i+1]`, fits in
    i16 (e.g. `|a| <= 128` and `|b| <= 127`); the AVX2 lowering saturates it
    otherwise. A building block of the CPU kernels for int8 activations
    (convert-qnt-to-vector `activations=i8`), kept as one op until
    `convert-qnt-int-dot` picks the instructions for the target (AVX-512
    VNNI or AVX-VNNI `vpdpbusd`, which adds into the accumulator; AVX2
    `vpmaddubsw` + `vpmaddwd`; or portable vector code), after
    bufferization.

    ```mlir
    %s = qnt.dot4_i8 %codes, %x : vector<32xi8>, vector<32xi8> -> vector<8xi32>
    %t = qnt.dot4_i8 %codes, %x acc %s : vector<32xi8>, vector<32xi8>, vector<8xi32> -> vector<8xi32>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [I8]>:$a,
                       VectorOfRankAndType<[1], [I8]>:$b,
                       Optional<VectorOfRankAndType<[1], [I32]>>:$acc,
                       UnitAttr:$a_signed);
  let results = (outs VectorOfRankAndType<[1], [I32]>:$result);
  let assemblyFormat = [{
    $a `,` $b (`acc` $acc^)? attr-dict `:` type($a) `,` type($b)
    (`,` type($acc)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qnt_Dot2I8Op : Qnt_Op<"dot2_i8", [Pure]> {
  let summary = "Sums of 2 adjacent byte products, in i16";
  let description = [{
    `result[j] = a[2j] * b[2j] + a[2j+1] * b[2j+1]`, with `b` signed and `a`
    unsigned, or signed with `a_signed`. Precondition (not checked): each
    sum fits in i16; the AVX2 lowering (`vpmaddubsw`) saturates it
    otherwise. With `arith.addi` on its results and `qnt.sum_pairs_i16`, the
    CPU kernels sum the dot products of one x block in i16 and widen once,
    where the codes are narrow enough for the sums to fit (4 bits or fewer);
    `qnt.dot4_i8` is `qnt.sum_pairs_i16` of one `qnt.dot2_i8`.

    ```mlir
    %p = qnt.dot2_i8 %codes, %x : vector<32xi8>, vector<32xi8> -> vector<16xi16>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [I8]>:$a,
                       VectorOfRankAndType<[1], [I8]>:$b,
                       UnitAttr:$a_signed);
  let results = (outs VectorOfRankAndType<[1], [I16]>:$result);
  let assemblyFormat = [{
    $a `,` $b attr-dict `:` type($a) `,` type($b) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qnt_SumPairsI16Op : Qnt_Op<"sum_pairs_i16", [Pure]> {
  let summary = "Sums of 2 adjacent i16 lanes, in i32";
  let description = [{
    `result[j] = a[2j] + a[2j+1]`, exact in i32 (AVX2: `vpmaddwd` against
    ones).

    ```mlir
    %s = qnt.sum_pairs_i16 %p : vector<16xi16> -> vector<8xi32>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [I16]>:$a);
  let results = (outs VectorOfRankAndType<[1], [I32]>:$result);
  let assemblyFormat = [{
    $a attr-dict `:` type($a) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qnt_Lookup16Op : Qnt_Op<"lookup16", [Pure]> {
  let summary = "Values of a 16-entry table at the lanes' indices";
  let description = [{
    `result[j] = table[indices[j] mod 16]`: the table lookup that decodes
    4-bit codebook codes, built by convert-qnt-to-vector with the kernel's
    `lookup` and kept as one op until `convert-qnt-int-dot` emits the
    instructions it names, after bufferization. Two forms:

    - f32 values from i32 indices (NF4 and e2m1 codes in the row_lut
      kernels): `avx512` one `vpermps` of a 16-float register per 16 lanes;
      `avx2` two `vpermps` of 8-float halves and a `vblendvps` on bit 3 per
      8 lanes; `generic` a portable tree of 15 selects on the index bits.
      `avx512` needs a multiple of 16 lanes, `avx2` of 8.
    - i8 values from i8 indices in [0, 16) (e2m1 codes times 2, shifted to
      unsigned bytes, in the column_i8 kernels): the table's values are
      integers in [-128, 127]; `avx2` one `vpshufb` per 16 or 32 bytes,
      `avx512` per 64 (AVX-512 BW); `generic` the tree of selects. Both
      need a multiple of 16 lanes.

    ```mlir
    %v = qnt.lookup16 <avx512> %codes, [-1.0, -0.6962, ...]
        : vector<16xi32> -> vector<16xf32>
    %d = qnt.lookup16 <avx512> %nibbles, [12.0, 13.0, 14.0, ...]
        : vector<64xi8> -> vector<64xi8>
    ```
  }];
  let arguments = (ins Qnt_LookupIsaAttr:$lookup,
                       VectorOfRankAndType<[1], [I32, I8]>:$indices,
                       DenseF32ArrayAttr:$table);
  let results = (outs VectorOfRankAndType<[1], [F32, I8]>:$result);
  let assemblyFormat = [{
    $lookup $indices `,` $table attr-dict `:` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qnt_AttentionOp : Qnt_Op<"attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "Causal attention of query rows over the live positions of a KV cache";
  let description = [{
    One layer's multi-head attention for `T` consecutive tokens, the first at
    position `position`, against a KV cache that already holds their keys
    and values. `query` is `[T, H, D]` (H heads of size D; T may be
    dynamic), `keys` and `values` are the layer's cache `[S, KvH, R]` (S
    positions, KvH key-value heads, R the floats of one head's row in the
    `cache` format: D floats for `f32`, D half floats for `f16`), or for
    `i8` `[S, KvH * (D + 1) + 2]` bytes (per position the heads' codes,
    their multipliers and the position's f16 step; see
    `#qnt.cache_format`). H must be a multiple of KvH; query head h reads
    key-value head `h / (H / KvH)`. With k and v the rows' values (decoded
    from the cache format), row r of the result is

    ```
    n     = min(position + r + 1, S)        (the positions it may see)
    s[t]  = scale * sum_i query[r, h, i] * k[t, h / g, i]   for t < n
    p     = softmax(s)                      (over t < n only)
    out[r, h, i] = sum_{t < n} p[t] * v[t, h / g, i]
    ```

    so the work grows with the position, not with S: positions at or after
    n are never read. Lowerings: convert-qnt-to-vector (CPU: one pass over
    the cache per head with a running softmax, quantized rows decoded in
    registers, heads and rows split across threads with `parallel`),
    qnt-decompose-attention (linalg ops over the live slice of the cache,
    for the GPU pipeline).

    ```mlir
    %o = qnt.attention %q, %k, %v, %pos {scale = 0.125 : f32}
        : tensor<?x32x64xf32>, tensor<2048x4x64xf32>, tensor<2048x4x64xf32>
        -> tensor<?x32x64xf32>
    %o8 = qnt.attention %q, %k8, %v8, %pos
        {cache = #qnt.cache_format<i8>, scale = 0.125 : f32}
        : tensor<?x32x64xf32>, tensor<2048x262xi8>, tensor<2048x262xi8>
        -> tensor<?x32x64xf32>
    ```

    With `cache = #qnt.cache_format<i4>` (KIVI-style; `cache_block` = B,
    `cache_window` = W, docs/BIT_LAYOUT.md "KV cache rows") `keys` and
    `values` are `[KvH, N]` bytes each (per kv head the blocks of B
    positions, then a window of W 8-bit slots), and `recent_keys` and
    `recent_values` hold the T tokens' rows in window form `[KvH, T * (D +
    2)]` (qnt.pack_window_rows). Row r sees the positions before
    `windowStart(position + r + 1)` (I4CacheLayout) through their 4-bit
    blocks and the newer ones through their 8-bit window values: from the
    window for positions before `position` (the window is written after
    the attention), else from the recent rows. So prefill and decoding
    read the same values.

    ```mlir
    %o4 = qnt.attention %q, %k4, %v4, %pos recent %kr, %vr
        {cache = #qnt.cache_format<i4>, cache_block = 32 : i64,
         cache_window = 64 : i64, scale = 0.125 : f32}
        : tensor<?x32x64xf32>, tensor<4x82048xi8>, tensor<4x82048xi8>,
          tensor<4x?xi8>, tensor<4x?xi8> -> tensor<?x32x64xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$query,
                       RankedTensorOf<[F32, F16, I8]>:$keys,
                       RankedTensorOf<[F32, F16, I8]>:$values,
                       Index:$position,
                       Optional<RankedTensorOf<[I8]>>:$recent_keys,
                       Optional<RankedTensorOf<[I8]>>:$recent_values,
                       F32Attr:$scale,
                       DefaultValuedAttr<Qnt_CacheFormatAttr,
                                         "::mlir::qnt::CacheFormat::f32">:$cache,
                       OptionalAttr<I64Attr>:$cache_block,
                       OptionalAttr<I64Attr>:$cache_window);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values `,` $position
    (`recent` $recent_keys^ `,` $recent_values)?
    attr-dict `:` type($query) `,` type($keys) `,` type($values)
    (`,` type($recent_keys)^ `,` type($recent_values))? `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// The key-value heads of the cache: its rows' second dimension, the
    /// heads of an i8 cache's position records, or an i4 cache's first
    /// dimension.
    int64_t getKvHeads();
    /// The positions of the cache (an i4 cache's from its bytes).
    int64_t getCachePositions();
  }];
  let hasVerifier = 1;
}

def Qnt_PackCacheRowsOp : Qnt_Op<"pack_cache_rows", [Pure]> {
  let summary = "Key or value rows in the storage format of a KV cache";
  let description = [{
    Encodes `rows` `[T, KvH, D]` (T tokens' keys or values, KvH key-value
    heads of size D) into the rows of a cache of format `format`
    (`#qnt.cache_format`): `[T, KvH, R]`, R = D floats for `f32`, D half
    floats for `f16` (rounded to nearest even); for `i8` `[T, KvH * (D +
    1) + 2]` bytes, a record per token: each head's D codes `round(x / (u
    * m))`, its multiplier m, then the token's f16 step u
    (docs/BIT_LAYOUT.md, "KV cache rows"). The result is what a
    tensor.insert_slice writes into the cache at the tokens' positions;
    qnt-quantize-kv-cache emits it. (An i4 cache is written by
    qnt.pack_window_rows and qnt.pack_cache_blocks.)

    ```mlir
    %packed = qnt.pack_cache_rows %k {format = #qnt.cache_format<i8>}
        : tensor<?x4x64xf32> -> tensor<?x262xi8>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$rows, Qnt_CacheFormatAttr:$format);
  let results = (outs RankedTensorOf<[F32, F16, I8]>:$result);
  let assemblyFormat = "$rows attr-dict `:` type($rows) `->` type($result)";
  let hasVerifier = 1;
}

def Qnt_PackWindowRowsOp : Qnt_Op<"pack_window_rows", [Pure]> {
  let summary = "Rows in the 8-bit window form of an i4 KV cache";
  let description = [{
    Encodes `rows` `[T, KvH, D]` (T tokens' keys or values) into the slots
    of a `#qnt.cache_format<i4>` cache's window, per kv head: `[KvH, T * (D
    + 2)]` bytes, token t's slot at byte `t * (D + 2)`: D signed codes
    `round(x / s)` and the f16 scale `s = amax / 127` (docs/BIT_LAYOUT.md,
    "KV cache rows"). qnt-quantize-kv-cache emits it for every write; the
    attention reads it as the recent rows, qnt.pack_cache_blocks encodes
    blocks from it, and its slots are copied into the window.

    ```mlir
    %r = qnt.pack_window_rows %k : tensor<?x4x64xf32> -> tensor<4x?xi8>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$rows);
  let results = (outs RankedTensorOf<[I8]>:$result);
  let assemblyFormat = "$rows attr-dict `:` type($rows) `->` type($result)";
  let hasVerifier = 1;
}

def Qnt_PackCacheBlocksOp : Qnt_Op<"pack_cache_blocks", [Pure]> {
  let summary = "The blocks of an i4 KV cache that leave its window";
  let description = [{
    For a write of T tokens at `position` into a `#qnt.cache_format<i4>`
    cache of block `block` (B) and window `window` (W): the blocks from
    `windowStart(position) / B` to `windowStart(position + T) / B - 1`
    (I4CacheLayout), which leave the window with this write, encoded per
    kv head into `[KvH, blocks * bytes per block]` (docs/BIT_LAYOUT.md "KV
    cache rows"). A block's positions before `position` come from
    `old_window` (the cache's window bytes `[KvH, W * (D + 2)]`), the others
    from `recent` (the written rows, qnt.pack_window_rows); each channel of
    a block gets its own scale and zero point over the block's window
    values. What a tensor.insert_slice writes into the cache at block
    `windowStart(position) / B`; qnt-quantize-kv-cache emits it.

    ```mlir
    %b = qnt.pack_cache_blocks %w, %r, %pos
        {block = 32 : i64, window = 64 : i64}
        : tensor<4x4224xi8>, tensor<4x?xi8> -> tensor<4x?xi8>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$old_window,
                       RankedTensorOf<[I8]>:$recent, Index:$position,
                       I64Attr:$block, I64Attr:$window);
  let results = (outs RankedTensorOf<[I8]>:$result);
  let assemblyFormat = [{
    $old_window `,` $recent `,` $position attr-dict `:` type($old_window)
    `,` type($recent) `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// The head size the window's slots hold.
    int64_t getHeadSize();
  }];
  let hasVerifier = 1;
}

#endif // QNT_OPS_TD
