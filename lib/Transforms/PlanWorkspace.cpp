// qnt-plan-workspace: the buffers a function allocates, when their sizes are
// bounded, become views of one static workspace, so a call allocates nothing.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTPLANWORKSPACEPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

/// The size `size` names, seen through `memref.dim` of views and of
/// reshapes that keep the dimension whole (a singleton reassociation
/// group): ValueBoundsOpInterface has no model for reshapes, so the dim of
/// a collapsed prompt buffer would have no bound.
static ValueBoundsConstraintSet::Variable sizeVariable(Value size) {
  while (auto dim = size.getDefiningOp<memref::DimOp>()) {
    std::optional<int64_t> index = dim.getConstantIndex();
    if (!index)
      break;
    Value source = dim.getSource();
    int64_t d = *index;
    // Through reshapes that keep dimension d whole, to a view's size.
    while (true) {
      if (auto collapse = source.getDefiningOp<memref::CollapseShapeOp>()) {
        ReassociationIndices group = collapse.getReassociationIndices()[d];
        if (group.size() != 1)
          break;
        source = collapse.getSrc();
        d = group.front();
        continue;
      }
      if (auto expand = source.getDefiningOp<memref::ExpandShapeOp>()) {
        auto groups = expand.getReassociationIndices();
        auto it = llvm::find_if(groups, [&](const ReassociationIndices &g) {
          return llvm::is_contained(g, d);
        });
        if (it == groups.end() || it->size() != 1)
          break;
        source = expand.getSrc();
        d = it - groups.begin();
        continue;
      }
      break;
    }
    auto view = source.getDefiningOp<memref::ViewOp>();
    if (!view || !view.getType().isDynamicDim(d))
      return ValueBoundsConstraintSet::Variable(source, d);
    size = view.getSizes()[view.getType().getDynamicDimIndex(d)];
  }
  return ValueBoundsConstraintSet::Variable(size);
}

std::optional<int64_t> qnt::maxMemRefBytes(MemRefType type,
                                           ValueRange dynamicSizes) {
  Type elem = type.getElementType();
  int64_t bits = elem.isIndex() ? 64
                 : elem.isIntOrFloat() ? elem.getIntOrFloatBitWidth()
                                       : 0;
  if (bits == 0 || bits % 8 != 0 ||
      dynamicSizes.size() != type.getNumDynamicDims())
    return std::nullopt;
  int64_t bytes = bits / 8;
  unsigned dynamic = 0;
  for (int64_t d : type.getShape()) {
    int64_t size = d;
    if (ShapedType::isDynamic(d)) {
      FailureOr<int64_t> bound = ValueBoundsConstraintSet::computeConstantBound(
          presburger::BoundType::UB,
          sizeVariable(dynamicSizes[dynamic++]),
          /*stopCondition=*/nullptr, /*closedUB=*/true);
      if (failed(bound) || *bound < 0)
        return std::nullopt;
      size = *bound;
    }
    if (size != 0 && bytes > (int64_t(1) << 40) / size)
      return std::nullopt; // absurd: no byte count worth planning with
    bytes *= size;
  }
  return bytes;
}

namespace {
constexpr int64_t kAlignment = 64;

/// A range of the workspace needed from op `start` to op `end` (indices in
/// one block, inclusive): one allocation, or everything the regions of one
/// op need (`nested`, already planned relative to the range's start).
struct Slot {
  int64_t bytes = 0, start = 0, end = 0, offset = 0;
  memref::AllocOp alloc;                                      // or null
  std::vector<std::pair<memref::AllocOp, int64_t>> nested;   // (alloc, offset)
};

/// The largest size in bytes `alloc` can have, aligned, or nothing when a
/// dynamic size has no constant upper bound (or the type has no byte size).
std::optional<int64_t> boundedBytes(memref::AllocOp alloc) {
  MemRefType type = alloc.getType();
  if (!type.getLayout().isIdentity() || type.getMemorySpace())
    return std::nullopt;
  std::optional<int64_t> bytes =
      qnt::maxMemRefBytes(type, alloc.getDynamicSizes());
  if (!bytes)
    return std::nullopt;
  return llvm::alignTo(std::max<int64_t>(*bytes, 1), kAlignment);
}

/// The index (in `block`) of the last op that uses `alloc` or a buffer
/// derived from it, or nothing when such a buffer leaves the block (returned,
/// yielded, or used outside it). Every memref result of a user counts as
/// derived: views, casts, and whatever else may alias.
std::optional<int64_t>
lastUse(memref::AllocOp alloc, Block &block,
        const llvm::DenseMap<Operation *, int64_t> &position) {
  int64_t last = position.lookup(alloc);
  SmallVector<Value> work = {alloc.getResult()};
  llvm::SmallPtrSet<Value, 8> seen;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      Operation *ancestor = block.findAncestorOpInBlock(*user);
      if (!ancestor || ancestor == block.getTerminator())
        return std::nullopt;
      // A terminator inside a nested region hands the buffer to its parent
      // op, whose results then alias it.
      if (user->hasTrait<OpTrait::IsTerminator>() && user != ancestor)
        for (Value r : user->getParentOp()->getResults())
          if (isa<BaseMemRefType>(r.getType()))
            work.push_back(r);
      last = std::max(last, position.lookup(ancestor));
      for (Value r : user->getResults())
        if (isa<BaseMemRefType>(r.getType()))
          work.push_back(r);
    }
  }
  return last;
}

