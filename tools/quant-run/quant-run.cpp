// quant-run: loads a model library made by quant-compile and decodes greedily.
//
// The library exports `_mlir_ciface_forward` (one decoding step) and
// `qnt_signature_forward`, the text of its bufferized signature, e.g.
//   (i32, i32, memref<5x512x32xf32>, memref<5x512x32xf32>) -> (memref<512xf32>)
// The two scalars are the token id and its position; every memref argument is
// state the caller owns (the KV cache, zero at the start); the first result is
// the logits row, further results (if any) are new values of the state.
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <vector>

namespace cl = llvm::cl;

static cl::OptionCategory category("quant-run options");
static cl::opt<std::string> library(cl::Positional, cl::Required,
                                    cl::desc("<libmodel.so>"),
                                    cl::cat(category));
static cl::opt<std::string>
    tokens("tokens", cl::init("1"),
           cl::desc("Prompt token ids, separated by spaces (default: BOS, 1)"),
           cl::cat(category));
static cl::opt<int> steps("steps", cl::init(16),
                          cl::desc("Tokens to generate greedily"),
                          cl::cat(category));
static cl::opt<std::string>
    logitsFile("logits",
               cl::desc("Write one float32 row of logits per token fed to "
                        "the model (little-endian, row-major)"),
               cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> entry("entry", cl::init("forward"),
                                  cl::desc("Name of the step function"),
                                  cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "quant-run: error: " << message << "\n";
  return 1;
}

namespace {
/// One value of the step function's signature.
struct Value {
  bool isMemRef = false;
  std::string element;          // f32, i32, ...
  std::vector<int64_t> shape;   // memrefs only
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// Parses "i32", "index" or "memref<AxBxf32>".
static bool parseValue(llvm::StringRef text, Value &v) {
  text = text.trim();
  if (!text.consume_front("memref<")) {
    v.element = text.str();
    return text == "i32" || text == "i64" || text == "index";
  }
  if (!text.consume_back(">"))
    return false;
  v.isMemRef = true;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, 'x');
  v.element = parts.back().str();
  for (llvm::StringRef dim : llvm::ArrayRef(parts).drop_back()) {
    int64_t d;
    if (dim.getAsInteger(10, d) || d <= 0)
      return false;
    v.shape.push_back(d);
  }
  return v.element == "f32";
}

static bool parseList(llvm::StringRef text, std::vector<Value> &out) {
  text = text.trim();
  if (!text.consume_front("(") || !text.consume_back(")"))
    return false;
  if (text.trim().empty())
    return true;
  llvm::SmallVector<llvm::StringRef> items;
  text.split(items, ',');
  for (llvm::StringRef item : items) {
    Value v;
    if (!parseValue(item, v))
      return false;
    out.push_back(v);
  }
  return true;
}

/// A memref descriptor as the C interface lays it out: two pointers, the
/// offset, then sizes and strides, all 8 bytes.
struct Descriptor {
  std::vector<int64_t> words;
  explicit Descriptor(const Value &v, float *data = nullptr) {
    size_t rank = v.shape.size();
    words.assign(3 + 2 * rank, 0);
    std::memcpy(&words[0], &data, sizeof data);
    std::memcpy(&words[1], &data, sizeof data);
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      words[3 + i] = v.shape[i];
      words[3 + rank + i] = stride;
      stride *= v.shape[i];
    }
  }
};

static float *descriptorData(const int64_t *words, float **allocated) {
  float *aligned;
  std::memcpy(allocated, &words[0], sizeof *allocated);
  std::memcpy(&aligned, &words[1], sizeof aligned);
  return aligned + words[2];
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "quant-run: greedy decoding with a model library built by "
      "quant-compile\n\n  quant-run libmodel.so [--tokens \"1 42 ...\"] "
      "[--steps N] [--logits FILE]\n\nPrints the generated token ids on one "
      "line of stdout.\n");

  std::vector<int64_t> prompt;
  for (llvm::StringRef word : llvm::split(llvm::StringRef(tokens), ' ')) {
    if (word.trim().empty())
      continue;
    int64_t id;
    if (word.trim().getAsInteger(10, id) || id < 0)
      return fail("--tokens: '" + word + "' is not a token id");
    prompt.push_back(id);
  }
  if (prompt.empty())
    return fail("--tokens: the prompt needs at least one token");
  if (steps < 0)
    return fail("--steps=" + llvm::Twine(steps.getValue()) +
                " must be zero or positive");

  // dlopen searches the library path for names without a slash; a file
  // named on the command line is meant literally.
  llvm::SmallString<256> path(library);
  llvm::sys::fs::make_absolute(path);
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::string why = dlerror();
    // A --target=cuda library needs the NVIDIA driver's libcuda.so.1.
    if (llvm::StringRef(why).contains("libcuda.so.1"))
      return fail("no CUDA device: cannot load '" + library +
                  "': the NVIDIA driver (libcuda.so.1) is not installed (" +
                  why + ")");
    return fail("cannot load '" + library + "': " + why);
  }
  // A --target=cuda library reports CUDA failures (no device, a failed
  // launch) through qnt_cuda_init / qnt_cuda_error instead of aborting.
  using CudaStatus = const char *(*)();
  auto cudaInit = reinterpret_cast<CudaStatus>(dlsym(handle, "qnt_cuda_init"));
  auto cudaError =
      reinterpret_cast<CudaStatus>(dlsym(handle, "qnt_cuda_error"));
  if (cudaInit)
    if (const char *error = cudaInit())
      return fail(error);
  auto *signature = static_cast<const char *>(
      dlsym(handle, ("qnt_signature_" + entry).c_str()));
  void *function = dlsym(handle, ("_mlir_ciface_" + entry).c_str());
  if (!signature || !function)
    return fail("'" + library + "' has no '" + entry +
                "' step function compiled by quant-compile (looked for "
                "_mlir_ciface_" + entry + " and qnt_signature_" + entry + ")");

  // Check the ABI: (token, position, state...) -> (logits, state...).
  llvm::StringRef sig(signature);
  auto [argText, resultText] = sig.split("->");
  std::vector<Value> args, results;
  if (!parseList(argText, args) || !parseList(resultText, results))
    return fail("cannot parse the signature of '" + entry + "': " + sig);
  if (args.size() < 2 || args[0].isMemRef || args[1].isMemRef)
    return fail("'" + entry + "' must take (token, position, state...), not " +
                sig);
  std::vector<Value> state(args.begin() + 2, args.end());
  for (const Value &s : state)
    if (!s.isMemRef)
      return fail("'" + entry + "' has a scalar state argument: " + sig);
  if (results.empty() || !results[0].isMemRef || results[0].shape.size() != 1)
    return fail("'" + entry + "' must return the logits row first: " + sig);
  if (results.size() != 1 && results.size() != 1 + state.size())
    return fail("'" + entry + "' returns " + llvm::Twine(results.size()) +
                " values; expected the logits and optionally the new state: " +
                sig);
  if (state.size() > 4)
    return fail("'" + entry + "' has more than 4 state buffers: " + sig);
  int64_t vocab = results[0].shape[0];
  int64_t context = 0;
  for (const Value &s : state)
    if (s.shape.size() >= 2)
      context = context ? std::min(context, s.shape[1]) : s.shape[1];
  // Every prompt token is fed; each generated token but the last is fed too.
  int64_t total =
      static_cast<int64_t>(prompt.size()) + std::max(steps.getValue() - 1, 0);
  if (context && total > context)
    return fail("the prompt (" + llvm::Twine(prompt.size()) + " tokens) and " +
                llvm::Twine(steps.getValue()) + " steps need " +
                llvm::Twine(total) + " positions; the model has " +
                llvm::Twine(context));

  // State buffers the caller owns, zero at the start.
  std::vector<std::vector<float>> stateData;
  std::vector<Descriptor> stateDesc;
  for (const Value &s : state) {
    stateData.emplace_back(s.numElements(), 0.0f);
    stateDesc.emplace_back(s, stateData.back().data());
  }
  // Results: one descriptor, or a struct of descriptors laid out in order.
  std::vector<int64_t> resultWords;
  std::vector<size_t> resultOffsets;
  for (const Value &r : results) {
    resultOffsets.push_back(resultWords.size());
    resultWords.resize(resultWords.size() + 3 + 2 * r.shape.size(), 0);
  }

  std::FILE *logits = nullptr;
  if (!logitsFile.empty() && !(logits = std::fopen(logitsFile.c_str(), "wb")))
    return fail("cannot write '" + logitsFile + "': " + std::strerror(errno));

  using Step = void (*)(void *, int64_t, int64_t, void *, void *, void *,
                        void *);
  auto step = reinterpret_cast<Step>(function);
  void *statePtrs[4] = {nullptr, nullptr, nullptr, nullptr};
  for (size_t i = 0; i < stateDesc.size(); ++i)
    statePtrs[i] = stateDesc[i].words.data();

  std::vector<int64_t> generated;
  int64_t token = prompt[0];
  for (int64_t pos = 0; pos < total; ++pos) {
    if (token >= vocab)
      return fail("token id " + llvm::Twine(token) +
                  " is outside the vocabulary of " + llvm::Twine(vocab));
    // Extra arguments beyond the real arity sit in unused registers.
    step(resultWords.data(), token, pos, statePtrs[0], statePtrs[1],
         statePtrs[2], statePtrs[3]);
    if (cudaError)
      if (const char *error = cudaError())
        return fail(error);
    float *allocated;
    float *row = descriptorData(resultWords.data(), &allocated);
    if (logits)
      std::fwrite(row, sizeof(float), vocab, logits);
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (row[v] > row[best])
        best = v;
    std::free(allocated);
    // New state returned by value replaces the caller's buffers.
    for (size_t i = 1; i < results.size(); ++i) {
      float *newAllocated;
      float *data = descriptorData(resultWords.data() + resultOffsets[i],
                                   &newAllocated);
      if (data != stateData[i - 1].data()) {
        std::memcpy(stateData[i - 1].data(), data,
                    stateData[i - 1].size() * sizeof(float));
        std::free(newAllocated);
      }
    }
    if (pos + 1 < static_cast<int64_t>(prompt.size())) {
      token = prompt[pos + 1];
    } else if (steps > 0) {
      generated.push_back(best);
      token = best;
    }
  }
  if (logits)
    std::fclose(logits);
  llvm::outs() << llvm::join(llvm::map_range(generated,
                                             [](int64_t t) {
                                               return std::to_string(t);
                                             }),
                             " ")
               << "\n";
  return 0;
}
