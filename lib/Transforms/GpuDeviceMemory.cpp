// qnt-gpu-device-memory: the buffers of functions mapped to gpu.launch ops
// move to device memory; the host copies data only at the function boundary.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTGPUDEVICEMEMORYPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

/// The runtime function (lib/Runtime/CudaRuntime.c) that returns the device
/// copy of a constant: (host address, bytes) -> memref<?xi8>.
static constexpr llvm::StringLiteral kConstantFn = "qnt_cuda_constant";

/// Whether `op` itself reads or writes memory through a memref.
static bool accessesMemory(Operation *op) {
  if (auto effects = dyn_cast<MemoryEffectOpInterface>(op)) {
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    return llvm::any_of(list, [](const MemoryEffects::EffectInstance &e) {
      return isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect());
    });
  }
  if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
    return false; // judged by the ops inside
  // Unknown effects: conservative when memrefs are involved.
  return llvm::any_of(op->getOperandTypes(), llvm::IsaPred<BaseMemRefType>);
}

/// Whether `op` or an op nested in it (outside gpu.launch bodies) touches
/// memory on the host; `hasLaunch` tells whether a gpu.launch is nested.
static bool touchesMemory(Operation *op, bool &hasLaunch) {
  bool touches = false;
  op->walk<WalkOrder::PreOrder>([&](Operation *nested) {
    if (isa<gpu::LaunchOp>(nested)) {
      hasLaunch = true;
      return WalkResult::skip();
    }
    touches |= accessesMemory(nested);
    return WalkResult::advance();
  });
  return touches;
}

/// `touchesMemory` for an op known to hold no launch.
static bool touchesMemoryNoLaunch(Operation *op) {
  bool hasLaunch = false;
  return touchesMemory(op, hasLaunch);
}

/// Moves `ops` (adjacent in their block but for memory-free ops between
/// them) into one single-thread gpu.launch placed where the last one was.
static void wrapInLaunch(ArrayRef<Operation *> ops) {
  Operation *last = ops.back();
  OpBuilder builder(last);
  Location loc = last->getLoc();
  Value one = arith::ConstantIndexOp::create(builder, loc, 1);
  auto launch = gpu::LaunchOp::create(builder, loc, one, one, one, one, one,
                                      one);
  Block &body = launch.getBody().front();
  builder.setInsertionPointToEnd(&body);
  auto terminator = gpu::TerminatorOp::create(builder, loc);
  for (Operation *op : ops)
    op->moveBefore(terminator);
}

/// Wraps the ops of host code in `region` that touch memory into one-thread
/// kernels: on the GPU every buffer is device memory, which the host must
/// not dereference.
static LogicalResult wrapHostMemoryOps(Region &region) {
  for (Block &block : region) {
    SmallVector<Operation *> run;
    auto flush = [&] {
      // Memory-free ops at the end of a run stay outside.
      while (!run.empty() && !touchesMemoryNoLaunch(run.back()))
        run.pop_back();
      if (!run.empty())
        wrapInLaunch(run);
      run.clear();
    };
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (op.hasTrait<OpTrait::IsTerminator>() || isa<gpu::LaunchOp>(op)) {
        flush();
        continue;
      }
      // A callee compiled by this pipeline takes and returns host buffers;
      // this function's buffers are device buffers.
      if (auto call = dyn_cast<func::CallOp>(op);
          call && call.getCallee() != kConstantFn &&
          (llvm::any_of(call.getOperandTypes(), llvm::IsaPred<BaseMemRefType>) ||
           llvm::any_of(call.getResultTypes(), llvm::IsaPred<BaseMemRefType>)))
        return call.emitError()
               << "calls passing buffers ('" << call.getCallee()
               << "') are not supported by the GPU pipeline";
      bool hasLaunch = false;
      bool touches = touchesMemory(&op, hasLaunch);
      if (touches && hasLaunch) {
        // Host control flow around kernels (a loop over layers): look
        // inside.
        flush();
        for (Region &nested : op.getRegions())
          if (failed(wrapHostMemoryOps(nested)))
            return failure();
        continue;
      }
      if (touches) {
        if (llvm::any_of(op.getResults(),
                         [](Value v) { return !v.use_empty(); }))
          return op.emitError()
                 << "'" << op.getName()
                 << "' reads device memory for host code; the GPU pipeline "
                    "cannot run it";
        run.push_back(&op);
        continue;
      }
      // Ops free of memory effects and of regions (constants, index math,
      // descriptor ops) may sit between the wrapped ops: the kernel captures
      // their values. Anything else (an allocation, a free) ends the run.
      if (!run.empty() && isMemoryEffectFree(&op) && op.getNumRegions() == 0)
        run.push_back(&op);
      else
        flush();
    }
    flush();
  }
  return success();
}

/// Follows view-like ops back to the buffer a memref value is a view of.
static Value rootBuffer(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      break;
    value = view.getViewSource();
  }
  return value;
}

