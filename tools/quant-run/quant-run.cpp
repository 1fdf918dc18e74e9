// quant-run: loads a model library made by quant-compile and decodes greedily.
//
// The library exports `_mlir_ciface_forward` (one decoding step),
// `_mlir_ciface_prefill` (a prompt in one call) and their signatures as
// `qnt_signature_NAME`, e.g.
//   (i32, i32, memref<5x512x32xf32>, memref<5x512x32xf32>, memref<512xf32>) -> ()
// mlir::qnt::ModelLibrary (lib/Runner) checks that ABI and calls them.
#include "qnt/Runner/ModelLibrary.h"
#include "qnt/Support/OutputFile.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
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
static cl::opt<std::string> logitsFile(
    "logits",
    cl::desc("Write one float32 row of logits per token fed to the model "
             "(little-endian, row-major); the prompt is then fed one token "
             "at a time, so that every row exists"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> entry("entry", cl::init("forward"),
                                  cl::desc("Name of the step function"),
                                  cl::cat(category));
static cl::opt<bool> usePrefill(
    "prefill", cl::init(true),
    cl::desc("Feed the prompt in one call of the library's prefill entry "
             "point, when it has one (=false: one step per token)"),
    cl::cat(category));
static cl::opt<bool>
    timeSteps("time", cl::init(false),
              cl::desc("Print to stderr where the weights are (--huge-pages), "
                       "the prefill time and tokens/s (after one untimed "
                       "warm-up prefill), the median and minimum time of a "
                       "decoding step, and the bytes of the KV cache"),
              cl::cat(category));

static cl::opt<bool> hugePages(
    "huge-pages", cl::init(true),
    cl::desc("Copy the library's weights into memory on 2 MiB pages at load, "
             "unless they take more than half of the memory available "
             "(mapped from the file they are on such pages only when the "
             "page cache holds the file that way; on 4 KiB pages a step "
             "took up to 1.9x as long). =false: read them from the file "
             "mapping, shared with other processes"),
    cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "quant-run: error: " << message << "\n";
  return 1;
}

/// The token ids of --tokens; 0, or the exit code after the error.
static int parsePrompt(std::vector<int64_t> &prompt) {
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
  return 0;
}

/// Whether the prompt and the steps fit `model`'s context and vocabulary; 0,
/// or the exit code after the error.
static int checkFits(const mlir::qnt::ModelLibrary &model,
                     const std::vector<int64_t> &prompt) {
  // Every prompt token is fed; each generated token but the last is fed too.
  int64_t total =
      static_cast<int64_t>(prompt.size()) + std::max(steps.getValue() - 1, 0);
  if (total > model.context())
    return fail("the prompt (" + llvm::Twine(prompt.size()) + " tokens) and " +
                llvm::Twine(steps.getValue()) + " steps need " +
                llvm::Twine(total) + " positions; the model has " +
                llvm::Twine(model.context()));
  for (int64_t id : prompt)
    if (id >= model.vocabulary())
      return fail("token id " + llvm::Twine(id) +
                  " is outside the vocabulary of " +
                  llvm::Twine(model.vocabulary()));
  return 0;
}

namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

/// One greedy decoding run: the prompt, then the steps, with the logits
/// rows written to --logits and the times kept for --time.
struct Decoding {
  mlir::qnt::ModelLibrary &model;
  mlir::qnt::OutputFile *logits; // null without --logits
  const float *row = nullptr;    // the latest logits
  int64_t pos = 0;
  bool prefill = false;          // the prompt went in one prefill call
  double prefillSeconds = -1;
  std::vector<int64_t> generated;
  std::vector<double> stepSeconds;

  /// Writes a logits row; false on a write error.
  bool writeRow(const float *r) {
    if (!logits)
      return true;
    logits->os().write(reinterpret_cast<const char *>(r),
                       model.vocabulary() * sizeof(float));
    return !logits->os().has_error();
  }
  int64_t argmax(const float *r) const {
    int64_t best = 0;
    for (int64_t v = 1; v < model.vocabulary(); ++v)
      if (r[v] > r[best])
        best = v;
    return best;
  }
  /// Feeds the prompt: one prefill call, or one step per token; 0 or the
  /// exit code after the error.
  int feedPrompt(const std::vector<int64_t> &prompt) {
    std::string error;
    prefill = usePrefill && model.hasPrefill() && !logits && prompt.size() > 1;
    std::vector<int32_t> ids(prompt.begin(), prompt.end());
    if (prefill && timeSteps) {
      // Warm-up for --time: the first call faults in the cache rows and the
      // library's workspace and starts the threads. The timed call writes
      // the same cache rows again.
      if (!model.prefill(ids, 0, error))
        return fail(error);
    }
    auto start = Clock::now();
    if (prefill) {
      if (!(row = model.prefill(ids, 0, error)))
        return fail(error);
      pos = prompt.size();
    } else {
      for (; pos < static_cast<int64_t>(prompt.size()); ++pos) {
        if (!(row = model.step(prompt[pos], pos, error)))
          return fail(error);
        if (!writeRow(row))
          return fail(logits->commit());
      }
    }
    prefillSeconds = secondsSince(start);
    return 0;
  }
  /// Greedy decoding: every generated token but the last is fed back.
  int decode() {
    std::string error;
    for (int s = 0; s < steps; ++s) {
      int64_t next = argmax(row);
      generated.push_back(next);
      if (s + 1 == steps)
        break;
      auto stepStart = Clock::now();
      if (!(row = model.step(next, pos++, error)))
        return fail(error);
      stepSeconds.push_back(secondsSince(stepStart));
      if (!writeRow(row))
        return fail(logits->commit());
    }
    return 0;
  }
  /// The --time lines on stderr.
  void printTimes(size_t promptTokens, bool parallel, int usedThreads) const {
    llvm::errs() << llvm::formatv(
        "quant-run: {0}, kv cache: {1} bytes ({2:f1} MiB)\n",
        parallel ? llvm::formatv("{0} threads", usedThreads).str()
                 : std::string("single-threaded library"),
        model.stateBytes(), model.stateBytes() / 1048576.0);
    llvm::errs() << llvm::formatv(
        "quant-run: prefill: {0:f1} ms for {1} tokens ({2:f1} tokens/s){3}\n",
        1e3 * prefillSeconds, promptTokens,
        promptTokens / std::max(prefillSeconds, 1e-9),
        prefill ? "" : ", one step per token");
    if (stepSeconds.empty())
      return;
    std::vector<double> sorted = stepSeconds;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted[sorted.size() / 2];
    llvm::errs() << llvm::formatv(
        "quant-run: decode: {0} steps, median {1:f2} ms, min {2:f2} ms per "
        "token ({3:f1} tokens/s)\n",
        sorted.size(), 1e3 * median, 1e3 * sorted.front(), 1 / median);
  }
};
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // libLLVM registers a "threads" option of its own; it moves aside for
  // quant-run's, which is made once that name is free.
  if (cl::Option *other = cl::getRegisteredOptions().lookup("threads"))
    other->setArgStr("llvm-threads");
  static cl::opt<int> threads(
      "threads", cl::init(0),
      cl::desc("Threads of a parallel library (default 0: every core of this "
               "machine)"),
      cl::cat(category));
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "quant-run: greedy decoding with a model library built by "
      "quant-compile\n\n  quant-run libmodel.so [--tokens \"1 42 ...\"] "
      "[--steps N] [--threads N] [--time] [--logits FILE]\n\nPrints the "
      "generated token ids on one line of stdout.\n");

  std::vector<int64_t> prompt;
  if (int rc = parsePrompt(prompt))
    return rc;
  if (steps < 0)
    return fail("--steps=" + llvm::Twine(steps.getValue()) +
                " must be zero or positive");
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (threads < 0 || threads > 4096)
    return fail("--threads=" + llvm::Twine(threads.getValue()) +
                " must be 0 (every core) to 4096");

  // dlopen searches the library path for names without a slash; a file
  // named on the command line is meant literally.
  llvm::SmallString<256> path(library);
  llvm::sys::fs::make_absolute(path);
  std::string error;
  std::unique_ptr<mlir::qnt::ModelLibrary> model =
      mlir::qnt::ModelLibrary::load(std::string(path), library, entry, error);
  if (!model)
    return fail(error);
  if (int rc = checkFits(*model, prompt))
    return rc;
  mlir::qnt::ModelLibrary::MovedWeights moved;
  if (hugePages && !model->onDevice() &&
      !model->moveWeightsToHugePages(moved, error))
    return fail(error);
  int usedThreads = threads ? int(threads) : int(cores);
  bool parallel = model->setThreads(usedThreads);

  // Written to a temporary file and renamed when complete: a failed run
  // leaves no partial logits.
  std::unique_ptr<mlir::qnt::OutputFile> logits;
  if (!logitsFile.empty() &&
      !(logits = mlir::qnt::OutputFile::create(logitsFile, error)))
    return fail(error);
  Decoding run{*model, logits.get()};
  if (int rc = run.feedPrompt(prompt))
    return rc;
  if (int rc = run.decode())
    return rc;
  if (logits)
    if (std::string e = logits->commit(); !e.empty())
      return fail(e);
  if (timeSteps) {
    if (moved.bytes)
      llvm::errs() << llvm::formatv(
          "quant-run: weights: {0:f1} MiB copied in {1:f2} s, {2:f1} MiB of "
          "them on 2 MiB pages\n",
          moved.bytes / 1048576.0, moved.seconds,
          moved.hugeBytes / 1048576.0);
    else if (moved.pageBytes)
      llvm::errs() << llvm::formatv(
          "quant-run: weights: mapped from the file ({0:f1} MiB, more than "
          "half of the {1:f1} MiB of memory available)\n",
          moved.pageBytes / 1048576.0, moved.availableBytes / 1048576.0);
    else
      llvm::errs() << "quant-run: weights: mapped from the file"
                   << (!hugePages          ? " (--huge-pages=false)"
                       : model->onDevice() ? " and copied to the GPU"
                                           : " (no whole 2 MiB page in them)")
                   << "\n";
    run.printTimes(prompt.size(), parallel, usedThreads);
  }
  llvm::outs() << llvm::join(llvm::map_range(run.generated,
                                             [](int64_t t) {
                                               return std::to_string(t);
                                             }),
                             " ")
               << "\n";
  llvm::outs().flush();
  if (llvm::outs().has_error())
    return fail("cannot write the tokens to stdout");
  return 0;
}
