// Builds one decoding step of a Llama-style model in func/linalg/tensor/arith/
// math, with weights as dense_resource blobs pointing at the caller's memory.
#include "qnt/Import/Transformer.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::qnt;

namespace {
using utils::IteratorType;
using BodyFn = function_ref<Value(ImplicitLocOpBuilder &, ValueRange)>;

/// Emits the ops of one step; every helper returns a tensor value.
class StepBuilder {
public:
  StepBuilder(ImplicitLocOpBuilder &b, const TransformerConfig &c,
              Location file)
      : b(b), c(c), file(file), f32(b.getF32Type()) {}

  Location named(const Twine &name) {
    return NameLoc::get(b.getStringAttr(name), file);
  }

  RankedTensorType tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, f32);
  }

  /// A weight constant over caller-owned memory (no copy).
  Value weight(const Twine &name, const float *data, ArrayRef<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    AsmResourceBlob blob = UnmanagedAsmResourceBlob::allocateWithAlign(
        ArrayRef<char>(reinterpret_cast<const char *>(data), n * 4),
        alignof(float));
    auto attr = DenseResourceElementsAttr::get(tensor(shape), name.str(),
                                               std::move(blob));
    return arith::ConstantOp::create(b, named(name), attr);
  }

  Value f32Const(float v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  }

  Value filled(ArrayRef<int64_t> shape, float value) {
    Value empty = tensor::EmptyOp::create(b, shape, f32);
    return linalg::FillOp::create(b, f32Const(value), empty).getResult(0);
  }

  /// A linalg.generic with an identity map for the output.
  Value generic(ArrayRef<int64_t> outShape, ValueRange inputs,
                ArrayRef<AffineMap> inputMaps, ArrayRef<IteratorType> iters,
                AffineMap outMap, Value init, BodyFn body) {
    SmallVector<AffineMap> maps(inputMaps);
    maps.push_back(outMap);
    auto op = linalg::GenericOp::create(
        b, TypeRange{tensor(outShape)}, inputs, ValueRange{init}, maps, iters,
        [&](OpBuilder &ob, Location loc, ValueRange args) {
          ImplicitLocOpBuilder ib(loc, ob);
          linalg::YieldOp::create(ib, body(ib, args));
        });
    return op.getResult(0);
  }

  /// Elementwise op over same-shaped 2-D tensors.
  Value map2d(ArrayRef<int64_t> shape, ValueRange inputs, BodyFn body) {
    AffineMap id = b.getMultiDimIdentityMap(2);
    SmallVector<AffineMap> maps(inputs.size(), id);
    return generic(shape, inputs, maps,
                   {IteratorType::parallel, IteratorType::parallel}, id,
                   tensor::EmptyOp::create(b, shape, f32), body);
  }

  /// y[1, out] = x[1, in] * W^T, W stored [out, in].
  Value linear(Value x, Value w, const Twine &name) {
    int64_t out = cast<RankedTensorType>(w.getType()).getDimSize(0);
    MLIRContext *ctx = b.getContext();
    AffineExpr m, n, k;
    bindDims(ctx, m, n, k);
    auto maps = b.getAffineMapArrayAttr({AffineMap::get(3, 0, {m, k}, ctx),
                                         AffineMap::get(3, 0, {n, k}, ctx),
                                         AffineMap::get(3, 0, {m, n}, ctx)});
    Value init = filled({1, out}, 0.0f);
    auto op = linalg::MatmulOp::create(
        b, named(name), TypeRange{tensor({1, out})}, ValueRange{x, w},
        ValueRange{init},
        ArrayRef<NamedAttribute>{b.getNamedAttr("indexing_maps", maps)});
    return op.getResult(0);
  }

  /// RMSNorm as in llama2.c: w * (x / sqrt(mean(x^2) + eps)).
  Value rmsnorm(Value x, Value w, int64_t size) {
    MLIRContext *ctx = b.getContext();
    AffineExpr i, j;
    bindDims(ctx, i, j);
    Value ss = generic({1}, ValueRange{x}, {AffineMap::get(2, 0, {i, j}, ctx)},
                       {IteratorType::parallel, IteratorType::reduction},
                       AffineMap::get(2, 0, {i}, ctx), filled({1}, 0.0f),
                       [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                         return arith::AddFOp::create(
                             ib, a[1], arith::MulFOp::create(ib, a[0], a[0]));
                       });
    float invSize = 1.0f / static_cast<float>(size);
    float eps = c.normEps;
    return generic(
        {1, size}, ValueRange{x, ss, w},
        {AffineMap::get(2, 0, {i, j}, ctx), AffineMap::get(2, 0, {i}, ctx),
         AffineMap::get(2, 0, {j}, ctx)},
        {IteratorType::parallel, IteratorType::parallel},
        AffineMap::get(2, 0, {i, j}, ctx),
        tensor::EmptyOp::create(b, ArrayRef<int64_t>{1, size}, f32),
        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
          Value mean = arith::MulFOp::create(
              ib, a[1],
              arith::ConstantOp::create(ib, ib.getF32FloatAttr(invSize)));
          Value plus = arith::AddFOp::create(
              ib, mean, arith::ConstantOp::create(ib, ib.getF32FloatAttr(eps)));
          Value inv = arith::DivFOp::create(
              ib, arith::ConstantOp::create(ib, ib.getF32FloatAttr(1.0f)),
              math::SqrtOp::create(ib, plus));
          return arith::MulFOp::create(ib, a[2],
                                       arith::MulFOp::create(ib, inv, a[0]));
        });
  }

  /// Rotary embedding of x[1, n] at position `posF`, pairs (2i, 2i+1) within
  /// each head rotated by pos / theta^((2i mod headSize) / headSize).
  Value rope(Value x, int64_t n, Value posF) {
    int64_t headSize = c.headSize();
    float theta = c.ropeTheta;
    return map2d(
        {1, n}, ValueRange{},
        [&](ImplicitLocOpBuilder &ib, ValueRange) -> Value {
          Value j = linalg::IndexOp::create(ib, 1);
          Value two = arith::ConstantIndexOp::create(ib, 2);
          Value odd = arith::RemUIOp::create(ib, j, two);
          Value base = arith::SubIOp::create(ib, j, odd);
          Value zero = arith::ConstantIndexOp::create(ib, 0);
          Value x0 = tensor::ExtractOp::create(ib, x, ValueRange{zero, base});
          Value x1 = tensor::ExtractOp::create(
              ib, x,
              ValueRange{zero,
                         arith::AddIOp::create(
                             ib, base, arith::ConstantIndexOp::create(ib, 1))});
          Value headDim = arith::RemUIOp::create(
              ib, base, arith::ConstantIndexOp::create(ib, headSize));
          Value hd = arith::SIToFPOp::create(
              ib, ib.getF32Type(),
              arith::IndexCastOp::create(ib, ib.getI64Type(), headDim));
          Value exponent = arith::DivFOp::create(
              ib, hd,
              arith::ConstantOp::create(
                  ib, ib.getF32FloatAttr(static_cast<float>(headSize))));
          Value freq = arith::DivFOp::create(
              ib, arith::ConstantOp::create(ib, ib.getF32FloatAttr(1.0f)),
              math::PowFOp::create(
                  ib, arith::ConstantOp::create(ib, ib.getF32FloatAttr(theta)),
                  exponent));
          Value angle = arith::MulFOp::create(ib, posF, freq);
          Value cr = math::CosOp::create(ib, angle);
          Value ci = math::SinOp::create(ib, angle);
          Value even =
              arith::SubFOp::create(ib, arith::MulFOp::create(ib, x0, cr),
                                    arith::MulFOp::create(ib, x1, ci));
          Value oddV =
              arith::AddFOp::create(ib, arith::MulFOp::create(ib, x0, ci),
                                    arith::MulFOp::create(ib, x1, cr));
          Value isOdd =
              arith::CmpIOp::create(ib, arith::CmpIPredicate::ne, odd, zero);
          return arith::SelectOp::create(ib, isOdd, oddV, even);
        });
  }

  /// [1, n] -> [h, n / h] and back.
  Value toHeads(Value x, int64_t heads, int64_t size) {
    Value flat = tensor::CollapseShapeOp::create(
        b, x, ArrayRef<ReassociationIndices>{{0, 1}});
    return tensor::ExpandShapeOp::create(
        b, tensor({heads, size}), flat, ArrayRef<ReassociationIndices>{{0, 1}});
  }
  Value fromHeads(Value x, int64_t n) {
    Value flat = tensor::CollapseShapeOp::create(
        b, x, ArrayRef<ReassociationIndices>{{0, 1}});
    return tensor::ExpandShapeOp::create(
        b, tensor({1, n}), flat, ArrayRef<ReassociationIndices>{{0, 1}});
  }

  /// Multi-head attention of q[1, dim] over layer `layer` of the caches for
  /// positions 0..pos (later positions are masked out).
  Value attention(Value q, Value kCache, Value vCache, int64_t layer,
                  Value pos) {
    MLIRContext *ctx = b.getContext();
    int64_t heads = c.heads, kvHeads = c.kvHeads, hs = c.headSize(),
            seq = c.seqLen, kvd = c.kvDim(), group = heads / kvHeads;
    auto layerSlice = [&](Value cache) {
      Value slice = tensor::ExtractSliceOp::create(
          b, tensor({seq, kvd}), cache,
          ArrayRef<OpFoldResult>{b.getIndexAttr(layer), b.getIndexAttr(0),
                                 b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(seq),
                                 b.getIndexAttr(kvd)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                 b.getIndexAttr(1)});
      return tensor::ExpandShapeOp::create(
          b, tensor({seq, kvHeads, hs}), slice,
          ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    };
    Value keys = layerSlice(kCache), values = layerSlice(vCache);
    Value qh = toHeads(q, heads, hs);

    // scores[h, t] = sum_i q[h, i] * k[t, h / group, i]
    AffineExpr h, t, i;
    bindDims(ctx, h, t, i);
    Value dots =
        generic({heads, seq}, ValueRange{qh, keys},
                {AffineMap::get(3, 0, {h, i}, ctx),
                 AffineMap::get(3, 0, {t, h.floorDiv(group), i}, ctx)},
                {IteratorType::parallel, IteratorType::parallel,
                 IteratorType::reduction},
                AffineMap::get(3, 0, {h, t}, ctx), filled({heads, seq}, 0.0f),
                [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                  return arith::AddFOp::create(
                      ib, a[2], arith::MulFOp::create(ib, a[0], a[1]));
                });
    float sqrtHs = std::sqrt(static_cast<float>(hs));
    float negInf = -std::numeric_limits<float>::infinity();
    Value scores =
        map2d({heads, seq}, ValueRange{dots},
              [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                Value tIdx = linalg::IndexOp::create(ib, 1);
                Value visible = arith::CmpIOp::create(
                    ib, arith::CmpIPredicate::ule, tIdx, pos);
                Value scaled = arith::DivFOp::create(
                    ib, a[0],
                    arith::ConstantOp::create(ib, ib.getF32FloatAttr(sqrtHs)));
                return arith::SelectOp::create(
                    ib, visible, scaled,
                    arith::ConstantOp::create(ib, ib.getF32FloatAttr(negInf)));
              });

    // Softmax over t: exp(s - max) / sum.
    AffineExpr r, s;
    bindDims(ctx, r, s);
    AffineMap rowCol = AffineMap::get(2, 0, {r, s}, ctx),
              row = AffineMap::get(2, 0, {r}, ctx);
    SmallVector<IteratorType> reduceCols = {IteratorType::parallel,
                                            IteratorType::reduction};
    Value maxes = generic({heads}, ValueRange{scores}, {rowCol}, reduceCols,
                          row, filled({heads}, negInf),
                          [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                            return arith::MaximumFOp::create(ib, a[0], a[1]);
                          });
    Value exps = generic(
        {heads, seq}, ValueRange{scores, maxes}, {rowCol, row},
        {IteratorType::parallel, IteratorType::parallel}, rowCol,
        tensor::EmptyOp::create(b, ArrayRef<int64_t>{heads, seq}, f32),
        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
          return math::ExpOp::create(ib, arith::SubFOp::create(ib, a[0], a[1]));
        });
    Value sums = generic({heads}, ValueRange{exps}, {rowCol}, reduceCols, row,
                         filled({heads}, 0.0f),
                         [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                           return arith::AddFOp::create(ib, a[1], a[0]);
                         });
    Value probs =
        generic({heads, seq}, ValueRange{exps, sums}, {rowCol, row},
                {IteratorType::parallel, IteratorType::parallel}, rowCol,
                tensor::EmptyOp::create(b, ArrayRef<int64_t>{heads, seq}, f32),
                [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                  return arith::DivFOp::create(ib, a[0], a[1]);
                });

    // out[h, i] = sum_t p[h, t] * v[t, h / group, i]
    AffineExpr h2, i2, t2;
    bindDims(ctx, h2, i2, t2);
    Value out =
        generic({heads, hs}, ValueRange{probs, values},
                {AffineMap::get(3, 0, {h2, t2}, ctx),
                 AffineMap::get(3, 0, {t2, h2.floorDiv(group), i2}, ctx)},
                {IteratorType::parallel, IteratorType::parallel,
                 IteratorType::reduction},
                AffineMap::get(3, 0, {h2, i2}, ctx), filled({heads, hs}, 0.0f),
                [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                  return arith::AddFOp::create(
                      ib, a[2], arith::MulFOp::create(ib, a[0], a[1]));
                });
    return fromHeads(out, c.dim);
  }

  /// Writes row[1, kvDim] into cache[layer, pos, :].
  Value store(Value cache, Value row, int64_t layer, Value pos) {
    int64_t kvd = c.kvDim();
    Value row3 = tensor::ExpandShapeOp::create(
        b, tensor({1, 1, kvd}), row,
        ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    return tensor::InsertSliceOp::create(
        b, row3, cache,
        ArrayRef<OpFoldResult>{b.getIndexAttr(layer), pos, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(kvd)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1)});
  }

  Value add(Value x, Value y, int64_t n) {
    return map2d({1, n}, ValueRange{x, y},
                 [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                   return arith::AddFOp::create(ib, a[0], a[1]);
                 });
  }

  /// silu(a) * g, as llama2.c: a * (1 / (1 + exp(-a))) * g.
  Value swiglu(Value gate, Value up, int64_t n) {
    return map2d(
        {1, n}, ValueRange{gate, up},
        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
          Value one = arith::ConstantOp::create(ib, ib.getF32FloatAttr(1.0f));
          Value sig = arith::DivFOp::create(
              ib, one,
              arith::AddFOp::create(
                  ib, one,
                  math::ExpOp::create(ib, arith::NegFOp::create(ib, a[0]))));
          return arith::MulFOp::create(ib, arith::MulFOp::create(ib, a[0], sig),
                                       a[1]);
        });
  }

