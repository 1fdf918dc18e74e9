// Reader of GGUF files: header, metadata and tensor directory, checked
// against the file; llama.cpp's quantized blocks become qnt packed weights.
#include "qnt/Import/Gguf.h"
#include "qnt/Support/Packing.h"
#include "qnt/Support/Quantizer.h"
#include "llvm/Support/MathExtras.h"
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::qnt;

namespace {
std::string str(uint64_t v) { return std::to_string(v); }

// GGUF metadata value types.
enum : uint32_t {
  kU8 = 0, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray,
  kU64, kI64, kF64, kTypeCount
};
const char *const kValueTypeNames[] = {"u8",  "i8",  "u16",    "i16",
                                       "u32", "i32", "f32",    "bool",
                                       "string", "array", "u64", "i64",
                                       "f64"};
const uint8_t kValueSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

// GGML tensor types this reader knows the size of.
enum : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
  Q8_1 = 9, Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ4_NL = 20, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30,
  MXFP4 = 39
};
struct TypeInfo {
  uint32_t id;
  const char *name;
  int64_t blockSize;  // elements per block
  int64_t blockBytes; // bytes per block
};
constexpr TypeInfo kTypes[] = {
    {F32, "F32", 1, 4},        {F16, "F16", 1, 2},
    {Q4_0, "Q4_0", 32, 18},    {Q4_1, "Q4_1", 32, 20},
    {Q5_0, "Q5_0", 32, 22},    {Q5_1, "Q5_1", 32, 24},
    {Q8_0, "Q8_0", 32, 34},    {Q8_1, "Q8_1", 32, 36},
    {Q2_K, "Q2_K", 256, 84},   {Q3_K, "Q3_K", 256, 110},
    {Q4_K, "Q4_K", 256, 144},  {Q5_K, "Q5_K", 256, 176},
    {Q6_K, "Q6_K", 256, 210},  {Q8_K, "Q8_K", 256, 292},
    {I8, "I8", 1, 1},          {I16, "I16", 1, 2},
    {I32, "I32", 1, 4},        {I64, "I64", 1, 8},
    {F64, "F64", 1, 8},        {BF16, "BF16", 1, 2},
    {MXFP4, "MXFP4", 32, 17},  {IQ4_NL, "IQ4_NL", 32, 18},
};
const TypeInfo *typeInfo(uint32_t id) {
  for (const TypeInfo &t : kTypes)
    if (t.id == id)
      return &t;
  return nullptr;
}

/// Reads little-endian values from the file, never past its end.
class Cursor {
public:
  Cursor(llvm::StringRef file, std::string &error)
      : file(file), error(error) {}
  uint64_t offset() const { return pos; }
  uint64_t size() const { return file.size(); }

  /// True when `n` more bytes exist; else sets the error naming `what`.
  bool need(uint64_t n, const llvm::Twine &what) {
    if (n <= file.size() - pos)
      return true;
    error = ("truncated: " + what + " at byte " + llvm::Twine(pos) +
             " needs " + llvm::Twine(n) + " bytes; the file has " +
             llvm::Twine(file.size()))
                .str();
    return false;
  }
  template <typename T> bool read(T &v, const llvm::Twine &what) {
    if (!need(sizeof(T), what))
      return false;
    std::memcpy(&v, file.data() + pos, sizeof(T));
    pos += sizeof(T);
    return true;
  }
  bool bytes(uint64_t n, llvm::StringRef &out, const llvm::Twine &what) {
    if (!need(n, what))
      return false;
    out = file.substr(pos, n);
    pos += n;
    return true;
  }
  bool string(llvm::StringRef &out, const llvm::Twine &what) {
    uint64_t n;
    return read(n, what + " length") && bytes(n, out, what);
  }

private:
  llvm::StringRef file;
  uint64_t pos = 0;
  std::string &error;
};

