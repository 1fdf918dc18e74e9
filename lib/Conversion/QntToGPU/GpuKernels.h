// The GPU kernels of convert-qnt-to-gpu: their geometry, the description of
// one qnt.matmul they are emitted for, and the builders they share
// (KernelBuilders.cpp). docs/GPU.md describes the thread mapping and memory
// layout.
#ifndef QNT_LIB_CONVERSION_QNTTOGPU_GPUKERNELS_H
#define QNT_LIB_CONVERSION_QNTTOGPU_GPUKERNELS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"
#include "qnt/IR/QntAttrs.h"
#include "qnt/IR/QntOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::qnt::gpu_kernels {

// Geometry shared by both kernels. A "chunk" is 32 consecutive codes of one
// weight row: exactly `bits` i32 words of the padded layout, so a chunk never
// shares a word with its neighbour and each lane's load is aligned.
constexpr int64_t kWarpSize = 32;
constexpr int64_t kChunk = 32;

// GEMV: per K step each lane takes one chunk of each of its warp's weight
// rows, so a warp covers 1024 codes per step. Its rows of x, warps per block
// and weight rows per warp are the matmul's #qnt.gpu_kernel's.
constexpr int64_t kGemvTileK = kWarpSize * kChunk;
// Shared x keeps each lane's chunk at a stride of 36 floats, not 32: with
// 128-bit shared loads the 8 lanes of a quarter warp then hit distinct banks.
constexpr int64_t kXStride = kChunk + 4;

// GEMM: 64x64 output tile per block of 4 warps (2x2, 32x32 per warp, i.e.
// 2x4 mma tiles of 16x8), K in steps of 64 (two chunks per weight row): the
// one tile #qnt.gpu_kernel's gemm allows.
constexpr int64_t kTileM = GpuKernelAttr::kGemmTile,
                  kTileN = GpuKernelAttr::kGemmTile,
                  kTileK = GpuKernelAttr::kGemmTile;
constexpr int64_t kGemmThreads = 128;
constexpr int64_t kWarpTileM = 32, kWarpTileN = 32;
constexpr int64_t kMmaM = 16, kMmaN = 8, kMmaK = 16;
constexpr int64_t kMTiles = kWarpTileM / kMmaM, kNTiles = kWarpTileN / kMmaN;
constexpr int64_t kAccPerThread = kMTiles * kNTiles * 4;
// Shared f16 tiles keep rows 72 halves apart (36 words): the 8 row groups of
// an mma fragment load then fall into distinct banks.
constexpr int64_t kSmemStride = kTileK + 8;

enum class Mapping { GPU, Loops };

/// Everything the kernel emitters need to know about one qnt.matmul (or
/// qnt.gather_rows: its table is the weight, its ids the rows of x).
struct Kernel {
  Mapping mapping;
  SchemeAttr scheme; // the weight's: format, signedness, granularity
  unsigned bits;     // the scheme's code width
  // fp8 codes converted by the hardware, two at a time (cvt.rn.f16x2.e4m3x2
  // and .e5m2x2: sm_89 and later, so sm_90's kernels).
  bool hardwareFp8 = false;
  int64_t n, k;
  int64_t groupSize; // codes along K sharing a scale (K for one group)
  int64_t subChunk;  // codes of a chunk sharing a scale (<= 32)
  int64_t rowWords;  // i32 words per padded weight row
  Type xElem;
  // Buffers (2-D x and out) and the runtime number of rows of x.
  Value x, out, words, scales, zeroPoints, bias, m;
  // A gathered table's offsets (offset schemes: a matmul's are split off by
  // qnt-fuse-dequant-matmul), null otherwise.
  Value offsets;
  // The module's symbols, where the kernels' workgroup globals go.
  SymbolTable *symbols = nullptr;
};

Value addI(ImplicitLocOpBuilder &b, Value v, int64_t c);

Value mulI(ImplicitLocOpBuilder &b, Value v, int64_t c);

Value divI(ImplicitLocOpBuilder &b, Value v, int64_t c);

Value remI(ImplicitLocOpBuilder &b, Value v, int64_t c);

Value ult(ImplicitLocOpBuilder &b, Value l, Value r);

Value cF32(ImplicitLocOpBuilder &b, float v);

Value cI32(ImplicitLocOpBuilder &b, int64_t v);

/// x * y + acc, as a multiply and an add that LLVM may contract into one fma
/// (math.fma would become a libdevice call in the NVVM lowering, which needs
/// libdevice at PTX generation).
Value mulAdd(ImplicitLocOpBuilder &b, Value x, Value y, Value acc);

/// scf.if yielding values of `types` built by `thenFn` / `elseFn`.
ValueRange
emitIf(ImplicitLocOpBuilder &b, Value cond, TypeRange types,
       function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> thenFn,
       function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> elseFn);

/// A loop `for iv in [lb, ub) step s` with no results.
void emitFor(ImplicitLocOpBuilder &b, Value lb, Value ub, int64_t step,
             function_ref<void(ImplicitLocOpBuilder &, Value)> body);

