// The signature strings of a model library (no MLIR: the runner reads them).
#include "qnt/Abi/LibraryAbi.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include <cstdint>

using namespace mlir::qnt;
using llvm::StringRef;

int64_t AbiValue::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d != 0 && n > INT64_MAX / d))
      return -1;
    n *= d;
  }
  return n;
}

/// Parses "i32", "index" or "memref<AxBxf32>" ("?" for a dynamic size).
static bool parseValue(StringRef text, AbiValue &v) {
  text = text.trim();
  if (!text.consume_front("memref<")) {
    v.element = text.str();
    return text == "i32" || text == "i64" || text == "index";
  }
  if (!text.consume_back(">"))
    return false;
  v.isMemRef = true;
  llvm::SmallVector<StringRef> parts;
  text.split(parts, 'x');
  v.element = parts.back().str();
  for (StringRef dim : llvm::ArrayRef<StringRef>(parts).drop_back()) {
    int64_t d;
    if (dim == "?")
      d = -1;
    else if (dim.getAsInteger(10, d) || d <= 0)
      return false;
    v.shape.push_back(d);
  }
  return v.element == "f32" || v.element == "i32" || v.element == "i8" ||
         v.element == "f16";
}

/// Parses "(value, value, ...)".
static bool parseList(StringRef text, std::vector<AbiValue> &out) {
  text = text.trim();
  if (!text.consume_front("(") || !text.consume_back(")"))
    return false;
  if (text.trim().empty())
    return true;
  llvm::SmallVector<StringRef> items;
  text.split(items, ',');
  for (StringRef item : items) {
    AbiValue v;
    if (!parseValue(item, v))
      return false;
    out.push_back(v);
  }
  return true;
}

bool mlir::qnt::parseSignature(StringRef text, std::vector<AbiValue> &args,
                               std::vector<AbiValue> &results) {
  auto [argText, resultText] = text.split("->");
  return text.contains("->") && parseList(argText, args) &&
         parseList(resultText, results);
}

int64_t mlir::qnt::stateElementBytes(const AbiValue &value) {
  return value.element == "i8" ? 1 : value.element == "f16" ? 2 : 4;
}