/// Reads one metadata value of `type` (not an array inside an array).
bool readValue(Cursor &c, uint32_t type, GgufValue &v, const std::string &key,
               bool inArray, std::string &error) {
  v.type = type;
  if (type >= kTypeCount) {
    error = "metadata '" + key + "' has value type " + str(type) +
            ", which GGUF does not define";
    return false;
  }
  if (type == kString)
    return c.string(v.bytes, "metadata '" + key + "' string");
  if (type != kArray)
    return c.bytes(kValueSizes[type], v.bytes, "metadata '" + key + "'");
  if (inArray) {
    error = "metadata '" + key + "' is an array of arrays, which is not "
            "supported";
    return false;
  }
  if (!c.read(v.elementType, "metadata '" + key + "' array type") ||
      !c.read(v.count, "metadata '" + key + "' array length"))
    return false;
  if (v.elementType >= kTypeCount || v.elementType == kArray) {
    error = "metadata '" + key + "' is an array of value type " +
            str(v.elementType) + ", which is not supported";
    return false;
  }
  if (v.elementType == kString) {
    // Each string takes at least its 8-byte length, so the loop ends at the
    // end of the file however large the count claims to be.
    for (uint64_t i = 0; i < v.count; ++i) {
      llvm::StringRef s;
      if (!c.string(s, "metadata '" + key + "' element " + str(i)))
        return false;
    }
  } else {
    uint64_t size = kValueSizes[v.elementType];
    if (v.count > (c.size() - c.offset()) / size) {
      error = "metadata '" + key + "': an array of " + str(v.count) + " " +
              kValueTypeNames[v.elementType] +
              " runs past the end of the file";
      return false;
    }
    llvm::StringRef skipped;
    c.bytes(v.count * size, skipped, "");
  }
  return true;
}
} // namespace

std::string mlir::qnt::ggmlTypeName(uint32_t type) {
  if (const TypeInfo *t = typeInfo(type))
    return t->name;
  return "type " + str(type);
}

std::string mlir::qnt::parseGguf(llvm::StringRef file, GgufFile &out) {
  std::string error;
  Cursor c(file, error);
  llvm::StringRef magic;
  if (!c.bytes(4, magic, "magic"))
    return error;
  if (magic != "GGUF")
    return "not a GGUF file (the magic is not 'GGUF')";
  uint64_t tensorCount, kvCount;
  if (!c.read(out.version, "version"))
    return error;
  if (out.version != 2 && out.version != 3)
    return "GGUF version " + str(out.version) +
           " is not supported (versions 2 and 3 are; a big-endian file "
           "reads as a huge version)";
  if (!c.read(tensorCount, "tensor count") ||
      !c.read(kvCount, "metadata count"))
    return error;
  // Each metadata entry and tensor-directory entry takes at least 12 and 24
  // bytes, so counts the file cannot hold are refused before any loop.
  if (kvCount > (file.size() / 12))
    return "metadata count " + str(kvCount) + " cannot fit in the file (" +
           str(file.size()) + " bytes)";
  if (tensorCount > (file.size() / 24))
    return "tensor count " + str(tensorCount) + " cannot fit in the file (" +
           str(file.size()) + " bytes)";

  for (uint64_t i = 0; i < kvCount; ++i) {
    llvm::StringRef key;
    uint32_t type;
    if (!c.string(key, "metadata key " + str(i)))
      return error;
    if (key.size() > 65535)
      return "metadata key " + str(i) + " is " + str(key.size()) +
             " bytes long (at most 65535)";
    if (!c.read(type, "metadata '" + key + "' type"))
      return error;
    GgufValue v;
    if (!readValue(c, type, v, key.str(), /*inArray=*/false, error))
      return error;
    if (!out.metadata.try_emplace(key, v).second)
      return "metadata '" + key.str() + "' appears twice";
  }
  if (auto it = out.metadata.find("general.alignment");
      it != out.metadata.end()) {
    const GgufValue &v = it->second;
    if (v.type != kU32)
      return "metadata 'general.alignment' must be a u32";
    uint32_t a;
    std::memcpy(&a, v.bytes.data(), 4);
    if (a == 0 || !llvm::isPowerOf2_32(a) || a > 65536)
      return "metadata 'general.alignment' = " + str(a) +
             " is not a power of two from 1 to 65536";
    out.alignment = a;
  }

  struct Pending {
    std::string name;
    uint64_t offset, bytes;
  };
  std::vector<Pending> pending;
  for (uint64_t i = 0; i < tensorCount; ++i) {
    llvm::StringRef name;
    if (!c.string(name, "tensor " + str(i) + " name"))
      return error;
    if (name.size() > 256)
      return "tensor " + str(i) + " name is " + str(name.size()) +
             " bytes long (at most 256)";
    std::string where = "tensor '" + name.str() + "'";
    uint32_t rank;
    if (!c.read(rank, where + " rank"))
      return error;
    if (rank == 0 || rank > 4)
      return where + ": rank " + str(rank) + " is not 1 to 4";
    GgufTensor t;
    uint64_t elements = 1;
    for (uint32_t d = 0; d < rank; ++d) {
      uint64_t n;
      if (!c.read(n, where + " dimension"))
        return error;
      if (n == 0 || n > (uint64_t(1) << 40))
        return where + ": dimension " + str(d) + " = " + str(n) +
               " is not 1 to 2^40";
      if (elements > (uint64_t(1) << 50) / n)
        return where + ": " + str(elements) + " x " + str(n) +
               " elements is more than 2^50";
      elements *= n;
      t.dims.push_back(static_cast<int64_t>(n));
    }
    uint64_t offset;
    if (!c.read(t.type, where + " type") || !c.read(offset, where + " offset"))
      return error;
    const TypeInfo *info = typeInfo(t.type);
    if (!info)
      return where + " has GGML type " + str(t.type) +
             ", which this reader does not know";
    if (t.dims[0] % info->blockSize != 0)
      return where + ": its rows of " + str(t.dims[0]) + " " + info->name +
             " elements are not whole blocks of " + str(info->blockSize);
    if (offset % out.alignment != 0)
      return where + ": data offset " + str(offset) +
             " is not a multiple of the alignment " + str(out.alignment);
    uint64_t bytes = elements / info->blockSize * info->blockBytes;
    if (!out.tensors.try_emplace(name, t).second)
      return where + " appears twice";
    pending.push_back({name.str(), offset, bytes});
  }
  uint64_t dataStart = llvm::alignTo(c.offset(), out.alignment);
  if (dataStart > file.size())
    dataStart = file.size();
  uint64_t dataSize = file.size() - dataStart;
  for (const Pending &p : pending) {
    if (p.offset > dataSize || p.bytes > dataSize - p.offset)
      return "tensor '" + p.name + "': its " + str(p.bytes) +
             " bytes at data offset " + str(p.offset) +
             " run past the end of the file (the data section has " +
             str(dataSize) + " bytes)";
    out.tensors[p.name].bytes = file.substr(dataStart + p.offset, p.bytes);
  }
  return "";
}

