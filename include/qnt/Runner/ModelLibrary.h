// Loading a model library built by quant-compile and calling its decoding
// step through the library's ABI (docs/COMPILING.md). Shared by quant-run
// and quant-compile --calibrate. Plain C++ and dlopen, no MLIR.
#ifndef QNT_RUNNER_MODELLIBRARY_H
#define QNT_RUNNER_MODELLIBRARY_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::qnt {

/// One value of a step function's bufferized signature: a scalar (i32, i64,
/// index) or a static memref of f32.
struct AbiValue {
  bool isMemRef = false;
  std::string element;        // f32, i32, ...
  std::vector<int64_t> shape; // memrefs only
  int64_t numElements() const;
};

/// A loaded library whose step function `ENTRY` has the decoding ABI:
/// `_mlir_ciface_ENTRY(results, token, position, state...)`, described by
/// the string `qnt_signature_ENTRY` as
/// `(i32, i32, memref<...xf32>...) -> (memref<VOCABxf32>, memref<...>...)`.
/// The two scalars are the token id and its position; every memref argument
/// is state the caller owns (the KV cache, zero at the start); the first
/// result is the logits row, further results (if any) are new values of the
/// state.
class ModelLibrary {
public:
  /// Loads the library at `path` (named `displayName` in messages) and checks
  /// the ABI of `entry`. Returns null and sets `error` when it cannot.
  static std::unique_ptr<ModelLibrary> load(const std::string &path,
                                            const std::string &displayName,
                                            const std::string &entry,
                                            std::string &error);
  ~ModelLibrary();
  ModelLibrary(const ModelLibrary &) = delete;
  ModelLibrary &operator=(const ModelLibrary &) = delete;

  /// Entries of a logits row.
  int64_t vocabulary() const { return vocab; }
  /// Positions the state holds (the smallest second dimension of a state
  /// buffer of rank >= 2), or 0 if the state sets no limit.
  int64_t context() const { return contextSize; }
  /// Zeroes the state, for a new sequence at position 0.
  void resetState();
  /// Feeds `token` (in [0, vocabulary())) at `position`; returns the logits
  /// row, valid until the next call, or null with `error` set when a
  /// --target=cuda library reports a CUDA failure.
  const float *step(int64_t token, int64_t position, std::string &error);
  /// The address of the symbol `name` in the library, or null.
  void *symbol(const std::string &name) const;

private:
  ModelLibrary() = default;
  void *handle = nullptr;
  void *function = nullptr;
  std::vector<AbiValue> results;
  std::vector<std::vector<float>> stateData;
  std::vector<std::vector<int64_t>> stateDescriptors;
  std::vector<int64_t> resultWords;
  std::vector<size_t> resultOffsets;
  float *lastLogits = nullptr; // allocation of the last logits row
  const char *(*cudaError)() = nullptr; // qnt_cuda_error of CUDA libraries
  int64_t vocab = 0;
  int64_t contextSize = 0;
};

} // namespace mlir::qnt

#endif // QNT_RUNNER_MODELLIBRARY_H
