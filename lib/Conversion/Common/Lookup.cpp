// Decoding of fp8, fp4 (e2m1), NF4 and lut4 codes and of the fp4 formats'
// block scales to f32 in registers for the row_lut kernels, the element-wise
// tables (convert-qnt-to-vector) and the GPU kernels: NF4, lut4 and e2m1
// through their 16 values with qnt.lookup16 (a register-table lookup,
// lowered by convert-qnt-int-dot), fp8 (and E4M3 scales) by moving its bits
// into a half float's (x86 kernels) or a float's (portable), E8M0 scales by
// moving the byte into a float's exponent field.
#include "qnt/Conversion/Common.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/TypeUtilities.h"
#include "qnt/Support/ElementFormats.h"

using namespace mlir;
using namespace mlir::qnt;

Value qnt::splatI32(ImplicitLocOpBuilder &b, VectorType type, int32_t value) {
  return arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getI32IntegerAttr(value)));
}

Value qnt::splatF32(ImplicitLocOpBuilder &b, VectorType type, float value) {
  return arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getF32FloatAttr(value)));
}

namespace {

/// table[idx mod 16] per lane of an i32 vector, for a 16-entry table:
/// one qnt.lookup16, whose instructions (`isa`) convert-qnt-int-dot emits
/// after bufferization.
Value lookupTable16(ImplicitLocOpBuilder &b, Value idx, ArrayRef<float> table,
                    LookupIsa isa) {
  auto idxType = cast<VectorType>(idx.getType());
  return Lookup16Op::create(
      b, VectorType::get(idxType.getShape(), b.getF32Type()),
      LookupIsaAttr::get(b.getContext(), isa), idx,
      b.getDenseF32ArrayAttr(table));
}

/// fp8 codes (a vector of bytes) through IEEE half floats, for targets
/// with a hardware conversion (x86's vcvtph2ps): an E5M2 code is the upper
/// byte of the half of the same value; an E4M3FN code's magnitude moved to
/// bits 13..7 of a half (whose exponent bias, 15, is 8 more than E4M3's)
/// gives its value times 2^-8, subnormals included. The conversion is exact
/// and, unlike the float multiply of decodeMiniFloatBits, has no slow path for
/// subnormal inputs (a microcode assist per vector on Intel cores, 30x
/// slower kernels on codes drawn uniformly).
Value decodeFp8AsHalf(ImplicitLocOpBuilder &b, Value bytes, Format format,
                      bool scaled) {
  auto type = cast<VectorType>(bytes.getType());
  auto i16Type = VectorType::get(type.getShape(), b.getI16Type());
  auto f16Type = VectorType::get(type.getShape(), b.getF16Type());
  auto f32Type = VectorType::get(type.getShape(), b.getF32Type());
  auto splatI16 = [&](int16_t v) -> Value {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(i16Type, b.getI16IntegerAttr(v)));
  };
  // Sign-extended, so that the sign bit of the code lands on bit 15.
  Value words = arith::ExtSIOp::create(b, i16Type, bytes);
  if (format == Format::f8E5M2)
    return arith::ExtFOp::create(
        b, f32Type,
        arith::BitcastOp::create(
            b, f16Type, arith::ShLIOp::create(b, words, splatI16(8)))
            .getResult());
  // Bit 15 the sign, bits 13..7 the magnitude (bit 14 cleared).
  Value bits = arith::AndIOp::create(
      b, arith::ShLIOp::create(b, words, splatI16(7)),
      splatI16(int16_t(0xBF80)));
  Value f = arith::ExtFOp::create(
      b, f32Type, arith::BitcastOp::create(b, f16Type, bits).getResult());
  if (!scaled)
    return f;
  return arith::MulFOp::create(b, f, splatF32(b, f32Type, 256.0f));
}

} // namespace

namespace {
/// The fields of `format`'s codes (fp8, or e2m1): width, mantissa bits and
/// exponent bias.
struct MiniFloatFields {
  int codeBits, mantissaBits, bias;
  explicit MiniFloatFields(Format format) {
    bool e2m1 = format == Format::f4E2M1FN;
    codeBits = e2m1 ? 4 : 8;
    mantissaBits = e2m1 ? 1 : format == Format::f8E5M2 ? 2 : 3;
    bias = e2m1 ? 1 : format == Format::f8E5M2 ? 15 : 7;
  }
  /// The float bit that the magnitude's lowest bit moves to.
  int shift() const { return 23 - mantissaBits; }
};
} // namespace

