// Pieces of the qnt lowerings that are not specific to one target: the
// payload of a qnt.constant as upstream tensors, and small builder helpers
// for kernels emitted on memrefs, used by convert-qnt-to-vector and
// convert-qnt-to-gpu.
#ifndef QNT_CONVERSION_COMMON_H
#define QNT_CONVERSION_COMMON_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "qnt/IR/QntOps.h"
#include <optional>
#include <vector>

namespace mlir::qnt {

/// The payload of one qnt.constant as tensors of upstream types. Zero points
/// become f32 (exact for 8-bit values) because arith constants must be
/// signless and the kernels subtract them in float anyway.
struct Payload {
  Value codes;      // tensor<... x RB x i8>
  Value scales;     // tensor<... x scale type>; i8 (the bytes) for the
                    // 8-bit float block scales of the fp4 formats
  Value zeroPoints; // tensor<... x f32>, null when symmetric
  Value offsets;    // tensor<... x scale type>, null without offsets
};

/// Builds the arith.constant tensors of a qnt.constant, right after it.
/// Reports (on `op`) payloads that cannot be read.
FailureOr<Payload> materializePayload(ConstantOp op);

/// The bytes of a resource blob or of a dense attribute (a splat expanded
/// into `storage`), element after element, or none (a missing blob, an i1
/// attribute). The lowerings and the passes that compute new constants
/// from old ones at compile time read payloads through it.
std::optional<ArrayRef<char>> getElementsBytes(ElementsAttr attr,
                                               std::vector<char> &storage);

/// The bytes of payload `name` of `op` (getElementsBytes), `attr` being
/// one of its payloads; an error on `op` when they cannot be read or are
/// not as many as the attribute's type says.
FailureOr<ArrayRef<char>> readPayloadBytes(ConstantOp op, StringRef name,
                                           ElementsAttr attr,
                                           std::vector<char> &storage);

/// The packed code bytes of a qnt.constant (readPayloadBytes of its codes),
/// row-major over the codes shape.
FailureOr<ArrayRef<char>> readCodeBytes(ConstantOp op,
                                        std::vector<char> &storage);

Value cIndex(ImplicitLocOpBuilder &b, int64_t v);

/// A memref view of a tensor, for the kernels. The tensor is only read.
Value toBuffer(ImplicitLocOpBuilder &b, Value tensor);

/// Converts a scalar or vector of float to f32 (a no-op for f32).
Value toF32(ImplicitLocOpBuilder &b, Value v);

/// Rounds an f32 scalar to `elem` (a no-op for f32).
Value fromF32(ImplicitLocOpBuilder &b, Value v, Type elem);

/// Reshapes a rank >= 1 memref [d0, ..., dr-1] to 2-D [d0*...*dr-2, dr-1]
/// (a rank-1 memref becomes [1, d0]).
Value to2D(ImplicitLocOpBuilder &b, Value memref);

/// A memref.alloc of `type`'s shape and element type whose dynamic sizes
/// are those of `source` (a tensor or memref with the same dynamic
/// dimensions): the result buffer of a lowered op.
Value allocResultLike(ImplicitLocOpBuilder &b, RankedTensorType type,
                      Value source);

/// The result buffer of a lowered qnt.matmul: its dynamic sizes taken from
/// the input x.
Value allocMatmulResult(ImplicitLocOpBuilder &b, MatmulOp op);

/// Replaces the tensor result of `op` by the buffer `buffer` that the lowered
/// code writes (a restrict, writable bufferization.to_tensor), and erases
/// `op`.
void replaceWithBuffer(ImplicitLocOpBuilder &b, Operation *op, Value buffer);

/// The indices of the scale (and zero point) of weight row `row` and group
/// `group` in a [rows, groups] payload of `granularity`.
SmallVector<Value, 2> scaleIndices(ImplicitLocOpBuilder &b,
                                   Granularity granularity, Value row,
                                   Value group);

/// The arithmetic of an i8 KV cache's records (#qnt.cache_format<i8>,
/// docs/BIT_LAYOUT.md "KV cache rows"), shared by the CPU kernels and the
/// decomposed form of the GPU pipeline; all f32 scalars.
/// A position's step u as an f16: `largest` (the largest |x| of its heads)
/// / (127 * 255), rounded up to an f16, at most f16's largest.
Value emitI8CacheStep(ImplicitLocOpBuilder &b, Value largest);
/// A head's multiplier m (0 .. 255, as f32) under step `step` (f32): the
/// least with step * m * 127 >= amax, 0 when the step is 0.
Value emitI8CacheMultiplier(ImplicitLocOpBuilder &b, Value amax, Value step);
/// The codes' factor 1 / (step * multiplier), 0 for a zero product.
Value emitI8CacheInverse(ImplicitLocOpBuilder &b, Value step,
                         Value multiplier);
/// The scale a reader multiplies a head's codes by: the f16 `halfStep` times
/// the unsigned 8-bit `multiplier` byte.
Value emitI8CacheScale(ImplicitLocOpBuilder &b, Value halfStep,
                       Value multiplier);

/// I4CacheLayout::windowStart of `live` positions (an index) in IR: the
/// first position of an i4 cache's window, the positions before it in
/// 4-bit blocks. Shared by qnt-quantize-kv-cache (where a write's rows go)
/// and the CPU kernels (which positions a row reads from blocks).
Value emitI4WindowStart(ImplicitLocOpBuilder &b, Value live,
                        const I4CacheLayout &layout);
/// The blocks that leave an i4 cache's window when `written` positions are
/// written from `position` (qnt.pack_cache_blocks): from the window's start
/// before the write to its start after, as the first block's index and the
/// count. Shared by the CPU kernel and the decomposed form.
std::pair<Value, Value> emitI4LeavingBlocks(ImplicitLocOpBuilder &b,
                                            Value position, Value written,
                                            const I4CacheLayout &layout);

/// The f16 scale of an i4 cache's window slot (docs/BIT_LAYOUT.md "KV
/// cache rows") for a row whose largest |x| is `amax` (an f32 scalar):
/// min(amax / 127, 65504), a finite scale however large the row (codes
/// clamp at +-127). Shared by the CPU kernels and the decomposed form.
Value emitI4SlotScale(ImplicitLocOpBuilder &b, Value amax);
/// The slot codes of `x` (an f32 scalar or vector) under the f16 scalar
/// `scale`: clamp(round(x * (1 / scale)), -127, 127) as f32, 0 where the
/// scale is 0.
Value emitI4SlotCodes(ImplicitLocOpBuilder &b, Value x, Value scale);

/// The 4-bit codes of one channel of an i4 cache block (docs/BIT_LAYOUT.md
/// "KV cache rows") on f32 scalars or vectors, lane-wise: for values from
/// lo to hi the scale s = f16((hi - lo) / 15) (as f32) and the zero point
/// z = round(-lo / s) in [-128, 127], both 0 where s is 0. Shared by the
/// CPU kernels and the decomposed form of the GPU pipeline, which so write
/// the same bytes.
struct I4BlockQuantizer {
  Value scale, zero, nonzero;