/// Gives every slot an offset such that slots live at the same time do not
/// overlap (largest first, each at the lowest gap that fits); returns the
/// bytes used.
int64_t assignOffsets(std::vector<Slot> &slots) {
  std::vector<size_t> order(slots.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  llvm::stable_sort(order, [&](size_t a, size_t b) {
    return slots[a].bytes > slots[b].bytes;
  });
  std::vector<size_t> placed;
  int64_t total = 0;
  for (size_t i : order) {
    Slot &s = slots[i];
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t j : placed)
      if (slots[j].start <= s.end && s.start <= slots[j].end)
        busy.push_back({slots[j].offset, slots[j].offset + slots[j].bytes});
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [lo, hi] : busy) {
      if (offset + s.bytes <= lo)
        break;
      offset = std::max(offset, hi);
    }
    s.offset = offset;
    total = std::max(total, offset + s.bytes);
    placed.push_back(i);
  }
  return total;
}

/// Plans the allocations of `block` and of the regions nested in its ops;
/// appends (alloc, offset) pairs and returns the bytes the block needs.
/// Bodies of parallel loops are left alone: their iterations run at once.
int64_t planBlock(Block &block,
                  std::vector<std::pair<memref::AllocOp, int64_t>> &out) {
  llvm::DenseMap<Operation *, int64_t> position;
  int64_t index = 0;
  for (Operation &op : block)
    position[&op] = index++;
  std::vector<Slot> slots;
  for (Operation &op : block) {
    int64_t here = position[&op];
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      std::optional<int64_t> bytes = boundedBytes(alloc);
      std::optional<int64_t> end =
          bytes ? lastUse(alloc, block, position) : std::nullopt;
      if (bytes && end) {
        Slot s;
        s.bytes = *bytes;
        s.start = here;
        s.end = *end;
        s.alloc = alloc;
        slots.push_back(std::move(s));
      }
      continue;
    }
    if (op.getNumRegions() == 0 || isa<scf::ParallelOp, scf::ForallOp>(op) ||
        op.hasTrait<OpTrait::IsIsolatedFromAbove>())
      continue;
    // The regions of one op run within it: they share one range, and
    // every block of them starts at its beginning.
    Slot s;
    s.start = s.end = here;
    for (Region &region : op.getRegions())
      for (Block &inner : region) {
        std::vector<std::pair<memref::AllocOp, int64_t>> nested;
        s.bytes = std::max(s.bytes, planBlock(inner, nested));
        llvm::append_range(s.nested, nested);
      }
    if (s.bytes > 0)
      slots.push_back(std::move(s));
  }
  int64_t total = assignOffsets(slots);
  for (const Slot &s : slots) {
    if (s.alloc)
      out.push_back({s.alloc, s.offset});
    for (auto [alloc, offset] : s.nested)
      out.push_back({alloc, s.offset + offset});
  }
  return total;
}

struct PlanWorkspace final
    : qnt::impl::QntPlanWorkspacePassBase<PlanWorkspace> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal())
        continue;
      std::vector<std::pair<memref::AllocOp, int64_t>> placements;
      int64_t total = 0;
      for (Block &block : func.getBody())
        total = std::max(total, planBlock(block, placements));
      if (placements.empty())
        continue;
      OpBuilder builder(module.getBodyRegion());
      builder.setInsertionPointToStart(module.getBody());
      auto type = MemRefType::get({total}, builder.getI8Type());
      auto global = memref::GlobalOp::create(
          builder, func.getLoc(), "__qnt_workspace_" + func.getName().str(),
          builder.getStringAttr("private"), type, builder.getUnitAttr(),
          /*constant=*/false, builder.getI64IntegerAttr(kAlignment));
      symbols.insert(global); // renames it on a clash
      builder.setInsertionPointToStart(&func.getBody().front());
      Value workspace = memref::GetGlobalOp::create(builder, func.getLoc(),
                                                    type, global.getSymName());
      for (auto [alloc, offset] : placements) {
        builder.setInsertionPoint(alloc);
        Value shift =
            arith::ConstantIndexOp::create(builder, alloc.getLoc(), offset);
        Value view = memref::ViewOp::create(builder, alloc.getLoc(),
                                            alloc.getType(), workspace, shift,
                                            alloc.getDynamicSizes());
        alloc.replaceAllUsesWith(view);
        alloc.erase();
      }
    }
  }
};
} // namespace