Value qnt::miniFloatBitsAsFloat(ImplicitLocOpBuilder &b, Value code,
                                Format format, bool signExtended,
                                int64_t lowBit) {
  MiniFloatFields fields(format);
  int codeBits = fields.codeBits, shift = fields.shift();
  Type type = code.getType();
  auto vecType = dyn_cast<VectorType>(type);
  auto constI32 = [&](int64_t v) -> Value {
    if (vecType)
      return splatI32(b, vecType, v);
    return arith::ConstantIntOp::create(b, type, v);
  };
  // Bits 31..(shift + codeBits - 1) become copies of the sign bit, bits
  // (shift + codeBits - 2)..shift the magnitude.
  Value placed;
  if (signExtended) {
    placed = arith::ShLIOp::create(b, code, constI32(shift));
  } else {
    // The code to the top of the lane, then back by an arithmetic shift.
    Value top = code;
    if (int64_t up = 32 - codeBits - lowBit)
      top = arith::ShLIOp::create(b, code, constI32(up));
    placed =
        arith::ShRSIOp::create(b, top, constI32(32 - codeBits - shift));
  }
  uint32_t magnitude = (1u << (codeBits - 1)) - 1;
  Value bits = arith::AndIOp::create(
      b, placed, constI32(int64_t(0x80000000u | (magnitude << shift))));
  Type fType = vecType ? Type(VectorType::get(vecType.getShape(),
                                              b.getF32Type()))
                       : Type(b.getF32Type());
  return arith::BitcastOp::create(b, fType, bits);
}

Value qnt::decodeMiniFloatBits(ImplicitLocOpBuilder &b, Value code,
                               Format format, bool signExtended) {
  Value f = miniFloatBitsAsFloat(b, code, format, signExtended);
  float factor = std::ldexp(1.0f, 127 - MiniFloatFields(format).bias);
  auto vecType = dyn_cast<VectorType>(f.getType());
  Value c = vecType ? splatF32(b, vecType, factor)
                    : arith::ConstantOp::create(b, b.getF32FloatAttr(factor))
                          .getResult();
  return arith::MulFOp::create(b, f, c);
}

float qnt::unscaledLutFactor(Format format, LookupIsa isa) {
  // float_bits: the codes come 2^(127 - bias) times too small and x
  // lutXFactor times too large. Of the others only decodeFp8AsHalf's E4M3
  // values (2^-17 or more in magnitude, when not 0) leave out a factor:
  // decodeMiniFloatBits's would be float subnormals; E5M2 and table
  // lookups give the values themselves.
  if (isa == LookupIsa::float_bits)
    return std::ldexp(1.0f, 127 - MiniFloatFields(format).bias) /
           lutXFactor(isa);
  return format == Format::f8E4M3FN && isa != LookupIsa::generic ? 256.0f
                                                                 : 1.0f;
}

float qnt::lutXFactor(LookupIsa isa) {
  // 2^64: products of x and codes as small as float_bits's (2^-120 of
  // their values for E4M3, subnormal codes down to 2^-129) stay normal
  // floats, so kernels keep their precision under flush-to-zero; x stays
  // finite up to 2^63 in magnitude.
  return isa == LookupIsa::float_bits ? 0x1p64f : 1.0f;
}

/// decodeLutCodes of codes of `format` whose 16 values are `table` (empty
/// for fp8).
static Value decodeCodes(ImplicitLocOpBuilder &b, Value codes, Format format,
                         ArrayRef<float> table, LookupIsa isa, bool scaled) {
  Type elem = getElementTypeOrSelf(codes.getType());
  auto vecType = dyn_cast<VectorType>(codes.getType());
  Type i32 = vecType ? Type(VectorType::get(vecType.getShape(), b.getI32Type()))
                     : Type(b.getI32Type());
  if (table.empty() && vecType && elem.getIntOrFloatBitWidth() == 8 &&
      (isa == LookupIsa::avx2 || isa == LookupIsa::avx512))
    return decodeFp8AsHalf(b, codes, format, scaled);
  // Bytes of fp8 codes are sign-extended (vpmovsxbd), which puts the sign
  // where decodeMiniFloatBits wants it; table indices are zero-extended.
  bool signExtended = elem.getIntOrFloatBitWidth() == 8 && table.empty();
  if (elem.getIntOrFloatBitWidth() < 32)
    codes = signExtended ? arith::ExtSIOp::create(b, i32, codes).getResult()
                         : arith::ExtUIOp::create(b, i32, codes).getResult();
  else if (elem.getIntOrFloatBitWidth() > 32)
    codes = arith::TruncIOp::create(b, i32, codes);
  if (!table.empty()) {
    if (vecType)
      return lookupTable16(b, codes, table, isa);
    // One code: selects among scalar constants.
    return lookupBySelects(b, codes, table);
  }
  if (isa == LookupIsa::float_bits && !scaled)
    return miniFloatBitsAsFloat(b, codes, format, signExtended);
  return decodeMiniFloatBits(b, codes, format, signExtended);
}

