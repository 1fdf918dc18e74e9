// qnt-select-kernels: the CPU kernel of every qnt.matmul, qnt.attention and
// qnt.pack_cache_rows, as a #qnt.kernel attribute, from the pass options and
// the module's #qnt.target (a #qnt.gpu_target: SelectGpuKernels.cpp).
#include "Kernels.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntOps.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTSELECTKERNELSPASS
#include "qnt/Conversion/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

StringRef qnt::defaultActivations(IntDotIsa intDot) {
  return intDot == IntDotIsa::generic ? "f32" : "i8";
}

QntSelectKernelsPassOptions
qnt::resolveKernelOptions(QntSelectKernelsPassOptions options,
                          TargetAttr target) {
  // Without a target: the portable defaults, as for a 512-bit machine.
  bool wide = !target || target.getF32Lanes() == 16;
  if (options.intDot == "auto")
    options.intDot = stringifyIntDotIsa(getIntDot(target)).str();
  if (options.activations == "auto")
    options.activations = defaultActivations(getIntDot(target));
  bool i8 = options.activations == "i8";
  // qnt-vectorize-linalg's and the kernels' vectors are one register wide.
  if (!options.chunk)
    options.chunk = wide ? 16 : 8;
  // The 16-lane 4x4 tile fills AVX-512's 32 registers; with AVX2's 16 it
  // spills, and 8-lane chunks on 2x4 tiles are 1.7x faster at M = 128
  // (docs/PERFORMANCE.md, Zen 3).
  if (!options.rowsPerTile)
    options.rowsPerTile = wide || i8 ? 4 : 2;
  // The int8 kernels read few enough bytes per instruction that one memory
  // stream leaves a core's bandwidth unused: 2-row tiles from 2 far-apart
  // parts of the weight are 1.1-1.3x faster cold GEMVs than 4-row tiles from
  // one (docs/PERFORMANCE.md, "Streams"). The f32 kernels are compute-bound
  // there and keep one stream.
  if (!options.colsPerTile)
    options.colsPerTile = target && i8 ? 2 : 4;
  if (!options.streams)
    options.streams = target && i8 ? 2 : 1;
  return options;
}

std::string
qnt::checkSelectKernelsOptions(StringRef owner,
                               const QntSelectKernelsPassOptions &options) {
  // 0 (from the target) is in range; the others are checked.
  for (auto [name, value, range] :
       {std::make_tuple("chunk", options.chunk, kChunkRange),
        std::make_tuple("rows-per-tile", options.rowsPerTile, kTileRange),
        std::make_tuple("cols-per-tile", options.colsPerTile, kTileRange),
        std::make_tuple("streams", options.streams, kStreamsRange)})
    if (value != 0)
      if (std::string error = range.check(owner, name, value); !error.empty())
        return error + " (or 0: from the target)";
  if (!isValidActivationBlock(options.actBlock))
    return (owner + " option act-block=" + Twine(options.actBlock) +
            " must be 0 (chosen per matmul), 32, 64, 128 or 256")
        .str();
  if (options.activations != "auto" && options.activations != "f32" &&
      options.activations != "i8")
    return (owner + " option activations='" + options.activations +
            "' must be 'f32', 'i8' or 'auto'")
        .str();
  if (options.intDot != "auto" && !symbolizeIntDotIsa(options.intDot))
    return (owner + " option int-dot='" + options.intDot +
            "' must be 'avx512vnni', 'avxvnni', 'avx2', 'generic' or 'auto'")
        .str();
  return "";
}

/// The instructions of the row_lut decodes for `lanes`-lane chunks on
/// `target`: x86's (vpermps for codebooks, vcvtph2ps for fp8) where the
/// target has AVX2 (int_dot other than generic), AVX-512's where it has
/// 512-bit registers and the chunk fills them, else the portable code.
static LookupIsa lookupFor(TargetAttr target, int64_t lanes) {
  if (!target || getIntDot(target) == IntDotIsa::generic)
    return LookupIsa::generic;
  if (target.getVectorBits() >= 512 &&
      lanes % getLookupLanes(LookupIsa::avx512) == 0)
    return LookupIsa::avx512;
  return lanes % getLookupLanes(LookupIsa::avx2) == 0 ? LookupIsa::avx2
                                                      : LookupIsa::generic;
}

/// Whether `target`'s cores take float subnormals as operands at full
/// speed: AMD's Zen cores do (measured on Zen 4: fp8 codes drawn uniformly,
/// a sixteenth of them subnormal, decode as fast as normal ones); Intel's
/// cores take a microcode assist per such operation.
static bool subnormalsAtFullSpeed(TargetAttr target) {
  return target && target.getCpu().starts_with("znver");
}

