// Builds the entry points of a Llama-style model (@prefill for T tokens,
// @forward for one) in func/scf/linalg/tensor/arith/math and qnt.attention,
// with weights as dense_resource blobs pointing at the caller's memory.
#include "qnt/Import/Transformer.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
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
#include "qnt/IR/QntDialect.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Transforms/Transforms.h"
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::qnt;

namespace {
using utils::IteratorType;
using BodyFn = function_ref<Value(ImplicitLocOpBuilder &, ValueRange)>;
constexpr int64_t kDyn = ShapedType::kDynamic;

/// The weight constants of the model, made once in @prefill's entry block.
/// Absent biases are null values.
struct Weights {
  Value embedding, classifier, rmsFinal;
  SmallVector<Value> rmsAttention, wq, wk, wv, wo, rmsFfn, w1, w2, w3;
  SmallVector<Value> bq, bk, bv;
};

/// Emits the ops of one pass over `rows` tokens; activations are
/// tensor<? x n x f32> with `rows` rows.
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

  Type elementType(ElementKind kind) {
    switch (kind) {
    case ElementKind::f16:
      return b.getF16Type();
    case ElementKind::bf16:
      return b.getBF16Type();
    case ElementKind::e8m0:
      return b.getType<Float8E8M0FNUType>();
    case ElementKind::f32:
      break;
    }
    return f32;
  }

  /// A resource attribute of `type` over caller-owned memory (no copy).
  static DenseResourceElementsAttr blob(const Twine &name, const void *data,
                                        RankedTensorType type) {
    int64_t width = (type.getElementTypeBitWidth() + 7) / 8;
    AsmResourceBlob blob = UnmanagedAsmResourceBlob::allocateWithAlign(
        ArrayRef<char>(static_cast<const char *>(data),
                       type.getNumElements() * width),
        width);
    return DenseResourceElementsAttr::get(type, name.str(), std::move(blob));
  }

  /// A weight as an f32 tensor of `shape` over caller-owned memory (no copy):
  /// an f32 constant; an f16/bf16 constant widened by arith.extf (folded once
  /// at compile time by qnt-fold-constant-casts, after the quantizer has read
  /// the narrow values); or, for codes quantized by the file's producer, a
  /// qnt.constant and its qnt.dequantize, which qnt-fuse-dequant-matmul
  /// turns into a qnt.matmul like any quantized weight.
  Value weight(const Twine &name, const WeightTensor &w,
               ArrayRef<int64_t> shape) {
    Location loc = named(name);
    if (!w.isPacked()) {
      Value c = arith::ConstantOp::create(
          b, loc,
          blob(name, w.data, RankedTensorType::get(shape, elementType(w.type))));
      if (w.type == ElementKind::f32)
        return c;
      return arith::ExtFOp::create(b, loc, tensor(shape), c);
    }
    return DequantizeOp::create(b, loc, tensor(shape),
                                packedWeight(name, w, shape));
  }

  /// The qnt.constant of a weight `w` quantized by the file's producer (GGUF
  /// blocks): what weight() dequantizes, and what the token embedding's
  /// qnt.gather_rows reads.
  Value packedWeight(const Twine &name, const WeightTensor &w,
                     ArrayRef<int64_t> shape) {
    Location loc = named(name);
    MLIRContext *ctx = b.getContext();
    int64_t groups = shape[1] / w.groupSize;
    Format format = w.codebook   ? Format::lut4
                    : w.e2m1     ? Format::f4E2M1FN
                    : w.isSigned ? Format::si
                                 : Format::ui;
    DenseF32ArrayAttr codebook;
    if (w.codebook)
      codebook = b.getDenseF32ArrayAttr(ArrayRef<float>(w.codebook, 16));
    auto scheme = SchemeAttr::get(
        ctx, format, w.bits, w.offsets ? Mode::offset : Mode::symmetric,
        Granularity::per_group, 1, w.groupSize, elementType(w.type),
        FloatAttr(), codebook);
    auto type = PackedType::get(ctx, shape, scheme);
    auto codes = blob(
        name + ".codes", w.data,
        RankedTensorType::get(type.getCodesShape(), b.getIntegerType(8)));
    auto scales = blob(
        name + ".scales", w.scales,
        RankedTensorType::get({shape[0], groups}, elementType(w.type)));
    ElementsAttr offsets;
    if (w.offsets)
      offsets = blob(
          name + ".offsets", w.offsets,
          RankedTensorType::get({shape[0], groups}, elementType(w.type)));
    return ConstantOp::create(b, loc, type, codes, scales, ElementsAttr(),
                              offsets);
  }