  I4BlockQuantizer(ImplicitLocOpBuilder &b, Value lo, Value hi);
  I4BlockQuantizer(Value scale, Value zero, Value nonzero)
      : scale(scale), zero(zero), nonzero(nonzero) {}
  /// The quantizer of [lo, hi] shrunk about its middle by `factor` (one of
  /// kI4ClipFactors, of lo's type).
  static I4BlockQuantizer clipped(ImplicitLocOpBuilder &b, Value lo,
                                  Value hi, Value factor);
  /// The codes of `x`, clamp(round(x / s) + z, 0, 15), as f32.
  Value codeValues(ImplicitLocOpBuilder &b, Value x) const;
  /// The squared error of `x` read back through its code.
  Value squaredError(ImplicitLocOpBuilder &b, Value x) const;
};

/// The clipped ranges an i4 block's encoder tries for each channel, in
/// order: the one with the least squared error wins, the first on ties.
inline constexpr float kI4ClipFactors[] = {1.0f, 0.95f, 0.9f, 0.85f, 0.8f};

/// Applies `patterns` to the ops nested in `root` that one of them is for,
/// each once, in program order (not to the ops they create): the lowerings
/// share state in that order (convert-qnt-to-vector: x quantized before its
/// first matmul, a copy of the codes made by the first op of a constant). Fails
/// when a pattern fails (it has reported why on its op).
LogicalResult applyInProgramOrder(Operation *root,
                                  const FrozenRewritePatternSet &patterns);

/// The f32 values of `scheme`'s fp8 or codebook codes (`codes`: an integer
/// scalar or vector of the codes' bit patterns, zero-extended, or bytes):
/// fp8 by arithmetic on the bits, NF4, e2m1 and lut4 through their 16
/// values (SchemeAttr::getCodeValues) in a register, with `isa`'s
/// instructions (Lookup.cpp; the CPU kernels, the tables and the GPU
/// kernels). Without `scaled` the values may come
/// unscaledLutFactor(format, isa) times too small, for kernels that fold
/// the factor into their scales.
Value decodeLutCodes(ImplicitLocOpBuilder &b, Value codes, SchemeAttr scheme,
                     LookupIsa isa, bool scaled = true);

/// decodeMiniFloatBits without its multiplication: the code's value
/// 2^(127 - bias) times too small (a float subnormal for a subnormal code).
/// The row_lut kernels' fp8 codes with lookup float_bits, which multiply x
/// by lutXFactor and their scales by unscaledLutFactor instead. Without
/// `signExtended` the code may start at bit `lowBit` of its i32 lane (8p
/// for byte p of a plane-major word of fp8 codes); the bits above it are
/// then ignored.
Value miniFloatBitsAsFloat(ImplicitLocOpBuilder &b, Value code, Format format,
                           bool signExtended, int64_t lowBit = 0);

/// An fp8 or e2m1 code's value (`code`: i32 scalars or vectors, the code
/// in the low 8 or 4 bits, the bits above it copies of its top bit or
/// zeros): the sign bit moved to bit 31 and the magnitude bits to the top of
/// a float's exponent and mantissa, read as a float 2^(127 - bias) times too
/// small (subnormals included: a float subnormal then), times
/// 2^(127 - bias). With the byte sign-extended (the x86 kernels' loads),
/// one shift and one mask place both. The NaN codes (the quantizer never
/// writes them) decode as finite values. decodeLutCodes's fp8 codes; the GPU
/// kernels' fp8 and e2m1 codes (a few integer operations where a lookup of
/// e2m1's 16 values by selects takes 15).
Value decodeMiniFloatBits(ImplicitLocOpBuilder &b, Value code, Format format,
                          bool signExtended);

/// The constant factor that decodeLutCodes leaves out without `scaled`,
/// for the scales: 256 for E4M3FN codes decoded as halves (whose exponent
/// bias is 8 more); with float_bits 2^(127 - bias) / lutXFactor (2^56 for
/// E4M3FN, 2^48 for E5M2); else 1.
float unscaledLutFactor(Format format, LookupIsa isa);

/// The factor by which kernels decoding unscaled codes with `isa` multiply
/// x: 2^64 for float_bits (see unscaledLutFactor), else 1.
float lutXFactor(LookupIsa isa);

/// The f32 value of one stored scale of `scheme` (a scalar loaded from the
/// payload): an extension for f32/f16/bf16; for the fp4 formats' block
/// scales, held as bytes (Payload), E4M3 decoded as an fp8 code and E8M0
/// as a power of two (E4M3 through a half float where `isa` is an x86
/// lookup, as decodeLutCodes's fp8 codes). Without the nvfp4 tensor scale.
/// `stored` may also be a vector of scales, decoded lane by lane. With
/// `scaled` false, E4M3 through a half float leaves out the factor
/// unscaledLutFactor(f8E4M3FN, isa) for the caller to apply.
Value decodeScale(ImplicitLocOpBuilder &b, Value stored, SchemeAttr scheme,
                  LookupIsa isa = LookupIsa::generic, bool scaled = true);

/// Given n vectors of n lanes (n a power of two), the vector whose lane j
/// is the sum of the lanes of vector j: a transposing tree of shuffles and
/// adds (2 shuffles and an add per pair and level, 3n - 3 operations for
/// n sums, where a horizontal sum each takes about 2 log2(n)), then one
/// shuffle back into position order. Sums are reassociated, as
/// vector.reduction <add> with reassoc does.
Value sumLanesOfEach(ImplicitLocOpBuilder &b, ArrayRef<Value> vectors);

/// Constant vectors of one value.
Value splatI32(ImplicitLocOpBuilder &b, VectorType type, int32_t value);
Value splatF32(ImplicitLocOpBuilder &b, VectorType type, float value);

/// table[idx] per element of an i32 scalar or vector `idx` (bits 0..3), by a
/// tree of 15 selects among constants on the index bits: the portable lookup
/// of a 16-entry table (qnt.lookup16 `generic`, the GPU kernels). f32
/// values; i8 ones (the table's integers) for an i8 `idx`.
Value lookupBySelects(ImplicitLocOpBuilder &b, Value idx,
                      ArrayRef<float> table);

} // namespace mlir::qnt

#endif // QNT_CONVERSION_COMMON_H