/// Whether some user of `buffer` or of a view of it, other than `ignore`,
/// may write it.
static bool mayBeWritten(Value buffer, Operation *ignore) {
  SmallVector<Value> work = {buffer};
  llvm::SmallPtrSet<Value, 8> seen;
  while (!work.empty()) {
    Value value = work.pop_back_val();
    if (!seen.insert(value).second)
      continue;
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (user == ignore)
        continue;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
        if (view.getViewSource() == value) {
          work.push_back(view->getResult(0));
          continue;
        }
      }
      if (isa<memref::DimOp, memref::ExtractAlignedPointerAsIndexOp,
              memref::ExtractStridedMetadataOp>(user))
        continue;
      auto effects = dyn_cast<MemoryEffectOpInterface>(user);
      if (!effects)
        return true; // unknown: assume it writes
      SmallVector<MemoryEffects::EffectInstance> list;
      effects.getEffects(list);
      for (const MemoryEffects::EffectInstance &e : list)
        if (isa<MemoryEffects::Write>(e.getEffect()) &&
            (!e.getValue() || e.getValue() == value))
          return true;
    }
  }
  return false;
}

/// Dynamic sizes of `type` read from `like` (a buffer of the same shape).
static SmallVector<Value> dynamicSizes(OpBuilder &builder, Location loc,
                                       MemRefType type, Value like) {
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      sizes.push_back(memref::DimOp::create(builder, loc, like, i));
  return sizes;
}

static Value deviceAlloc(OpBuilder &builder, Location loc, MemRefType type,
                         ValueRange sizes) {
  return gpu::AllocOp::create(builder, loc, type, /*asyncToken=*/Type(),
                              /*asyncDependencies=*/ValueRange(), sizes,
                              /*symbolOperands=*/ValueRange(),
                              /*hostShared=*/false)
      .getMemref();
}

static Operation *memcpy(OpBuilder &builder, Location loc, Value dst,
                         Value src) {
  return gpu::MemcpyOp::create(builder, loc, /*asyncToken=*/Type(),
                               /*asyncDependencies=*/ValueRange(), dst, src);
}