void emitFor(ImplicitLocOpBuilder &b, int64_t lb, int64_t ub, int64_t step,
             function_ref<void(ImplicitLocOpBuilder &, Value)> body);

/// A loop carrying `init`; `body` returns the next values.
ValueRange emitForIter(
    ImplicitLocOpBuilder &b, Value lb, Value ub, int64_t step, ValueRange init,
    function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value, ValueRange)>
        body);


/// The `bits` i32 words of chunk `chunk` of weight row `row`, with one vector
/// load aligned to the chunk's size (4 * bits bytes, capped at 16): 4- and
/// 8-bit chunks become 128-bit loads (ld.global.v4.b32).
SmallVector<Value> loadChunkWords(ImplicitLocOpBuilder &b, const Kernel &kern,
                                  Value row, Value chunk);

/// Code `i` (0..31) of a chunk as f32: integer codes minus `offset`
/// (codeOffset's: the zero point folded in), from the code's stream bits
/// [i*bits, (i+1)*bits) of the chunk's words (docs/BIT_LAYOUT.md) OR-ed into
/// the mantissa of 2^23 (no int-to-float conversion); fp8 and NF4 codes
/// decoded (decodeLutCodes; `offset` unused).
Value unpackCode(ImplicitLocOpBuilder &b, const Kernel &kern,
                 ArrayRef<Value> words, int64_t i, Value offset);

/// What to subtract from unpackCode's biased integer codes to get the code
/// minus the zero point `zp` (null when symmetric): 2^23, plus 2^(bits-1)
/// for signed codes, plus zp.
Value codeOffset(ImplicitLocOpBuilder &b, const Kernel &kern, Value zp);

/// The indices of the scale, zero point and offset of `row`'s group holding
/// code index `kc`.
SmallVector<Value, 2> groupIndices(ImplicitLocOpBuilder &b, const Kernel &kern,
                                   Value row, Value kc);

/// Scale (f32; an fp4 block scale decoded, times nvfp4's tensor scale) and
/// code offset (codeOffset: the zero point folded in) of `row`'s group
/// holding code index `kc`.
std::pair<Value, Value> scaleAndOffset(ImplicitLocOpBuilder &b,
                                       const Kernel &kern, Value row, Value kc);

/// Reads x[row, col] as f32, or 0 outside [M, K].
Value loadXOrZero(ImplicitLocOpBuilder &b, const Kernel &kern, Value row,
                  Value col);

/// out[row, col] = v (+ bias[col]), only inside [M, N].
void storeOut(ImplicitLocOpBuilder &b, const Kernel &kern, Value row, Value col,
              Value v);

/// Weight row `row`, clamped into [0, N) when the grid overhangs N (the
/// overhanging rows compute a duplicate that is never stored).
Value clampRow(ImplicitLocOpBuilder &b, const Kernel &kern, Value row,
               int64_t rowsPerBlock);

/// A stack buffer standing in for shared memory or registers in loops mode,
/// aligned like the vector loads the kernels make from it.
Value stackBuffer(ImplicitLocOpBuilder &b, MemRefType type);

/// A block's shared buffer of `type` inside a kernel body: a private
/// workgroup memref.global of the module (gpu-kernel-outlining copies it into
/// the kernel's gpu.module), 16-byte aligned for the kernels' 128-bit
/// accesses. Globals rather than gpu.launch workgroup attributions, because
/// buffer deallocation rewrites the launch body's block arguments.
Value workgroupBuffer(ImplicitLocOpBuilder &kb, SymbolTable &symbols,
                      MemRefType type);

/// Memory for a block's shared tile: workgroup memory in a kernel, a stack
/// buffer (shared by all blocks, which run one after another) for loops.
MemRefType sharedType(const Kernel &kern, ArrayRef<int64_t> shape, Type elem);

/// The GEMV for `rows` rows of x (one of `choice`'s gemv), with `choice`'s
/// warps and weight rows per warp, as gpu.launch or (Mapping::Loops) as scf
/// loops (Gemv.cpp).
void emitGemv(ImplicitLocOpBuilder &b, const Kernel &kern,
              GpuKernelAttr choice, int64_t rows);

/// The tensor-core GEMM (rows above the GEMVs), as gpu.launch or scf loops
/// (Gemm.cpp).
void emitGemm(ImplicitLocOpBuilder &b, const Kernel &kern);

/// The rows `ids` (memref<T x i32>, clamped into the table) of the weight
/// decoded into `kern.out` (T x K f32): one block per row, a thread per
/// 32-code chunk; as scf loops for Mapping::Loops (Gather.cpp).
void emitGather(ImplicitLocOpBuilder &b, const Kernel &kern, Value ids);

/// M of a qnt.matmul: the rows of x (all its dimensions but the last), or
/// nullopt when one of them is dynamic (SelectGpuKernels.cpp).
std::optional<int64_t> staticRowsOfX(MatmulOp op);

} // namespace mlir::qnt::gpu_kernels

#endif // QNT_LIB_CONVERSION_QNTTOGPU_GPUKERNELS_H
