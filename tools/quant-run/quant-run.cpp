// quant-run: loads a model library made by quant-compile and decodes greedily.
//
// The library exports `_mlir_ciface_forward` (one decoding step) and
// `qnt_signature_forward`, the text of its bufferized signature, e.g.
//   (i32, i32, memref<5x512x32xf32>, memref<5x512x32xf32>) -> (memref<512xf32>)
// mlir::qnt::ModelLibrary (lib/Runner) checks that ABI and calls the step.
#include "qnt/Runner/ModelLibrary.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

static cl::opt<bool>
    timeSteps("time", cl::init(false),
              cl::desc("Print the median and minimum time of one step "
                       "(call of the step function) to stderr"),
              cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "quant-run: error: " << message << "\n";
  return 1;
}

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
  std::string error;
  std::unique_ptr<mlir::qnt::ModelLibrary> model =
      mlir::qnt::ModelLibrary::load(std::string(path), library, entry, error);
  if (!model)
    return fail(error);
  int64_t vocab = model->vocabulary();
  int64_t context = model->context();
  // Every prompt token is fed; each generated token but the last is fed too.
  int64_t total =
      static_cast<int64_t>(prompt.size()) + std::max(steps.getValue() - 1, 0);
  if (context && total > context)
    return fail("the prompt (" + llvm::Twine(prompt.size()) + " tokens) and " +
                llvm::Twine(steps.getValue()) + " steps need " +
                llvm::Twine(total) + " positions; the model has " +
                llvm::Twine(context));

  std::FILE *logits = nullptr;
  if (!logitsFile.empty() && !(logits = std::fopen(logitsFile.c_str(), "wb")))
    return fail("cannot write '" + logitsFile + "': " + std::strerror(errno));

  std::vector<int64_t> generated;
  std::vector<double> stepSeconds;
  int64_t token = prompt[0];
  for (int64_t pos = 0; pos < total; ++pos) {
    if (token >= vocab)
      return fail("token id " + llvm::Twine(token) +
                  " is outside the vocabulary of " + llvm::Twine(vocab));
    auto start = std::chrono::steady_clock::now();
    const float *row = model->step(token, pos, error);
    stepSeconds.push_back(std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - start)
                              .count());
    if (!row)
      return fail(error);
    if (logits)
      std::fwrite(row, sizeof(float), vocab, logits);
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (row[v] > row[best])
        best = v;
    if (pos + 1 < static_cast<int64_t>(prompt.size())) {
      token = prompt[pos + 1];
    } else if (steps > 0) {
      generated.push_back(best);
      token = best;
    }
  }
  if (logits)
    std::fclose(logits);
  if (timeSteps && !stepSeconds.empty()) {
    std::sort(stepSeconds.begin(), stepSeconds.end());
    llvm::errs() << llvm::formatv(
        "quant-run: {0} steps, median {1:F1} us, min {2:F1} us per step\n",
        stepSeconds.size(), 1e6 * stepSeconds[stepSeconds.size() / 2],
        1e6 * stepSeconds.front());
  }
  llvm::outs() << llvm::join(llvm::map_range(generated,
                                             [](int64_t t) {
                                               return std::to_string(t);
                                             }),
                             " ")
               << "\n";
  return 0;
}