namespace {
struct GpuDeviceMemory final
    : qnt::impl::QntGpuDeviceMemoryPassBase<GpuDeviceMemory> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal() || func.getName() == kConstantFn)
        continue;
      if (failed(wrapHostMemoryOps(func.getBody())) ||
          failed(moveToDevice(func, symbols)) || failed(verifyHost(func)))
        return signalPassFailure();
    }
  }

  /// The declaration of the runtime's constant upload.
  func::FuncOp constantFn(SymbolTable &symbols) {
    if (auto fn = symbols.lookup<func::FuncOp>(kConstantFn))
      return fn;
    MLIRContext *ctx = &getContext();
    OpBuilder builder(ctx);
    Type index = builder.getIndexType();
    auto type = builder.getFunctionType(
        {index, index},
        {MemRefType::get({ShapedType::kDynamic}, builder.getI8Type())});
    auto fn = func::FuncOp::create(builder, getOperation().getLoc(),
                                   kConstantFn, type);
    fn.setPrivate();
    // Memref results cross into C through descriptor pointers.
    fn->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
    symbols.insert(fn);
    return fn;
  }

  LogicalResult moveToDevice(func::FuncOp func, SymbolTable &symbols) {
    Block &entry = func.getBody().front();
    OpBuilder builder(func.getContext());

    // Buffers the function allocates live on the device.
    SmallVector<Operation *> allocs;
    func.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp>(op) &&
          !op->getParentOfType<gpu::LaunchOp>())
        allocs.push_back(op);
    });
    llvm::SmallPtrSet<Value, 16> deviceAllocs;
    for (Operation *op : allocs) {
      builder.setInsertionPoint(op);
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(builder, op->getLoc(), /*asyncToken=*/Type(),
                               ValueRange(), dealloc.getMemref());
        op->erase();
        continue;
      }
      if (isa<memref::AllocaOp>(op))
        return op->emitError("stack buffers in host code are not supported "
                             "by the GPU pipeline");
      auto alloc = cast<memref::AllocOp>(op);
      if (!alloc.getSymbolOperands().empty())
        return op->emitError("allocations with symbol operands are not "
                             "supported by the GPU pipeline");
      Value device = deviceAlloc(builder, op->getLoc(), alloc.getType(),
                                 alloc.getDynamicSizes());
      alloc.getResult().replaceAllUsesWith(device);
      op->erase();
      deviceAllocs.insert(device);
    }

    // Arguments: a device copy for the body; written ones go back at exit.
    builder.setInsertionPointToStart(&entry);
    SmallVector<std::pair<Value, Value>> written; // (host, device)
    SmallVector<Value> argCopies;
    for (BlockArgument arg : entry.getArguments()) {
      auto type = dyn_cast<MemRefType>(arg.getType());
      if (!type || arg.use_empty())
        continue;
      if (!type.getLayout().isIdentity())
        return func.emitError() << "argument " << arg.getArgNumber()
                                << " of the GPU function has a non-identity "
                                   "layout; expected a row-major buffer";
      Location loc = arg.getLoc();
      SmallVector<Value> sizes = dynamicSizes(builder, loc, type, arg);
      Value device = deviceAlloc(builder, loc, type, sizes);
      Operation *copyIn = memcpy(builder, loc, device, arg);
      // Everything but the ops just made (sizes, copy) uses the device copy.
      llvm::SmallPtrSet<Operation *, 4> made;
      for (Value size : sizes)
        made.insert(size.getDefiningOp());
      made.insert(copyIn);
      arg.replaceUsesWithIf(device, [&](OpOperand &use) {
        return !made.contains(use.getOwner());
      });
      argCopies.push_back(device);
      if (mayBeWritten(device, copyIn))
        written.emplace_back(arg, device);
    }

    // Constants: the runtime's cached device copy, viewed with the
    // constant's type. They are fetched first thing: gpu-async-region ends
    // the stream at a host call, so host calls between gpu ops would split
    // the function into several streams.
    SmallVector<memref::GetGlobalOp> globals;
    func.walk([&](memref::GetGlobalOp op) {
      if (!op->getParentOfType<gpu::LaunchOp>())
        globals.push_back(op);
    });
    for (memref::GetGlobalOp get : globals) {
      auto global = symbols.lookup<memref::GlobalOp>(get.getName());
      MemRefType type = get.getType();
      if (!global || !global.getConstant() || !type.getLayout().isIdentity())
        return get.emitError()
               << "the GPU pipeline supports only constant globals with an "
                  "identity layout; '"
               << get.getName() << "' is not one";
      Type element = type.getElementType();
      int64_t bits = element.isIndex() ? 64 : element.getIntOrFloatBitWidth();
      if (bits != 1 && bits % 8 != 0)
        return get.emitError() << "constant '" << get.getName()
                               << "' has elements of " << bits
                               << " bits, not a whole number of bytes";
      int64_t bytes = type.getNumElements() * std::max<int64_t>(bits / 8, 1);
      get->moveBefore(&entry, entry.begin());
      builder.setInsertionPointAfter(get);
      Location loc = get.getLoc();
      Value host = memref::ExtractAlignedPointerAsIndexOp::create(builder, loc,
                                                                  get);
      Value size = arith::ConstantIndexOp::create(builder, loc, bytes);
      func::FuncOp fn = constantFn(symbols);
      Value raw = func::CallOp::create(builder, loc, fn, ValueRange{host, size})
                      .getResult(0);
      Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
      Value device = memref::ViewOp::create(builder, loc, type, raw, zero,
                                            ValueRange{});
      get.getResult().replaceUsesWithIf(device, [&](OpOperand &use) {
        return !isa<memref::ExtractAlignedPointerAsIndexOp>(use.getOwner());
      });
    }

    // Returns: host copies the caller owns, then the device buffers go.
    for (Block &block : func.getBody()) {
      auto ret = dyn_cast<func::ReturnOp>(block.getTerminator());
      if (!ret)
        continue;
      builder.setInsertionPoint(ret);
      llvm::SetVector<Value> toFree;
      for (OpOperand &operand : ret->getOpOperands()) {
        auto type = dyn_cast<MemRefType>(operand.get().getType());
        if (!type)
          continue;
        if (!type.getLayout().isIdentity())
          return ret.emitError() << "result " << operand.getOperandNumber()
                                 << " has a non-identity layout; expected a "
                                    "row-major buffer";
        Location loc = ret.getLoc();
        Value device = operand.get();
        // A static host buffer is allocated at entry, for the same reason
        // as the constants: malloc is a host call.
        Value host;
        if (type.hasStaticShape()) {
          OpBuilder atEntry(&entry, entry.begin());
          host = memref::AllocOp::create(atEntry, loc, type);
        } else {
          host = memref::AllocOp::create(
              builder, loc, type, dynamicSizes(builder, loc, type, device));
        }
        memcpy(builder, loc, host, device);
        operand.set(host);
        Value root = rootBuffer(device);
        if (deviceAllocs.contains(root))
          toFree.insert(root);
      }
      for (auto [host, device] : written)
        memcpy(builder, ret.getLoc(), host, device);
      for (Value device : argCopies)
        toFree.insert(device);
      for (Value device : toFree)
        gpu::DeallocOp::create(builder, ret.getLoc(), /*asyncToken=*/Type(),
                               ValueRange(), device);
    }
    return success();
  }

  /// After the rewrite, host code may only move data with gpu ops.
  LogicalResult verifyHost(func::FuncOp func) {
    WalkResult result = func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (isa<gpu::MemcpyOp, func::CallOp>(op) || !accessesMemory(op))
        return WalkResult::advance();
      op->emitError() << "'" << op->getName()
                      << "' would access device memory from the host";
      return WalkResult::interrupt();
    });
    return failure(result.wasInterrupted());
  }
};
} // namespace
