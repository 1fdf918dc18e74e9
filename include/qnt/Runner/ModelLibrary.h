// Loading a model library built by quant-compile and calling its entry
// points through the library's ABI (docs/COMPILING.md). Shared by quant-run
// and quant-compile --calibrate. Plain C++ and dlopen, no MLIR.
#ifndef QNT_RUNNER_MODELLIBRARY_H
#define QNT_RUNNER_MODELLIBRARY_H

#include "qnt/Abi/LibraryAbi.h"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::qnt {

/// Gives the whole pages inside [data, data + bytes) of a private writable
/// mapping (a library's buffers) back to the kernel; they read as zeros
/// afterwards.
void releasePages(void *data, size_t bytes);

/// One value of an entry point's bufferized signature: a scalar (i32, i64,
/// index) or a memref of f32 or i32 (dimensions of -1 are dynamic).

/// A loaded library whose decoding step `ENTRY` has the ABI
///   _mlir_ciface_ENTRY(int32 token, int32 position, state..., logits)
/// described by the string `qnt_signature_ENTRY` as
///   (i32, i32, memref<...xf32>..., memref<VOCABxf32>) -> ()
/// The memref arguments between the scalars and the last one are state the
/// caller owns and the step updates in place (the KV cache, zero at the
/// start); the last one receives the logits row. The library may also have
///   _mlir_ciface_prefill(memref<?xi32> tokens, int32 position, state...,
///                        logits)
/// which feeds several tokens at once and writes the logits of the last.
///
/// load() refuses, with a message, a library that breaks the ABI or its
/// limits (docs/COMPILING.md, "What quant-run checks"): signature strings
/// NUL-terminated within their symbols, buffers of rank at most kMaxAbiRank,
/// state buffers of static shape whose sizes do not overflow and sum to at
/// most kMaxStateBytes, a context (the smallest second dimension of a state
/// buffer of rank >= 2) of 1 to kMaxContext positions, a logits row of at
/// most kMaxVocabulary entries, and a prefill taking exactly the state and
/// logits of the step function.
class ModelLibrary {
public:
  /// Loads the library at `path` (named `displayName` in messages) and checks
  /// the ABI of `entry` (and of `prefill`, if it exists). Returns null and
  /// sets `error` when it cannot.
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
  /// buffer of rank >= 2).
  int64_t context() const { return contextSize; }
  /// Bytes of the state buffers (the KV cache).
  int64_t stateBytes() const;
  /// Zeroes the state, for a new sequence at position 0.
  void resetState();
  /// Feeds `token` (in [0, vocabulary())) at `position` (below context());
  /// returns the logits row, valid until the next call, or null with
  /// `error` set when a --target=cuda library reports a CUDA failure.
  const float *step(int64_t token, int64_t position, std::string &error);
  /// Whether the library has the prefill entry point.
  bool hasPrefill() const { return prefillFunction != nullptr; }
  /// Feeds `tokens` at positions `position` .. (position + tokens.size()
  /// must not exceed context()) in one call; returns the logits row of the
  /// last one, as step() does. Needs hasPrefill().
  const float *prefill(const std::vector<int32_t> &tokens, int64_t position,
                       std::string &error);
  /// Sets the number of threads of a library compiled with OpenMP (no-op
  /// for single-threaded ones); returns whether the library is parallel.
  bool setThreads(int threads);
  /// Whether the library runs on a GPU (--target=cuda): its weights are
  /// read once, when they are copied to the device.
  bool onDevice() const { return cudaError != nullptr; }
  /// The address of the symbol `name` in the library, or null.
  void *symbol(const std::string &name) const;

  /// What moveWeightsToHugePages() did.
  struct MovedWeights {
    size_t pageBytes = 0; // whole 2 MiB pages in the weights' segment
    size_t bytes = 0;     // moved: pageBytes, or 0 when they did not fit
    size_t hugeBytes = 0; // of them, on 2 MiB pages (AnonHugePages)
    size_t availableBytes = 0; // MemAvailable, when they did not fit
    double seconds = 0;
  };
  /// Moves the weights of a CPU library (the 2 MiB-aligned interior of its
  /// largest read-only, non-executable segment) from the file mapping to
  /// anonymous memory advised for transparent huge pages, at the same
  /// addresses, read-only. Mapped from the file they sit on 2 MiB pages
  /// only where the kernel's page cache holds the file in 2 MiB folios,
  /// which depends on how it was last read: else every few rows of a
  /// weight cost a TLB miss, and a 1.1B int4 step took 1.45-1.9x as long.
  /// The copy is private to this process and costs a read of the weights;
  /// it is made only when they take at most half of the memory available
  /// (else a model larger than memory, which runs from the file mapping,
  /// would not run at all). Returns false with `error` set when a mapping
  /// call fails (the library is then unchanged, or the copy complete).
  bool moveWeightsToHugePages(MovedWeights &moved, std::string &error);

private:
  ModelLibrary() = default;
  const float *finishCall(std::string &error);
  void *handle = nullptr;
  void *stepFunction = nullptr;
  void *prefillFunction = nullptr;
  struct StateBuffer {
    void *data;    // mmap'd: pages are touched only where written
    int64_t bytes; // elements times their size (f32, f16 or i8 codes)
  };
  std::vector<StateBuffer> stateData;
  std::vector<std::vector<int64_t>> stateDescriptors;
  std::vector<float> logits;
  std::vector<int64_t> logitsDescriptor;
  const char *(*cudaError)() = nullptr; // qnt_cuda_error of CUDA libraries
  int64_t vocab = 0;
  int64_t contextSize = 0;
};

} // namespace mlir::qnt

#endif // QNT_RUNNER_MODELLIBRARY_H