namespace {
/// Metadata access with messages naming the key.
struct Metadata {
  const GgufFile &gguf;
  std::string &error;

  const GgufValue *find(llvm::StringRef key) const {
    auto it = gguf.metadata.find(key);
    return it == gguf.metadata.end() ? nullptr : &it->second;
  }
  std::optional<int64_t> integer(llvm::StringRef key,
                                 std::optional<int64_t> fallback) {
    if (!error.empty())
      return std::nullopt;
    const GgufValue *v = find(key);
    if (!v) {
      if (!fallback)
        error = "metadata '" + key.str() + "' is missing";
      return fallback;
    }
    int64_t r = 0;
    const char *p = v->bytes.data();
    switch (v->type) {
    case kU8: r = static_cast<uint8_t>(*p); break;
    case kI8: r = static_cast<int8_t>(*p); break;
    case kU16: { uint16_t x; std::memcpy(&x, p, 2); r = x; break; }
    case kI16: { int16_t x; std::memcpy(&x, p, 2); r = x; break; }
    case kU32: { uint32_t x; std::memcpy(&x, p, 4); r = x; break; }
    case kI32: { int32_t x; std::memcpy(&x, p, 4); r = x; break; }
    case kU64: {
      uint64_t x;
      std::memcpy(&x, p, 8);
      r = x > uint64_t(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(x);
      break;
    }
    case kI64: std::memcpy(&r, p, 8); break;
    default:
      error = "metadata '" + key.str() + "' is a " +
              kValueTypeNames[v->type] + ", not an integer";
      return std::nullopt;
    }
    return r;
  }
  std::optional<double> number(llvm::StringRef key,
                               std::optional<double> fallback) {
    if (!error.empty())
      return std::nullopt;
    const GgufValue *v = find(key);
    if (!v) {
      if (!fallback)
        error = "metadata '" + key.str() + "' is missing";
      return fallback;
    }
    if (v->type == kF32) {
      float f;
      std::memcpy(&f, v->bytes.data(), 4);
      return f;
    }
    if (v->type == kF64) {
      double d;
      std::memcpy(&d, v->bytes.data(), 8);
      return d;
    }
    error = "metadata '" + key.str() + "' is a " + kValueTypeNames[v->type] +
            ", not a float";
    return std::nullopt;
  }
  std::optional<llvm::StringRef> string(llvm::StringRef key) {
    if (!error.empty())
      return std::nullopt;
    const GgufValue *v = find(key);
    if (!v) {
      error = "metadata '" + key.str() + "' is missing";
      return std::nullopt;
    }
    if (v->type != kString) {
      error = "metadata '" + key.str() + "' is a " +
              kValueTypeNames[v->type] + ", not a string";
      return std::nullopt;
    }
    return v->bytes;
  }
};

float halfAt(const char *p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return floatFromHalfBits(bits);
}

/// How a quantized block type maps onto a packed qnt weight: codes of
/// `bits` bits, signed (value = scale * code) or unsigned with an offset
/// (value = scale * code + offset), one scale (and offset) of `scaleType`
/// per `group` elements.
struct PackedLayout {
  unsigned bits;
  bool isSigned;
  int64_t group;
  ElementKind scaleType;
  bool e2m1 = false; // fp4 E2M1 codes (MXFP4), not integers
  /// The codes index these 16 values (IQ4_NL), not integers: lut4.
  const float *codebook = nullptr;
};

/// ggml's kvalues_iq4nl: the 16 values IQ4_NL's codes index (a non-uniform
/// table with more values near 0, and no 0 itself).
const float kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                1,    13,   25,  38,  53,  69,  89,  113};
std::optional<PackedLayout> packedLayout(uint32_t type) {
  switch (type) {
  case Q8_0:
    return PackedLayout{8, true, 32, ElementKind::f16};
  case Q4_0:
    return PackedLayout{4, true, 32, ElementKind::f16};
  case Q5_0:
    return PackedLayout{5, true, 32, ElementKind::f16};
  case Q4_1:
    return PackedLayout{4, false, 32, ElementKind::f16};
  case Q5_1:
    return PackedLayout{5, false, 32, ElementKind::f16};
  // The K-quants' two-level scales: d (f16) times a 6- or 8-bit sub-block
  // scale (and dmin times a 6-bit sub-block min) has at most 11 + 8
  // significant bits, so one f32 per sub-block holds it exactly.
  case Q4_K:
    return PackedLayout{4, false, 32, ElementKind::f32};
  case Q5_K:
    return PackedLayout{5, false, 32, ElementKind::f32};
  case Q6_K:
    return PackedLayout{6, true, 16, ElementKind::f32};
  // OCP MX's mxfp4: e2m1 codes with an E8M0 scale per 32, as qnt's mxfp4.
  case MXFP4:
    return PackedLayout{4, false, 32, ElementKind::e8m0, /*e2m1=*/true};
  // IQ4_NL: an f16 scale per 32 codes that index kIq4nlValues: qnt's lut4
  // with that table as its codebook, exactly (value = d * table[code]).
  case IQ4_NL:
    return PackedLayout{4, false, 32, ElementKind::f16, false, kIq4nlValues};
  default:
    return std::nullopt;
  }
}

/// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K block (ggml's
/// get_scale_min_k4).
void scaleMinK4(int j, const uint8_t *q, uint8_t &d, uint8_t &m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

void putFloat(char *p, float v) { std::memcpy(p, &v, 4); }

/// Decodes one block of `type` at `block` into its codes (signed, or
/// unsigned stored in int8) and the raw bytes of its scales and offsets (in
/// the layout's type).
void decodeBlock(uint32_t type, const char *block, int8_t *codes,
                 char *scales, char *offsets) {
  const auto *u = reinterpret_cast<const uint8_t *>(block);
  switch (type) {
  case Q4_1: // d, m, qs[16]: x[j] = lo * d + m, x[j + 16] = hi * d + m
    std::memcpy(scales, block, 2);
    std::memcpy(offsets, block + 2, 2);
    for (int j = 0; j < 16; ++j) {
      codes[j] = static_cast<int8_t>(u[4 + j] & 0xF);
      codes[j + 16] = static_cast<int8_t>(u[4 + j] >> 4);
    }
    return;
  case Q5_1: { // d, m, qh (u32), qs[16]
    std::memcpy(scales, block, 2);
    std::memcpy(offsets, block + 2, 2);
    uint32_t qh;
    std::memcpy(&qh, block + 4, 4);
    for (int j = 0; j < 16; ++j) {
      codes[j] =
          static_cast<int8_t>((u[8 + j] & 0xF) | (((qh >> j) << 4) & 0x10));
      codes[j + 16] =
          static_cast<int8_t>((u[8 + j] >> 4) | ((qh >> (j + 12)) & 0x10));
    }
    return;
  }
  case Q4_K:   // d, dmin, scales[12], qs[128]
  case Q5_K: { // d, dmin, scales[12], qh[32], qs[128]
    float d = halfAt(block), dmin = halfAt(block + 2);
    const uint8_t *sc = u + 4;
    const uint8_t *qh = type == Q5_K ? u + 16 : nullptr;
    const uint8_t *q = u + (type == Q5_K ? 48 : 16);
    for (int j = 0; j < 4; ++j) { // 64 elements: two sub-blocks of 32
      for (int half = 0; half < 2; ++half) {
        int sub = 2 * j + half;
        uint8_t s, m;
        scaleMinK4(sub, sc, s, m);
        putFloat(scales + 4 * sub, d * s);
        putFloat(offsets + 4 * sub, -(dmin * m));
        for (int l = 0; l < 32; ++l) {
          int code = half ? q[l] >> 4 : q[l] & 0xF;
          if (qh && (qh[l] & (1u << sub)))
            code += 16;
          codes[32 * sub + l] = static_cast<int8_t>(code);
        }
      }
      q += 32;
    }
    return;
  }
  case Q8_0: // d, qs[32]
    std::memcpy(scales, block, 2);
    std::memcpy(codes, block + 2, 32);
    return;
  // e (E8M0), qs[16]: element j is the low nibble of qs[j], j + 16 the
  // high one; ggml's kvalues_mxfp4 are twice the e2m1 values and its scale
  // half of 2^(e - 127), so x = e2m1(code) * 2^(e - 127), the codes being
  // e2m1 bit patterns.
  case MXFP4:
    scales[0] = block[0];
    for (int j = 0; j < 16; ++j) {
      codes[j] = static_cast<int8_t>(u[1 + j] & 0xF);
      codes[j + 16] = static_cast<int8_t>(u[1 + j] >> 4);
    }
    return;
  case IQ4_NL: // d, qs[16]: x[j] = d * table[lo(qs[j])], x[j + 16] the high
    std::memcpy(scales, block, 2);
    for (int j = 0; j < 16; ++j) {
      codes[j] = static_cast<int8_t>(u[2 + j] & 0xF);
      codes[j + 16] = static_cast<int8_t>(u[2 + j] >> 4);
    }
    return;
  case Q4_0: // d, qs[16]: x[j] = lo(qs[j]) - 8, x[j + 16] = hi(qs[j]) - 8
    std::memcpy(scales, block, 2);
    for (int j = 0; j < 16; ++j) {
      codes[j] = static_cast<int8_t>((u[2 + j] & 0xF) - 8);
      codes[j + 16] = static_cast<int8_t>((u[2 + j] >> 4) - 8);
    }
    return;
  case Q5_0: { // d, qh (u32), qs[16]
    std::memcpy(scales, block, 2);
    uint32_t qh;
    std::memcpy(&qh, block + 2, 4);
    for (int j = 0; j < 16; ++j) {
      int lo = (u[6 + j] & 0xF) | (((qh >> j) << 4) & 0x10);
      int hi = (u[6 + j] >> 4) | ((qh >> (j + 12)) & 0x10);
      codes[j] = static_cast<int8_t>(lo - 16);
      codes[j + 16] = static_cast<int8_t>(hi - 16);
    }
    return;
  }
  case Q6_K: { // ql[128], qh[64], scales[16] (i8), d
    const uint8_t *ql = u, *qh = u + 128;
    const auto *sc = reinterpret_cast<const int8_t *>(block + 192);
    float d = halfAt(block + 208);
    for (int g = 0; g < 16; ++g) {
      float s = d * sc[g];
      std::memcpy(scales + 4 * g, &s, 4);
    }
    for (int n = 0; n < 2; ++n) {
      for (int l = 0; l < 32; ++l) {
        int8_t *y = codes + 128 * n;
        y[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        y[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        y[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        y[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
      ql += 64;
      qh += 32;
    }
    return;
  }
  default:
    return;
  }
}

} // namespace

std::string mlir::qnt::readGgufModel(const GgufFile &gguf,
                                     CheckpointData &data,
                                     TransformerConfig &c,
                                     TransformerWeights &w) {
  std::string error;
  Metadata md{gguf, error};
  std::optional<llvm::StringRef> archName = md.string("general.architecture");
  if (!archName)
    return error;
  std::string arch = archName->str();
  if (arch != "llama" && arch != "qwen2")
    return "architecture '" + arch +
           "' is not supported; supported: llama, qwen2";
  auto key = [&](const char *suffix) { return arch + "." + suffix; };
  auto field = [&](const char *suffix, std::optional<int64_t> fallback,
                   int64_t limit, int64_t &out) {
    std::optional<int64_t> v = md.integer(key(suffix), fallback);
    if (!v)
      return;
    if (*v <= 0)
      error = "metadata '" + key(suffix) + "' = " + std::to_string(*v) +
              " must be positive";
    else if (*v > limit)
      error = "metadata '" + key(suffix) + "' = " + std::to_string(*v) +
              " is larger than " + std::to_string(limit);
    out = *v;
  };
  field("embedding_length", std::nullopt, 1 << 16, c.dim);
  field("feed_forward_length", std::nullopt, 1 << 18, c.hiddenDim);
  field("block_count", std::nullopt, 1 << 10, c.layers);
  field("attention.head_count", std::nullopt, 1 << 10, c.heads);
  field("attention.head_count_kv", c.heads ? c.heads : 1, 1 << 10, c.kvHeads);
  field("context_length", std::nullopt, int64_t(1) << 30, c.seqLen);
  if (!error.empty())
    return error;
  c.seqLen = std::min<int64_t>(c.seqLen, 1 << 20);
  if (c.heads % c.kvHeads != 0)
    return "metadata '" + key("attention.head_count_kv") + "' = " +
           std::to_string(c.kvHeads) + " does not divide '" +
           key("attention.head_count") + "' = " + std::to_string(c.heads);
  int64_t keyLength = 0, valueLength = 0, ropeDims = 0;
  bool explicitHead = md.find(key("attention.key_length")) != nullptr;
  if (!explicitHead && c.dim % c.heads != 0)
    return "metadata '" + key("attention.head_count") + "' = " +
           std::to_string(c.heads) + " does not divide '" +
           key("embedding_length") + "' = " + std::to_string(c.dim);
  int64_t defaultHead = c.dim % c.heads == 0 ? c.dim / c.heads : 1;
  field("attention.key_length", defaultHead, 1 << 12, keyLength);
  field("attention.value_length", keyLength ? keyLength : 1, 1 << 12,
        valueLength);
  if (!error.empty())
    return error;
  if (valueLength != keyLength)
    return "metadata '" + key("attention.value_length") + "' = " +
           std::to_string(valueLength) + " differs from '" +
           key("attention.key_length") + "' = " + std::to_string(keyLength);
  c.headDim = keyLength;
  if (c.headDim % 2 != 0)
    return "head size " + std::to_string(c.headDim) +
           " is odd; rotary embedding rotates pairs";
  if (c.qDim() > (1 << 18))
    return "head_count x key_length = " + std::to_string(c.qDim()) +
           " is larger than 262144";
  field("rope.dimension_count", c.headDim, 1 << 12, ropeDims);
  if (!error.empty())
    return error;
  if (ropeDims != c.headDim)
    return "metadata '" + key("rope.dimension_count") + "' = " +
           std::to_string(ropeDims) + " differs from the head size " +
           std::to_string(c.headDim) + " (partial rotary embedding is not "
                                        "supported)";
  std::optional<double> eps =
      md.number(key("attention.layer_norm_rms_epsilon"), std::nullopt);
  std::optional<double> theta = md.number(key("rope.freq_base"), 10000.0);
  if (!error.empty())
    return error;
  if (!(*eps > 0 && *eps < 1))
    return "metadata '" + key("attention.layer_norm_rms_epsilon") +
           "' must be in (0, 1)";
  if (!(*theta > 1 && *theta < 1e12))
    return "metadata '" + key("rope.freq_base") + "' must be in (1, 1e12)";
  c.normEps = static_cast<float>(*eps);
  c.ropeTheta = static_cast<float>(*theta);
  if (const GgufValue *scaling = md.find(key("rope.scaling.type"))) {
    std::optional<llvm::StringRef> type = md.string(key("rope.scaling.type"));
    if (!type)
      return error;
    if (*type != "none")
      return "metadata '" + key("rope.scaling.type") + "' = '" + type->str() +
             "' is not supported (only plain RoPE)";
    (void)scaling;
  }
  // llama.cpp's convert script permutes llama's q/k rows back to Meta's
  // interleaved pairs (LLAMA_ROPE_TYPE_NORM); qwen2 keeps Hugging Face's
  // rows and rotates halves (NEOX).
  c.rope = arch == "llama" ? RopeStyle::interleaved : RopeStyle::rotateHalf;

  // The vocabulary is the embedding's row count.
  auto embedding = gguf.tensors.find("token_embd.weight");
  if (embedding == gguf.tensors.end())
    return "tensor 'token_embd.weight' is missing";
  const GgufTensor &emb = embedding->second;
  if (emb.dims.size() != 2 || emb.dims[0] != c.dim) {
    std::string got;
    for (int64_t d : emb.dims)
      got += (got.empty() ? "" : ", ") + std::to_string(d);
    return "tensor 'token_embd.weight' has dimensions {" + got +
           "}, expected {" + std::to_string(c.dim) + ", vocab}";
  }
  c.vocab = emb.dims[1];
  if (c.vocab > (1 << 22))
    return "tensor 'token_embd.weight': vocabulary " +
           std::to_string(c.vocab) + " is larger than 4194304";
  if (const GgufValue *v = md.find(key("vocab_size"))) {
    (void)v;
    std::optional<int64_t> n = md.integer(key("vocab_size"), std::nullopt);
    if (!n)
      return error;
    if (*n != c.vocab)
      return "metadata '" + key("vocab_size") + "' = " + std::to_string(*n) +
             " differs from the " + std::to_string(c.vocab) +
             " rows of 'token_embd.weight'";
  }

  // Tensors: found, shaped as expected, of a type this reader maps.
  auto get = [&](const std::string &name,
                 llvm::ArrayRef<int64_t> shape) -> WeightTensor {
    if (!error.empty())
      return {};
    auto it = gguf.tensors.find(name);
    if (it == gguf.tensors.end()) {
      error = "tensor '" + name + "' is missing";
      return {};
    }
    const GgufTensor &t = it->second;
    // GGUF lists dimensions innermost first.
    llvm::SmallVector<int64_t, 4> expected(shape.rbegin(), shape.rend());
    if (llvm::ArrayRef<int64_t>(t.dims) != llvm::ArrayRef<int64_t>(expected)) {
      std::string got, want;
      for (int64_t d : t.dims)
        got += (got.empty() ? "" : ", ") + std::to_string(d);
      for (int64_t d : expected)
        want += (want.empty() ? "" : ", ") + std::to_string(d);
      error = "tensor '" + name + "' has dimensions {" + got +
              "}, expected {" + want + "}";
      return {};
    }
    switch (t.type) {
    case F32:
      return WeightTensor(t.bytes.data(), ElementKind::f32);
    case F16:
      return WeightTensor(t.bytes.data(), ElementKind::f16);
    case BF16:
      return WeightTensor(t.bytes.data(), ElementKind::bf16);
    default:
      break;
    }
    std::optional<PackedLayout> layout = packedLayout(t.type);
    if (!layout || shape.size() != 2) {
      error = "tensor '" + name + "' has type " + ggmlTypeName(t.type) +
              "; supported: F32, F16, BF16" +
              (shape.size() == 2
                   ? ", Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, "
                     "MXFP4, IQ4_NL"
                   : "");
      return {};
    }
    // The file's codes and scales, rearranged into qnt's packed layout.
    const TypeInfo *info = typeInfo(t.type);
    int64_t n = shape[0], k = shape[1], blocks = k / info->blockSize;
    int64_t groupsPerBlock = info->blockSize / layout->group;
    int64_t scaleBytes = elementBytes(layout->scaleType);
    size_t rowBytes = packedRowBytes(k, layout->bits);
    int64_t scaleCount = n * (k / layout->group);
    char *codes = data.allocate(n * rowBytes);
    char *scales = data.allocate(scaleCount * scaleBytes);
    // Unsigned integer codes carry the block's minimum; e2m1 and codebook
    // codes are signed values of their own.
    char *offsets = layout->isSigned || layout->e2m1 || layout->codebook
                        ? nullptr
                        : data.allocate(scaleCount * scaleBytes);
    std::vector<int8_t> row(k);
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t b = 0; b < blocks; ++b) {
        int64_t s = (r * blocks + b) * groupsPerBlock * scaleBytes;
        decodeBlock(t.type,
                    t.bytes.data() + (r * blocks + b) * info->blockBytes,
                    row.data() + b * info->blockSize, scales + s,
                    offsets ? offsets + s : nullptr);
      }
      auto *out = reinterpret_cast<uint8_t *>(codes + r * rowBytes);
      if (layout->isSigned)
        packSigned(row.data(), k, layout->bits, out);
      else
        packUnsigned(reinterpret_cast<const uint8_t *>(row.data()), k,
                     layout->bits, out);
    }
    WeightTensor packed(codes, layout->scaleType);
    packed.bits = layout->bits;
    packed.isSigned = layout->isSigned;
    packed.groupSize = layout->group;
    packed.scales = scales;
    packed.offsets = offsets;
    packed.e2m1 = layout->e2m1;
    packed.codebook = layout->codebook;
    return packed;
  };

  int64_t d = c.dim, h = c.hiddenDim, qd = c.qDim(), kvd = c.kvDim();
  WeightTensor tokens = get("token_embd.weight", {c.vocab, d});
  if (!error.empty())
    return error;
  // A packed table stays packed: the model reads it with qnt.gather_rows.
  w.tokenEmbedding = tokens;
  w.classifier = gguf.tensors.count("output.weight")
                     ? get("output.weight", {c.vocab, d})
                     : tokens;
  bool biases = arch == "qwen2";
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    w.rmsAttention.push_back(get(p + "attn_norm.weight", {d}));
    w.wq.push_back(get(p + "attn_q.weight", {qd, d}));
    w.wk.push_back(get(p + "attn_k.weight", {kvd, d}));
    w.wv.push_back(get(p + "attn_v.weight", {kvd, d}));
    if (biases) {
      w.bq.push_back(get(p + "attn_q.bias", {qd}));
      w.bk.push_back(get(p + "attn_k.bias", {kvd}));
      w.bv.push_back(get(p + "attn_v.bias", {kvd}));
    }
    w.wo.push_back(get(p + "attn_output.weight", {d, qd}));
    w.rmsFfn.push_back(get(p + "ffn_norm.weight", {d}));
    w.w1.push_back(get(p + "ffn_gate.weight", {h, d}));
    w.w2.push_back(get(p + "ffn_down.weight", {d, h}));
    w.w3.push_back(get(p + "ffn_up.weight", {h, d}));
  }
  w.rmsFinal = get("output_norm.weight", {d});
  return error;
}

std::string mlir::qnt::readGguf(llvm::StringRef path, CheckpointData &data,
                                TransformerConfig &config,
                                TransformerWeights &weights) {
  std::string error;
  llvm::MemoryBuffer *file = data.map(path, error);
  if (!file)
    return error;
  GgufFile gguf;
  if (std::string e = parseGguf(file->getBuffer(), gguf); !e.empty())
    return e;
  return readGgufModel(gguf, data, config, weights);
}
