// qnt-parallel-to-openmp: scf.parallel loops as OpenMP parallel regions that
// split the iterations evenly by thread number, with no worksharing runtime;
// consecutive loops share one region, with barriers only where one loop
// needs what another writes.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
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
#include "qnt/Transforms/Transforms.h"

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
/// iteration space, c = ceil(total / n). `map` gives the copies of values
/// the loop uses that were cloned into the region.
void emitThreadShare(ImplicitLocOpBuilder &b, scf::ParallelOp loop,
                     Value thread, Value threads, IRMapping &map) {
  // Trip counts (ceil((ub - lb) / step), at least 0) and their product.
  SmallVector<Value> trips, lbs, steps;
  Value total = arith::ConstantIndexOp::create(b, 1);
  Value zero = arith::ConstantIndexOp::create(b, 0);
  for (auto [lbValue, ubValue, stepValue] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value lb = map.lookupOrDefault(lbValue);
    Value step = map.lookupOrDefault(stepValue);
    Value span = arith::MaxSIOp::create(
        b, arith::SubIOp::create(b, map.lookupOrDefault(ubValue), lb), zero);
    Value trip = arith::CeilDivUIOp::create(b, span, step);
    trips.push_back(trip);
    lbs.push_back(lb);
    steps.push_back(step);
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
    Value iv =
        arith::AddIOp::create(b, lbs[d], arith::MulIOp::create(b, i, steps[d]));
    map.map(body->getArgument(d), iv);
  }
  for (Operation &op : body->without_terminator())
    if (!hoisted.contains(&op))
      b.clone(op, map);
}