  Value f32Const(float v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }

  /// tensor<rows x n>, uninitialized or filled.
  Value empty(int64_t n) {
    return tensor::EmptyOp::create(b, ArrayRef<int64_t>{kDyn, n}, f32,
                                   ValueRange{rows});
  }
  Value filled(Value init, float value) {
    return linalg::FillOp::create(b, f32Const(value), init).getResult(0);
  }

  /// A linalg.generic with the given maps.
  Value generic(Type outType, ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                ArrayRef<IteratorType> iters, AffineMap outMap, Value init,
                BodyFn body) {
    SmallVector<AffineMap> maps(inputMaps);
    maps.push_back(outMap);
    auto op = linalg::GenericOp::create(
        b, TypeRange{outType}, inputs, ValueRange{init}, maps, iters,
        [&](OpBuilder &ob, Location loc, ValueRange args) {
          ImplicitLocOpBuilder ib(loc, ob);
          linalg::YieldOp::create(ib, body(ib, args));
        });
    return op.getResult(0);
  }

  /// Elementwise op over [rows, n] tensors.
  Value map2d(int64_t n, ValueRange inputs, BodyFn body) {
    AffineMap id = b.getMultiDimIdentityMap(2);
    SmallVector<AffineMap> maps(inputs.size(), id);
    return generic(tensor({kDyn, n}), inputs, maps,
                   {IteratorType::parallel, IteratorType::parallel}, id,
                   empty(n), body);
  }

  /// y[rows, out] = x[rows, in] * W^T, W stored [out, in].
  Value linear(Value x, Value w, const Twine &name) {
    int64_t out = cast<RankedTensorType>(w.getType()).getDimSize(0);
    MLIRContext *ctx = b.getContext();
    AffineExpr m, n, k;
    bindDims(ctx, m, n, k);
    auto maps = b.getAffineMapArrayAttr({AffineMap::get(3, 0, {m, k}, ctx),
                                         AffineMap::get(3, 0, {n, k}, ctx),
                                         AffineMap::get(3, 0, {m, n}, ctx)});
    Value init = filled(empty(out), 0.0f);
    auto op = linalg::MatmulOp::create(
        b, named(name), TypeRange{init.getType()}, ValueRange{x, w},
        ValueRange{init},
        ArrayRef<NamedAttribute>{b.getNamedAttr("indexing_maps", maps)});
    return op.getResult(0);
  }

