// qnt-parallel-to-openmp: scf.parallel loops as OpenMP parallel regions that
// split the iterations evenly by thread number, with no worksharing runtime.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
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

/// Replaces `loop` (no reductions) by an omp.parallel region in which
/// thread t of n runs the iterations [t * c, min((t + 1) * c, total)) of the
/// loop's row-major flattened iteration space, c = ceil(total / n).
void lowerLoop(scf::ParallelOp loop) {
  ImplicitLocOpBuilder b(loop.getLoc(), loop);
  Type index = b.getIndexType();
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
  b.setInsertionPointToEnd(entry);
  omp::TerminatorOp::create(b);
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
    for (scf::ParallelOp loop : loops)
      lowerLoop(loop);
  }
};
} // namespace