/// The decode of the row_lut kernel's codes: for fp8 codes on a CPU that
/// takes subnormals at full speed, their bits moved into floats
/// (float_bits: no conversion instruction; on Zen 4 the 4096x11008 GEMV
/// went from 1.46x to 0.98x of int8's time on one core, with the
/// plane-major words of matmulCodeLayout), else lookupFor's.
static LookupIsa rowLutLookup(TargetAttr target, const MatmulKernel &kern,
                              int64_t lanes) {
  LookupIsa lookup = lookupFor(target, lanes);
  if (kern.bits == 8 && lookup != LookupIsa::generic &&
      subnormalsAtFullSpeed(target))
    return LookupIsa::float_bits;
  return lookup;
}

/// The kernel of `op` (described by `kern`) under resolved options `o` for
/// `target`, or null where no CPU kernel takes it (convert-qnt-to-vector
/// says why).
static KernelAttr selectMatmulKernel(MatmulOp op, const MatmulKernel &kern,
                                     const QntSelectKernelsPassOptions &o,
                                     TargetAttr target) {
  MLIRContext *ctx = op.getContext();
  IntDotIsa isa = *symbolizeIntDotIsa(o.intDot);
  bool lut = !kern.scheme.isInteger();
  // fp4 (e2m1) codes take int8 x in the column kernels, through a byte
  // table of twice their values.
  bool e2m1 = hasE2M1Codes(kern);
  if (o.activations == "i8" && (!lut || e2m1)) {
    bool wholeBlocks = 8 % kern.bits == 0 && kern.k % kern.groupSize == 0 &&
                       kern.groupSize % kActivationStep == 0;
    int64_t block = activationBlockFor(o.actBlock, kern.bits, kern.groupSize);
    // 16 columns per register with 64-byte vectors (chunk=16), else 8.
    int64_t columns = o.chunk >= 16 ? 16 : 8;
    if (o.columnKernels && (wholeBlocks || e2m1) &&
        columnKernelApplies(kern, block,
                            op.getResult().getType().getElementType()))
      return KernelAttr::get(ctx, KernelFamily::column_i8, columns,
                             o.rowsPerTile, /*tileCols=*/1, /*streams=*/1,
                             block, isa, o.prefetch, o.parallel,
                             e2m1 ? lookupFor(target, columns)
                                  : LookupIsa::generic);
    if (int64_t lanes = lut ? 0 : rowInt8Lanes(kern, o.actBlock))
      return KernelAttr::get(ctx, KernelFamily::row_i8, lanes, o.rowsPerTile,
                             o.colsPerTile, o.streams, block, isa, o.prefetch,
                             o.parallel, LookupIsa::generic);
  }
  // Widths that divide 8 read full blocks of each group in the plane-major
  // layout: the lanes shrink (in steps of 8, keeping whole bytes) until one
  // block fits in a group, if one can.
  int64_t lanes = o.chunk;
  // Groups as long as a register (nvfp4's 16 with 16 lanes) keep it: a
  // block's fields are then whole groups (fieldsAreGroups), decoded with
  // one lookup each, and scaled as they are decoded.
  bool fieldGroups = lut && fieldsAreGroups(kern, lanes);
  if (!fieldGroups && kern.bits < 8 && 8 % kern.bits == 0) {
    int64_t perByte = 8 / kern.bits;
    while (lanes > 8 && lanes * perByte > kern.groupSize)
      lanes -= 8;
    if (lanes * perByte > kern.groupSize)
      lanes = o.chunk;
  }
  if (!lut)
    return KernelAttr::get(ctx, KernelFamily::row_f32, lanes, o.rowsPerTile,
                           o.colsPerTile, o.streams, /*xBlock=*/0,
                           IntDotIsa::generic, o.prefetch, o.parallel,
                           LookupIsa::generic);
  // fp8 and NF4 codes (and fp4 codes the column kernels do not take: nvfp4
  // with K not a multiple of 32, column-kernels=false) meet f32 x: with int8
  // x resolved for the integer layers, the tiles are those of the f32
  // kernels (4x4 with 16 lanes, 2x4 with 8, one stream), as
  // resolveKernelOptions gives activations=f32.
  int64_t rows = o.rowsPerTile, cols = o.colsPerTile, streams = o.streams;
  if (o.activations == "i8") {
    rows = o.chunk >= 16 ? 4 : 2;
    cols = 4;
    streams = 1;
  }
  return KernelAttr::get(ctx, KernelFamily::row_lut, lanes, rows, cols,
                         streams, /*xBlock=*/0, IntDotIsa::generic, o.prefetch,
                         o.parallel, rowLutLookup(target, kern, lanes));
}