  /// RMSNorm of every row as in llama2.c: w * (x / sqrt(mean(x^2) + eps)).
  Value rmsnorm(Value x, Value w, int64_t size) {
    MLIRContext *ctx = b.getContext();
    AffineExpr i, j;
    bindDims(ctx, i, j);
    Value sums = tensor::EmptyOp::create(b, ArrayRef<int64_t>{kDyn}, f32,
                                         ValueRange{rows});
    Value ss = generic(tensor({kDyn}), ValueRange{x},
                       {AffineMap::get(2, 0, {i, j}, ctx)},
                       {IteratorType::parallel, IteratorType::reduction},
                       AffineMap::get(2, 0, {i}, ctx), filled(sums, 0.0f),
                       [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                         return arith::AddFOp::create(
                             ib, a[1], arith::MulFOp::create(ib, a[0], a[0]));
                       });
    float invSize = 1.0f / static_cast<float>(size);
    float eps = c.normEps;
    return generic(
        tensor({kDyn, size}), ValueRange{x, ss, w},
        {AffineMap::get(2, 0, {i, j}, ctx), AffineMap::get(2, 0, {i}, ctx),
         AffineMap::get(2, 0, {j}, ctx)},
        {IteratorType::parallel, IteratorType::parallel},
        AffineMap::get(2, 0, {i, j}, ctx), empty(size),
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

  /// cos and sin of (pos0 + r) * freq[i] for every row r and pair i of a
  /// head, as [rows, headSize / 2] tensors: computed once per pass and shared
  /// by every layer and head. freq[i] = 1 / theta^(2i / headSize), in f32 as
  /// llama2.c computes it.
  std::pair<Value, Value> ropeTables(Value pos0) {
    int64_t half = c.headSize() / 2;
    SmallVector<float> freqs;
    for (int64_t i = 0; i < half; ++i)
      freqs.push_back(
          1.0f / std::pow(c.ropeTheta, static_cast<float>(2 * i) /
                                           static_cast<float>(c.headSize())));
    auto freqType = tensor({half});
    Value freq = arith::ConstantOp::create(
        b, DenseElementsAttr::get(freqType, ArrayRef<float>(freqs)));
    MLIRContext *ctx = b.getContext();
    AffineExpr r, i;
    bindDims(ctx, r, i);
    auto table = [&](bool cosine) {
      return generic(
          tensor({kDyn, half}), ValueRange{freq},
          {AffineMap::get(2, 0, {i}, ctx)},
          {IteratorType::parallel, IteratorType::parallel},
          AffineMap::get(2, 0, {r, i}, ctx), empty(half),
          [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
            Value row = linalg::IndexOp::create(ib, 0);
            Value pos = arith::SIToFPOp::create(
                ib, ib.getF32Type(),
                arith::IndexCastOp::create(
                    ib, ib.getI64Type(), arith::AddIOp::create(ib, pos0, row)));
            Value angle = arith::MulFOp::create(ib, pos, a[0]);
            return cosine ? math::CosOp::create(ib, angle).getResult()
                          : math::SinOp::create(ib, angle).getResult();
          });
    };
    return {table(true), table(false)};
  }

  /// Rotary embedding of x[rows, n] (rotate-half RoPE: useRotateHalfRope
  /// put interleaved checkpoints in this order): element i of each head's
  /// first half and element i of its second half are pair i, rotated by
  /// the angle of pair i (ropeTables). x is viewed as [rows, heads, 2, half];
  /// the loops run over (row, head, member m of the pair, i), and each
  /// member is read from its own slice of the view, through a map with a
  /// constant 0: a projected permutation, which the vectorizer takes, so
  /// the rotation reads and writes whole vectors of contiguous elements.
  Value rope(Value x, int64_t n, Value cos, Value sin) {
    int64_t hs = c.headSize(), half = hs / 2, heads = n / hs;
    MLIRContext *ctx = b.getContext();
    SmallVector<int64_t> shape{kDyn, heads, 2, half};
    auto pairs = tensor(shape);
    Value xp = tensor::ExpandShapeOp::create(
        b, pairs, x, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}},
        ArrayRef<OpFoldResult>{rows, b.getIndexAttr(heads),
                               b.getIndexAttr(2), b.getIndexAttr(half)});
    auto member = [&](int64_t m) {
      auto index = [&](int64_t v) { return b.getIndexAttr(v); };
      return tensor::ExtractSliceOp::create(
          b, tensor({kDyn, heads, 1, half}), xp,
          ArrayRef<OpFoldResult>{index(0), index(0), index(m), index(0)},
          ArrayRef<OpFoldResult>{rows, index(heads), index(1), index(half)},
          SmallVector<OpFoldResult>(4, index(1)));
    };
    AffineExpr r, h, m, i;
    bindDims(ctx, r, h, m, i);
    AffineMap memberMap =
        AffineMap::get(4, 0, {r, h, b.getAffineConstantExpr(0), i}, ctx);
    AffineMap angleMap = AffineMap::get(4, 0, {r, i}, ctx);
    Value init = tensor::EmptyOp::create(b, shape, f32, ValueRange{rows});
    Value out = generic(
        pairs, ValueRange{member(0), member(1), cos, sin},
        {memberMap, memberMap, angleMap, angleMap},
        SmallVector<IteratorType>(4, IteratorType::parallel),
        b.getMultiDimIdentityMap(4), init,
        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
          Value x0 = a[0], x1 = a[1], co = a[2], si = a[3];
          Value first =
              arith::SubFOp::create(ib, arith::MulFOp::create(ib, x0, co),
                                    arith::MulFOp::create(ib, x1, si));
          Value second =
              arith::AddFOp::create(ib, arith::MulFOp::create(ib, x0, si),
                                    arith::MulFOp::create(ib, x1, co));
          Value isSecond = arith::CmpIOp::create(
              ib, arith::CmpIPredicate::ne, linalg::IndexOp::create(ib, 2),
              arith::ConstantIndexOp::create(ib, 0));
          return arith::SelectOp::create(ib, isSecond, second, first);
        });
    return tensor::CollapseShapeOp::create(
        b, out, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
  }