private:
  ImplicitLocOpBuilder &b;
  const TransformerConfig &c;
  Location file;
  Type f32;
};
} // namespace

OwningOpRef<ModuleOp> mlir::qnt::buildTransformer(MLIRContext *context,
                                                  const TransformerConfig &c,
                                                  const TransformerWeights &w,
                                                  StringRef sourceName) {
  context->loadDialect<arith::ArithDialect, func::FuncDialect,
                       linalg::LinalgDialect, math::MathDialect,
                       tensor::TensorDialect>();
  Location file = FileLineColLoc::get(context, sourceName, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(file);
  ImplicitLocOpBuilder b(file, context);
  b.setInsertionPointToEnd(module->getBody());

  Type f32 = b.getF32Type();
  int64_t d = c.dim, h = c.hiddenDim, kvd = c.kvDim();
  auto cacheType = RankedTensorType::get({c.layers, c.seqLen, kvd}, f32);
  auto logitsType = RankedTensorType::get({c.vocab}, f32);
  auto type =
      b.getFunctionType({b.getI32Type(), b.getI32Type(), cacheType, cacheType},
                        {logitsType, cacheType, cacheType});
  auto func = func::FuncOp::create(b, "forward", type);
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value token = entry->getArgument(0), posI32 = entry->getArgument(1);
  Value kCache = entry->getArgument(2), vCache = entry->getArgument(3);

  StepBuilder s(b, c, file);
  Value pos = arith::IndexCastOp::create(b, b.getIndexType(), posI32);
  Value posF = arith::SIToFPOp::create(b, f32, posI32);
  Value embedding = s.weight("token_embedding", w.tokenEmbedding, {c.vocab, d});
  Value classifier = w.classifier == w.tokenEmbedding
                         ? embedding
                         : s.weight("classifier", w.classifier, {c.vocab, d});
  Value x = tensor::ExtractSliceOp::create(
      b, RankedTensorType::get({1, d}, f32), embedding,
      ArrayRef<OpFoldResult>{
          OpFoldResult(arith::IndexCastOp::create(b, b.getIndexType(), token)
                           .getResult()),
          b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(d)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});

  for (int64_t l = 0; l < c.layers; ++l) {
    std::string p = "layers." + std::to_string(l) + ".";
    Value xb = s.rmsnorm(x, s.weight(p + "rms_att", w.rmsAttention[l], {d}), d);
    Value q = s.linear(xb, s.weight(p + "wq", w.wq[l], {d, d}), p + "wq");
    Value k = s.linear(xb, s.weight(p + "wk", w.wk[l], {kvd, d}), p + "wk");
    Value v = s.linear(xb, s.weight(p + "wv", w.wv[l], {kvd, d}), p + "wv");
    q = s.rope(q, d, posF);
    k = s.rope(k, kvd, posF);
    kCache = s.store(kCache, k, l, pos);
    vCache = s.store(vCache, v, l, pos);
    Value att = s.attention(q, kCache, vCache, l, pos);
    x = s.add(x, s.linear(att, s.weight(p + "wo", w.wo[l], {d, d}), p + "wo"),
              d);
    xb = s.rmsnorm(x, s.weight(p + "rms_ffn", w.rmsFfn[l], {d}), d);
    Value gate = s.linear(xb, s.weight(p + "w1", w.w1[l], {h, d}), p + "w1");
    Value up = s.linear(xb, s.weight(p + "w3", w.w3[l], {h, d}), p + "w3");
    Value down = s.linear(s.swiglu(gate, up, h),
                          s.weight(p + "w2", w.w2[l], {d, h}), p + "w2");
    x = s.add(x, down, d);
  }
  x = s.rmsnorm(x, s.weight("rms_final", w.rmsFinal, {d}), d);
  Value logits = s.linear(x, classifier, "classifier");
  logits = tensor::CollapseShapeOp::create(
      b, logits, ArrayRef<ReassociationIndices>{{0, 1}});
  func::ReturnOp::create(b, ValueRange{logits, kCache, vCache});
  return module;
}

void mlir::qnt::addGreedyDriver(ModuleOp module, const TransformerConfig &c,
                                int64_t steps, bool printLogits) {
  MLIRContext *context = module.getContext();
  context->loadDialect<scf::SCFDialect, vector::VectorDialect>();
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  assert(forward && "module has no @forward");
  // @main is the entry point now. A private @forward lets bufferization drop
  // the cache results at the call site as well as in the callee.
  forward.setPrivate();
  ImplicitLocOpBuilder b(NameLoc::get(StringAttr::get(context, "driver")),
                         context);
  b.setInsertionPointToEnd(module.getBody());
  auto main = func::FuncOp::create(b, "main", b.getFunctionType({}, {}));
  b.setInsertionPointToStart(main.addEntryBlock());

  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto cacheType = RankedTensorType::get({c.layers, c.seqLen, c.kvDim()}, f32);
  // Two separate fills: the caches must not share a buffer.
  auto zeros = [&] {
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    Value empty = tensor::EmptyOp::create(b, cacheType.getShape(), f32);
    return linalg::FillOp::create(b, zero, empty).getResult(0);
  };
  Value kCache = zeros(), vCache = zeros();
  Value tokens0 = tensor::EmptyOp::create(b, ArrayRef<int64_t>{steps}, i32);
  Value bos = arith::ConstantIntOp::create(b, i32, 1);
  Value c0 = arith::ConstantIndexOp::create(b, 0);
  Value c1 = arith::ConstantIndexOp::create(b, 1);
  Value cSteps = arith::ConstantIndexOp::create(b, steps);
  Value cVocab = arith::ConstantIndexOp::create(b, c.vocab);

  auto loop = scf::ForOp::create(
      b, c0, cSteps, c1, ValueRange{bos, kCache, vCache, tokens0},
      [&](OpBuilder &ob, Location loc, Value step, ValueRange args) {
        ImplicitLocOpBuilder ib(loc, ob);
        Value pos = arith::IndexCastOp::create(ib, i32, step);
        auto call = func::CallOp::create(
            ib, forward, ValueRange{args[0], pos, args[1], args[2]});
        Value logits = call.getResult(0);
        if (printLogits) {
          Value pad = arith::ConstantOp::create(ib, ib.getF32FloatAttr(0.0f));
          Value vec = vector::TransferReadOp::create(
              ib, VectorType::get({c.vocab}, f32), logits, ValueRange{c0}, pad,
              ArrayRef<bool>{true});
          vector::PrintOp::create(ib, vec);
        }
        // Argmax, first index on ties (as numpy and llama2.c).
        Value first = tensor::ExtractOp::create(ib, logits, ValueRange{c0});
        auto search = scf::ForOp::create(
            ib, c1, cVocab, c1, ValueRange{first, c0},
            [&](OpBuilder &sb, Location sl, Value i, ValueRange best) {
              ImplicitLocOpBuilder s(sl, sb);
              Value v = tensor::ExtractOp::create(s, logits, ValueRange{i});
              Value better = arith::CmpFOp::create(s, arith::CmpFPredicate::OGT,
                                                   v, best[0]);
              scf::YieldOp::create(
                  s,
                  ValueRange{arith::SelectOp::create(s, better, v, best[0]),
                             arith::SelectOp::create(s, better, i, best[1])});
            });
        Value next = arith::IndexCastOp::create(ib, i32, search.getResult(1));
        Value tokens =
            tensor::InsertOp::create(ib, next, args[3], ValueRange{step});
        scf::YieldOp::create(
            ib, ValueRange{next, call.getResult(1), call.getResult(2), tokens});
      });

  // The tokens on one line: "t0 t1 ... tN-1".
  Value tokens = loop.getResult(3);
  scf::ForOp::create(
      b, c0, cSteps, c1, ValueRange{},
      [&](OpBuilder &ob, Location loc, Value i, ValueRange) {
        ImplicitLocOpBuilder ib(loc, ob);
        Value notFirst =
            arith::CmpIOp::create(ib, arith::CmpIPredicate::ne, i, c0);
        scf::IfOp::create(ib, notFirst, [&](OpBuilder &tb, Location tl) {
          vector::PrintOp::create(tb, tl, " ");
          scf::YieldOp::create(tb, tl);
        });
        Value t = tensor::ExtractOp::create(ib, tokens, ValueRange{i});
        vector::PrintOp::create(ib, t, vector::PrintPunctuation::NoPunctuation);
        scf::YieldOp::create(ib);
      });
  vector::PrintOp::create(b, vector::PrintPunctuation::NewLine);
  func::ReturnOp::create(b);
}