/// The most independent chains (query rows or query heads) an attention
/// kernel takes together over each block of the cache: up to 4, dividing
/// `divisor`, as long as their accumulators (chains x head vectors) fill at
/// most a quarter of the vector registers (32 with 512-bit vectors, else
/// 16): each chain's scores of a block take as many registers again.
static int64_t attentionChains(AttentionOp op,
                               const QntSelectKernelsPassOptions &o,
                               TargetAttr target, int64_t divisor) {
  auto query = cast<RankedTensorType>(op.getQuery().getType());
  int64_t headSize = query.getDimSize(2);
  int64_t vectorsPerHead = headSize / widestDividingLanes(headSize, o.chunk);
  int64_t registers = !target || target.getF32Lanes() == 16 ? 32 : 16;
  int64_t chains = 4;
  while (chains > 1 &&
         (divisor % chains || chains * vectorsPerHead > registers / 4))
    chains /= 2;
  return chains;
}

/// The most stack a prompt's attention with its rows in lanes may take
/// per thread (libomp's worker threads have 4 MiB by default): 64 KiB for
/// the 1.1B shape (8 query heads of 64 per kv head, 16 rows).
constexpr int64_t kMaxRowsInLanesStack = 1 << 20;

/// Query rows an attention kernel takes over each block of the cache: 1
/// for a decoding step (one row); for a prompt, as many as the lanes (rows
/// in lanes), else attentionChains. 110M shape (head size 64, f16 cache),
/// 512-token prefill on AVX-512, in turn: rows in lanes 350-380 ms against
/// 416-424 with 2 rows as chains on 1 thread (which had taken attention
/// from 14% to 9% of a 128-token prefill against one row; 4 rows spill).
static int64_t attentionRowsPerGroup(AttentionOp op,
                                     const QntSelectKernelsPassOptions &o,
                                     TargetAttr target) {
  auto query = cast<RankedTensorType>(op.getQuery().getType());
  if (query.getDimSize(0) == 1)
    return 1;
  // As many rows as lanes: the rows in the lanes (AttentionRows.cpp). Not
  // with an i4 cache, whose rows each read the positions before their own
  // window start from 4-bit blocks, nor where the transposed queries and
  // outputs of a key-value head's query heads would take more than
  // kMaxRowsInLanesStack of a thread's stack.
  int64_t headsPerKv = query.getDimSize(1) / op.getKvHeads();
  int64_t stackBytes = 2 * headsPerKv * query.getDimSize(2) * o.chunk * 4;
  if (op.getCache() != CacheFormat::i4 && o.chunk <= 16 &&
      stackBytes <= kMaxRowsInLanesStack)
    return o.chunk;
  // Any count of rows works (a group past the last row repeats it): 4, the
  // most attentionChains takes, is divided by every count it tries.
  return attentionChains(op, o, target, /*divisor=*/4);
}

/// Query heads of one key-value head a decoding step's attention takes
/// together over each block (attentionChains dividing the group): chains
/// that read each value row once, where one head alone waits on its softmax
/// and its accumulators. The 1.1B's attention (head size 64, 8 query heads
/// per kv head) with a tiny MLP, at position 1900 on AVX-512: 2 heads take
/// 8-13% off a step (f32 and i4 caches); 4 spill and gain nothing on the
/// f32 cache.
static int64_t attentionHeadsPerGroup(AttentionOp op,
                                      const QntSelectKernelsPassOptions &o,
                                      TargetAttr target) {
  auto query = cast<RankedTensorType>(op.getQuery().getType());
  return attentionChains(op, o, target,
                         query.getDimSize(1) / op.getKvHeads());
}

namespace {
/// Gives every matmul its weight in the layout its kernel reads: one copy
/// per constant and layout. A gather of a table that a column kernel reads
/// (a tied classifier) reads that copy too, and constants left without
/// users go, so the library holds each weight's codes once where it can.
class WeightLayouts {
public:
  /// Lays out the weight of `op` (described by `kern`) for `kernel`; an
  /// interrupt after an error on `op`.
  WalkResult layOut(MatmulOp op, const MatmulKernel &kern, KernelAttr kernel) {
    auto constant = op.getWeight().getDefiningOp<ConstantOp>();
    CodeLayoutAttr layout = matmulCodeLayout(kern, kernel);
    CodeLayoutAttr current = op.getWeight().getType().getLayout();
    // A weight that is not a constant, or a kernel that does not apply, is
    // convert-qnt-to-vector's to report.
    if (!constant || !layout || layout == current)
      return WalkResult::advance();
    if (current) {
      op.emitOpError() << "weight is laid out as " << current
                       << ", but its kernel " << kernel << " reads " << layout;
      return WalkResult::interrupt();
    }
    ConstantOp &copy = copies[{constant, layout}];
    if (!copy) {
      FailureOr<ConstantOp> relaid = relayWeight(constant, layout);
      if (failed(relaid))
        return WalkResult::interrupt();
      copy = *relaid;
      originals.insert(constant);
      if (layout.getKind() == CodeLayoutKind::column_tiles)
        columnCopies.try_emplace(constant, copy);
    }
    op.getWeightMutable().assign(copy);
    return WalkResult::advance();
  }