  /// Multi-head attention of q[rows, qDim] (row r at position pos0 + r) over
  /// layer `layer` of the caches, which already hold these rows' keys and
  /// values.
  Value attention(Value q, Value kCache, Value vCache, int64_t layer,
                  Value pos0) {
    int64_t heads = c.heads, kvHeads = c.kvHeads, hs = c.headSize(),
            seq = c.seqLen, kvd = c.kvDim();
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
    auto headsType = tensor({kDyn, heads, hs});
    Value qh = tensor::ExpandShapeOp::create(
        b, headsType, q, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
        ArrayRef<OpFoldResult>{rows, b.getIndexAttr(heads),
                               b.getIndexAttr(hs)});
    float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    Value out = AttentionOp::create(b, headsType, qh, layerSlice(kCache),
                                    layerSlice(vCache), pos0,
                                    /*recent_keys=*/Value(),
                                    /*recent_values=*/Value(),
                                    b.getF32FloatAttr(scale),
                                    CacheFormatAttr::get(b.getContext(),
                                                         CacheFormat::f32),
                                    /*cache_block=*/IntegerAttr(),
                                    /*cache_window=*/IntegerAttr());
    return tensor::CollapseShapeOp::create(
        b, out, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  }

  /// Writes rows[rows, kvDim] into cache[layer, pos0 .. pos0 + rows, :].
  Value store(Value cache, Value values, int64_t layer, Value pos0) {
    return tensor::InsertSliceOp::create(
        b, values, cache,
        ArrayRef<OpFoldResult>{b.getIndexAttr(layer), pos0, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), rows,
                               b.getIndexAttr(c.kvDim())},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1)});
  }

  Value add(Value x, Value y, int64_t n) {
    return map2d(n, ValueRange{x, y},
                 [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                   return arith::AddFOp::create(ib, a[0], a[1]);
                 });
  }

  /// x[rows, n] + bias[n] on every row; x itself when there is no bias.
  Value addBias(Value x, Value bias, int64_t n) {
    if (!bias)
      return x;
    MLIRContext *ctx = b.getContext();
    AffineExpr r, j;
    bindDims(ctx, r, j);
    return generic(tensor({kDyn, n}), ValueRange{x, bias},
                   {AffineMap::get(2, 0, {r, j}, ctx),
                    AffineMap::get(2, 0, {j}, ctx)},
                   {IteratorType::parallel, IteratorType::parallel},
                   AffineMap::get(2, 0, {r, j}, ctx), empty(n),
                   [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                     return arith::AddFOp::create(ib, a[0], a[1]);
                   });
  }

  /// silu(a) * g, as llama2.c: a * (1 / (1 + exp(-a))) * g.
  Value swiglu(Value gate, Value up, int64_t n) {
    return map2d(
        n, ValueRange{gate, up},
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

  /// x[rows, dim]: the embedding rows of tokens[0 .. rows), each id clamped
  /// to the vocabulary. A packed table (GGUF blocks) is read with
  /// qnt.gather_rows, which decodes only the rows asked for: the library
  /// never holds the table in floats.
  Value embed(Value tokens, Value embedding) {
    if (isa<PackedType>(embedding.getType()))
      return GatherRowsOp::create(b, tensor({kDyn, c.dim}), embedding, tokens);
    return buildRowGather(b, b.getLoc(), embedding, tokens, rows);
  }

  Value rows; // rows of the current pass
private:
  ImplicitLocOpBuilder &b;
  const TransformerConfig &c;
  Location file;
  Type f32;
};

/// One pass of the model over `tokens` (rows of them) at positions
/// pos0 ..: the layers, the caches written; returns the hidden state
/// [rows, dim] after the last layer and the new caches.
std::tuple<Value, Value, Value> emitLayers(StepBuilder &s,
                                           const TransformerConfig &c,
                                           const Weights &w, Value tokens,
                                           Value pos0, Value kCache,
                                           Value vCache) {
  int64_t d = c.dim, h = c.hiddenDim, kvd = c.kvDim(), qd = c.qDim();
  auto [cos, sin] = s.ropeTables(pos0);
  Value x = s.embed(tokens, w.embedding);
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string p = "layers." + std::to_string(l) + ".";
    Value xb = s.rmsnorm(x, w.rmsAttention[l], d);
    Value q = s.addBias(s.linear(xb, w.wq[l], p + "wq"), w.bq[l], qd);
    Value k = s.addBias(s.linear(xb, w.wk[l], p + "wk"), w.bk[l], kvd);
    Value v = s.addBias(s.linear(xb, w.wv[l], p + "wv"), w.bv[l], kvd);
    q = s.rope(q, qd, cos, sin);
    k = s.rope(k, kvd, cos, sin);
    kCache = s.store(kCache, k, l, pos0);
    vCache = s.store(vCache, v, l, pos0);
    Value att = s.attention(q, kCache, vCache, l, pos0);
    x = s.add(x, s.linear(att, w.wo[l], p + "wo"), d);
    xb = s.rmsnorm(x, w.rmsFfn[l], d);
    Value gate = s.linear(xb, w.w1[l], p + "w1");
    Value up = s.linear(xb, w.w3[l], p + "w3");
    Value down = s.linear(s.swiglu(gate, up, h), w.w2[l], p + "w2");
    x = s.add(x, down, d);
  }
  return {x, kCache, vCache};
}
} // namespace