Value qnt::decodeLutCodes(ImplicitLocOpBuilder &b, Value codes,
                          SchemeAttr scheme, LookupIsa isa, bool scaled) {
  return decodeCodes(b, codes, scheme.getFormat(), scheme.getCodeValues(),
                     isa, scaled);
}

Value qnt::decodeScale(ImplicitLocOpBuilder &b, Value stored,
                       SchemeAttr scheme, LookupIsa isa, bool scaled) {
  std::optional<ScaleFormat> format = getScaleFormat(scheme.getScaleType());
  if (!format || !fp4BlockFormat(*format))
    return toF32(b, stored);
  // E4M3: decoded as an fp8 code; on x86 through a half float, as the
  // kernels' fp8 codes: an E4M3 subnormal scale would otherwise be a float
  // subnormal times 2^120, a microcode assist on Intel cores (nvfp4 kernels
  // on uniformly drawn scale bytes ran 4x int4's time).
  auto vecType = dyn_cast<VectorType>(stored.getType());
  if (*format == ScaleFormat::F8E4M3) {
    if (isa == LookupIsa::generic || isa == LookupIsa::float_bits)
      return decodeCodes(b, stored, Format::f8E4M3FN, {}, LookupIsa::generic,
                         /*scaled=*/true);
    if (vecType)
      return decodeFp8AsHalf(b, stored, Format::f8E4M3FN, scaled);
    Value lane = vector::BroadcastOp::create(
        b, VectorType::get({1}, stored.getType()), stored);
    return vector::ExtractOp::create(
        b, decodeFp8AsHalf(b, lane, Format::f8E4M3FN, scaled),
        ArrayRef<int64_t>{0});
  }
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  if (vecType) {
    i32 = VectorType::get(vecType.getShape(), i32);
    f32 = VectorType::get(vecType.getShape(), f32);
  }
  auto constI32 = [&](int32_t v) -> Value {
    if (vecType)
      return splatI32(b, cast<VectorType>(i32), v);
    return arith::ConstantIntOp::create(b, i32, v);
  };
  Value byte = arith::ExtUIOp::create(b, i32, stored);
  // E8M0: the byte is a float's exponent field. Byte 0 (2^-127) is the
  // float subnormal 0x00400000; 255 (NaN) is never written.
  Value bits = arith::ShLIOp::create(b, byte, constI32(23));
  Value isZero =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, byte, constI32(0));
  bits = arith::SelectOp::create(b, isZero, constI32(0x00400000), bits);
  return arith::BitcastOp::create(b, f32, bits);
}

Value qnt::lookupBySelects(ImplicitLocOpBuilder &b, Value idx,
                           ArrayRef<float> table) {
  auto vecType = dyn_cast<VectorType>(idx.getType());
  // i8 indices look up i8 values (integers in the table), i32 ones f32.
  Type idxElem = getElementTypeOrSelf(idx.getType());
  bool bytes = idxElem.isInteger(8);
  Type elem = bytes ? Type(b.getI8Type()) : Type(b.getF32Type());
  Type valueType = vecType ? Type(VectorType::get(vecType.getShape(), elem))
                           : elem;
  auto constant = [&](Type type, Attribute value) -> Value {
    if (vecType)
      return arith::ConstantOp::create(
          b, DenseElementsAttr::get(cast<ShapedType>(type), value));
    return arith::ConstantOp::create(b, cast<TypedAttr>(value));
  };
  SmallVector<Value> level;
  for (float v : table)
    level.push_back(constant(valueType,
                             bytes ? Attribute(b.getI8IntegerAttr(int8_t(v)))
                                   : Attribute(b.getF32FloatAttr(v))));
  for (int64_t bit = 0; level.size() > 1; ++bit) {
    Value set = arith::CmpIOp::create(
        b, arith::CmpIPredicate::ne,
        arith::AndIOp::create(
            b, idx,
            constant(idx.getType(), b.getIntegerAttr(idxElem, 1 << bit))),
        constant(idx.getType(), b.getIntegerAttr(idxElem, 0)));
    SmallVector<Value> next;
    for (size_t i = 0; i < level.size(); i += 2)
      next.push_back(arith::SelectOp::create(b, set, level[i + 1], level[i]));
    level = next;
  }
  return level[0];
}
