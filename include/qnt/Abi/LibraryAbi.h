// The ABI of a model library: the symbols quant-compile writes, the
// signature strings that describe them, and the limits quant-run checks
// (docs/COMPILING.md, "What quant-run checks"). The compiler (the header,
// the symbols: LibraryAbiWriter.h), the runner (lib/Runner), the
// calibration (quant-compile --calibrate) and the target calibration read it
// from here.
#ifndef QNT_ABI_LIBRARYABI_H
#define QNT_ABI_LIBRARYABI_H

#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::qnt {

/// `_mlir_ciface_NAME`: the C entry point of the public function NAME.
inline constexpr llvm::StringLiteral kEntrySymbolPrefix = "_mlir_ciface_";
/// `qnt_signature_NAME`: NAME's bufferized signature as a NUL-terminated
/// string, "(i32, i32, memref<22x2048x256xf32>, ..., memref<32000xf32>) ->
/// ()".
inline constexpr llvm::StringLiteral kSignatureSymbolPrefix =
    "qnt_signature_";
/// `void qnt_set_threads(int32_t)`: the threads of the following calls.
inline constexpr llvm::StringLiteral kSetThreadsSymbol = "qnt_set_threads";
/// `const int64_t qnt_context`: the positions of the KV cache, where its
/// shape does not show them (an i4 cache's [layers, kv heads, bytes]);
/// written from the module's `qnt.context` attribute, which
/// qnt-quantize-kv-cache sets.
inline constexpr llvm::StringLiteral kContextSymbol = "qnt_context";

/// The limits of the ABI.
inline constexpr size_t kMaxAbiRank = 8;
/// State buffers past the scalars of a step function.
inline constexpr size_t kMaxStateBuffers = 4;
inline constexpr int64_t kMaxStateBytes = int64_t(64) << 30;
inline constexpr int64_t kMaxContext = int64_t(1) << 20;
inline constexpr int64_t kMaxVocabulary = int64_t(1) << 24;

/// One argument or result of a signature string: a scalar (i32, i64, index)
/// or a memref of f32, f16, i32 or i8 with static (> 0) or dynamic (-1)
/// sizes.
struct AbiValue {
  bool isMemRef = false;
  std::string element;        // f32, i32, ...
  std::vector<int64_t> shape; // memrefs only
  /// Elements of a static memref, or -1 when the product does not fit in
  /// int64 or a dimension is dynamic.
  int64_t numElements() const;
};

/// Parses a signature string into its arguments and results; false when it
/// is not one (the grammar above).
bool parseSignature(llvm::StringRef text, std::vector<AbiValue> &args,
                    std::vector<AbiValue> &results);

/// Bytes of one element of a state buffer (an f32, f16 or i8 KV cache).
int64_t stateElementBytes(const AbiValue &value);

} // namespace mlir::qnt

#endif // QNT_ABI_LIBRARYABI_H