OwningOpRef<ModuleOp> mlir::qnt::buildTransformer(MLIRContext *context,
                                                  const TransformerConfig &c,
                                                  const TransformerWeights &tw,
                                                  StringRef sourceName) {
  assert(c.rope == RopeStyle::rotateHalf &&
         "interleaved RoPE: call useRotateHalfRope (readCheckpoint) first");
  context->loadDialect<affine::AffineDialect, arith::ArithDialect,
                       func::FuncDialect, linalg::LinalgDialect,
                       math::MathDialect, scf::SCFDialect,
                       tensor::TensorDialect, QntDialect>();
  Location file = FileLineColLoc::get(context, sourceName, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(file);
  ImplicitLocOpBuilder b(file, context);
  b.setInsertionPointToEnd(module->getBody());

  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  int64_t d = c.dim, h = c.hiddenDim, kvd = c.kvDim(), qd = c.qDim();
  auto cacheType = RankedTensorType::get({c.layers, c.seqLen, kvd}, f32);
  auto logitsType = RankedTensorType::get({c.vocab}, f32);
  auto tokensType = RankedTensorType::get({kDyn}, i32);
  auto prefill = func::FuncOp::create(
      b, "prefill",
      b.getFunctionType({tokensType, i32, cacheType, cacheType, logitsType},
                        {cacheType, cacheType, logitsType}));
  Block *entry = prefill.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value tokens = entry->getArgument(0), posI32 = entry->getArgument(1);
  Value kCache = entry->getArgument(2), vCache = entry->getArgument(3);
  Value logitsOut = entry->getArgument(4);

  StepBuilder s(b, c, file);
  Weights w;
  if (tw.tokenEmbedding.isPacked()) {
    // The gather reads the packed table; a tied classifier dequantizes the
    // same constant (qnt-fuse-dequant-matmul then fuses it).
    w.embedding =
        s.packedWeight("token_embedding", tw.tokenEmbedding, {c.vocab, d});
    w.classifier = tw.classifier == tw.tokenEmbedding
                       ? DequantizeOp::create(
                             b, RankedTensorType::get({c.vocab, d},
                                                      b.getF32Type()),
                             w.embedding)
                             .getResult()
                       : s.weight("classifier", tw.classifier, {c.vocab, d});
  } else {
    w.embedding = s.weight("token_embedding", tw.tokenEmbedding, {c.vocab, d});
    w.classifier = tw.classifier == tw.tokenEmbedding
                       ? w.embedding
                       : s.weight("classifier", tw.classifier, {c.vocab, d});
  }
  auto bias = [&](const std::vector<WeightTensor> &biases, int64_t l,
                  const std::string &name, int64_t n) -> Value {
    if (biases.empty() || !biases[l])
      return Value();
    return s.weight(name, biases[l], {n});
  };
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string p = "layers." + std::to_string(l) + ".";
    w.rmsAttention.push_back(s.weight(p + "rms_att", tw.rmsAttention[l], {d}));
    w.wq.push_back(s.weight(p + "wq", tw.wq[l], {qd, d}));
    w.wk.push_back(s.weight(p + "wk", tw.wk[l], {kvd, d}));
    w.wv.push_back(s.weight(p + "wv", tw.wv[l], {kvd, d}));
    w.bq.push_back(bias(tw.bq, l, p + "bq", qd));
    w.bk.push_back(bias(tw.bk, l, p + "bk", kvd));
    w.bv.push_back(bias(tw.bv, l, p + "bv", kvd));
    w.wo.push_back(s.weight(p + "wo", tw.wo[l], {d, qd}));
    w.rmsFfn.push_back(s.weight(p + "rms_ffn", tw.rmsFfn[l], {d}));
    w.w1.push_back(s.weight(p + "w1", tw.w1[l], {h, d}));
    w.w2.push_back(s.weight(p + "w2", tw.w2[l], {d, h}));
    w.w3.push_back(s.weight(p + "w3", tw.w3[l], {h, d}));
  }
  w.rmsFinal = s.weight("rms_final", tw.rmsFinal, {d});

  // The tokens that fit: positions pos .. min(pos + T, seqLen) - 1, with pos
  // clamped to [0, seqLen], so no call writes outside the caches.
  Value pos = arith::IndexCastOp::create(b, b.getIndexType(), posI32);
  pos = arith::MaxSIOp::create(b, pos, s.index(0));
  pos = arith::MinSIOp::create(b, pos, s.index(c.seqLen));
  Value count = arith::MinSIOp::create(
      b, tensor::DimOp::create(b, tokens, 0),
      arith::SubIOp::create(b, s.index(c.seqLen), pos));
  Value passes = arith::CeilDivSIOp::create(b, count, s.index(c.batch));

  // The loop carries the caches and the last row's hidden state (a buffer
  // made once and overwritten by each pass, so bufferization keeps it in
  // place).
  Value lastInit =
      s.filled(tensor::EmptyOp::create(b, ArrayRef<int64_t>{1, d}, f32), 0.0f);
  MLIRContext *ctx = context;
  AffineExpr p0, p1;
  bindDims(ctx, p0, p1);
  auto loop = scf::ForOp::create(
      b, s.index(0), passes, s.index(1),
      ValueRange{kCache, vCache, lastInit},
      [&](OpBuilder &ob, Location loc, Value pass, ValueRange carried) {
        ImplicitLocOpBuilder lb(loc, ob);
        lb.setLoc(file);
        StepBuilder ls(lb, c, file);
        Value first = arith::MulIOp::create(lb, pass, ls.index(c.batch));
        // rows = min(batch, count - first), as affine.min so that its
        // bound (batch) is visible to the buffer planner.
        ls.rows = affine::AffineMinOp::create(
            lb, AffineMap::get(2, 0, {lb.getAffineConstantExpr(c.batch), p1 - p0},
                               ctx),
            ValueRange{first, count});
        Value passTokens = tensor::ExtractSliceOp::create(
            lb, RankedTensorType::get({kDyn}, i32), tokens,
            ArrayRef<OpFoldResult>{first}, ArrayRef<OpFoldResult>{ls.rows},
            ArrayRef<OpFoldResult>{lb.getIndexAttr(1)});
        Value pos0 = arith::AddIOp::create(lb, pos, first);
        auto [x, kNew, vNew] = emitLayers(ls, c, w, passTokens, pos0,
                                          carried[0], carried[1]);
        Value lastRow = tensor::ExtractSliceOp::create(
            lb, RankedTensorType::get({1, d}, f32), x,
            ArrayRef<OpFoldResult>{
                arith::SubIOp::create(lb, ls.rows, ls.index(1)).getResult(),
                lb.getIndexAttr(0)},
            ArrayRef<OpFoldResult>{lb.getIndexAttr(1), lb.getIndexAttr(d)},
            ArrayRef<OpFoldResult>{lb.getIndexAttr(1), lb.getIndexAttr(1)});
        Value last =
            linalg::CopyOp::create(lb, lastRow, carried[2]).getResult(0);
        scf::YieldOp::create(lb, ValueRange{kNew, vNew, last});
      });

  // Logits of the last token, written into the caller's buffer.
  s.rows = s.index(1);
  Value x = s.rmsnorm(loop.getResult(2), w.rmsFinal, d);
  Value logits = s.linear(x, w.classifier, "classifier");
  logits = tensor::CastOp::create(b, RankedTensorType::get({1, c.vocab}, f32),
                                  logits);
  logits = tensor::CollapseShapeOp::create(
      b, logits, ArrayRef<ReassociationIndices>{{0, 1}});
  logits = linalg::CopyOp::create(b, logits, logitsOut).getResult(0);
  func::ReturnOp::create(
      b, ValueRange{loop.getResult(0), loop.getResult(1), logits});

  // @forward: one token.
  b.setInsertionPointToEnd(module->getBody());
  auto forward = func::FuncOp::create(
      b, "forward",
      b.getFunctionType({i32, i32, cacheType, cacheType, logitsType},
                        {cacheType, cacheType, logitsType}));
  Block *fentry = forward.addEntryBlock();
  b.setInsertionPointToStart(fentry);
  Value one = tensor::FromElementsOp::create(
      b, RankedTensorType::get({1}, i32), ValueRange{fentry->getArgument(0)});
  Value asTokens = tensor::CastOp::create(b, tokensType, one);
  auto call = func::CallOp::create(
      b, prefill,
      ValueRange{asTokens, fentry->getArgument(1), fentry->getArgument(2),
                 fentry->getArgument(3), fentry->getArgument(4)});
  func::ReturnOp::create(b, call.getResults());
  return module;
}