  /// Gives the gathers of laid-out tables their column copy and removes the
  /// constants nothing reads any more.
  void finish() {
    for (auto &[constant, copy] : columnCopies)
      constant->getResult(0).replaceUsesWithIf(copy, [](OpOperand &use) {
        return isa<GatherRowsOp>(use.getOwner());
      });
    for (Operation *original : originals)
      if (original->use_empty())
        original->erase();
  }

private:
  llvm::DenseMap<std::pair<Operation *, Attribute>, ConstantOp> copies;
  llvm::DenseMap<Operation *, ConstantOp> columnCopies;
  llvm::SetVector<Operation *> originals;
};

struct QntSelectKernels final
    : qnt::impl::QntSelectKernelsPassBase<QntSelectKernels> {
  using Base::Base;
  /// The pass options as their plain struct (the generated base class keeps
  /// them as command-line options).
  QntSelectKernelsPassOptions getOptions() const {
    QntSelectKernelsPassOptions o;
    o.chunk = chunk;
    o.rowsPerTile = rowsPerTile;
    o.colsPerTile = colsPerTile;
    o.streams = streams;
    o.parallel = parallel;
    o.prefetch = prefetch;
    o.activations = activations;
    o.intDot = intDot;
    o.columnKernels = columnKernels;
    o.actBlock = actBlock;
    o.gpuGemvRows.assign(gpuGemvRows.begin(), gpuGemvRows.end());
    o.gpuWarps = gpuWarps;
    o.gpuRowsPerWarp = gpuRowsPerWarp;
    return o;
  }
  /// Checks the options before any pass of the pipeline runs.
  LogicalResult initialize(MLIRContext *context) override {
    std::string error =
        checkSelectKernelsOptions("qnt-select-kernels", getOptions());
    if (error.empty())
      error = checkGpuKernelOptions("qnt-select-kernels", getOptions());
    if (!error.empty())
      return emitError(UnknownLoc::get(context)) << error;
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (auto gpu = module->getAttrOfType<GpuTargetAttr>(kTargetAttrName))
      return selectGpuKernels(module, gpu, getOptions());
    MLIRContext *ctx = &getContext();
    TargetAttr target = getTarget(module);
    QntSelectKernelsPassOptions o = resolveKernelOptions(getOptions(), target);
    // A single query row (a decoding step) streams the cache from memory
    // and prefetches it (a prompt's rows reread blocks that are in cache,
    // and do not).
    auto attention = [&](int64_t queryRows, int64_t heads, bool prefetch) {
      return KernelAttr::get(ctx, KernelFamily::attention, o.chunk, queryRows,
                             heads, /*streams=*/1, /*xBlock=*/0,
                             IntDotIsa::generic, prefetch, o.parallel,
                             LookupIsa::generic);
    };
    WeightLayouts layouts;
    WalkResult walk = module.walk([&](Operation *op) {
      if (auto matmul = dyn_cast<MatmulOp>(op)) {
        // A matmul no CPU kernel takes is left to convert-qnt-to-vector,
        // which says why.
        std::string why;
        FailureOr<MatmulKernel> kern = describeMatmul(matmul, why);
        if (failed(kern))
          return WalkResult::advance();
        auto kernel = op->getAttrOfType<KernelAttr>(kKernelAttrName);
        if (!kernel && !op->hasAttr(kKernelAttrName)) {
          kernel = selectMatmulKernel(matmul, *kern, o, target);
          if (kernel)
            op->setAttr(kKernelAttrName, kernel);
        }
        return kernel ? layouts.layOut(matmul, *kern, kernel)
                      : WalkResult::advance();
      }
      if (op->hasAttr(kKernelAttrName))
        return WalkResult::advance();
      if (auto attend = dyn_cast<AttentionOp>(op))
        op->setAttr(kKernelAttrName,
                    attention(attentionRowsPerGroup(attend, o, target),
                              attentionHeadsPerGroup(attend, o, target),
                              /*prefetch=*/true));
      else if (isa<PackCacheRowsOp>(op))
        op->setAttr(kKernelAttrName, attention(1, 1, /*prefetch=*/false));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    layouts.finish();
  }
};
} // namespace