/// Where a memref's bytes lie: a root buffer (an allocation, a global, a
/// function argument, or anything else) and, for a view of a workspace at
/// a constant offset with bounded sizes, the byte range [begin, end)
/// within it.
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
      // Dynamic sizes count at their largest (the workspace plan keeps
      // the largest extents of live buffers apart).
      std::optional<int64_t> shift =
          getConstantIntValue(view.getByteShift());
      std::optional<int64_t> bytes =
          qnt::maxMemRefBytes(view.getType(), view.getSizes());
      if (!ranged && shift && bytes) {
        f.begin = *shift;
        f.end = *shift + *bytes;
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

/// The memory one step of a region (a loop, a serial op, a branch) reads
/// and writes; `known` is false when an op in it has effects this analysis
/// cannot place (a call, an effect on no value).
struct StepMemory {
  SmallVector<Footprint> reads, writes;
  bool known = true;
  bool serial = false; // run by thread 0 alone
};

/// Whether `op` is an LLVM intrinsic call without pointer operands: it
/// computes on values (an integer dot product) and cannot reach a buffer.
bool touchesNoBuffer(Operation *op) {
  auto call = dyn_cast<LLVM::CallIntrinsicOp>(op);
  return call && llvm::none_of(op->getOperandTypes(), [](Type t) {
           return isa<LLVM::LLVMPointerType>(t);
         });
}

StepMemory memoryOf(Operation *step) {
  StepMemory m;
  step->walk([&](Operation *op) {
    // A prefetch is a hint: it changes no memory. An intrinsic given no
    // pointer (vpdpbusd) reaches no buffer.
    if (isa<memref::PrefetchOp>(op) || touchesNoBuffer(op))
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
        continue; // allocation and free of a step's own scratch
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
bool independent(const StepMemory &earlier, const StepMemory &later) {
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

/// What an op of a block is to a parallel region.
enum class Step {
  pure,   // no effects, no regions: computed before the region (or, inside
          // a branch, by every thread)
  loop,   // an outermost scf.parallel: each thread runs its share
  serial, // effects but no results: thread 0 runs it
  branch, // an scf.if with loops in it: every thread takes the same way
  other   // ends a region (an op with results and effects, a call, an
          // allocation or free, a terminator)
};

bool hasLoop(Operation *op) {
  return op->walk([](scf::ParallelOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Whether thread 0 alone may run `op` inside a region while the others
/// wait at a barrier: it yields no value, starts no threads of its own
/// (no scf.parallel, no call, which may fork) and allocates or frees
/// nothing beyond its own stack scratch (a free may not wait for the
/// other threads' readers).
bool runsOnOneThread(Operation *op) {
  if (op->getNumResults() != 0 || op->hasTrait<OpTrait::IsTerminator>())
    return false;
  return !op->walk([](Operation *inner) {
              Dialect *dialect = inner->getDialect(); // none: unregistered
              // A free (dealloc, realloc) is found by its effect.
              auto effecting = dyn_cast<MemoryEffectOpInterface>(inner);
              if (isa<scf::ParallelOp, CallOpInterface, memref::AllocOp>(
                      inner) ||
                  (dialect && isa<omp::OpenMPDialect>(dialect)) ||
                  (effecting && effecting.hasEffect<MemoryEffects::Free>()))
                return WalkResult::interrupt();
              return WalkResult::advance();
            }).wasInterrupted();
}

Step classify(Operation *op);

/// Whether every op of `block` but its terminator can go into a region.
bool regionReady(Block &block) {
  return llvm::all_of(block.without_terminator(), [](Operation &op) {
    return classify(&op) != Step::other;
  });
}

Step classify(Operation *op) {
  if (auto loop = dyn_cast<scf::ParallelOp>(op))
    return loop.getInitVals().empty() ? Step::loop : Step::other;
  if (op->getNumRegions() == 0 && isPure(op))
    return Step::pure;
  // The condition is defined outside the branch, by no thread in
  // particular: every thread takes the same way, so barriers inside it
  // are met by all.
  if (auto branch = dyn_cast<scf::IfOp>(op);
      branch && branch.getNumResults() == 0 && hasLoop(op) &&
      regionReady(*branch.thenBlock()) &&
      (!branch.elseBlock() || regionReady(*branch.elseBlock())))
    return Step::branch;
  if (runsOnOneThread(op)) // which also means it holds no loop
    return Step::serial;
  return Step::other;
}

/// Builds the body of one omp.parallel region from steps: each thread's
/// share of the loops, thread 0's serial ops, branches, and an
/// omp.barrier before a step that reads or writes bytes a step since the
/// last barrier writes, or writes bytes it reads.
class RegionBuilder {
public:
  RegionBuilder(ImplicitLocOpBuilder &b, Value thread, Value threads)
      : b(b), thread(thread), threads(threads) {}

  void emit(ArrayRef<Operation *> steps) {
    for (Operation *op : steps)
      emitStep(op);
  }

private:
  void emitStep(Operation *op) {
    switch (classify(op)) {
    case Step::pure: {
      // Before an open serial block, which may still take ops using it.
      OpBuilder::InsertionGuard guard(b);
      if (openSerial)
        b.setInsertionPoint(openSerial);
      b.clone(*op, map);
      return;
    }
    case Step::loop: {
      StepMemory memory = memoryOf(op);
      barrierBefore(memory);
      openSerial = nullptr;
      emitThreadShare(b, cast<scf::ParallelOp>(op), thread, threads, map);
      sinceBarrier.push_back(std::move(memory));
      return;
    }
    case Step::serial:
      emitSerial(op);
      return;
    case Step::branch:
      openSerial = nullptr;
      emitBranch(cast<scf::IfOp>(op));
      return;
    case Step::other:
      llvm_unreachable("a region holds no op that ends it");
    }
  }

  /// Consecutive serial ops share one block that thread 0 runs; they need
  /// no barrier among themselves.
  void emitSerial(Operation *op) {
    StepMemory memory = memoryOf(op);
    memory.serial = true;
    barrierBefore(memory);
    if (!openSerial) {
      Value first = arith::CmpIOp::create(
          b, arith::CmpIPredicate::eq, thread,
          arith::ConstantIndexOp::create(b, 0));
      openSerial = scf::IfOp::create(b, first, /*withElseRegion=*/false);
    }
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(openSerial.thenBlock()->getTerminator());
    b.clone(*op, map);
    sinceBarrier.push_back(std::move(memory));
  }

  /// Both ways start from the steps since the last barrier; after the
  /// branch, what either way left unbarriered counts.
  void emitBranch(scf::IfOp branch) {
    bool hasElse = branch.elseBlock() != nullptr;
    auto copy = scf::IfOp::create(
        b, map.lookupOrDefault(branch.getCondition()), hasElse);
    SmallVector<StepMemory> before = sinceBarrier, after;
    auto emitWay = [&](Block *from, Block *to) {
      sinceBarrier = before;
      openSerial = nullptr;
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(to->getTerminator());
      for (Operation &op : from->without_terminator())
        emitStep(&op);
      llvm::append_range(after, sinceBarrier);
    };
    emitWay(branch.thenBlock(), copy.thenBlock());
    if (hasElse)
      emitWay(branch.elseBlock(), copy.elseBlock());
    else
      llvm::append_range(after, before);
    sinceBarrier = std::move(after);
    openSerial = nullptr;
  }

  /// Thread 0 runs serial steps in program order: one waits for another
  /// without a barrier.
  void barrierBefore(const StepMemory &memory) {
    if (llvm::any_of(sinceBarrier, [&](const StepMemory &e) {
          return !(e.serial && memory.serial) && !independent(e, memory);
        })) {
      omp::BarrierOp::create(b);
      sinceBarrier.clear();
      openSerial = nullptr;
    }
  }

  ImplicitLocOpBuilder &b;
  Value thread, threads;
  IRMapping map;
  SmallVector<StepMemory> sinceBarrier;
  scf::IfOp openSerial; // thread 0's block that the next serial op joins
};

/// Replaces the steps of `group` (consecutive ops of one block, the first
/// and last of them loops or branches, none of them `other`) by one
/// omp.parallel region. Pure ops move above it.
void lowerGroup(ArrayRef<Operation *> group) {
  Operation *first = group.front();
  SmallVector<Operation *> steps;
  for (Operation *op : group) {
    if (classify(op) == Step::pure)
      op->moveBefore(first);
    else
      steps.push_back(op);
  }
  ImplicitLocOpBuilder b(first->getLoc(), first);
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
  RegionBuilder(b, thread, threads).emit(steps);
  omp::TerminatorOp::create(b);
  for (Operation *op : llvm::reverse(steps))
    op->erase();
}

/// Collects, in `block` and the regions below it, the groups of ops that
/// become one region each: from a loop or branch to the last loop or
/// branch before an op that ends a region.
void collectGroups(Block &block,
                   SmallVectorImpl<SmallVector<Operation *>> &groups) {
  SmallVector<Operation *> open; // since the group's first loop or branch
  size_t lastParallel = 0;       // ops of `open` up to its last loop/branch
  auto close = [&] {
    if (!open.empty())
      groups.emplace_back(open.begin(), open.begin() + lastParallel);
    open.clear();
  };
  for (Operation &op : block) {
    Step step = classify(&op);
    if (step == Step::other) {
      close();
      for (Region &region : op.getRegions())
        for (Block &inner : region)
          collectGroups(inner, groups);
      continue;
    }
    if (step == Step::loop || step == Step::branch) {
      open.push_back(&op);
      lastParallel = open.size();
    } else if (!open.empty()) {
      open.push_back(&op);
    }
  }
  close();
}

struct ParallelToOpenMP final
    : qnt::impl::QntParallelToOpenMPPassBase<ParallelToOpenMP> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Outermost loops only: a nested scf.parallel runs in its thread.
    bool reductions = false;
    module.walk<WalkOrder::PreOrder>([&](scf::ParallelOp loop) {
      if (!loop.getInitVals().empty()) {
        loop.emitOpError("with reductions is not supported by "
                         "qnt-parallel-to-openmp");
        reductions = true;
      }
      return WalkResult::skip();
    });
    if (reductions)
      return signalPassFailure();
    // Runs of loops, branches over loops and serial work share one
    // parallel region: one fork and join instead of one per loop.
    SmallVector<SmallVector<Operation *>> groups;
    for (Region &region : module->getRegions())
      for (Block &block : region)
        collectGroups(block, groups);
    if (groups.empty())
      return;
    declareRuntimeFunction(module, "omp_get_thread_num");
    declareRuntimeFunction(module, "omp_get_num_threads");
    for (ArrayRef<Operation *> group : groups)
      lowerGroup(group);
  }
};
} // namespace