void mlir::qnt::addGreedyDriver(ModuleOp module, const TransformerConfig &c,
                                int64_t steps, bool printLogits) {
  MLIRContext *context = module.getContext();
  context->loadDialect<scf::SCFDialect, vector::VectorDialect>();
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  assert(forward && "module has no @forward");
  // @main is the entry point now. Private functions let bufferization drop
  // the in-place results at the call sites as well as in the callees.
  forward.setPrivate();
  if (auto prefill = module.lookupSymbol<func::FuncOp>("prefill"))
    prefill.setPrivate();
  ImplicitLocOpBuilder b(NameLoc::get(StringAttr::get(context, "driver")),
                         context);
  b.setInsertionPointToEnd(module.getBody());
  auto main = func::FuncOp::create(b, "main", b.getFunctionType({}, {}));
  b.setInsertionPointToStart(main.addEntryBlock());

  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto cacheType = RankedTensorType::get({c.layers, c.seqLen, c.kvDim()}, f32);
  // Separate fills: the buffers must not be shared.
  auto zeros = [&](ArrayRef<int64_t> shape) {
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    Value empty = tensor::EmptyOp::create(b, shape, f32);
    return linalg::FillOp::create(b, zero, empty).getResult(0);
  };
  Value kCache = zeros(cacheType.getShape()), vCache = zeros(cacheType.getShape());
  Value logits0 = zeros({c.vocab});
  Value tokens0 = tensor::EmptyOp::create(b, ArrayRef<int64_t>{steps}, i32);
  Value bos = arith::ConstantIntOp::create(b, i32, 1);
  Value c0 = arith::ConstantIndexOp::create(b, 0);
  Value c1 = arith::ConstantIndexOp::create(b, 1);
  Value cSteps = arith::ConstantIndexOp::create(b, steps);
  Value cVocab = arith::ConstantIndexOp::create(b, c.vocab);

  auto loop = scf::ForOp::create(
      b, c0, cSteps, c1, ValueRange{bos, kCache, vCache, logits0, tokens0},
      [&](OpBuilder &ob, Location loc, Value step, ValueRange args) {
        ImplicitLocOpBuilder ib(loc, ob);
        Value pos = arith::IndexCastOp::create(ib, i32, step);
        auto call = func::CallOp::create(
            ib, forward, ValueRange{args[0], pos, args[1], args[2], args[3]});
        Value logits = call.getResult(2);
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
            tensor::InsertOp::create(ib, next, args[4], ValueRange{step});
        scf::YieldOp::create(ib, ValueRange{next, call.getResult(0),
                                            call.getResult(1), logits, tokens});
      });

  // The tokens on one line: "t0 t1 ... tN-1".
  Value tokens = loop.getResult(4);
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
