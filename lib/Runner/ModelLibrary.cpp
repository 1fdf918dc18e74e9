// Loading a quant-compile model library and calling its decoding step.
#include "qnt/Runner/ModelLibrary.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

using namespace mlir::qnt;
using llvm::StringRef;
using llvm::Twine;

int64_t AbiValue::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Parses "i32", "index" or "memref<AxBxf32>".
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
    if (dim.getAsInteger(10, d) || d <= 0)
      return false;
    v.shape.push_back(d);
  }
  return v.element == "f32";
}

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

/// A memref descriptor as the C interface lays it out: two pointers, the
/// offset, then sizes and strides, all 8 bytes.
static std::vector<int64_t> descriptor(const AbiValue &v, float *data) {
  size_t rank = v.shape.size();
  std::vector<int64_t> words(3 + 2 * rank, 0);
  std::memcpy(&words[0], &data, sizeof data);
  std::memcpy(&words[1], &data, sizeof data);
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    words[3 + i] = v.shape[i];
    words[3 + rank + i] = stride;
    stride *= v.shape[i];
  }
  return words;
}

static float *descriptorData(const int64_t *words, float **allocated) {
  float *aligned;
  std::memcpy(allocated, &words[0], sizeof *allocated);
  std::memcpy(&aligned, &words[1], sizeof aligned);
  return aligned + words[2];
}

std::unique_ptr<ModelLibrary> ModelLibrary::load(const std::string &path,
                                                 const std::string &displayName,
                                                 const std::string &entry,
                                                 std::string &error) {
  std::unique_ptr<ModelLibrary> lib(new ModelLibrary());
  lib->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle) {
    std::string why = dlerror();
    // A --target=cuda library needs the NVIDIA driver's libcuda.so.1.
    if (StringRef(why).contains("libcuda.so.1"))
      error = "no CUDA device: cannot load '" + displayName +
              "': the NVIDIA driver (libcuda.so.1) is not installed (" + why +
              ")";
    else
      error = "cannot load '" + displayName + "': " + why;
    return nullptr;
  }
  // A --target=cuda library reports CUDA failures (no device, a failed
  // launch) through qnt_cuda_init / qnt_cuda_error instead of aborting.
  using CudaStatus = const char *(*)();
  lib->cudaError = reinterpret_cast<CudaStatus>(lib->symbol("qnt_cuda_error"));
  if (auto cudaInit =
          reinterpret_cast<CudaStatus>(lib->symbol("qnt_cuda_init")))
    if (const char *message = cudaInit()) {
      error = message;
      return nullptr;
    }
  auto *signature =
      static_cast<const char *>(lib->symbol("qnt_signature_" + entry));
  lib->function = lib->symbol("_mlir_ciface_" + entry);
  if (!signature || !lib->function) {
    error = "'" + displayName + "' has no '" + entry +
            "' step function compiled by quant-compile (looked for "
            "_mlir_ciface_" +
            entry + " and qnt_signature_" + entry + ")";
    return nullptr;
  }

  // Check the ABI: (token, position, state...) -> (logits, state...).
  StringRef sig(signature);
  auto [argText, resultText] = sig.split("->");
  std::vector<AbiValue> args;
  std::vector<AbiValue> &results = lib->results;
  auto fail = [&](const Twine &message) {
    error = message.str();
    return nullptr;
  };
  if (!parseList(argText, args) || !parseList(resultText, results))
    return fail("cannot parse the signature of '" + entry + "': " + sig);
  if (args.size() < 2 || args[0].isMemRef || args[1].isMemRef)
    return fail("'" + entry + "' must take (token, position, state...), not " +
                sig);
  std::vector<AbiValue> state(args.begin() + 2, args.end());
  for (const AbiValue &s : state)
    if (!s.isMemRef)
      return fail("'" + entry + "' has a scalar state argument: " + sig);
  if (results.empty() || !results[0].isMemRef || results[0].shape.size() != 1)
    return fail("'" + entry + "' must return the logits row first: " + sig);
  if (results.size() != 1 && results.size() != 1 + state.size())
    return fail(
        "'" + entry + "' returns " + Twine(results.size()) +
        " values; expected the logits and optionally the new state: " + sig);
  if (state.size() > 4)
    return fail("'" + entry + "' has more than 4 state buffers: " + sig);
  lib->vocab = results[0].shape[0];
  for (const AbiValue &s : state)
    if (s.shape.size() >= 2)
      lib->contextSize = lib->contextSize
                             ? std::min(lib->contextSize, s.shape[1])
                             : s.shape[1];

  // State buffers the caller owns, zero at the start.
  for (const AbiValue &s : state) {
    lib->stateData.emplace_back(s.numElements(), 0.0f);
    lib->stateDescriptors.push_back(
        descriptor(s, lib->stateData.back().data()));
  }
  // Results: one descriptor, or a struct of descriptors laid out in order.
  for (const AbiValue &r : results) {
    lib->resultOffsets.push_back(lib->resultWords.size());
    lib->resultWords.resize(lib->resultWords.size() + 3 + 2 * r.shape.size(),
                            0);
  }
  return lib;
}

ModelLibrary::~ModelLibrary() {
  std::free(lastLogits);
  // No dlclose: a library built with --parallel loaded libomp, whose worker
  // threads may still exist; unloading it under them is not safe. The
  // process keeps the mapping until it exits, as quant-run always did.
}

void *ModelLibrary::symbol(const std::string &name) const {
  return dlsym(handle, name.c_str());
}

void ModelLibrary::resetState() {
  for (std::vector<float> &s : stateData)
    std::fill(s.begin(), s.end(), 0.0f);
}

const float *ModelLibrary::step(int64_t token, int64_t position,
                                std::string &error) {
  std::free(lastLogits);
  lastLogits = nullptr;
  using Step =
      void (*)(void *, int64_t, int64_t, void *, void *, void *, void *);
  auto call = reinterpret_cast<Step>(function);
  void *statePtrs[4] = {nullptr, nullptr, nullptr, nullptr};
  for (size_t i = 0; i < stateDescriptors.size(); ++i)
    statePtrs[i] = stateDescriptors[i].data();
  // Extra arguments beyond the real arity sit in unused registers.
  call(resultWords.data(), token, position, statePtrs[0], statePtrs[1],
       statePtrs[2], statePtrs[3]);
  if (cudaError)
    if (const char *message = cudaError()) {
      error = message;
      return nullptr;
    }
  float *row = descriptorData(resultWords.data(), &lastLogits);
  // New state returned by value replaces the caller's buffers.
  for (size_t i = 1; i < results.size(); ++i) {
    float *newAllocated;
    float *data =
        descriptorData(resultWords.data() + resultOffsets[i], &newAllocated);
    if (data != stateData[i - 1].data()) {
      std::memcpy(stateData[i - 1].data(), data,
                  stateData[i - 1].size() * sizeof(float));
      std::free(newAllocated);
    }
  }
  return row;
}
