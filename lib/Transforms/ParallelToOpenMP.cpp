// qnt-parallel-to-openmp: scf.parallel loops as OpenMP parallel regions that
// split the iterations evenly by thread number, with no worksharing runtime;
// consecutive loops share one region, with barriers only where one loop
// needs what another writes.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include <limits>
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTPARALLELTOOPENMPPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

namespace {
/// Declares `name` : () -> i32 in `module` if it is not there yet.
void declareRuntimeFunction(ModuleOp module, StringRef name) {
  if (module.lookupSymbol(name))
    return;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto fn = func::FuncOp::create(b, module.getLoc(), name,
                                 b.getFunctionType({}, {b.getI32Type()}));
  fn.setPrivate();
}

/// Emits, at `b` inside an omp.parallel region, the share of thread
/// `thread` of `threads` of `loop` (no reductions): the iterations
/// [t * c, min((t + 1) * c, total)) of the loop's row-major flattened
/// iteration space, c = ceil(total / n).
void emitThreadShare(ImplicitLocOpBuilder &b, scf::ParallelOp loop,
                     Value thread, Value threads) {
  // Trip counts (ceil((ub - lb) / step), at least 0) and their product.
  SmallVector<Value> trips;
  Value total = arith::ConstantIndexOp::create(b, 1);
  Value zero = arith::ConstantIndexOp::create(b, 0);
  for (auto [lb, ub, step] : llvm::zip(loop.getLowerBound(),
                                       loop.getUpperBound(), loop.getStep())) {
    Value span = arith::MaxSIOp::create(
        b, arith::SubIOp::create(b, ub, lb), zero);
    Value trip = arith::CeilDivUIOp::create(b, span, step);
    trips.push_back(trip);
    total = arith::MulIOp::create(b, total, trip);
  }
  Value chunk = arith::CeilDivUIOp::create(b, total, threads);
  Value begin = arith::MinUIOp::create(
      b, arith::MulIOp::create(b, thread, chunk), total);
  Value end = arith::MinUIOp::create(b, arith::AddIOp::create(b, begin, chunk),
                                     total);
  // Scratch buffers of one iteration (static memref.alloca at the top of
  // the body) are made once per thread, before its iterations: an alloca
  // in the loop would grow the stack with every iteration.
  IRMapping map;
  Block *body = loop.getBody();
  llvm::SmallPtrSet<Operation *, 4> hoisted;
  for (Operation &op : body->without_terminator())
    if (auto alloca = dyn_cast<memref::AllocaOp>(op);
        alloca && alloca.getDynamicSizes().empty() &&
        alloca.getSymbolOperands().empty()) {
      b.clone(op, map);
      hoisted.insert(&op);
    }
  auto flat = scf::ForOp::create(b, begin, end,
                                 arith::ConstantIndexOp::create(b, 1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(flat.getBody());
  // The loop's induction variables from the flat index, last one fastest.
  Value rest = flat.getInductionVar();
  for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
    Value i = d == 0 ? rest : arith::RemUIOp::create(b, rest, trips[d]);
    if (d > 0)
      rest = arith::DivUIOp::create(b, rest, trips[d]);
    Value iv = arith::AddIOp::create(
        b, loop.getLowerBound()[d],
        arith::MulIOp::create(b, i, loop.getStep()[d]));
    map.map(body->getArgument(d), iv);
  }
  for (Operation &op : body->without_terminator())
    if (!hoisted.contains(&op))
      b.clone(op, map);
}

/// Where a memref's bytes lie: a root buffer (an allocation, a global, a
/// function argument, or anything else) and, for a view of a static
/// workspace at a constant offset, the byte range [begin, end) within it.
struct Footprint {
  enum class Kind { allocation, global, argument, unknown };
  Kind kind = Kind::unknown;
  Value root;
  StringRef global;
  int64_t begin = 0, end = std::numeric_limits<int64_t>::max();
};

Footprint footprintOf(Value memref) {
  Footprint f;
  f.kind = Footprint::Kind::unknown;
  bool ranged = false;
  Value v = memref;
  while (Operation *def = v.getDefiningOp()) {
    if (auto view = dyn_cast<memref::ViewOp>(def)) {
      // Only the outermost view of a workspace gives a range; a view of a
      // view keeps the whole root.
      auto type = view.getType();
      std::optional<int64_t> shift =
          getConstantIntValue(view.getByteShift());
      if (!ranged && shift && type.hasStaticShape() &&
          type.getElementType().isIntOrFloat()) {
        f.begin = *shift;
        f.end = *shift + type.getNumElements() *
                             type.getElementTypeBitWidth() / 8;
        ranged = true;
      } else {
        f.begin = 0;
        f.end = std::numeric_limits<int64_t>::max();
      }
      v = view.getSource();
      continue;
    }
    if (auto like = dyn_cast<ViewLikeOpInterface>(def)) {
      v = like.getViewSource();
      continue;
    }
    break;
  }
  f.root = v;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    f.kind = Footprint::Kind::argument;
  } else if (isa<memref::AllocOp, memref::AllocaOp>(v.getDefiningOp())) {
    f.kind = Footprint::Kind::allocation;
  } else if (auto global = v.getDefiningOp<memref::GetGlobalOp>()) {
    f.kind = Footprint::Kind::global;
    f.global = global.getName();
  }
  return f;
}

/// Whether two footprints may share bytes. Distinct allocations, distinct
/// globals, and an allocation and anything else are disjoint; so are
/// disjoint ranges of one root. Two function arguments may be one buffer.
bool mayOverlap(const Footprint &a, const Footprint &b) {
  using Kind = Footprint::Kind;
  bool sameRoot = a.root == b.root ||
                  (a.kind == Kind::global && b.kind == Kind::global &&
                   a.global == b.global);
  if (sameRoot)
    return a.begin < b.end && b.begin < a.end;
  if (a.kind == Kind::unknown || b.kind == Kind::unknown)
    return true;
  if (a.kind == Kind::allocation || b.kind == Kind::allocation)
    return false;
  if (a.kind == Kind::global && b.kind == Kind::global)
    return false;
  return a.kind == Kind::argument && b.kind == Kind::argument;
}

/// The memory one loop reads and writes; `known` is false when an op in it
/// has effects this analysis cannot place (a call, an effect on no value).
struct LoopMemory {
  SmallVector<Footprint> reads, writes;
  bool known = true;
};

LoopMemory memoryOf(scf::ParallelOp loop) {
  LoopMemory m;
  loop->walk([&](Operation *op) {
    // A prefetch is a hint: it changes no memory.
    if (op == loop.getOperation() || isa<memref::PrefetchOp>(op))
      return;
    auto effecting = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effecting) {
      if (!op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
        m.known = false;
      return;
    }
    SmallVector<MemoryEffects::EffectInstance> effects;
    effecting.getEffects(effects);
    for (const MemoryEffects::EffectInstance &e : effects) {
      bool read = isa<MemoryEffects::Read>(e.getEffect());
      bool write = isa<MemoryEffects::Write>(e.getEffect());
      if (!read && !write)
        continue; // allocation and free of a loop's own scratch
      Value v = e.getValue();
      if (!v || !isa<MemRefType>(v.getType())) {
        m.known = false;
        continue;
      }
      (write ? m.writes : m.reads).push_back(footprintOf(v));
    }
  });
  return m;
}

/// Whether `later` may run beside `earlier` without a barrier: neither
/// writes bytes the other reads or writes.
bool independent(const LoopMemory &earlier, const LoopMemory &later) {
  if (!earlier.known || !later.known)
    return false;
  auto overlaps = [](ArrayRef<Footprint> xs, ArrayRef<Footprint> ys) {
    for (const Footprint &x : xs)
      for (const Footprint &y : ys)
        if (mayOverlap(x, y))
          return true;
    return false;
  };
  return !overlaps(earlier.writes, later.reads) &&
         !overlaps(earlier.writes, later.writes) &&
         !overlaps(later.writes, earlier.reads);
}

/// Whether `op`, between two parallel loops, can move above the first: it
/// has no regions, no memory effects and cannot fail (index arithmetic,
/// constants, views).
bool hoistable(Operation *op) {
  return op->getNumRegions() == 0 && isPure(op);
}

/// Replaces the loops of `group` (consecutive in one block, with only
/// hoistable ops between them) by one omp.parallel region: the ops between
/// them move above it, each loop becomes each thread's share of it, and an
/// omp.barrier separates a loop from the next one that touches what it
/// writes or writes what it reads.
void lowerGroup(ArrayRef<scf::ParallelOp> group) {
  scf::ParallelOp first = group.front();
  for (size_t i = 1; i < group.size(); ++i) {
    scf::ParallelOp loop = group[i];
    for (Operation *op = group[i - 1]->getNextNode();
         op != loop.getOperation();) {
      Operation *next = op->getNextNode();
      op->moveBefore(first);
      op = next;
    }
  }
  ImplicitLocOpBuilder b(first.getLoc(), first);
  Type index = b.getIndexType();
  auto parallel = omp::ParallelOp::create(b, b.getLoc());
  Block *entry = b.createBlock(&parallel.getRegion());
  b.setInsertionPointToStart(entry);
  auto threadIndex = [&](StringRef fn) {
    Value v = func::CallOp::create(b, fn, TypeRange{b.getI32Type()},
                                   ValueRange{})
                  .getResult(0);
    return arith::IndexCastOp::create(b, index, v).getResult();
  };
  Value thread = threadIndex("omp_get_thread_num");
  Value threads = threadIndex("omp_get_num_threads");
  // The loops since the last barrier: the next one must be independent of
  // all of them to run without one.
  SmallVector<LoopMemory> sinceBarrier;
  for (scf::ParallelOp loop : group) {
    LoopMemory memory = memoryOf(loop);
    bool needsBarrier = llvm::any_of(sinceBarrier, [&](const LoopMemory &e) {
      return !independent(e, memory);
    });
    if (needsBarrier) {
      omp::BarrierOp::create(b);
      sinceBarrier.clear();
    }
    emitThreadShare(b, loop, thread, threads);
    sinceBarrier.push_back(std::move(memory));
  }
  omp::TerminatorOp::create(b);
  for (scf::ParallelOp loop : group)
    loop.erase();
}

struct ParallelToOpenMP final
    : qnt::impl::QntParallelToOpenMPPassBase<ParallelToOpenMP> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Outermost loops only: a nested scf.parallel runs in its thread.
    SmallVector<scf::ParallelOp> loops;
    module.walk<WalkOrder::PreOrder>([&](scf::ParallelOp loop) {
      loops.push_back(loop);
      return WalkResult::skip();
    });
    for (scf::ParallelOp loop : loops)
      if (!loop.getInitVals().empty()) {
        loop.emitOpError("with reductions is not supported by "
                         "qnt-parallel-to-openmp");
        return signalPassFailure();
      }
    if (loops.empty())
      return;
    declareRuntimeFunction(module, "omp_get_thread_num");
    declareRuntimeFunction(module, "omp_get_num_threads");
    // Consecutive loops of one block with only hoistable ops between them
    // share one parallel region: one fork and join instead of one per loop.
    SmallVector<SmallVector<scf::ParallelOp>> groups;
    for (scf::ParallelOp loop : loops) {
      if (!groups.empty()) {
        scf::ParallelOp last = groups.back().back();
        bool joins = last->getBlock() == loop->getBlock() &&
                     last->isBeforeInBlock(loop);
        for (Operation *op = last->getNextNode(); joins && op != loop;
             op = op->getNextNode())
          joins = hoistable(op);
        if (joins) {
          groups.back().push_back(loop);
          continue;
        }
      }
      groups.push_back({loop});
    }
    for (ArrayRef<scf::ParallelOp> group : groups)
      lowerGroup(group);
  }
};
} // namespace
